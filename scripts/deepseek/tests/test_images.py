import io

import pytest
from PIL import Image

from conftest import png_with_claimed_size
from deepseek_service.images import BadImage, decode_image


def encoded(fmt: str, mode: str = "RGB", size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 128).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"])
def test_accepted_formats_decode_to_rgb(fmt: str) -> None:
    decoded = decode_image(encoded(fmt))
    assert decoded.format == fmt and decoded.image.mode == "RGB" and (decoded.width, decoded.height) == (8, 6)


def test_transparency_is_flattened_onto_white() -> None:
    decoded = decode_image(_transparent_png())
    assert decoded.image.getpixel((0, 0)) == (255, 255, 255)


def _transparent_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (2, 2), (0, 0, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"just some text, not an image\n", "not an image"),
        (encoded("PNG", size=(64, 64))[:60], "broken"),
        (encoded("ICO", size=(16, 16)), "unsupported image format"),
    ],
    ids=["empty", "text", "truncated-png", "ico"],
)
def test_bad_bytes_raise_bad_image_with_a_message(data: bytes, message: str) -> None:
    with pytest.raises(BadImage, match=message):
        decode_image(data)


def test_pixel_limit_is_checked_from_the_header_before_decoding() -> None:
    with pytest.raises(BadImage, match="limit"):
        decode_image(png_with_claimed_size(100_000, 100_000), max_pixels=40_000_000)
    with pytest.raises(BadImage, match="limit"):
        decode_image(encoded("PNG", size=(50, 50)), max_pixels=2_000)

"""Decode and validate uploaded image bytes; every failure is a BadImage with a message."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF", "MPO"})
DEFAULT_MAX_PIXELS = 40_000_000


class BadImage(ValueError):
    """The bytes are not an image this service accepts (answered as 422)."""


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB
    format: str
    width: int
    height: int


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    if not data:
        raise BadImage("empty body: send the image bytes")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its own limit; we want a hard limit.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            image_format = (probe.format or "").upper()
            width, height = probe.size
            if image_format not in ALLOWED_FORMATS:
                raise BadImage(f"unsupported image format {image_format or 'unknown'}; send PNG, JPEG, GIF, WebP, BMP or TIFF")
            if width <= 0 or height <= 0:
                raise BadImage(f"image has no pixels ({width}x{height})")
            if width * height > max_pixels:
                raise BadImage(f"image is {width}x{height} = {width * height} pixels, more than the limit of {max_pixels}")
            probe.verify()
            # verify() leaves the image unusable and misses truncated pixel data: decode for real.
            image = Image.open(io.BytesIO(data))
            image.load()
    except BadImage:
        raise
    except UnidentifiedImageError:
        raise BadImage("not an image (unrecognised format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise BadImage(f"image too large: {error}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise BadImage(f"broken image data: {error}") from None
    if image.mode != "RGB":
        image = _to_rgb(image)
    return DecodedImage(image=image, format=image_format, width=width, height=height)


def _to_rgb(image: Image.Image) -> Image.Image:
    """Flatten transparency onto white (ads with alpha are usually meant on a light page)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")

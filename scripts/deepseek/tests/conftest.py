from __future__ import annotations

import io
import struct
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

SERVICE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SERVICE_DIR))


def draw_text_image(lines: list[str], size: tuple[int, int] = (640, 240), font_size: int = 40, fmt: str = "PNG") -> bytes:
    """An ad-like picture: dark text on a light background, one line per entry."""
    image = Image.new("RGB", size, (250, 248, 240))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_size)
    y = 20
    for line in lines:
        draw.text((24, y), line, fill=(20, 20, 30), font=font)
        y += int(font_size * 1.6)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def png_with_claimed_size(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header claims width x height (a decompression-bomb shape)."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    # IHDR data starts at byte 16 (8 signature + 4 length + 4 type).
    data[16:24] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF
    data[29:33] = struct.pack(">I", crc)
    return bytes(data)


@pytest.fixture(scope="session")
def hello_png() -> bytes:
    return draw_text_image(["HELLO WORLD", "SUMMER SALE 50"])

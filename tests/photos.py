"""Real images made with Pillow, as a tutor's browser would upload them: PNG, JPEG or WebP of
a given size, optionally with EXIF (a camera's orientation and GPS position)."""

from __future__ import annotations

import io

from PIL import Image

EXIF_ORIENTATION = 0x0112
EXIF_GPS_INFO = 0x8825
ROTATED_90 = 6  # "turn 90° clockwise to view": how a phone held upright tags its photos


def photo_bytes(fmt: str = "PNG", size: tuple[int, int] = (800, 600), *,
                orientation: int | None = None, gps: bool = False,
                mode: str = "RGB") -> bytes:
    """An image file: the left half red, the right half blue (so a crop or a turn shows)."""
    width, height = size
    image = Image.new(mode, size, (220, 30, 30) if mode == "RGB" else (220, 30, 30, 255))
    image.paste((30, 30, 220) if mode == "RGB" else (30, 30, 220, 128),
                (width // 2, 0, width, height))
    exif = Image.Exif()
    if orientation is not None:
        exif[EXIF_ORIENTATION] = orientation
    if gps:
        exif[EXIF_GPS_INFO] = {1: "N", 2: (48.0, 51.0, 24.0)}
    out = io.BytesIO()
    options = {"exif": exif.tobytes()} if len(exif) else {}
    image.save(out, format=fmt, **options)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    """`data` decoded, for looking at what was stored."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image

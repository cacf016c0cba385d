"""Tutors' photos: checked, re-encoded and stored under MEDIA_DIR, named after their content.

An upload is never stored as it came: whatever the browser sends (a PNG, JPEG or WebP of at
most 5 MB) is decoded by Pillow, turned upright by its EXIF orientation, cropped to a centred
square, scaled down to at most 512 pixels a side and written again as WebP. Re-encoding drops
every byte of the original that is not a pixel (EXIF with its GPS position, ICC profiles,
comments, anything smuggled after the image data), and a file that does not decode as one of
the three formats is refused.

The stored file is named after the SHA-256 of the re-encoded bytes (`<16 hex>.webp`), so a
name never changes content: `/media/<name>` is served with a year-long `immutable` cache
header (`api/media.py`), a new photo gets a new URL, and the same photo uploaded twice is one
file. Files are written to a temporary name and renamed into place, so a reader never sees a
half-written image. No Reflex here; the profile page's state calls `store_photo` off the event
loop (decoding an image takes tens of milliseconds).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from tutor_app.core.settings import get_settings

MEDIA_PREFIX = "/media/"
MAX_PHOTO_BYTES = 5 * 1024 * 1024
# A photo's pixels, decoded, cost 4 bytes each: 40 megapixels is 160 MB, past anything a
# camera or phone produces today; a small file claiming more is a decompression bomb.
MAX_PHOTO_PIXELS = 40_000_000
PHOTO_SIDE = 512
ACCEPTED_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})
WEBP_QUALITY = 85
STORED_SUFFIX = ".webp"
STORED_MEDIA_TYPE = "image/webp"
# What a stored name looks like: the first 16 hex digits of the SHA-256, then the suffix.
_STORED_NAME = re.compile(r"[0-9a-f]{16}\.webp")

PHOTO_TOO_LARGE = "That photo is larger than 5 MB. Please choose a smaller one."
PHOTO_WRONG_TYPE = "Please choose a PNG, JPEG or WebP image."
PHOTO_UNREADABLE = "That file is not an image we can read. Please choose a PNG, JPEG or WebP."
PHOTO_TOO_MANY_PIXELS = "That image is too large to process. Please choose a smaller one."
PHOTO_MISSING = "Please choose a photo to upload."
PHOTO_NOT_ACCEPTED = "Please choose a PNG, JPEG or WebP image of at most 5 MB."


class PhotoRejected(ValueError):
    """The upload is not a photo we store; str() is the message shown beside the field."""


@dataclass(frozen=True)
class ProcessedPhoto:
    """A re-encoded photo and the name it is stored under."""

    data: bytes
    name: str  # "<sha256[:16]>.webp"

    @property
    def url(self) -> str:
        return MEDIA_PREFIX + self.name


def process_photo(data: bytes) -> ProcessedPhoto:
    """Decode `data`, square it, shrink it to PHOTO_SIDE at most and re-encode it as WebP.

    PhotoRejected when it is empty, over MAX_PHOTO_BYTES, not a PNG/JPEG/WebP, undecodable or
    absurdly large in pixels. The same input always gives the same bytes (and name).
    """
    if not data:
        raise PhotoRejected(PHOTO_MISSING)
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRejected(PHOTO_TOO_LARGE)
    try:
        with Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS)) as image:
            width, height = image.size
            if width * height > MAX_PHOTO_PIXELS:
                raise PhotoRejected(PHOTO_TOO_MANY_PIXELS)
            image.load()  # decode now: a truncated or corrupt file fails here, not later
            square = _square(image)
    except PhotoRejected:
        raise
    except Image.DecompressionBombError as exc:
        raise PhotoRejected(PHOTO_TOO_MANY_PIXELS) from exc
    except UnidentifiedImageError as exc:
        raise PhotoRejected(PHOTO_WRONG_TYPE) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise PhotoRejected(PHOTO_UNREADABLE) from exc
    out = io.BytesIO()
    square.save(out, format="WEBP", quality=WEBP_QUALITY, method=4)
    encoded = out.getvalue()
    return ProcessedPhoto(data=encoded, name=_name_for(encoded))


def _square(image: Image.Image) -> Image.Image:
    """Upright (EXIF orientation applied), cropped to its centred square, at most PHOTO_SIDE
    wide, in RGB (RGBA when it has transparency): a fresh image with no metadata."""
    upright = ImageOps.exif_transpose(image)
    has_alpha = upright.mode in {"RGBA", "LA", "PA"} or (
        upright.mode == "P" and "transparency" in upright.info
    )
    converted = upright.convert("RGBA" if has_alpha else "RGB")
    side = min(PHOTO_SIDE, converted.width, converted.height)
    return ImageOps.fit(converted, (side, side), method=Image.Resampling.LANCZOS)


def _name_for(encoded: bytes) -> str:
    return hashlib.sha256(encoded).hexdigest()[:16] + STORED_SUFFIX


def store_photo(data: bytes, media_dir: Path | None = None) -> str:
    """Process `data` (see `process_photo`), store it under MEDIA_DIR and return its URL,
    `/media/<name>`. Storing the same photo again rewrites nothing. Blocking."""
    photo = process_photo(data)
    folder = get_settings().media_dir if media_dir is None else media_dir
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / photo.name
    if not target.exists():
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=STORED_SUFFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(photo.data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return photo.url


def stored_path(name: str, media_dir: Path | None = None) -> Path | None:
    """The file of a stored photo by its name (`<16 hex>.webp`), or None when `name` is not
    such a name or no such file is stored. Never a path outside MEDIA_DIR."""
    if not isinstance(name, str) or not _STORED_NAME.fullmatch(name):
        return None
    folder = get_settings().media_dir if media_dir is None else media_dir
    path = folder / name
    return path if path.is_file() else None


def is_stored_photo_url(url: str) -> bool:
    """Whether `url` is `/media/<name>` of a photo stored here."""
    return (
        isinstance(url, str)
        and url.startswith(MEDIA_PREFIX)
        and stored_path(url.removeprefix(MEDIA_PREFIX)) is not None
    )

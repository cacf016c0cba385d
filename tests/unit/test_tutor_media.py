"""Tutors' photos: decoded, squared, shrunk, re-encoded as WebP without metadata, stored
under MEDIA_DIR by the hash of their content; anything else refused with a message."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from tests.photos import EXIF_GPS_INFO, ROTATED_90, opened, photo_bytes
from tutor_app.core.settings import Settings
from tutor_app.tutors import media
from tutor_app.tutors.media import PhotoRejected


@pytest.fixture
def media_dir(tmp_path: Path, configure: Callable[..., Settings]) -> Path:
    folder = tmp_path / "media"
    configure(MEDIA_DIR=str(folder))
    return folder


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_each_accepted_format_becomes_a_square_webp_of_at_most_512_pixels(fmt: str) -> None:
    photo = media.process_photo(photo_bytes(fmt, (1600, 1200)))

    image = opened(photo.data)
    assert image.format == "WEBP"
    assert image.size == (media.PHOTO_SIDE, media.PHOTO_SIDE)
    assert photo.name.endswith(".webp") and photo.url == f"/media/{photo.name}"


def test_a_small_photo_is_squared_but_never_enlarged() -> None:
    image = opened(media.process_photo(photo_bytes("PNG", (300, 120))).data)

    assert image.size == (120, 120)


def test_the_crop_is_centred() -> None:
    # Left half red, right half blue: a centred square of a wide image keeps both halves.
    image = opened(media.process_photo(photo_bytes("PNG", (1000, 400))).data).convert("RGB")

    left = image.getpixel((10, image.height // 2))
    right = image.getpixel((image.width - 10, image.height // 2))
    assert isinstance(left, tuple) and isinstance(right, tuple)
    assert left[0] > 150 and left[2] < 100  # red
    assert right[2] > 150 and right[0] < 100  # blue


def test_exif_is_dropped_and_its_orientation_applied_first() -> None:
    # A phone's photo: stored sideways, with "turn it 90°" and where it was taken in EXIF.
    source = photo_bytes("JPEG", (800, 600), orientation=ROTATED_90, gps=True)
    assert EXIF_GPS_INFO in opened(source).getexif()

    image = opened(media.process_photo(source).data).convert("RGB")

    assert not image.getexif() and "exif" not in image.info
    # Turned upright, the red and blue halves are now above each other, not side by side.
    top = image.getpixel((image.width // 2, 10))
    bottom = image.getpixel((image.width // 2, image.height - 10))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert (top[0] > 150) != (bottom[0] > 150)


def test_transparency_is_kept() -> None:
    image = opened(media.process_photo(photo_bytes("PNG", (400, 400), mode="RGBA")).data)

    assert image.mode == "RGBA"


def test_a_file_over_5_mb_is_refused_before_decoding() -> None:
    with pytest.raises(PhotoRejected, match="larger than 5 MB"):
        media.process_photo(b"\x89PNG\r\n\x1a\n" + b"\0" * media.MAX_PHOTO_BYTES)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", media.PHOTO_MISSING),
        (b"#!/bin/sh\necho hello\n", media.PHOTO_WRONG_TYPE),  # a text file named .png
        (photo_bytes("GIF", (100, 100)), media.PHOTO_WRONG_TYPE),  # an image, not accepted
        (photo_bytes("PNG", (400, 400))[:200], media.PHOTO_UNREADABLE),  # cut short
    ],
    ids=["empty", "not-an-image", "gif", "truncated"],
)
def test_what_is_not_a_png_jpeg_or_webp_photo_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(PhotoRejected) as refused:
        media.process_photo(data)

    assert str(refused.value) == message


def test_a_small_file_of_enormous_dimensions_is_refused() -> None:
    out = io.BytesIO()
    Image.new("1", (10_000, 5_000)).save(out, format="PNG")  # 50 megapixels, a few kB
    assert len(out.getvalue()) < media.MAX_PHOTO_BYTES

    with pytest.raises(PhotoRejected) as refused:
        media.process_photo(out.getvalue())

    assert str(refused.value) == media.PHOTO_TOO_MANY_PIXELS


def test_the_stored_name_is_the_hash_of_the_stored_bytes_and_stable(media_dir: Path) -> None:
    source = photo_bytes("JPEG", (900, 900))

    first = media.store_photo(source)
    again = media.store_photo(source)
    other = media.store_photo(photo_bytes("PNG", (900, 900)))

    assert first == again != other
    name = first.removeprefix("/media/")
    stored = (media_dir / name).read_bytes()
    assert name == hashlib.sha256(stored).hexdigest()[:16] + ".webp"
    assert sorted(p.name for p in media_dir.iterdir()) == sorted(
        [name, other.removeprefix("/media/")]
    )  # no temporary files left behind
    assert media.stored_path(name) == media_dir / name
    assert media.is_stored_photo_url(first)


@pytest.mark.parametrize(
    "name",
    ["0123456789abcdef.webp", "../tutor_app.db", "0123456789ABCDEF.webp", "0123456789abcdef.png",
     "0123456789abcdef.webp/..", ""],
)
def test_only_stored_names_resolve(media_dir: Path, name: str) -> None:
    media_dir.mkdir()
    (media_dir.parent / "tutor_app.db").write_text("secret")

    assert media.stored_path(name) is None
    assert not media.is_stored_photo_url("/media/" + name)

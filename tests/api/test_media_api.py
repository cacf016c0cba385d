"""GET /media/{name} over real HTTP: stored photos, cached for a year; anything else 404."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.photos import photo_bytes
from tutor_app.core.settings import Settings
from tutor_app.tutors import media


@pytest.fixture
def media_dir(client: httpx.Client, tmp_path: Path, configure: Callable[..., Settings]) -> Path:
    folder = tmp_path / "media"
    configure(MEDIA_DIR=str(folder))
    return folder


def test_a_stored_photo_is_served_as_webp_and_cached_for_good(
    client: httpx.Client, media_dir: Path
) -> None:
    url = media.store_photo(photo_bytes("PNG", (600, 600)))

    response = client.get(url)

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.content == (media_dir / url.removeprefix("/media/")).read_bytes()


@pytest.mark.parametrize(
    "path",
    ["/media/0123456789abcdef.webp", "/media/..%2Fsecret.txt", "/media/secret.txt",
     "/media/"],
)
def test_anything_but_a_stored_photo_is_not_found_and_not_cached(
    client: httpx.Client, media_dir: Path, path: str
) -> None:
    media_dir.mkdir()
    (media_dir / "secret.txt").write_text("not a photo")
    (media_dir.parent / "secret.txt").write_text("outside the folder")

    response = client.get(path)

    assert response.status_code == 404
    assert "immutable" not in response.headers.get("cache-control", "")

"""Hashed frontend bundles are cached for a year; pages and API answers are not."""

from __future__ import annotations

from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from tests.fakes.server import ThreadedServer
from tutor_app.api.caching import cache_hashed_assets


def test_only_hashed_assets_get_an_immutable_cache_header(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "book-now-Bb6OO9P4.js").write_text("export default 1;")
    (tmp_path / "book-now.html").write_text("<html></html>")
    site = Starlette(routes=[Mount("/", StaticFiles(directory=tmp_path, html=True))])

    with ThreadedServer(cache_hashed_assets(site)) as server:
        bundle = httpx.get(f"{server.url}/assets/book-now-Bb6OO9P4.js")
        page = httpx.get(f"{server.url}/book-now.html")
        missing = httpx.get(f"{server.url}/assets/gone-123.js")

    assert bundle.status_code == 200
    assert bundle.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert page.status_code == 200 and "immutable" not in page.headers.get("cache-control", "")
    assert missing.status_code == 404 and "cache-control" not in missing.headers

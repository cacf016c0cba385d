"""Every answer, from the API or the frontend's files, carries the security headers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from starlette.staticfiles import StaticFiles

from tests.fakes.server import ThreadedServer
from tutor_app.api import build_api
from tutor_app.api.caching import cache_hashed_assets
from tutor_app.api.security_headers import security_headers
from tutor_app.core.settings import Settings

ConfigureFn = Callable[..., Settings]
EXPECTED = {
    "content-security-policy": "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


@pytest.fixture
def site(tmp_path: Path, database: sa.Engine) -> Iterator[str]:
    """The backend as tutor_app.py assembles it, with a stand-in compiled frontend mounted
    inside the API app the way Reflex mounts its own in single-port mode."""
    (tmp_path / "index.html").write_text("<html></html>")
    api = build_api()
    api.mount("", StaticFiles(directory=tmp_path, html=True))
    with ThreadedServer(security_headers(cache_hashed_assets(api))) as server:
        yield server.url


def _has_security_headers(response: httpx.Response) -> bool:
    return all(response.headers.get(name) == value for name, value in EXPECTED.items())


def test_api_answers_and_pages_carry_the_headers(site: str, configure: ConfigureFn) -> None:
    configure(APP_URL="http://localhost:3000")

    api = httpx.get(f"{site}/api/health")
    refused = httpx.post(f"{site}/api/auth/signup", content=b" " * (1 << 20))
    page = httpx.get(f"{site}/")
    missing = httpx.get(f"{site}/no-such-file.js")

    assert (api.status_code, refused.status_code, page.status_code) == (200, 413, 200)
    for response in (api, refused, page, missing):
        assert _has_security_headers(response), response.headers
        assert "strict-transport-security" not in response.headers


def test_hsts_only_when_served_over_https(site: str, configure: ConfigureFn) -> None:
    configure(APP_URL="https://tutorly.example")

    api = httpx.get(f"{site}/api/health")
    page = httpx.get(f"{site}/")

    for response in (api, page):
        assert _has_security_headers(response)
        assert response.headers["strict-transport-security"] == HSTS

"""Page loads give the browser its pre-sign-in cookie; other answers leave cookies alone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from starlette.staticfiles import StaticFiles

from tests.factories import browser_cookie
from tests.fakes.server import ThreadedServer
from tutor_app.accounts import pre_sign_in
from tutor_app.api import build_api
from tutor_app.api.caching import cache_hashed_assets
from tutor_app.api.pre_sign_in_cookie import pre_sign_in_cookie
from tutor_app.api.security_headers import security_headers
from tutor_app.core.settings import Settings

ConfigureFn = Callable[..., Settings]
NAVIGATION = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def site(tmp_path: Path, database: sa.Engine) -> Iterator[str]:
    """The backend wrapped as tutor_app.py wraps it, with a stand-in compiled frontend mounted
    inside the API app the way Reflex mounts its own in single-port mode."""
    (tmp_path / "index.html").write_text("<html></html>")
    (tmp_path / "login").mkdir()
    (tmp_path / "login" / "index.html").write_text("<html>sign in</html>")
    (tmp_path / "app.js").write_text("console.log(1)")
    api = build_api()
    api.mount("", StaticFiles(directory=tmp_path, html=True))
    with ThreadedServer(security_headers(pre_sign_in_cookie(cache_hashed_assets(api)))) as server:
        yield server.url


def _cookie(response: httpx.Response) -> dict[str, str] | None:
    """The pre-sign-in cookie's attributes as sent in Set-Cookie, or None."""
    name = pre_sign_in.pre_sign_in_cookie_name()
    found = [v for v in response.headers.get_list("set-cookie") if v.startswith(name + "=")]
    if not found:
        return None
    (raw,) = found
    attributes = {"value": raw.split(";", 1)[0].split("=", 1)[1]}
    for part in raw.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        attributes[key.lower()] = value or "true"
    return attributes


def test_a_page_load_sets_a_fresh_httponly_lax_cookie(site: str, configure: ConfigureFn) -> None:
    configure(APP_URL="http://localhost:3000")

    first = httpx.get(f"{site}/login/", headers=NAVIGATION)
    second = httpx.get(f"{site}/", headers=NAVIGATION)

    cookie, other = _cookie(first), _cookie(second)
    assert cookie is not None and other is not None
    assert cookie["value"] != other["value"]  # one per browser
    assert pre_sign_in.from_cookie_header(browser_cookie(cookie["value"])) == cookie["value"]
    assert (cookie["httponly"], cookie["samesite"].lower(), cookie["path"]) == ("true", "lax", "/")
    assert cookie["max-age"] == str(2 * 3600)
    assert "secure" not in cookie and "domain" not in cookie
    # No shared cache may hand one visitor's cookie to the next.
    assert "private" in first.headers["cache-control"]


def test_over_https_the_cookie_is_host_prefixed_and_secure(
    site: str, configure: ConfigureFn
) -> None:
    configure(APP_URL="https://tutors.example.com")

    page = httpx.get(f"{site}/", headers=NAVIGATION)

    assert page.headers["set-cookie"].startswith("__Host-tutor_pre_sign_in=")
    cookie = _cookie(page)
    assert cookie is not None and cookie["secure"] == "true" and cookie["path"] == "/"


def test_a_page_load_keeps_the_browsers_value_and_renews_it(
    site: str, configure: ConfigureFn
) -> None:
    configure(APP_URL="http://localhost:3000")
    value = pre_sign_in.new_value()

    page = httpx.get(f"{site}/login/", headers={**NAVIGATION, "cookie": browser_cookie(value)})

    cookie = _cookie(page)
    assert cookie is not None
    assert cookie["value"] == value  # a form open in another tab stays valid
    assert cookie["max-age"] == str(2 * 3600)


def test_a_revalidated_page_sets_it_too(site: str, configure: ConfigureFn) -> None:
    configure(APP_URL="http://localhost:3000")
    etag = httpx.get(f"{site}/login/").headers["etag"]

    revalidated = httpx.get(f"{site}/login/", headers={**NAVIGATION, "if-none-match": etag})

    assert revalidated.status_code == 304
    assert _cookie(revalidated) is not None


def test_api_answers_and_scripts_set_no_cookie(site: str, configure: ConfigureFn) -> None:
    configure(APP_URL="http://localhost:3000")

    for response in (httpx.get(f"{site}/api/health"), httpx.get(f"{site}/app.js"),
                     httpx.post(f"{site}/", headers=NAVIGATION)):
        assert _cookie(response) is None, response.request.url

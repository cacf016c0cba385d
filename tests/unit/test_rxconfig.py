"""rxconfig: the websocket and the backend's CORS accept only APP_URL's origin."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

import pytest

from tutor_app.core.settings import Settings, url_origin


@pytest.mark.parametrize(
    ("app_url", "origin"),
    [
        ("https://tutors.example.com", "https://tutors.example.com"),
        ("https://Tutors.Example.com:443/app/", "https://tutors.example.com"),
        ("http://localhost:3000", "http://localhost:3000"),
    ],
)
def test_cors_origins_are_app_urls_origin(
    configure: Callable[..., Settings], app_url: str, origin: str
) -> None:
    configure(APP_URL=app_url)
    loaded = sys.modules.pop("rxconfig", None)  # Reflex may have loaded it already
    try:
        config = importlib.import_module("rxconfig").config
        assert list(config.cors_allowed_origins) == [origin]
    finally:
        if loaded is None:
            sys.modules.pop("rxconfig", None)
        else:
            sys.modules["rxconfig"] = loaded


def test_url_origin_is_what_a_browser_sends() -> None:
    assert url_origin("http://app.test/x?y=1") == "http://app.test"
    assert url_origin("http://APP.test:80") == "http://app.test"
    assert url_origin("https://app.test:8443/") == "https://app.test:8443"
    assert url_origin("http://[::1]:3000") == "http://[::1]:3000"
    assert url_origin("null") == url_origin("http://app:x") == url_origin("") == ""

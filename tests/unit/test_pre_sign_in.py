"""The pre-sign-in cookie: its name and attributes under http and https, and the binding check."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tutor_app.accounts import pre_sign_in
from tutor_app.core.settings import Settings


def test_on_http_localhost_it_is_a_plain_httponly_lax_cookie(
    configure: Callable[..., Settings],
) -> None:
    configure(APP_URL="http://localhost:3000")

    assert pre_sign_in.pre_sign_in_cookie("v") == {
        "key": "tutor_pre_sign_in", "value": "v", "max_age": 2 * 3600, "path": "/",
        "httponly": True, "samesite": "lax", "secure": False,
    }


def test_over_https_it_is_host_prefixed_and_secure(configure: Callable[..., Settings]) -> None:
    configure(APP_URL="https://tutors.example.com")

    cookie = pre_sign_in.pre_sign_in_cookie("v")

    assert cookie["key"] == "__Host-tutor_pre_sign_in"
    assert (cookie["secure"], cookie["path"], cookie["httponly"]) == (True, "/", True)
    assert "domain" not in cookie


def test_the_value_is_read_from_a_cookie_header(configure: Callable[..., Settings]) -> None:
    configure(APP_URL="http://localhost:3000")
    value = pre_sign_in.new_value()

    assert pre_sign_in.from_cookie_header(f"tz=UTC; tutor_pre_sign_in={value}") == value
    assert pre_sign_in.from_cookie_header("tz=UTC") is None
    assert pre_sign_in.from_cookie_header(None) is None


@pytest.mark.parametrize("forged", ["short", "x" * 42 + "!", "a" * 44, "é" * 43])
def test_a_value_the_app_cannot_have_made_counts_as_none(
    configure: Callable[..., Settings], forged: str
) -> None:
    configure(APP_URL="http://localhost:3000")

    assert pre_sign_in.from_cookie_header(f"tutor_pre_sign_in={forged}") is None


def test_over_https_only_the_prefixed_cookie_counts(configure: Callable[..., Settings]) -> None:
    configure(APP_URL="https://tutors.example.com")
    value = pre_sign_in.new_value()

    assert pre_sign_in.from_cookie_header(f"tutor_pre_sign_in={value}") is None
    assert pre_sign_in.from_cookie_header(f"__Host-tutor_pre_sign_in={value}") == value


def test_same_browser_compares_the_stored_hash() -> None:
    value = pre_sign_in.new_value()
    stored = pre_sign_in.browser_hash(value)

    assert pre_sign_in.same_browser(stored, value)
    assert not pre_sign_in.same_browser(stored, pre_sign_in.new_value())
    assert not pre_sign_in.same_browser(stored, None)
    assert not pre_sign_in.same_browser(None, value)

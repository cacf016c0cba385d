"""The names of the app's own HttpOnly cookies, and reading a cookie out of a raw `Cookie:`
header (the session, the pre-sign-in and the `tz` cookie alike).

Over https a cookie the app sets is named with the `__Host-` prefix: the browser then accepts
it only when it is `Secure`, has `Path=/` and no `Domain`, so neither a sibling subdomain nor
a plain-http page of the same host can plant or overwrite it. Browsers refuse that prefix on
plain http, so on `http://localhost` (dev and tests) the bare name is used.
"""

from __future__ import annotations

from tutor_app.core.settings import get_settings

HOST_PREFIX = "__Host-"


def cookie_name(base: str) -> str:
    """The name a cookie called `base` has under the current APP_URL (`__Host-` on https)."""
    return HOST_PREFIX + base if get_settings().secure_cookies else base


def read_cookie(cookie_header: str | None, name: str) -> str | None:
    """The value of cookie `name` in a raw `Cookie:` header; None when absent or empty.

    Parsed by hand: `http.cookies.SimpleCookie` gives up on the whole header when any other
    cookie of the site is malformed, which would sign the user out for someone else's cookie.
    """
    if not cookie_header:
        return None
    for part in cookie_header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key.strip() == name:
            value = value.strip().strip('"')
            return value or None
    return None

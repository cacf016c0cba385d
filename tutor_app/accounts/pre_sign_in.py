"""The pre-sign-in cookie: a sign-in finishes only in the browser that started it.

Without it, someone could start a sign-in to *their own* account (a form's handoff ticket, or
an OpenID callback URL with its code and state) and get a victim's browser to finish it: the
victim would then be signed in as the attacker and type their own data into the attacker's
account (login CSRF). So every browser gets a random HttpOnly cookie before it signs in (page
loads set it, `api.pre_sign_in_cookie`; so does the OpenID login route), the sign-in stores
the SHA-256 of its value (`auth_sessions.browser_hash` for a handoff ticket,
`oauth_states.browser_hash` for an OpenID state), and the last step is refused unless the
request carries the same cookie.

The cookie is not a secret of the account and signs nobody in; it lives two hours, refreshed
(same value) on each page load, SameSite=Lax so the provider's redirect back still carries
it, and `__Host-` prefixed over https (`core.cookies`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from typing import Any

from tutor_app.core.cookies import cookie_name, read_cookie
from tutor_app.core.settings import get_settings

LIFETIME = timedelta(hours=2)
_BASE_NAME = "tutor_pre_sign_in"
# What `new_value` makes: 32 random bytes, url-safe base64 without padding.
_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")


def pre_sign_in_cookie_name() -> str:
    """The cookie's name under the current APP_URL (`__Host-` prefixed on https)."""
    return cookie_name(_BASE_NAME)


def new_value() -> str:
    return secrets.token_urlsafe(32)


def from_cookie_header(cookie_header: str | None) -> str | None:
    """This browser's pre-sign-in value in a raw `Cookie:` header; None when it has none (or
    one the app cannot have made, which is never stored nor echoed back)."""
    value = read_cookie(cookie_header, pre_sign_in_cookie_name())
    return value if value is not None and _VALUE.fullmatch(value) else None


def browser_hash(value: str) -> str:
    """What a sign-in in progress stores of the cookie: its SHA-256 in hex."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def same_browser(stored_hash: str | None, value: str | None) -> bool:
    """Whether a request carrying pre-sign-in `value` is the browser that stored
    `stored_hash`; never when either is missing."""
    if not stored_hash or not value:
        return False
    return hmac.compare_digest(stored_hash, browser_hash(value))


def pre_sign_in_cookie(value: str) -> dict[str, Any]:
    """The cookie's attributes, as keyword arguments of Starlette's `set_cookie`."""
    return {
        "key": pre_sign_in_cookie_name(),
        "value": value,
        "max_age": int(LIFETIME.total_seconds()),
        "path": "/",
        "httponly": True,
        "samesite": "lax",
        "secure": get_settings().secure_cookies,
    }

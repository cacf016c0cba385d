"""What every API route may need from a request: the signed-in user and the client's address,
declared once."""

from __future__ import annotations

from starlette.requests import Request

from tutor_app.accounts.sign_in_sessions import session_cookie_name, user_for_cookie_header
from tutor_app.core import rate_limits
from tutor_app.core.models import User
from tutor_app.core.settings import get_settings


def client_ip(request: Request) -> str:
    """The client's address, as a rate-limit key: the connection's, or with
    `TRUSTED_PROXY_HOPS` = n the one the nearest trusted proxy saw (the n-th entry of
    X-Forwarded-For from the right, as Reflex reads it for the pages); see `core.rate_limits`.
    """
    address = request.client.host if request.client else None
    hops = get_settings().trusted_proxy_hops
    if hops:
        forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",")
                     if part.strip()]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    return rate_limits.address_key(address)


def session_token(request: Request) -> str | None:
    """The sign-in session token the request carries in its cookie, if any."""
    return request.cookies.get(session_cookie_name()) or None


def current_user(request: Request) -> User | None:
    """The user signed in by the request's session cookie; None when signed out.

    A revoked, expired or unknown session counts as signed out. Looks the session up in its own
    database session, so call it from a worker thread in async routes.
    """
    return user_for_cookie_header(request.headers.get("cookie"))

"""What every API route may need from a request: the signed-in user and the client's address,
declared once."""

from __future__ import annotations

from starlette.requests import Request

from tutor_app.accounts.sign_in_sessions import session_cookie_name, user_for_cookie_header
from tutor_app.core import rate_limits
from tutor_app.core.models import User


def client_ip(request: Request) -> str:
    """The client's address as the server saw it, as a rate-limit key.

    Behind a reverse proxy this is the proxy's address until its forwarded header is trusted
    (not configured yet); see `core.rate_limits`.
    """
    return rate_limits.address_key(request.client.host if request.client else None)


def session_token(request: Request) -> str | None:
    """The sign-in session token the request carries in its cookie, if any."""
    return request.cookies.get(session_cookie_name()) or None


def current_user(request: Request) -> User | None:
    """The user signed in by the request's session cookie; None when signed out.

    A revoked, expired or unknown session counts as signed out. Looks the session up in its own
    database session, so call it from a worker thread in async routes.
    """
    return user_for_cookie_header(request.headers.get("cookie"))

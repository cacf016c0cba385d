"""Server-side sign-in sessions carried by an opaque HttpOnly cookie.

The cookie holds a random token; the database holds only its SHA-256, so a leaked copy of the
table cannot be replayed as cookies. Sign-out revokes the row, which every worker sees at once.

A sign-in made over Reflex's websocket cannot set an HttpOnly cookie, so the state creates a
short-lived *handoff ticket* (a session row that lives 60 seconds) and sends the browser, by a
full-page navigation, to `/api/auth/session?ticket=...`; that route swaps the ticket for a real
session (new token, new hash, 30 days) and sets the cookie. Tickets only ever do that: they are
not accepted as session cookies, and the swap makes them single-use. A ticket is bound to the
browser whose form created it (`pre_sign_in`): redeemed with another browser's cookie, or with
none, it dies unused.

The cookie is `__Host-tutor_session` over https and `tutor_session` on http://localhost
(`session_cookie_name`, the one place that decides it; `core.cookies` says why).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tutor_app.accounts import pre_sign_in
from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.cookies import cookie_name, read_cookie
from tutor_app.core.models import SignInSession, User
from tutor_app.core.settings import get_settings

_SESSION_COOKIE_BASE = "tutor_session"
SESSION_LIFETIME = timedelta(days=30)
HANDOFF_LIFETIME = timedelta(seconds=60)
HANDOFF_PATH = "/api/auth/session"
USER_AGENT_LENGTH = 255


def session_cookie_name() -> str:
    """The sign-in session cookie's name: every route and state that reads or sets it asks here."""
    return cookie_name(_SESSION_COOKIE_BASE)


def hash_token(token: str) -> str:
    """What is stored for a token: its SHA-256 in hex (a 256-bit random token needs no salt)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _is_handoff(row: SignInSession) -> bool:
    return row.expires_at - row.created_at <= HANDOFF_LIFETIME


def _row_for(db: Session, token: str) -> SignInSession | None:
    """The row of a session token or handoff ticket, whatever its state."""
    return db.exec(
        select(SignInSession).where(col(SignInSession.token_hash) == hash_token(token))
    ).first()


def _add_token_row(
    db: Session, *, user_id: str, now: datetime, lifetime: timedelta,
    browser_hash: str | None = None,
    user_agent: str | None = None,
) -> str:
    """Store a new token's hash for the user, valid for `lifetime`; returns the token.

    Sessions and handoff tickets are the same row, told apart by their lifetime
    (`_is_handoff`).
    """
    token = new_token()
    db.add(
        SignInSession(
            token_hash=hash_token(token), user_id=user_id, created_at=now,
            expires_at=now + lifetime, browser_hash=browser_hash,
            user_agent=_trim_user_agent(user_agent),
        )
    )
    db.flush()
    return token


def _trim_user_agent(user_agent: str | None) -> str | None:
    """What is stored of a User-Agent header: at most USER_AGENT_LENGTH characters, or None."""
    return (user_agent or "").strip()[:USER_AGENT_LENGTH] or None


def create_session(
    db: Session, *, user_id: str, now: datetime | None = None, user_agent: str | None = None
) -> str:
    """Start a 30-day sign-in session for the user; returns the cookie's token. Caller commits.

    `user_agent` is the browser's User-Agent header, kept so the account page can say which
    device each session is. The user's expired sessions and tickets are deleted on the way,
    so rows do not pile up.
    """
    now = now or clock.now()
    db.execute(
        sa.delete(SignInSession)
        .where(col(SignInSession.user_id) == user_id, col(SignInSession.expires_at) <= now)
        .execution_options(synchronize_session=False)
    )
    return _add_token_row(
        db, user_id=user_id, now=now, lifetime=SESSION_LIFETIME, user_agent=user_agent
    )


def create_handoff(
    db: Session, *, user_id: str, browser: str, now: datetime | None = None
) -> str:
    """A 60-second, single-use ticket that `redeem_handoff` turns into a sign-in session, in
    the browser whose pre-sign-in cookie value is `browser` only. Caller commits."""
    return _add_token_row(db, user_id=user_id, now=now or clock.now(), lifetime=HANDOFF_LIFETIME,
                          browser_hash=pre_sign_in.browser_hash(browser))


def redeem_handoff(
    db: Session, *, ticket: str, browser: str | None, now: datetime | None = None,
    user_agent: str | None = None,
) -> tuple[str, User] | None:
    """Swap a live handoff ticket for a real sign-in session: (new token, user), or None.

    `browser` is the pre-sign-in cookie value of the request; a ticket made in another browser
    (or a request without the cookie) is refused and revoked, so it cannot be tried again.
    The swap is one conditional UPDATE on the ticket's hash, so of two concurrent redemptions
    (on any workers) exactly one wins and the ticket is dead afterwards. The row becomes the
    session, so it records `user_agent`: the browser that redeems it. Caller commits.
    """
    if not ticket:
        return None
    now = now or clock.now()
    row = _row_for(db, ticket)
    if row is None or row.revoked_at is not None or row.expires_at <= now or not _is_handoff(row):
        return None
    if not pre_sign_in.same_browser(row.browser_hash, browser):
        row.revoked_at = now
        db.add(row)
        db.flush()
        return None
    token = new_token()
    result = db.execute(
        sa.update(SignInSession)
        .where(
            col(SignInSession.id) == row.id,
            col(SignInSession.token_hash) == hash_token(ticket),
            col(SignInSession.revoked_at).is_(None),
        )
        .values(token_hash=hash_token(token), created_at=now, expires_at=now + SESSION_LIFETIME,
                user_agent=_trim_user_agent(user_agent))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    user = db.get(User, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    return token, user


def user_for_token(db: Session, token: str | None, *, now: datetime | None = None) -> User | None:
    """The signed-in user for a cookie token; None when unknown, expired, revoked or a ticket,
    or when an admin disabled the account (its cookie signs nobody in, whatever its row says)."""
    if not token:
        return None
    now = now or clock.now()
    row = _row_for(db, token)
    if row is None or row.revoked_at is not None or row.expires_at <= now or _is_handoff(row):
        return None
    user = db.get(User, row.user_id)
    return None if user is None or user.disabled_at is not None else user


def revoke_session(db: Session, *, token: str | None, now: datetime | None = None) -> bool:
    """End the sign-in session of this token (sign-out); True when there was one. Caller commits."""
    if not token:
        return False
    row = _row_for(db, token)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now or clock.now()
    db.add(row)
    db.flush()
    return True


def live_sessions(db: Session, *, user_id: str, now: datetime | None = None) -> list[SignInSession]:
    """The user's sign-in sessions that still sign a browser in, newest first: not revoked,
    not expired, and not handoff tickets (a ticket is not a device yet)."""
    now = now or clock.now()
    rows = db.exec(
        select(SignInSession)
        .where(
            col(SignInSession.user_id) == user_id,
            col(SignInSession.revoked_at).is_(None),
            col(SignInSession.expires_at) > now,
        )
        .order_by(col(SignInSession.created_at).desc(), col(SignInSession.id))
    ).all()
    return [row for row in rows if not _is_handoff(row)]


def revoke_sessions(
    db: Session,
    *,
    user_id: str,
    except_token: str | None = None,
    only_id: str | None = None,
    now: datetime | None = None,
) -> int:
    """Revoke the user's unrevoked sessions and handoff tickets; how many. Caller commits.

    `except_token` keeps that one (this browser's, after a password change); `only_id` limits
    it to one row (a device signed out from the account page). Tickets go too: one issued
    before a password change must not become a session after it.
    """
    query = sa.update(SignInSession).where(
        col(SignInSession.user_id) == user_id, col(SignInSession.revoked_at).is_(None)
    )
    if except_token:
        query = query.where(col(SignInSession.token_hash) != hash_token(except_token))
    if only_id is not None:
        query = query.where(col(SignInSession.id) == only_id)
    result = db.execute(
        query.values(revoked_at=now or clock.now()).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def token_from_cookie_header(cookie_header: str | None) -> str | None:
    """The sign-in session token in a raw `Cookie:` header, or None."""
    return read_cookie(cookie_header, session_cookie_name())


def user_for_cookie_header(cookie_header: str | None) -> User | None:
    """The signed-in user for a request's `Cookie:` header (opens its own db session)."""
    token = token_from_cookie_header(cookie_header)
    if token is None:
        return None
    with app_db.session() as db:
        return user_for_token(db, token)


def session_cookie(token: str) -> dict[str, Any]:
    """The sign-in session cookie's attributes, as keyword arguments of Starlette's `set_cookie`.

    The one place they are decided, so every route that signs someone in sets the same cookie:
    HttpOnly (no script can read it), SameSite=Lax (not sent on cross-site POSTs), Secure when
    the app is served over https (then also `__Host-` prefixed: Path=/ and no Domain), and a
    Max-Age equal to the session's lifetime.
    """
    return {
        "key": session_cookie_name(),
        "value": token,
        "max_age": int(SESSION_LIFETIME.total_seconds()),
        "path": "/",
        "httponly": True,
        "samesite": "lax",
        "secure": get_settings().secure_cookies,
    }


def cleared_session_cookie() -> dict[str, Any]:
    """Arguments of Starlette's `delete_cookie` that remove the cookie `session_cookie` set."""
    return {
        "key": session_cookie_name(),
        "path": "/",
        "httponly": True,
        "samesite": "lax",
        "secure": get_settings().secure_cookies,
    }


def safe_next(value: str | None, default: str = "/") -> str:
    """`value` when it is a path on this site, else `default`: no open redirects.

    Only relative paths starting with a single "/" pass; "//evil.com", "/\\evil.com",
    "https://evil.com" and anything with control characters fall back to `default`.
    """
    if not value or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def handoff_url(ticket: str, next_path: str) -> str:
    """Where the browser swaps a handoff ticket for its session cookie."""
    next_query = quote(safe_next(next_path), safe="")
    return f"{HANDOFF_PATH}?ticket={quote(ticket, safe='')}&next={next_query}"

"""The OAuth consent for a tutor's Google Calendar grant (the shared client is `oauth.py`).

This is the consent that lets the app write lesson events into a tutor's Google Calendar, not
the sign-in (that is `oidc.py`). It asks for `calendar.events` only (events, not the tutor's
calendar settings or other calendars' sharing), with `access_type=offline` and
`prompt=consent` so Google always returns a refresh token: lessons are booked while the tutor
is not looking at the app. The state row (purpose "calendar") is bound to the tutor's user
id, so a callback carrying someone else's state is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from tutor_app.core.models import OAuthState
from tutor_app.integrations import oauth

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar.events"
SCOPE = " ".join(("openid", "email", CALENDAR_SCOPE))
PURPOSE = "calendar"
PROVIDER = "google"
CALLBACK_PATH = "/api/calendar/callback"
RETURN_PATH = "/tutor"


@dataclass(frozen=True)
class CalendarGrant:
    """What a finished consent gives: the Google account and the token to store (encrypted)."""

    google_email: str
    token: dict[str, Any]


def start_authorization(db: Session, *, user_id: str, login_hint: str = "") -> str:
    """Record a single-use state for `user_id` and return Google's consent URL. Caller commits.
    """
    oauth.client_credentials()  # OAuthNotConfigured before anything is written
    oauth.discovery_document()
    pending = oauth.new_state(
        db, purpose=PURPOSE, provider=PROVIDER, next_url=RETURN_PATH, user_id=user_id
    )
    extra = {"login_hint": login_hint} if login_hint else {}
    return oauth.authorization_url(
        pending, scope=SCOPE, callback_path=CALLBACK_PATH, access_type="offline",
        prompt="consent", **extra,
    )


def consume_state(db: Session, *, state: str, user_id: str) -> OAuthState:
    """Take the pending consent for `state` out of the table, once; it must be `user_id`'s.
    Caller commits."""
    return oauth.consume_state(
        db, state=state, purpose=PURPOSE, provider=PROVIDER, user_id=user_id
    )


def exchange_code(*, code: str, pending: OAuthState) -> CalendarGrant:
    """Trade the authorization code for tokens and learn which Google account granted them.

    Refuses a grant without a refresh token or without the calendar scope (Google lets users
    untick scopes on the consent screen): either would look connected and then fail.
    """
    token = oauth.exchange_code(
        code=code, pending=pending, scope=SCOPE, callback_path=CALLBACK_PATH
    )
    granted = set(str(token.get("scope", SCOPE)).split())
    if CALENDAR_SCOPE not in granted:
        raise oauth.OAuthFlowError("the calendar permission was not granted")
    if not token.get("refresh_token"):
        raise oauth.OAuthFlowError("Google returned no refresh token (offline access)")
    access_token = str(token.get("access_token") or "")
    claims = oauth.validate_id_token(
        token.get("id_token"), nonce=pending.nonce, access_token=access_token or None
    )
    email = claims.get("email") or oauth.userinfo_email(access_token)
    if not email:
        raise oauth.OAuthFlowError("Google did not say which account was connected")
    return CalendarGrant(
        google_email=str(email), token=oauth.stored_token(token, default_scope=SCOPE)
    )

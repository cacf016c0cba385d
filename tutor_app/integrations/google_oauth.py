"""Google's OAuth 2.0 authorization-code flow for a tutor's calendar grant (Authlib).

This is the consent that lets the app write lesson events into a tutor's Google Calendar, not
the sign-in (that is `integrations/oidc.py`). It asks for `calendar.events` only (events, not
the tutor's calendar settings or other calendars' sharing), with `access_type=offline` and
`prompt=consent` so Google always returns a refresh token: lessons are booked while the tutor
is not looking at the app.

Every endpoint comes from the discovery document at `settings.oidc_discovery_url` (Google's by
default), so tests point the whole flow at a local fake provider. The in-flight `state`, PKCE
verifier and nonce are rows of `oauth_states` (purpose "calendar", bound to the tutor's user
id): any worker can finish a flow another started, each state works once, and a callback
carrying someone else's state is refused.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlmodel import Session, col, delete, select

from tutor_app.core import clock
from tutor_app.core.models import OAuthState
from tutor_app.core.settings import get_settings

log = logging.getLogger(__name__)

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar.events"
SCOPES = ("openid", "email", CALENDAR_SCOPE)
PURPOSE = "calendar"
PROVIDER = "google"
CALLBACK_PATH = "/api/calendar/callback"
STATE_TTL = timedelta(minutes=10)
HTTP_TIMEOUT = 10.0
_DISCOVERY_TTL = 3600.0
_ID_TOKEN_LEEWAY = 120


class CalendarOAuthError(Exception):
    """The consent could not be completed; the message is safe to log (no tokens in it)."""


class GoogleNotConfigured(CalendarOAuthError):
    """GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET are not set, so there is nothing to connect to."""


@dataclass(frozen=True)
class CalendarGrant:
    """What a finished consent gives: the Google account and the token to store (encrypted)."""

    google_email: str
    token: dict[str, Any]


_discovery_lock = threading.Lock()
_discovery_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def discovery() -> dict[str, Any]:
    """The provider's discovery document, cached for an hour per URL (it rarely changes)."""
    url = get_settings().oidc_discovery_url
    now = time.monotonic()
    with _discovery_lock:
        cached = _discovery_cache.get(url)
        if cached is not None and now - cached[0] < _DISCOVERY_TTL:
            return cached[1]
    response = httpx.get(url, timeout=HTTP_TIMEOUT)
    response.raise_for_status()
    document = response.json()
    for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(key), str):
            raise CalendarOAuthError(f"discovery document lacks {key}")
    with _discovery_lock:
        _discovery_cache[url] = (now, document)
    return document


def clear_caches() -> None:
    """Forget cached discovery documents (tests switch providers)."""
    with _discovery_lock:
        _discovery_cache.clear()


def token_uri() -> str:
    """Where access tokens are refreshed (google-auth's `token_uri`)."""
    return str(discovery()["token_endpoint"])


def client_credentials() -> tuple[str, str]:
    """The app's OAuth client id and secret; `GoogleNotConfigured` when they are not set."""
    settings = get_settings()
    if not settings.google_client_id or not settings.google_client_secret:
        raise GoogleNotConfigured("GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are not set")
    return settings.google_client_id, settings.google_client_secret


def is_configured() -> bool:
    """True when a tutor can be offered "Connect Google Calendar"."""
    settings = get_settings()
    return bool(settings.google_client_id and settings.google_client_secret)


def redirect_uri() -> str:
    return get_settings().app_url + CALLBACK_PATH


def _client() -> OAuth2Client:
    client_id, client_secret = client_credentials()
    return OAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        scope=" ".join(SCOPES),
        redirect_uri=redirect_uri(),
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT,
    )


def start_authorization(db: Session, *, user_id: str, login_hint: str = "") -> str:
    """Record a single-use state for `user_id` and return Google's consent URL.

    Expired calendar states are swept here, so the table does not grow. The caller commits.
    """
    config = discovery()
    db.exec(
        delete(OAuthState).where(
            col(OAuthState.purpose) == PURPOSE, col(OAuthState.created_at) < clock.now() - STATE_TTL
        )
    )
    pending = OAuthState(
        state=secrets.token_urlsafe(32),
        purpose=PURPOSE,
        provider=PROVIDER,
        nonce=secrets.token_urlsafe(24),
        code_verifier=secrets.token_urlsafe(64),
        next_url="/tutor",
        user_id=user_id,
    )
    db.add(pending)
    extra = {"login_hint": login_hint} if login_hint else {}
    with _client() as client:
        url, _state = client.create_authorization_url(
            config["authorization_endpoint"],
            state=pending.state,
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
            access_type="offline",
            prompt="consent",
            **extra,
        )
    return str(url)


def consume_state(db: Session, *, state: str, user_id: str) -> OAuthState:
    """Take the pending flow for `state` out of the table, once; it must be `user_id`'s own.

    The row is deleted whatever happens next, so a state (and its code) cannot be replayed.
    The caller commits.
    """
    if not state:
        raise CalendarOAuthError("callback without state")
    pending = db.exec(
        select(OAuthState).where(
            col(OAuthState.state) == state, col(OAuthState.purpose) == PURPOSE
        )
    ).first()
    if pending is None:
        raise CalendarOAuthError("unknown or already used state")
    result = db.exec(
        delete(OAuthState).where(col(OAuthState.state) == state)
    )
    if result.rowcount != 1:  # another request consumed it between our select and delete
        raise CalendarOAuthError("state already used")
    if pending.user_id != user_id:
        raise CalendarOAuthError("state belongs to another user")
    if pending.created_at < clock.now() - STATE_TTL:
        raise CalendarOAuthError("state expired")
    return pending


def exchange_code(*, code: str, pending: OAuthState) -> CalendarGrant:
    """Trade the authorization code for tokens and learn which Google account granted them.

    Refuses a grant without a refresh token or without the calendar scope (Google lets users
    untick scopes on the consent screen): either would look connected and then fail.
    """
    if not code:
        raise CalendarOAuthError("callback without code")
    config = discovery()
    try:
        with _client() as client:
            token = client.fetch_token(
                config["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=pending.code_verifier,
            )
    except OAuthError as exc:
        raise CalendarOAuthError(f"token endpoint refused the code: {exc.error}") from exc
    except httpx.HTTPError as exc:
        raise CalendarOAuthError(f"token endpoint unreachable: {type(exc).__name__}") from exc
    granted = set(str(token.get("scope", " ".join(SCOPES))).split())
    if CALENDAR_SCOPE not in granted:
        raise CalendarOAuthError("the calendar permission was not granted")
    if not token.get("refresh_token"):
        raise CalendarOAuthError("Google returned no refresh token (offline access)")
    claims = _id_token_claims(config, token.get("id_token"), nonce=pending.nonce)
    email = claims.get("email") or _userinfo_email(config, str(token["access_token"]))
    if not email:
        raise CalendarOAuthError("Google did not say which account was connected")
    return CalendarGrant(google_email=str(email), token=stored_token(token))


def stored_token(token: Mapping[str, Any]) -> dict[str, Any]:
    """The fields worth keeping from a token response (no id_token: it is only for sign-in)."""
    expires_at = token.get("expires_at")
    if expires_at is None and token.get("expires_in") is not None:
        expires_at = int(time.time()) + int(token["expires_in"])
    return {
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token"),
        "expires_at": int(expires_at) if expires_at is not None else None,
        "scope": token.get("scope", " ".join(SCOPES)),
        "token_type": token.get("token_type", "Bearer"),
    }


def _id_token_claims(config: Mapping[str, Any], id_token: Any, *, nonce: str) -> dict[str, Any]:
    """The id_token's claims after checking signature (JWKS), issuer, audience, expiry, nonce."""
    if not id_token:
        raise CalendarOAuthError("token response has no id_token")
    client_id, _secret = client_credentials()
    try:
        jwks = httpx.get(str(config["jwks_uri"]), timeout=HTTP_TIMEOUT)
        jwks.raise_for_status()
        decoded = jwt.decode(str(id_token), KeySet.import_key_set(jwks.json()))
        jwt.JWTClaimsRegistry(
            leeway=_ID_TOKEN_LEEWAY,
            iss={"essential": True, "value": str(config["issuer"])},
            aud={"essential": True, "value": client_id},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(decoded.claims)
    except httpx.HTTPError as exc:
        raise CalendarOAuthError(f"cannot fetch the signing keys: {type(exc).__name__}") from exc
    except (JoseError, ValueError) as exc:
        raise CalendarOAuthError(f"invalid id_token: {type(exc).__name__}") from exc
    return dict(decoded.claims)


def _userinfo_email(config: Mapping[str, Any], access_token: str) -> str | None:
    endpoint = config.get("userinfo_endpoint")
    if not endpoint:
        return None
    try:
        response = httpx.get(
            str(endpoint), headers={"Authorization": f"Bearer {access_token}"},
            timeout=HTTP_TIMEOUT,
        )
        response.raise_for_status()
    except httpx.HTTPError:
        log.warning("calendar connect: userinfo request failed")
        return None
    email = response.json().get("email")
    return str(email) if email else None


def revoke(token: Mapping[str, Any]) -> bool:
    """Ask Google to revoke the grant (the refresh token revokes the whole grant).

    Best effort: a disconnect deletes the stored token even when Google cannot be reached, and
    says so in the log. Returns True when the provider confirmed (or the token was already dead).
    """
    value = token.get("refresh_token") or token.get("access_token")
    if not value:
        return False
    try:
        endpoint = discovery().get("revocation_endpoint")
        if not endpoint:
            log.warning("calendar disconnect: provider has no revocation endpoint")
            return False
        response = httpx.post(str(endpoint), data={"token": value}, timeout=HTTP_TIMEOUT)
    except (httpx.HTTPError, CalendarOAuthError) as exc:
        log.warning("calendar disconnect: revocation failed (%s)", type(exc).__name__)
        return False
    if response.status_code == 200:
        return True
    if response.status_code == 400 and "invalid_token" in response.text:
        return True  # already revoked or expired: the goal is reached
    log.warning("calendar disconnect: revocation answered %s", response.status_code)
    return False

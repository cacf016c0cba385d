"""The app's one OAuth 2.0 / OpenID Connect client (Authlib), shared by every flow.

Two flows use it: sign-in (`oidc.py`, OpenID Connect) and a tutor's Google Calendar grant
(`calendar_oauth.py`). Both talk to the provider found by the discovery document at
`OIDC_DISCOVERY_URL` (Google's by default), so tests point either at a local fake provider.
What they share lives here, once:

- the in-flight state: a row of `oauth_states` with a `purpose` per flow, holding the nonce
  and the PKCE (S256) verifier. Rows rather than a cookie or process memory, so the callback
  may land on any worker; each state works once (a conditional delete, so two racing
  callbacks cannot both pass) and for at most ten minutes of business time; a sign-in state
  also holds the starting browser's `browser_hash`, and only a callback from that browser
  passes (login CSRF, see `accounts.pre_sign_in`);
- the discovery document, cached for an hour;
- the provider's key set (JWKS), cached until an id_token names a key id it does not hold:
  then it is fetched again, once (the provider rotated its keys);
- id_token validation: asymmetric algorithms only, signature, iss, aud, sub, exp, iat, nonce
  and at_hash/azp (Authlib's `CodeIDToken`), against the real clock;
- the code exchange, the token to store for later refreshes, and revocation.

Protocol timestamps (token expiry, JWT exp/iat) use the real clock; the state's age is
business time (`clock.now()`). These functions block on the network: call them from a worker
thread, never the event loop.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlmodel import Session, col

from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.models import OAuthState
from tutor_app.core.settings import get_settings

log = logging.getLogger(__name__)

STATE_MAX_AGE = timedelta(minutes=10)
HTTP_TIMEOUT = 10.0
DISCOVERY_MAX_AGE = 3600.0  # seconds; the document rarely changes
MAX_STATE_LENGTH = 128
# Asymmetric algorithms only: "none" and HS* (keyed with the client secret) are never accepted.
ALLOWED_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                "ES512", "EdDSA")
CLOCK_LEEWAY = 60  # seconds of skew tolerated on exp/iat
_REQUIRED_ENDPOINTS = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")

_cache_lock = threading.Lock()
_discovery_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_jwks_cache: dict[str, dict[str, Any]] = {}


class OAuthFlowError(Exception):
    """An OAuth flow could not be completed. The message is for the log (never tokens in it),
    not for the user."""


class OAuthNotConfigured(OAuthFlowError):
    """GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET are not set, so there is no provider to use."""


# -- configuration ---------------------------------------------------------------------------


def is_configured() -> bool:
    """Whether the app has an OAuth client (id and secret) at the provider."""
    settings = get_settings()
    return bool(settings.google_client_id and settings.google_client_secret)


def client_credentials() -> tuple[str, str]:
    """The app's OAuth client id and secret; `OAuthNotConfigured` when they are not set."""
    settings = get_settings()
    if not settings.google_client_id or not settings.google_client_secret:
        raise OAuthNotConfigured("GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are not set")
    return settings.google_client_id, settings.google_client_secret


def redirect_uri(path: str) -> str:
    """A callback URL registered with the provider: derived from APP_URL, never the issuer."""
    return get_settings().app_url + path


# -- discovery and keys ----------------------------------------------------------------------


def clear_caches() -> None:
    """Forget cached discovery documents and key sets (tests switch providers)."""
    with _cache_lock:
        _discovery_cache.clear()
        _jwks_cache.clear()


def _get_json(url: str, what: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=True)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OAuthFlowError(f"cannot load {what}: {type(exc).__name__}") from exc
    if not isinstance(data, dict):
        raise OAuthFlowError(f"{what} is not a JSON object")
    return data


def discovery_document() -> dict[str, Any]:
    """The provider's discovery document, cached for an hour per URL."""
    url = get_settings().oidc_discovery_url
    now = time.monotonic()
    with _cache_lock:
        cached = _discovery_cache.get(url)
    if cached is not None and now - cached[0] < DISCOVERY_MAX_AGE:
        return cached[1]
    document = _get_json(url, "the discovery document")
    for key in _REQUIRED_ENDPOINTS:
        if not isinstance(document.get(key), str) or not document[key]:
            raise OAuthFlowError(f"the discovery document has no {key}")
    with _cache_lock:
        _discovery_cache[url] = (now, document)
    return document


def token_endpoint() -> str:
    """Where codes are redeemed and access tokens refreshed (google-auth's `token_uri`)."""
    return str(discovery_document()["token_endpoint"])


def _key_set(jwks_uri: str, *, refresh: bool = False) -> KeySet:
    with _cache_lock:
        cached = None if refresh else _jwks_cache.get(jwks_uri)
    if cached is None:
        cached = _get_json(jwks_uri, "the provider's keys")
        with _cache_lock:
            _jwks_cache[jwks_uri] = cached
    try:
        return KeySet.import_key_set(cached)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError) as exc:
        raise OAuthFlowError(f"the provider's keys are unusable: {type(exc).__name__}") from exc


# -- state -----------------------------------------------------------------------------------


def new_state(
    db: Session, *, purpose: str, provider: str, next_url: str = "/",
    user_id: str | None = None, browser_hash: str | None = None,
) -> OAuthState:
    """Record a fresh state, nonce and PKCE verifier for one redirect, bound to a user or a
    browser (`browser_hash`) when given. Caller commits.

    Abandoned flows leave their row behind; expired ones are cleared as new ones come in.
    """
    now = clock.now()
    db.execute(_expired_states(now))
    row = OAuthState(
        state=secrets.token_urlsafe(32),
        purpose=purpose,
        provider=provider,
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),  # 86 characters: within PKCE's 43..128
        next_url=next_url,
        user_id=user_id,
        created_at=now,
        browser_hash=browser_hash,
    )
    db.add(row)
    db.flush()
    return row


def _expired_states(now: datetime) -> sa.Delete:
    return (
        sa.delete(OAuthState)
        .where(col(OAuthState.created_at) < now - STATE_MAX_AGE)
        .execution_options(synchronize_session=False)
    )


def delete_expired_states(*, now: datetime | None = None) -> int:
    """Delete every state past STATE_MAX_AGE (abandoned redirects); how many. Owns its
    transaction; the periodic "sweep" job calls it."""
    with app_db.write_session() as db:
        result = db.execute(_expired_states(now or clock.now()))
        db.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def consume_state(
    db: Session, *, state: str, purpose: str, provider: str, user_id: str | None = None,
    browser_hash: str | None = None, now: datetime | None = None,
) -> OAuthState:
    """Take a state out of the table, once: it is deleted whatever happens next.

    Refused (OAuthFlowError) when unknown, already used (also by a concurrent callback),
    started by another flow or provider, bound to another user than `user_id` or another
    browser than `browser_hash`, or expired. Caller commits, also after a refusal, so a
    refused state is used up too.
    """
    if not state or len(state) > MAX_STATE_LENGTH:
        raise OAuthFlowError("missing or malformed state")
    row = db.get(OAuthState, state)
    if row is None:
        raise OAuthFlowError("unknown or already used state")
    deleted = db.execute(
        sa.delete(OAuthState)
        .where(col(OAuthState.state) == state)
        .execution_options(synchronize_session=False)
    )
    db.expunge(row)
    if deleted.rowcount != 1:  # type: ignore[attr-defined]
        raise OAuthFlowError("state used concurrently")
    if row.purpose != purpose or row.provider != provider:
        raise OAuthFlowError("state belongs to another flow")
    if row.user_id != user_id:
        raise OAuthFlowError("state belongs to another user")
    if not _same_binding(row.browser_hash, browser_hash):
        raise OAuthFlowError("state belongs to another browser")
    if (now or clock.now()) - row.created_at > STATE_MAX_AGE:
        raise OAuthFlowError("state expired")
    return row


def _same_binding(stored: str | None, given: str | None) -> bool:
    if stored is None or given is None:
        return stored is None and given is None
    return hmac.compare_digest(stored, given)


# -- the authorization-code flow -------------------------------------------------------------


def _client(document: Mapping[str, Any], *, scope: str, callback_path: str) -> OAuth2Client:
    client_id, client_secret = client_credentials()
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth_method = (
        "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    )
    return OAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method=auth_method,
        scope=scope,
        redirect_uri=redirect_uri(callback_path),
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT,
    )


def authorization_url(
    pending: OAuthState, *, scope: str, callback_path: str, **extra: str
) -> str:
    """The provider's authorization URL for a recorded state (PKCE S256 challenge, nonce)."""
    document = discovery_document()
    with _client(document, scope=scope, callback_path=callback_path) as client:
        url, _ = client.create_authorization_url(
            document["authorization_endpoint"], state=pending.state,
            code_verifier=pending.code_verifier, nonce=pending.nonce, **extra,
        )
    return str(url)


def exchange_code(
    *, code: str, pending: OAuthState, scope: str, callback_path: str
) -> dict[str, Any]:
    """Redeem the code with the PKCE verifier; the provider's token response."""
    if not code:
        raise OAuthFlowError("callback without a code")
    document = discovery_document()
    try:
        with _client(document, scope=scope, callback_path=callback_path) as client:
            token = client.fetch_token(
                document["token_endpoint"], grant_type="authorization_code", code=code,
                code_verifier=pending.code_verifier,
            )
    except OAuthNotConfigured:
        raise
    except Exception as exc:  # authlib's OAuthError, httpx errors, bad JSON: all one failure
        raise OAuthFlowError(f"token exchange failed: {type(exc).__name__}: {exc}") from exc
    return dict(token)


def validate_id_token(
    id_token: Any, *, nonce: str, access_token: str | None = None
) -> dict[str, Any]:
    """The id_token's claims once signature, iss, aud, sub, exp, iat, nonce, at_hash all hold.

    An id_token signed under a key id the cached key set lacks makes the key set be fetched
    again, once: providers rotate their keys and publish the new one before using it.
    """
    if not isinstance(id_token, str) or not id_token:
        raise OAuthFlowError("the token response has no id_token")
    client_id, _secret = client_credentials()
    if not nonce:
        raise OAuthFlowError("no nonce to check the id_token against")
    document = discovery_document()
    offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [alg for alg in offered if alg in ALLOWED_ALGS] or ["RS256"]
    jwks_uri = str(document["jwks_uri"])
    try:
        try:
            decoded = jwt.decode(id_token, _key_set(jwks_uri), algorithms=algorithms)
        except InvalidKeyIdError:
            log.info("id_token signed with an unknown key id: fetching the key set again")
            decoded = jwt.decode(
                id_token, _key_set(jwks_uri, refresh=True), algorithms=algorithms
            )
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": document["issuer"]},
                "aud": {"essential": True, "value": client_id},
                "sub": {"essential": True},
                "exp": {"essential": True},
                "nonce": {"essential": True, "value": nonce},
            },
            {"nonce": nonce, "client_id": client_id, "access_token": access_token},
        )
        claims.validate(now=int(time.time()), leeway=CLOCK_LEEWAY)
    except (JoseError, ValueError) as exc:
        raise OAuthFlowError(f"id_token rejected: {type(exc).__name__}: {exc}") from exc
    return dict(claims)


def userinfo(access_token: str) -> dict[str, Any] | None:
    """The provider's UserInfo claims for an access token (OpenID Connect Core 5.3); None when
    the discovery document names no userinfo endpoint.

    Raises `OAuthFlowError` when the endpoint cannot be reached, refuses the token, or does
    not answer a JSON object with a `sub`. The caller checks that `sub` is the id_token's.
    """
    if not access_token:
        raise OAuthFlowError("the token response has no access_token for userinfo")
    endpoint = discovery_document().get("userinfo_endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        return None
    try:
        response = httpx.get(
            endpoint, headers={"Authorization": f"Bearer {access_token}",
                               "Accept": "application/json"},
            timeout=HTTP_TIMEOUT,
        )
        response.raise_for_status()
        claims = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OAuthFlowError(f"userinfo request failed: {type(exc).__name__}") from exc
    if not isinstance(claims, dict):
        raise OAuthFlowError("userinfo is not a JSON object")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise OAuthFlowError("userinfo has no sub")
    return claims


def userinfo_email(access_token: str) -> str | None:
    """The email the provider's userinfo endpoint reports for a token, if it can be had."""
    endpoint = discovery_document().get("userinfo_endpoint")
    if not endpoint:
        return None
    try:
        response = httpx.get(
            str(endpoint), headers={"Authorization": f"Bearer {access_token}"},
            timeout=HTTP_TIMEOUT,
        )
        response.raise_for_status()
        email = response.json().get("email")
    except (httpx.HTTPError, ValueError, AttributeError):
        log.warning("userinfo request failed")
        return None
    return str(email) if email else None


def stored_token(token: Mapping[str, Any], *, default_scope: str) -> dict[str, Any]:
    """The fields worth keeping from a token response to refresh it later (no id_token).

    `expires_at` is an absolute real-clock time (the provider's tokens expire in real time).
    """
    expires_at = token.get("expires_at")
    if expires_at is None and token.get("expires_in") is not None:
        expires_at = int(time.time()) + int(token["expires_in"])
    return {
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token"),
        "expires_at": int(expires_at) if expires_at is not None else None,
        "scope": token.get("scope", default_scope),
        "token_type": token.get("token_type", "Bearer"),
    }


def revoke(token: Mapping[str, Any]) -> bool:
    """Ask the provider to revoke a grant (the refresh token revokes the whole grant).

    Best effort: True when the provider confirmed, or said the token was already dead; False
    (and a log line) when it could not be reached or has no revocation endpoint.
    """
    value = token.get("refresh_token") or token.get("access_token")
    if not value:
        return False
    try:
        endpoint = discovery_document().get("revocation_endpoint")
        if not endpoint:
            log.warning("revocation: the provider has no revocation endpoint")
            return False
        response = httpx.post(str(endpoint), data={"token": value}, timeout=HTTP_TIMEOUT)
    except (httpx.HTTPError, OAuthFlowError) as exc:
        log.warning("revocation failed (%s)", type(exc).__name__)
        return False
    if response.status_code == 200:
        return True
    if response.status_code == 400 and "invalid_token" in response.text:
        return True  # already revoked or expired: the goal is reached
    log.warning("revocation answered %s", response.status_code)
    return False

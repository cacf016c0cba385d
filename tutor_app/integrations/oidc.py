"""OpenID Connect sign-in (authorization code + PKCE) with Authlib, for Google or any issuer.

The provider is found by its discovery document (`OIDC_DISCOVERY_URL`, Google's by default),
so any OpenID issuer works; the app still calls it "google" in its URLs, because the redirect
URI a user registers with Google is `APP_URL/api/auth/callback/google`.

Every redirect gets a fresh `state` (CSRF), `nonce` (id_token replay) and PKCE verifier (code
interception), kept in the `oauth_states` table rather than in a cookie or process memory, so
the callback may land on any worker. A state is single-use and lives at most 10 minutes. The
id_token is checked against the provider's published keys: signature, issuer, audience,
expiry and nonce (and at_hash/azp through Authlib's `CodeIDToken`).

These functions block on the network: call them from a worker thread, never the event loop.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
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
from tutor_app.core.models import OAuthState
from tutor_app.core.settings import get_settings

log = logging.getLogger(__name__)

GOOGLE = "google"
PROVIDERS = frozenset({GOOGLE})
SCOPE = "openid email profile"
STATE_MAX_AGE = timedelta(minutes=10)
LOGIN_PURPOSE = "login"
HTTP_TIMEOUT = 10.0
# Asymmetric algorithms only: "none" and HS* (keyed with the client secret) are never accepted.
_ALLOWED_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                 "ES512", "EdDSA")
_CLOCK_LEEWAY = 60

_cache_lock = threading.Lock()
_discovery_cache: dict[str, dict[str, Any]] = {}
_jwks_cache: dict[str, dict[str, Any]] = {}


class OIDCError(Exception):
    """The sign-in could not be completed. The message is for the log, never for the user."""


@dataclass(frozen=True)
class OIDCIdentity:
    """Who the provider says signed in, from a validated id_token."""

    subject: str
    email: str | None
    email_verified: bool
    name: str


def is_enabled(provider: str) -> bool:
    """Whether sign-in with this provider is offered: a known name and a configured client."""
    return provider in PROVIDERS and get_settings().google_login_enabled


def redirect_uri(provider: str) -> str:
    """The callback URL registered with the provider (derived from APP_URL, never the issuer)."""
    return f"{get_settings().app_url}/api/auth/callback/{provider}"


def clear_caches() -> None:
    """Forget cached discovery documents and key sets (tests; key rotation is handled anyway)."""
    with _cache_lock:
        _discovery_cache.clear()
        _jwks_cache.clear()


def _get_json(url: str) -> dict[str, Any]:
    response = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=True)
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, dict):
        raise OIDCError(f"{url} did not return a JSON object")
    return data


def discovery_document(url: str | None = None) -> dict[str, Any]:
    """The provider's discovery document, fetched once per URL and cached for the process."""
    url = url or get_settings().oidc_discovery_url
    with _cache_lock:
        cached = _discovery_cache.get(url)
    if cached is not None:
        return cached
    try:
        document = _get_json(url)
    except (httpx.HTTPError, ValueError) as exc:
        raise OIDCError(f"cannot load the discovery document: {type(exc).__name__}") from exc
    for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(key), str) or not document[key]:
            raise OIDCError(f"the discovery document has no {key}")
    with _cache_lock:
        _discovery_cache[url] = document
    return document


def _key_set(jwks_uri: str, *, refresh: bool = False) -> KeySet:
    with _cache_lock:
        cached = None if refresh else _jwks_cache.get(jwks_uri)
    if cached is None:
        try:
            cached = _get_json(jwks_uri)
        except (httpx.HTTPError, ValueError) as exc:
            raise OIDCError(f"cannot load the provider's keys: {type(exc).__name__}") from exc
        with _cache_lock:
            _jwks_cache[jwks_uri] = cached
    return KeySet.import_key_set(cached)  # type: ignore[arg-type]


def _client(provider: str, document: dict[str, Any] | None = None) -> OAuth2Client:
    settings = get_settings()
    methods = (document or {}).get("token_endpoint_auth_methods_supported") or [
        "client_secret_basic"
    ]
    auth_method = "client_secret_basic" if "client_secret_basic" in methods else (
        "client_secret_post"
    )
    return OAuth2Client(
        client_id=settings.google_client_id,
        client_secret=settings.google_client_secret,
        token_endpoint_auth_method=auth_method,
        scope=SCOPE,
        redirect_uri=redirect_uri(provider),
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT,
    )


def start_login(
    db: Session, *, provider: str, next_url: str, now: datetime | None = None
) -> str:
    """Record a new state/nonce/PKCE verifier and return the provider's authorization URL.

    `next_url` must already be a safe same-site path. Caller commits.
    """
    document = discovery_document()
    now = now or clock.now()
    # Abandoned sign-ins leave their row behind; clear the stale ones as new ones come in.
    db.execute(
        sa.delete(OAuthState)
        .where(col(OAuthState.created_at) < now - STATE_MAX_AGE)
        .execution_options(synchronize_session=False)
    )
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    code_verifier = secrets.token_urlsafe(64)  # 86 characters: within PKCE's 43..128
    db.add(
        OAuthState(
            state=state, purpose=LOGIN_PURPOSE, provider=provider, nonce=nonce,
            code_verifier=code_verifier, next_url=next_url, created_at=now,
        )
    )
    db.flush()
    with _client(provider, document) as client:
        url, _ = client.create_authorization_url(
            document["authorization_endpoint"], state=state, code_verifier=code_verifier,
            nonce=nonce,
        )
    return str(url)


def take_state(
    db: Session, *, provider: str, state: str, now: datetime | None = None
) -> OAuthState:
    """Consume a login state: it is deleted whatever happens next, so it can never be replayed.

    The delete is conditional, so two callbacks racing with one state cannot both pass.
    Raises OIDCError for an unknown, reused, expired or mismatched state. Caller commits.
    """
    if not state or len(state) > 128:
        raise OIDCError("missing or malformed state")
    row = db.get(OAuthState, state)
    if row is None:
        raise OIDCError("unknown or already used state")
    deleted = db.execute(
        sa.delete(OAuthState)
        .where(col(OAuthState.state) == state)
        .execution_options(synchronize_session=False)
    )
    db.expunge(row)
    if deleted.rowcount != 1:  # type: ignore[attr-defined]
        raise OIDCError("state used concurrently")
    if row.purpose != LOGIN_PURPOSE or row.provider != provider:
        raise OIDCError("state belongs to another flow")
    if (now or clock.now()) - row.created_at > STATE_MAX_AGE:
        raise OIDCError("state expired")
    return row


def finish_login(*, provider: str, code: str, stored: OAuthState) -> OIDCIdentity:
    """Redeem the code (with the PKCE verifier) and validate the id_token it brings.

    Raises OIDCError naming what failed, for the log.
    """
    if not code:
        raise OIDCError("callback without a code")
    settings = get_settings()
    document = discovery_document()
    try:
        with _client(provider, document) as client:
            token = client.fetch_token(
                document["token_endpoint"], grant_type="authorization_code", code=code,
                code_verifier=stored.code_verifier,
            )
    except Exception as exc:  # authlib's OAuthError, httpx errors, bad JSON: all one failure
        raise OIDCError(f"token exchange failed: {type(exc).__name__}: {exc}") from exc
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise OIDCError("the token response has no id_token")
    claims = validate_id_token(
        id_token,
        document=document,
        client_id=settings.google_client_id or "",
        nonce=stored.nonce,
        access_token=token.get("access_token"),
    )
    email = claims.get("email")
    return OIDCIdentity(
        subject=str(claims["sub"]),
        email=email if isinstance(email, str) and email else None,
        email_verified=claims.get("email_verified") in (True, "true", "True"),
        name=str(claims.get("name") or ""),
    )


def validate_id_token(
    id_token: str,
    *,
    document: dict[str, Any],
    client_id: str,
    nonce: str,
    access_token: str | None = None,
) -> dict[str, Any]:
    """The id_token's claims once signature, iss, aud, exp, iat, nonce and at_hash all hold."""
    if not nonce or not client_id:
        raise OIDCError("no nonce or client id to check the id_token against")
    offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [alg for alg in offered if alg in _ALLOWED_ALGS] or ["RS256"]
    try:
        try:
            decoded = jwt.decode(id_token, _key_set(document["jwks_uri"]), algorithms=algorithms)
        except InvalidKeyIdError:  # the provider rotated its keys since we cached them
            decoded = jwt.decode(
                id_token, _key_set(document["jwks_uri"], refresh=True), algorithms=algorithms
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
        claims.validate(leeway=_CLOCK_LEEWAY)
    except (JoseError, ValueError) as exc:
        raise OIDCError(f"id_token rejected: {type(exc).__name__}: {exc}") from exc
    return dict(claims)

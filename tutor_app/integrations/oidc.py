"""OpenID Connect sign-in, for Google or any issuer (the shared client is `oauth.py`).

The provider is found by its discovery document (`OIDC_DISCOVERY_URL`, Google's by default),
so any OpenID issuer works; the app still calls it "google" in its URLs, because the redirect
URI a user registers with Google is `APP_URL/api/auth/callback/google`.

These functions block on the network: call them from a worker thread, never the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from tutor_app.core.models import OAuthState
from tutor_app.integrations import oauth

GOOGLE = "google"
PROVIDERS = frozenset({GOOGLE})
SCOPE = "openid email profile"
LOGIN_PURPOSE = "login"
CALLBACK_PATH = "/api/auth/callback/"


@dataclass(frozen=True)
class OIDCIdentity:
    """Who the provider says signed in, from a validated id_token."""

    subject: str
    email: str | None
    email_verified: bool
    name: str


def is_enabled(provider: str) -> bool:
    """Whether sign-in with this provider is offered: a known name and a configured client."""
    return provider in PROVIDERS and oauth.is_configured()


def start_login(db: Session, *, provider: str, next_url: str, browser_hash: str) -> str:
    """Record a new state/nonce/PKCE verifier and return the provider's authorization URL.

    `next_url` must already be a safe same-site path; `browser_hash` binds the state to the
    starting browser (its pre-sign-in cookie's hash), so only that browser's callback passes.
    Caller commits.
    """
    oauth.discovery_document()  # fail before writing anything when the provider is away
    pending = oauth.new_state(db, purpose=LOGIN_PURPOSE, provider=provider, next_url=next_url,
                              browser_hash=browser_hash)
    return oauth.authorization_url(pending, scope=SCOPE, callback_path=CALLBACK_PATH + provider)


def take_state(
    db: Session, *, provider: str, state: str, browser_hash: str | None
) -> OAuthState:
    """Consume a login state, once, refused unless `browser_hash` (the callback request's
    pre-sign-in cookie hash, None without one) is the starting browser's (see
    `oauth.consume_state`). Caller commits."""
    # "" rather than None: a login state is always bound, so no cookie never matches.
    return oauth.consume_state(db, state=state, purpose=LOGIN_PURPOSE, provider=provider,
                               browser_hash=browser_hash or "")


def finish_login(*, provider: str, code: str, stored: OAuthState) -> OIDCIdentity:
    """Redeem the code (with the PKCE verifier) and validate the id_token it brings.

    When the id_token carries no email, the email and email_verified claims come from the
    provider's UserInfo endpoint, whose `sub` must be the id_token's; an email_verified
    missing there means not verified.

    Raises `oauth.OAuthFlowError` naming what failed, for the log.
    """
    token = oauth.exchange_code(
        code=code, pending=stored, scope=SCOPE, callback_path=CALLBACK_PATH + provider
    )
    claims = oauth.validate_id_token(
        token.get("id_token"), nonce=stored.nonce, access_token=token.get("access_token")
    )
    subject = str(claims["sub"])
    if not _email_of(claims):
        # OpenID Connect Core 5.4: a provider may give the email claims in UserInfo only.
        info = oauth.userinfo(str(token.get("access_token") or ""))
        if info is not None:
            if info["sub"] != subject:
                raise oauth.OAuthFlowError("userinfo is about another subject than the id_token")
            claims = {**claims, "email": info.get("email"),
                      "email_verified": info.get("email_verified"),
                      "name": claims.get("name") or info.get("name")}
    return OIDCIdentity(
        subject=subject,
        email=_email_of(claims),
        email_verified=claims.get("email_verified") in (True, "true", "True"),
        name=str(claims.get("name") or ""),
    )


def _email_of(claims: Mapping[str, Any]) -> str | None:
    email = claims.get("email")
    return email if isinstance(email, str) and email else None

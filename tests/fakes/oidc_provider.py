"""A local OpenID Connect provider that speaks the real protocol over real HTTP, for tests.

It stands in for Google's endpoints, so the app's OIDC sign-in (discovery, authorization-code
flow with PKCE, id_token validation against the JWKS, userinfo, refresh, revocation) can be
tested end to end without the internet:

    with FakeOIDCProvider() as idp:
        idp.user = {"sub": "1234", "email": "a@b.c", "email_verified": True, "name": "Ann"}
        configure(OIDC_DISCOVERY_URL=idp.discovery_url, GOOGLE_CLIENT_ID=idp.client_id, ...)
        ...  # the browser / httpx follows the app's redirect to idp.authorization_endpoint

`/authorize` is non-interactive: it signs the configured `user` in at once and 302-redirects to
the client with a code. It is strict where a real provider may be lenient (state, nonce and an
S256 code_challenge are required), so a client that forgets one fails here first.

Tokens look like Google's (`4/0...` codes with a slash, `ya29.` access tokens, `1//` refresh
tokens), so clients that mishandle URL encoding fail too. Claims follow the granted scope as at
Google: `email`/`email_verified` need `email`, `name`/`picture`/... need `profile`; any other
key of `user` (e.g. `hd`) is always included.

Failure switches, for the unhappy paths: `id_token_overrides`, `state_override`,
`fail_token_endpoint`, `deny_consent`, `sign_with_wrong_key`, `userinfo_sub`,
`fail_userinfo`; `reset()` clears them. `email_only_in_userinfo` acts like an issuer that
gives `email`/`email_verified` in UserInfo only (OpenID Connect Core section 5.4).
`rotate_key()` starts signing under a new key id, as providers do every few weeks.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.fakes.server import StartStop, ThreadedServer

__all__ = ["DEFAULT_USER", "FakeOIDCProvider", "OIDCRequestError", "s256_challenge"]

DEFAULT_USER: dict[str, Any] = {
    "sub": "110248495921238986420",
    "email": "ann.example@gmail.com",
    "email_verified": True,
    "name": "Ann Example",
    "given_name": "Ann",
    "family_name": "Example",
    "picture": "https://lh3.googleusercontent.com/a/ann-example",
}

EMAIL_CLAIMS = frozenset({"email", "email_verified"})
PROFILE_CLAIMS = frozenset({"name", "given_name", "family_name", "picture", "locale"})
# Claims the provider owns: a `user` dict cannot set them (use id_token_overrides instead).
PROTOCOL_CLAIMS = frozenset({"iss", "aud", "azp", "exp", "iat", "nonce", "at_hash"})

_PKCE_VALUE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OIDCRequestError(Exception):
    """An OAuth 2.0 error response: `{"error": ..., "error_description": ...}` with a status."""

    def __init__(
        self,
        error: str,
        description: str,
        status_code: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status_code = status_code
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        body = {"error": self.error, "error_description": self.description}
        return JSONResponse(body, self.status_code, headers={**_NO_STORE, **self.headers})


@dataclass
class _Grant:
    """What one sign-in granted: shared by its access tokens and its refresh token."""

    client_id: str
    scope: str
    user: dict[str, Any]
    refresh_token: str | None = None
    revoked: bool = False


@dataclass
class _AuthCode:
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str
    code_challenge: str
    user: dict[str, Any]
    offline: bool
    expires_at: float
    grant: _Grant | None = None  # set once redeemed; a second redemption revokes it


@dataclass
class _AccessToken:
    grant: _Grant
    expires_at: float


@dataclass
class _Store:
    codes: dict[str, _AuthCode] = field(default_factory=dict)
    access_tokens: dict[str, _AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, _Grant] = field(default_factory=dict)


def s256_challenge(code_verifier: str) -> str:
    """The PKCE S256 code_challenge for a verifier (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _at_hash(access_token: str) -> str:
    """OIDC at_hash for RS256: left half of SHA-256 of the token, base64url without padding."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def _single_valued(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """OAuth parameters must not repeat (RFC 6749 section 3.1); reject a request where one does."""
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise OIDCRequestError("invalid_request", f"parameter {key!r} is repeated")
        params[key] = value
    return params


def _scopes(scope: str) -> set[str]:
    return set(scope.split())


class FakeOIDCProvider(StartStop):
    """A Google-like OpenID Connect provider (Starlette app) served on 127.0.0.1 in a thread.

    Set from tests at any time: `user` (who signs in at /authorize), `id_token_overrides`
    (claims to replace in every id_token; a value of None removes the claim), `state_override`
    (state to send back instead of the client's), `fail_token_endpoint` (500 from /token),
    `deny_consent` (redirect back with error=access_denied), `sign_with_wrong_key` (sign
    id_tokens with a key that is not in the JWKS, under the same kid), `issuer`,
    `email_only_in_userinfo` (leave `email`/`email_verified` out of id_tokens; /userinfo still
    gives them), `userinfo_sub` (the `sub` /userinfo answers instead of the user's),
    `fail_userinfo` (503 from /userinfo).

    Read: `requests` (every request as `(path, params)`, params being the query or form
    fields), `client_auth_methods` (how each /token request that passed client
    authentication did it: "client_secret_basic" or "client_secret_post"),
    `revoked` (tokens revoked through /revoke).
    """

    def __init__(
        self,
        client_id: str = "test-client-id.apps.googleusercontent.com",
        client_secret: str = "test-client-secret",
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        issuer: str | None = None,
        redirect_uris: list[str] | None = None,
        user: dict[str, Any] | None = None,
        token_lifetime: int = 3600,
        code_lifetime: int = 600,
    ) -> None:
        """`redirect_uris=None` accepts any absolute http(s) redirect_uri; a list is an allowlist.

        `issuer=None` uses the provider's own base URL, as a real provider does.
        """
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = redirect_uris
        self.token_lifetime = token_lifetime
        self.code_lifetime = code_lifetime
        self._issuer = issuer
        self.kid = "fake-oidc-" + secrets.token_hex(4)
        self._key = RSAKey.generate_key(
            2048, parameters={"kid": self.kid, "use": "sig", "alg": "RS256"}, private=True
        )
        self._wrong_key: RSAKey | None = None
        self._retired_keys: list[RSAKey] = []  # still served at /jwks
        self._key_published = True
        self._lock = threading.Lock()
        self._store = _Store()
        self.user: dict[str, Any] = copy.deepcopy(user if user is not None else DEFAULT_USER)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.client_auth_methods: list[str] = []
        self.revoked: list[str] = []
        self.id_token_overrides: dict[str, Any] = {}
        self.state_override: str | None = None
        self.fail_token_endpoint = False
        self.deny_consent = False
        self.sign_with_wrong_key = False
        self.email_only_in_userinfo = False
        self.userinfo_sub: str | None = None
        self.fail_userinfo = False
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery, methods=["GET"]),
                Route("/jwks", self._jwks, methods=["GET"]),
                Route("/authorize", self._authorize, methods=["GET"]),
                Route("/token", self._token, methods=["POST"]),
                Route("/userinfo", self._userinfo, methods=["GET", "POST"]),
                Route("/revoke", self._revoke, methods=["POST"]),
            ]
        )
        self.server = ThreadedServer(self.app, host=host, port=port)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeOIDCProvider:
        """Serve on 127.0.0.1 (a free port unless one was given); returns once it accepts."""
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()


    def reset(self) -> None:
        """Forget requests, codes and tokens, restore the default user and clear every switch."""
        with self._lock:
            self._store = _Store()
        self.user = copy.deepcopy(DEFAULT_USER)
        self.requests.clear()
        self.client_auth_methods.clear()
        self.revoked.clear()
        self.id_token_overrides = {}
        self.state_override = None
        self.fail_token_endpoint = False
        self.deny_consent = False
        self.sign_with_wrong_key = False
        self.email_only_in_userinfo = False
        self.userinfo_sub = None
        self.fail_userinfo = False
        self._retired_keys.clear()
        self._key_published = True

    # -- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:54321`` (once started)."""
        return self.server.url

    @property
    def issuer(self) -> str:
        return self._issuer if self._issuer is not None else self.url

    @issuer.setter
    def issuer(self, value: str | None) -> None:
        self._issuer = value

    @property
    def discovery_url(self) -> str:
        return self.url + "/.well-known/openid-configuration"

    @property
    def authorization_endpoint(self) -> str:
        return self.url + "/authorize"

    @property
    def token_endpoint(self) -> str:
        return self.url + "/token"

    @property
    def userinfo_endpoint(self) -> str:
        return self.url + "/userinfo"

    @property
    def revocation_endpoint(self) -> str:
        return self.url + "/revoke"

    @property
    def jwks_uri(self) -> str:
        return self.url + "/jwks"

    # -- keys and tokens ---------------------------------------------------------------------

    @property
    def jwks(self) -> dict[str, Any]:
        """The public key set served at /jwks."""
        published = [*self._retired_keys, *([self._key] if self._key_published else [])]
        return {"keys": [key.as_dict(private=False) for key in published]}

    def rotate_key(self, *, publish: bool = True) -> str:
        """Sign from now on with a fresh key under a new kid; returns the kid.

        The retired key stays in the JWKS next to the new one, as at Google. `publish=False`
        keeps the new key out of the JWKS: tokens signed with it name a kid no fetch finds.
        """
        with self._lock:
            if self._key_published:
                self._retired_keys.append(self._key)
            self._key_published = publish
            self.kid = "fake-oidc-" + secrets.token_hex(4)
            self._key = RSAKey.generate_key(
                2048, parameters={"kid": self.kid, "use": "sig", "alg": "RS256"}, private=True
            )
            self._wrong_key = None
        return self.kid

    def openid_configuration(self) -> dict[str, Any]:
        """The discovery document served at /.well-known/openid-configuration."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "userinfo_endpoint": self.userinfo_endpoint,
            "revocation_endpoint": self.revocation_endpoint,
            "jwks_uri": self.jwks_uri,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "offline_access"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": [
                "aud",
                "azp",
                "email",
                "email_verified",
                "exp",
                "family_name",
                "given_name",
                "iat",
                "iss",
                "name",
                "nonce",
                "picture",
                "sub",
            ],
            "code_challenge_methods_supported": ["S256"],
        }

    def sign_jwt(self, claims: dict[str, Any], *, wrong_key: bool = False) -> str:
        """Sign `claims` as an RS256 JWT under this provider's kid (or a key not in the JWKS)."""
        key = self._key
        if wrong_key:
            if self._wrong_key is None:
                self._wrong_key = RSAKey.generate_key(
                    2048, parameters={"kid": self.kid, "use": "sig", "alg": "RS256"}, private=True
                )
            key = self._wrong_key
        return jwt.encode({"alg": "RS256", "kid": self.kid, "typ": "JWT"}, claims, key)

    def id_token_claims(
        self,
        *,
        user: dict[str, Any],
        scope: str,
        nonce: str | None,
        access_token: str | None = None,
        client_id: str | None = None,
    ) -> dict[str, Any]:
        """The claims of an id_token for `user`, with `id_token_overrides` applied."""
        now = int(time.time())
        aud = client_id or self.client_id
        claims: dict[str, Any] = {"iss": self.issuer, "azp": aud, "aud": aud}
        claims.update(self._user_claims(user, scope))
        if self.email_only_in_userinfo:
            for name in EMAIL_CLAIMS:
                claims.pop(name, None)
        if access_token is not None:
            claims["at_hash"] = _at_hash(access_token)
        if nonce is not None:
            claims["nonce"] = nonce
        claims["iat"] = now
        claims["exp"] = now + self.token_lifetime
        for name, value in self.id_token_overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    @staticmethod
    def _user_claims(user: dict[str, Any], scope: str) -> dict[str, Any]:
        granted = _scopes(scope)
        claims: dict[str, Any] = {}
        for name, value in user.items():
            if name in PROTOCOL_CLAIMS:
                continue
            if name in EMAIL_CLAIMS and "email" not in granted:
                continue
            if name in PROFILE_CLAIMS and "profile" not in granted:
                continue
            claims[name] = value
        return claims

    # -- endpoints ---------------------------------------------------------------------------

    async def _discovery(self, request: Request) -> Response:
        self._record(request, {})
        return JSONResponse(self.openid_configuration())

    async def _jwks(self, request: Request) -> Response:
        self._record(request, {})
        return JSONResponse(self.jwks, headers={"Cache-Control": "public, max-age=300"})

    async def _authorize(self, request: Request) -> Response:
        pairs = list(parse_qsl(request.url.query, keep_blank_values=True))
        self._record(request, dict(pairs))
        try:
            params = _single_valued(pairs)
            return self._grant_code(params)
        except OIDCRequestError as err:
            return err.response()

    def _grant_code(self, params: dict[str, str]) -> Response:
        client_id = params.get("client_id")
        if not client_id:
            raise OIDCRequestError("invalid_request", "missing client_id")
        if client_id != self.client_id:
            raise OIDCRequestError("invalid_client", "The OAuth client was not found.", 401)
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            raise OIDCRequestError("invalid_request", "missing redirect_uri")
        self._check_redirect_uri(redirect_uri)
        if params.get("response_type") != "code":
            raise OIDCRequestError("unsupported_response_type", "response_type must be 'code'")
        scope = params.get("scope", "")
        if "openid" not in _scopes(scope):
            raise OIDCRequestError("invalid_scope", "scope must include 'openid'")
        for name in ("state", "nonce", "code_challenge", "code_challenge_method"):
            if not params.get(name):
                raise OIDCRequestError("invalid_request", f"missing {name}")
        if params["code_challenge_method"] != "S256":
            raise OIDCRequestError("invalid_request", "code_challenge_method must be 'S256'")
        if not _S256_CHALLENGE.match(params["code_challenge"]):
            raise OIDCRequestError("invalid_request", "code_challenge is not an S256 challenge")

        state = self.state_override if self.state_override is not None else params["state"]
        if self.deny_consent:
            return self._redirect(redirect_uri, {"error": "access_denied", "state": state})
        user = copy.deepcopy(self.user)
        if not user.get("sub"):
            raise OIDCRequestError("server_error", "FakeOIDCProvider.user has no 'sub'", 500)
        offline = "offline_access" in _scopes(scope) or params.get("access_type") == "offline"
        code = "4/0" + secrets.token_urlsafe(32)
        with self._lock:
            self._store.codes[code] = _AuthCode(
                client_id=client_id,
                redirect_uri=redirect_uri,
                scope=scope,
                nonce=params["nonce"],
                code_challenge=params["code_challenge"],
                user=user,
                offline=offline,
                expires_at=time.time() + self.code_lifetime,
            )
        return self._redirect(redirect_uri, {"code": code, "state": state, "scope": scope})

    def _check_redirect_uri(self, redirect_uri: str) -> None:
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            raise OIDCRequestError("invalid_request", "redirect_uri must be an absolute URL")
        if self.redirect_uris is not None and redirect_uri not in self.redirect_uris:
            raise OIDCRequestError(
                "redirect_uri_mismatch", f"redirect_uri {redirect_uri!r} is not registered"
            )

    @staticmethod
    def _redirect(redirect_uri: str, params: dict[str, str]) -> Response:
        parts = urlsplit(redirect_uri)
        query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
        location = urlunsplit(parts._replace(query=urlencode(query)))
        return RedirectResponse(location, status_code=302)

    async def _token(self, request: Request) -> Response:
        try:
            params = await self._form(request)
            if self.fail_token_endpoint:
                raise OIDCRequestError("server_error", "token endpoint switched off", 500)
            client_id, method = self._authenticate_client(request, params)
            self.client_auth_methods.append(method)
            grant_type = params.get("grant_type")
            if not grant_type:
                raise OIDCRequestError("invalid_request", "missing grant_type")
            if grant_type == "authorization_code":
                body = self._redeem_code(client_id, params)
            elif grant_type == "refresh_token":
                body = self._refresh(client_id, params)
            else:
                raise OIDCRequestError("unsupported_grant_type", f"{grant_type!r}")
        except OIDCRequestError as err:
            return err.response()
        return JSONResponse(body, headers=_NO_STORE)

    async def _form(self, request: Request) -> dict[str, str]:
        """The form fields of a POST (recorded), which must be urlencoded and not repeat."""
        body = (await request.body()).decode("utf-8", errors="replace")
        pairs = parse_qsl(body, keep_blank_values=True)
        self._record(request, dict(pairs))
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if body and content_type != "application/x-www-form-urlencoded":
            raise OIDCRequestError(
                "invalid_request", "body must be application/x-www-form-urlencoded"
            )
        return _single_valued(pairs)

    def _authenticate_client(self, request: Request, params: dict[str, str]) -> tuple[str, str]:
        """client_secret_basic or client_secret_post, never both (RFC 6749 section 2.3)."""
        header = request.headers.get("authorization", "")
        basic = header[:6].lower() == "basic "
        posted = "client_secret" in params
        if basic and posted:
            raise OIDCRequestError("invalid_request", "more than one client authentication")
        if basic:
            method = "client_secret_basic"
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise self._invalid_client(basic=True) from exc
            raw_id, sep, raw_secret = decoded.partition(":")
            if not sep:
                raise self._invalid_client(basic=True)
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
            if params.get("client_id", client_id) != client_id:
                raise OIDCRequestError("invalid_request", "client_id differs from credentials")
        elif posted:
            method = "client_secret_post"
            client_id, secret = params.get("client_id", ""), params["client_secret"]
        else:
            raise self._invalid_client(basic=False)
        id_ok = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        secret_ok = hmac.compare_digest(secret.encode(), self.client_secret.encode())
        if not (id_ok and secret_ok):
            raise self._invalid_client(basic=basic)
        return client_id, method

    @staticmethod
    def _invalid_client(*, basic: bool) -> OIDCRequestError:
        headers = {"WWW-Authenticate": 'Basic realm="fake-oidc"'} if basic else {}
        return OIDCRequestError("invalid_client", "client authentication failed", 401, headers)

    def _redeem_code(self, client_id: str, params: dict[str, str]) -> dict[str, Any]:
        code = params.get("code")
        if not code:
            raise OIDCRequestError("invalid_request", "missing code")
        with self._lock:
            record = self._store.codes.get(code)
            if record is None:
                raise OIDCRequestError("invalid_grant", "unknown authorization code")
            if record.grant is not None:
                # RFC 6749 section 4.1.2: a reused code revokes what it granted.
                record.grant.revoked = True
                raise OIDCRequestError("invalid_grant", "authorization code already used")
            if time.time() > record.expires_at:
                raise OIDCRequestError("invalid_grant", "authorization code expired")
            if record.client_id != client_id:
                raise OIDCRequestError("invalid_grant", "code was issued to another client")
            if params.get("redirect_uri") != record.redirect_uri:
                raise OIDCRequestError("invalid_grant", "redirect_uri does not match")
            verifier = params.get("code_verifier")
            if not verifier:
                raise OIDCRequestError("invalid_grant", "missing code_verifier")
            if not _PKCE_VALUE.match(verifier):
                raise OIDCRequestError("invalid_grant", "malformed code_verifier")
            if not hmac.compare_digest(s256_challenge(verifier), record.code_challenge):
                raise OIDCRequestError("invalid_grant", "code_verifier does not match")
            grant = _Grant(client_id=client_id, scope=record.scope, user=record.user)
            record.grant = grant
            if record.offline:
                grant.refresh_token = "1//" + secrets.token_urlsafe(48)
                self._store.refresh_tokens[grant.refresh_token] = grant
            body = self._issue(grant, nonce=record.nonce)
        if grant.refresh_token is not None:
            body["refresh_token"] = grant.refresh_token
        return body

    def _refresh(self, client_id: str, params: dict[str, str]) -> dict[str, Any]:
        token = params.get("refresh_token")
        if not token:
            raise OIDCRequestError("invalid_request", "missing refresh_token")
        with self._lock:
            grant = self._store.refresh_tokens.get(token)
            if grant is None or grant.revoked:
                raise OIDCRequestError("invalid_grant", "Token has been expired or revoked.")
            if grant.client_id != client_id:
                raise OIDCRequestError("invalid_grant", "refresh_token issued to another client")
            scope = params.get("scope")
            if scope and not _scopes(scope) <= _scopes(grant.scope):
                raise OIDCRequestError("invalid_scope", "scope exceeds the original grant")
            # Like Google: a new access token (and id_token without nonce), same refresh token.
            return self._issue(grant, nonce=None)

    def _issue(self, grant: _Grant, *, nonce: str | None) -> dict[str, Any]:
        """Mint an access token (and id_token) for `grant`; the caller holds the lock."""
        access_token = "ya29." + secrets.token_urlsafe(48)
        self._store.access_tokens[access_token] = _AccessToken(
            grant=grant, expires_at=time.time() + self.token_lifetime
        )
        claims = self.id_token_claims(
            user=grant.user,
            scope=grant.scope,
            nonce=nonce,
            access_token=access_token,
            client_id=grant.client_id,
        )
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "scope": grant.scope,
            "id_token": self.sign_jwt(claims, wrong_key=self.sign_with_wrong_key),
        }

    async def _userinfo(self, request: Request) -> Response:
        self._record(request, dict(request.query_params))
        if self.fail_userinfo:
            return JSONResponse(
                {"error": "temporarily_unavailable", "error_description": "userinfo is down"},
                503,
            )
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        with self._lock:
            record = self._store.access_tokens.get(token) if token else None
            valid = (
                record is not None and not record.grant.revoked and time.time() < record.expires_at
            )
        if record is None or not valid:
            error = 'Bearer error="invalid_token"' if token else 'Bearer realm="fake-oidc"'
            return JSONResponse(
                {"error": "invalid_token", "error_description": "Invalid Credentials"},
                401,
                headers={"WWW-Authenticate": error},
            )
        user = record.grant.user
        sub = self.userinfo_sub if self.userinfo_sub is not None else user["sub"]
        return JSONResponse({**self._user_claims(user, record.grant.scope), "sub": sub})

    async def _revoke(self, request: Request) -> Response:
        """Google's revocation: revoking either token of a grant revokes the whole grant."""
        try:
            params = await self._form(request)
            params = {**dict(request.query_params), **params}
            basic = request.headers.get("authorization", "")[:6].lower() == "basic "
            if basic or "client_secret" in params:
                self._authenticate_client(request, params)
            token = params.get("token")
            if not token:
                raise OIDCRequestError("invalid_request", "missing token")
            with self._lock:
                grant = self._store.refresh_tokens.get(token)
                access = self._store.access_tokens.get(token)
                if grant is None and access is not None:
                    grant = access.grant
                if grant is None or grant.revoked:
                    raise OIDCRequestError("invalid_token", "Token expired or revoked")
                grant.revoked = True
        except OIDCRequestError as err:
            return err.response()
        self.revoked.append(token)
        return Response(status_code=200)

    def _record(self, request: Request, params: dict[str, str]) -> None:
        self.requests.append((request.url.path, params))

    def requests_to(self, path: str) -> list[dict[str, str]]:
        """The params of every recorded request to `path` (e.g. "/authorize"), oldest first."""
        return [params for p, params in self.requests if p == path]

"""The fake OIDC provider speaks the protocol that a standard client (Authlib) expects.

Every test goes over real HTTP to the provider on 127.0.0.1, with Authlib's own OAuth 2.0
client doing the authorization-code + PKCE flow and Authlib's JOSE code checking the id_token
against the published JWKS, so the fake cannot drift into something only our code accepts.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from authlib.jose import JsonWebKey, jwt
from authlib.jose.errors import BadSignatureError, InvalidClaimError
from authlib.oauth2.rfc6749.errors import MismatchingStateException
from authlib.oidc.core import CodeIDToken

from tests.fakes.oidc_provider import DEFAULT_USER, FakeOIDCProvider, s256_challenge

# The client's callback: the provider only redirects the user agent there, never calls it.
REDIRECT_URI = "http://127.0.0.1:9/api/auth/callback/google"
SCOPE = "openid email profile"


@pytest.fixture(scope="module")
def running_provider() -> Iterator[FakeOIDCProvider]:
    with FakeOIDCProvider() as provider:
        yield provider


@pytest.fixture
def provider(running_provider: FakeOIDCProvider) -> FakeOIDCProvider:
    running_provider.reset()
    return running_provider


def make_client(
    provider: FakeOIDCProvider,
    *,
    auth_method: str = "client_secret_basic",
    scope: str = SCOPE,
    client_secret: str | None = None,
) -> OAuth2Client:
    return OAuth2Client(
        client_id=provider.client_id,
        client_secret=client_secret if client_secret is not None else provider.client_secret,
        token_endpoint_auth_method=auth_method,
        scope=scope,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )


def authorize(
    provider: FakeOIDCProvider, client: OAuth2Client, **extra: str
) -> tuple[str, dict[str, str]]:
    """Send the user agent to /authorize; the redirect back to the client and what was sent."""
    sent = {"code_verifier": generate_token(48), "nonce": generate_token(20)}
    url, state = client.create_authorization_url(
        provider.authorization_endpoint,
        code_verifier=sent["code_verifier"],
        nonce=sent["nonce"],
        **extra,
    )
    sent["state"] = state
    response = httpx.get(url, follow_redirects=False)
    assert response.status_code == 302, response.text
    return response.headers["location"], sent


def sign_in(
    provider: FakeOIDCProvider, client: OAuth2Client, **extra: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The whole code flow; the token response and what the client sent."""
    location, sent = authorize(provider, client, **extra)
    token = client.fetch_token(
        provider.token_endpoint,
        authorization_response=location,
        state=sent["state"],
        code_verifier=sent["code_verifier"],
    )
    return dict(token), sent


def validate_id_token(provider: FakeOIDCProvider, id_token: str, nonce: str) -> dict[str, Any]:
    """What a relying party does: keys from the discovery document's jwks_uri, then claims."""
    config = httpx.get(provider.discovery_url).json()
    key_set = JsonWebKey.import_key_set(httpx.get(config["jwks_uri"]).json())
    claims = jwt.decode(
        id_token,
        key_set,
        claims_options={
            "iss": {"essential": True, "value": config["issuer"]},
            "aud": {"essential": True, "value": provider.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "nonce": {"essential": True, "value": nonce},
        },
    )
    claims.validate()
    return dict(claims)


def token_error(call: Any) -> OAuthError:
    with pytest.raises(OAuthError) as info:
        call()
    return info.value


# -- discovery and keys ----------------------------------------------------------------------


def test_discovery_document_points_at_its_own_endpoints(provider: FakeOIDCProvider) -> None:
    response = httpx.get(provider.discovery_url)

    assert response.status_code == 200
    config = response.json()
    assert config["issuer"] == provider.url
    assert config["authorization_endpoint"] == provider.url + "/authorize"
    assert config["token_endpoint"] == provider.url + "/token"
    assert config["jwks_uri"] == provider.url + "/jwks"
    assert config["userinfo_endpoint"] == provider.url + "/userinfo"
    assert config["revocation_endpoint"] == provider.url + "/revoke"
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert "code" in config["response_types_supported"]
    assert {"openid", "email", "profile"} <= set(config["scopes_supported"])


def test_jwks_publishes_only_the_public_rsa_key_with_a_kid(provider: FakeOIDCProvider) -> None:
    keys = httpx.get(provider.url + "/jwks").json()["keys"]

    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA"
    assert keys[0]["kid"] == provider.kid
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(keys[0])


# -- the happy path --------------------------------------------------------------------------


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_code_flow_with_pkce_yields_a_valid_id_token(
    provider: FakeOIDCProvider, auth_method: str
) -> None:
    provider.user = {"sub": "1234", "email": "a@b.c", "email_verified": True, "name": "Ann"}
    client = make_client(provider, auth_method=auth_method)

    token, sent = sign_in(provider, client)

    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["access_token"]
    assert "refresh_token" not in token
    claims = validate_id_token(provider, token["id_token"], sent["nonce"])
    assert claims["iss"] == provider.url
    assert claims["aud"] == provider.client_id
    assert claims["nonce"] == sent["nonce"]
    assert claims["sub"] == "1234"
    assert claims["email"] == "a@b.c"
    assert claims["email_verified"] is True
    assert claims["name"] == "Ann"
    assert claims["iat"] <= time.time() < claims["exp"]
    assert provider.client_auth_methods == [auth_method]


def test_authorize_request_is_recorded_and_redirect_carries_code_and_state(
    provider: FakeOIDCProvider,
) -> None:
    location, sent = authorize(provider, make_client(provider))

    assert location.startswith(REDIRECT_URI + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [sent["state"]]
    assert query["code"][0].startswith("4/")  # Google's codes hold a slash: decode the query
    (params,) = provider.requests_to("/authorize")
    assert params["client_id"] == provider.client_id
    assert params["redirect_uri"] == REDIRECT_URI
    assert params["nonce"] == sent["nonce"]
    assert params["code_challenge"] == s256_challenge(sent["code_verifier"])
    assert params["code_challenge_method"] == "S256"
    assert ("/authorize", params) in provider.requests


def test_id_token_passes_authlib_oidc_checks_including_at_hash(
    provider: FakeOIDCProvider,
) -> None:
    token, sent = sign_in(provider, make_client(provider))

    key_set = JsonWebKey.import_key_set(provider.jwks)
    claims = jwt.decode(
        token["id_token"],
        key_set,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"value": provider.issuer}},
        claims_params={
            "nonce": sent["nonce"],
            "client_id": provider.client_id,
            "access_token": token["access_token"],
        },
    )
    claims.validate()
    assert claims["picture"] == DEFAULT_USER["picture"]
    assert claims["azp"] == provider.client_id


def test_claims_follow_the_granted_scope(provider: FakeOIDCProvider) -> None:
    provider.user = {**DEFAULT_USER, "hd": "example.com"}

    token, sent = sign_in(provider, make_client(provider, scope="openid"))

    claims = validate_id_token(provider, token["id_token"], sent["nonce"])
    assert claims["sub"] == DEFAULT_USER["sub"]
    assert claims["hd"] == "example.com"
    assert not {"email", "email_verified", "name", "picture"} & set(claims)


def test_userinfo_answers_a_bearer_token(provider: FakeOIDCProvider) -> None:
    client = make_client(provider)
    sign_in(provider, client)

    info = client.get(provider.userinfo_endpoint).json()

    assert info["sub"] == DEFAULT_USER["sub"]
    assert info["email"] == DEFAULT_USER["email"]
    assert info["name"] == DEFAULT_USER["name"]
    missing = httpx.get(provider.userinfo_endpoint)
    assert missing.status_code == 401
    wrong = httpx.get(provider.userinfo_endpoint, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]


def test_email_only_in_userinfo_leaves_it_out_of_the_id_token(
    provider: FakeOIDCProvider,
) -> None:
    provider.email_only_in_userinfo = True
    client = make_client(provider)

    token, sent = sign_in(provider, client)

    claims = validate_id_token(provider, token["id_token"], sent["nonce"])
    assert not {"email", "email_verified"} & set(claims)
    assert claims["name"] == DEFAULT_USER["name"]
    info = client.get(provider.userinfo_endpoint).json()
    assert info["email"] == DEFAULT_USER["email"]
    assert info["email_verified"] is True


def test_userinfo_switches_answer_another_sub_or_fail(provider: FakeOIDCProvider) -> None:
    client = make_client(provider)
    sign_in(provider, client)

    provider.userinfo_sub = "someone-else"
    assert client.get(provider.userinfo_endpoint).json()["sub"] == "someone-else"
    provider.fail_userinfo = True
    assert client.get(provider.userinfo_endpoint).status_code == 503
    provider.reset()
    assert provider.userinfo_sub is None
    assert not provider.fail_userinfo and not provider.email_only_in_userinfo


# -- refresh and revocation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "extra"),
    [(SCOPE, {"access_type": "offline", "prompt": "consent"}), (SCOPE + " offline_access", {})],
)
def test_offline_access_adds_a_refresh_token_that_refreshes(
    provider: FakeOIDCProvider, scope: str, extra: dict[str, str]
) -> None:
    client = make_client(provider, scope=scope)
    token, _ = sign_in(provider, client, **extra)
    assert token["refresh_token"].startswith("1//")

    refreshed = client.refresh_token(provider.token_endpoint)

    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] == token["refresh_token"]  # kept, as Google does
    assert client.get(provider.userinfo_endpoint).status_code == 200
    (_, last) = provider.requests[-2]  # the refresh, then the userinfo call
    assert last["grant_type"] == "refresh_token"


def test_unknown_refresh_token_is_invalid_grant(provider: FakeOIDCProvider) -> None:
    client = make_client(provider)

    error = token_error(lambda: client.refresh_token(provider.token_endpoint, "1//made-up"))

    assert error.error == "invalid_grant"


def test_revocation_is_recorded_and_ends_the_grant(provider: FakeOIDCProvider) -> None:
    client = make_client(provider)
    token, _ = sign_in(provider, client, access_type="offline")

    response = client.revoke_token(provider.revocation_endpoint, token["refresh_token"])

    assert response.status_code == 200
    assert provider.revoked == [token["refresh_token"]]
    assert client.get(provider.userinfo_endpoint).status_code == 401
    error = token_error(lambda: client.refresh_token(provider.token_endpoint))
    assert error.error == "invalid_grant"
    again = httpx.post(provider.revocation_endpoint, data={"token": token["access_token"]})
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_token"


def test_revoking_the_access_token_by_query_parameter(provider: FakeOIDCProvider) -> None:
    client = make_client(provider)
    token, _ = sign_in(provider, client)

    response = httpx.post(provider.revocation_endpoint, params={"token": token["access_token"]})

    assert response.status_code == 200
    assert provider.revoked == [token["access_token"]]
    assert client.get(provider.userinfo_endpoint).status_code == 401


# -- the token endpoint refuses ---------------------------------------------------------------


def test_pkce_mismatch_is_invalid_grant(provider: FakeOIDCProvider) -> None:
    client = make_client(provider)
    location, sent = authorize(provider, client)

    error = token_error(
        lambda: client.fetch_token(
            provider.token_endpoint,
            authorization_response=location,
            state=sent["state"],
            code_verifier=generate_token(48),
        )
    )

    assert error.error == "invalid_grant"


def test_missing_code_verifier_is_invalid_grant(provider: FakeOIDCProvider) -> None:
    location, _ = authorize(provider, make_client(provider))
    code = parse_qs(urlsplit(location).query)["code"][0]

    response = httpx.post(
        provider.token_endpoint,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=(provider.client_id, provider.client_secret),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert response.headers["cache-control"] == "no-store"


def test_code_is_single_use_and_reuse_revokes_its_tokens(provider: FakeOIDCProvider) -> None:
    client = make_client(provider)
    location, sent = authorize(provider, client)

    def redeem() -> Any:
        return client.fetch_token(
            provider.token_endpoint,
            authorization_response=location,
            state=sent["state"],
            code_verifier=sent["code_verifier"],
        )

    redeem()
    assert client.get(provider.userinfo_endpoint).status_code == 200
    assert token_error(redeem).error == "invalid_grant"
    assert client.get(provider.userinfo_endpoint).status_code == 401


def test_redirect_uri_must_match_the_authorize_request(provider: FakeOIDCProvider) -> None:
    client = make_client(provider)
    location, sent = authorize(provider, client)

    error = token_error(
        lambda: client.fetch_token(
            provider.token_endpoint,
            authorization_response=location,
            code_verifier=sent["code_verifier"],
            redirect_uri="http://127.0.0.1:9/elsewhere",
        )
    )

    assert error.error == "invalid_grant"


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_wrong_client_secret_is_invalid_client(
    provider: FakeOIDCProvider, auth_method: str
) -> None:
    client = make_client(provider, auth_method=auth_method, client_secret="wrong")
    location, sent = authorize(provider, client)

    error = token_error(
        lambda: client.fetch_token(
            provider.token_endpoint,
            authorization_response=location,
            state=sent["state"],
            code_verifier=sent["code_verifier"],
        )
    )

    assert error.error == "invalid_client"
    assert provider.client_auth_methods == []


def test_both_client_authentication_methods_at_once_are_refused(
    provider: FakeOIDCProvider,
) -> None:
    basic = base64.b64encode(f"{provider.client_id}:{provider.client_secret}".encode()).decode()

    response = httpx.post(
        provider.token_endpoint,
        data={
            "grant_type": "refresh_token",
            "refresh_token": "x",
            "client_secret": provider.client_secret,
        },
        headers={"Authorization": f"Basic {basic}"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_unsupported_grant_type(provider: FakeOIDCProvider) -> None:
    response = httpx.post(
        provider.token_endpoint,
        data={"grant_type": "password", "username": "a", "password": "b"},
        auth=(provider.client_id, provider.client_secret),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


# -- /authorize refuses ----------------------------------------------------------------------


def good_authorize_params(provider: FakeOIDCProvider) -> dict[str, str]:
    return {
        "client_id": provider.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": SCOPE,
        "state": "s" * 20,
        "nonce": "n" * 20,
        "code_challenge": s256_challenge("v" * 43),
        "code_challenge_method": "S256",
    }


def test_good_authorize_params_are_good(provider: FakeOIDCProvider) -> None:
    response = httpx.get(provider.authorization_endpoint, params=good_authorize_params(provider))

    assert response.status_code == 302


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_id": None}, "invalid_request"),
        ({"client_id": "someone-else"}, "invalid_client"),
        ({"redirect_uri": None}, "invalid_request"),
        ({"redirect_uri": "/relative/callback"}, "invalid_request"),
        ({"response_type": None}, "unsupported_response_type"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "email profile"}, "invalid_scope"),
        ({"state": None}, "invalid_request"),
        ({"nonce": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
    ],
)
def test_authorize_rejects_incomplete_requests(
    provider: FakeOIDCProvider, change: dict[str, str | None], error: str
) -> None:
    params = good_authorize_params(provider)
    for name, value in change.items():
        if value is None:
            del params[name]
        else:
            params[name] = value

    response = httpx.get(provider.authorization_endpoint, params=params)

    assert response.status_code in (400, 401)
    assert response.json()["error"] == error
    assert provider.requests_to("/authorize") == [params]


def test_authorize_rejects_repeated_parameters(provider: FakeOIDCProvider) -> None:
    params = [*good_authorize_params(provider).items(), ("state", "another")]

    response = httpx.get(provider.authorization_endpoint, params=params)

    assert response.status_code == 400


def test_redirect_uri_allowlist() -> None:
    with FakeOIDCProvider(redirect_uris=[REDIRECT_URI], client_id="c", client_secret="s") as idp:
        params = good_authorize_params(idp)
        assert httpx.get(idp.authorization_endpoint, params=params).status_code == 302
        params["redirect_uri"] = "http://127.0.0.1:9/other"
        response = httpx.get(idp.authorization_endpoint, params=params)
        assert response.status_code == 400
        assert response.json()["error"] == "redirect_uri_mismatch"


# -- misbehaviour switches -------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [{"iss": "https://evil.example"}, {"nonce": "wrong"}, {"aud": "other-client"}],
)
def test_id_token_overrides_show_up_and_fail_validation(
    provider: FakeOIDCProvider, overrides: dict[str, str]
) -> None:
    provider.id_token_overrides = overrides

    token, sent = sign_in(provider, make_client(provider))

    claims = jwt.decode(token["id_token"], JsonWebKey.import_key_set(provider.jwks))
    for name, value in overrides.items():
        assert claims[name] == value
    with pytest.raises(InvalidClaimError):
        validate_id_token(provider, token["id_token"], sent["nonce"])


def test_id_token_override_none_removes_the_claim(provider: FakeOIDCProvider) -> None:
    provider.id_token_overrides = {"nonce": None, "exp": int(time.time()) - 600}

    token, _ = sign_in(provider, make_client(provider))

    claims = jwt.decode(token["id_token"], JsonWebKey.import_key_set(provider.jwks))
    assert "nonce" not in claims
    assert claims["exp"] < time.time()


def test_state_override_is_caught_by_the_client(provider: FakeOIDCProvider) -> None:
    provider.state_override = "forged-state"
    client = make_client(provider)
    location, sent = authorize(provider, client)

    assert parse_qs(urlsplit(location).query)["state"] == ["forged-state"]
    with pytest.raises(MismatchingStateException):
        client.fetch_token(
            provider.token_endpoint,
            authorization_response=location,
            state=sent["state"],
            code_verifier=sent["code_verifier"],
        )


def test_fail_token_endpoint(provider: FakeOIDCProvider) -> None:
    provider.fail_token_endpoint = True
    client = make_client(provider)
    location, sent = authorize(provider, client)
    code = parse_qs(urlsplit(location).query)["code"][0]

    response = httpx.post(
        provider.token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": sent["code_verifier"],
        },
        auth=(provider.client_id, provider.client_secret),
    )

    assert response.status_code == 500
    assert response.json()["error"] == "server_error"
    assert provider.requests_to("/token")[-1]["code"] == code


def test_deny_consent_redirects_with_access_denied(provider: FakeOIDCProvider) -> None:
    provider.deny_consent = True

    location, sent = authorize(provider, make_client(provider))

    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == [sent["state"]]
    assert "code" not in query


def test_sign_with_wrong_key_fails_signature_check(provider: FakeOIDCProvider) -> None:
    provider.sign_with_wrong_key = True

    token, sent = sign_in(provider, make_client(provider))

    with pytest.raises(BadSignatureError):
        validate_id_token(provider, token["id_token"], sent["nonce"])


def test_issuer_can_be_fixed() -> None:
    with FakeOIDCProvider(issuer="https://accounts.google.com") as idp:
        assert httpx.get(idp.discovery_url).json()["issuer"] == "https://accounts.google.com"
        token, sent = sign_in(idp, make_client(idp))
        claims = validate_id_token(idp, token["id_token"], sent["nonce"])
        assert claims["iss"] == "https://accounts.google.com"

"""The /api/auth routes over real HTTP: cookies, throttling, redirects and OpenID sign-in.

Redirects are followed by hand, as a browser would, so each hop (our login route, the
provider's /authorize, our callback) can be checked on its own.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import Session, col, select

from tests.api.conftest import ConfigureFn
from tests.factories import browser_cookie
from tests.fakes.oidc_provider import FakeOIDCProvider
from tests.fakes.server import ThreadedServer
from tests.hashing_helpers import hashing_turns_taken
from tutor_app.accounts import passwords, pre_sign_in, sign_in_sessions, users
from tutor_app.api.auth import OIDC_CANCELLED, OIDC_FAILED, TICKET_EXPIRED
from tutor_app.core import clock, rate_limits
from tutor_app.core.models import OAuthIdentity, OAuthState, SignInSession, User

PASSWORD = "correct horse battery"
# The pre-sign-in cookie of the browser that signs in (its pages set it).
BROWSER = pre_sign_in.new_value()


def _set_cookie(response: httpx.Response) -> dict[str, str]:
    """The session cookie's attributes as sent in Set-Cookie (lower-case names)."""
    headers = [v for v in response.headers.get_list("set-cookie")
               if v.startswith(sign_in_sessions.session_cookie_name() + "=")]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    raw = headers[0]
    attributes = {"value": raw.split(";", 1)[0].split("=", 1)[1]}
    for part in raw.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attributes[name.lower()] = value or "true"
    return attributes


def _no_session_cookie(response: httpx.Response) -> bool:
    return not any(
        v.startswith(sign_in_sessions.session_cookie_name() + "=")
        for v in response.headers.get_list("set-cookie")
    )


def _with_cookie(token: str | None) -> dict[str, str]:
    """A Cookie header holding just this token (the client's own jar is bypassed)."""
    return {"cookie": f"{sign_in_sessions.session_cookie_name()}={token}"} if token else {}


def _me(client: httpx.Client, token: str | None) -> httpx.Response:
    client.cookies.clear()
    return client.get("/api/auth/me", headers=_with_cookie(token))


def _signup(client: httpx.Client, email: str = "ann@example.com", **extra: str) -> httpx.Response:
    return client.post("/api/auth/signup",
                       json={"email": email, "password": PASSWORD, "name": "Ann", **extra})


def _login(client: httpx.Client, email: str, password: str) -> httpx.Response:
    return client.post("/api/auth/login", json={"email": email, "password": password})


def _login_error(response: httpx.Response) -> str:
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/login"
    return parse_qs(location.query)["error"][0]


# -- sign-up, sign-in, sign-out --------------------------------------------------------------


def test_signup_answers_the_user_and_sets_a_locked_down_cookie(client: httpx.Client) -> None:
    response = _signup(client, email="  Ann@Example.COM ")

    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == "ann@example.com"
    assert body["user"]["name"] == "Ann"
    cookie = _set_cookie(response)
    assert cookie["httponly"] == "true"
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert cookie["max-age"] == str(30 * 24 * 3600)
    assert "secure" not in cookie  # APP_URL is http here
    assert _me(client, cookie["value"]).json()["user"]["id"] == body["user"]["id"]


def test_cookie_is_secure_when_the_app_is_served_over_https(
    client: httpx.Client, configure: object
) -> None:
    configure(APP_URL="https://tutors.example.com")  # type: ignore[operator]

    response = _signup(client)

    assert response.headers["set-cookie"].startswith("__Host-tutor_session=")
    cookie = _set_cookie(response)
    assert cookie["secure"] == "true"
    assert cookie["httponly"] == "true"
    assert cookie["path"] == "/" and "domain" not in cookie  # what __Host- demands
    # A non-browser client sends it back by that name, and is signed in.
    me = client.get("/api/auth/me",
                    headers={"cookie": f"__Host-tutor_session={cookie['value']}"})
    assert me.status_code == 200


def test_only_the_hash_of_the_token_is_stored(client: httpx.Client, session: Session) -> None:
    token = _set_cookie(_signup(client))["value"]

    stored = session.exec(select(SignInSession.token_hash)).all()
    assert stored == [sign_in_sessions.hash_token(token)]
    assert token not in stored


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"email": "not-an-email", "password": PASSWORD},
         {"email": "Enter a valid email address"}),
        ({"email": "ann@example.com", "password": "short"},
         {"password": "Use at least 8 characters"}),
    ],
)
def test_signup_rejects_bad_input_with_field_messages(
    client: httpx.Client, body: dict[str, str], errors: dict[str, str]
) -> None:
    response = client.post("/api/auth/signup", json=body)

    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    assert _no_session_cookie(response)


def test_signup_reports_all_bad_fields_together(client: httpx.Client) -> None:
    response = client.post("/api/auth/signup", json={"email": "ann@", "password": "short"})

    assert response.status_code == 400
    assert response.json() == {"errors": {"email": "Enter a valid email address",
                                          "password": "Use at least 8 characters"}}


def test_signup_with_a_taken_email_is_refused(client: httpx.Client) -> None:
    assert _signup(client).status_code == 200

    response = _signup(client, email="ANN@example.com")

    assert response.status_code == 400
    assert response.json() == {"errors": {"email": "An account with this email already exists"}}


def test_signup_accepts_a_form_body(client: httpx.Client) -> None:
    response = client.post("/api/auth/signup",
                           data={"email": "bo@example.com", "password": PASSWORD})

    assert response.status_code == 200
    assert response.json()["user"]["email"] == "bo@example.com"


def test_login_with_the_right_password_signs_in(client: httpx.Client) -> None:
    user_id = _signup(client).json()["user"]["id"]

    response = client.post("/api/auth/login",
                           json={"email": "ann@example.com", "password": PASSWORD})

    assert response.status_code == 200
    assert response.json()["user"]["id"] == user_id
    assert _me(client, _set_cookie(response)["value"]).status_code == 200


def test_login_with_a_wrong_password_or_unknown_email_says_the_same(client: httpx.Client) -> None:
    _signup(client)

    wrong = _login(client, "ann@example.com", "x" * 9)
    unknown = _login(client, "zed@example.com", PASSWORD)

    for response in (wrong, unknown):
        assert response.status_code == 400
        assert response.json() == {"errors": {"password": "Wrong email or password"}}
        assert _no_session_cookie(response)


def test_repeated_failures_are_throttled_even_with_the_right_password(
    client: httpx.Client,
) -> None:
    _signup(client)
    for _ in range(users.FREE_FAILURES):
        bad = _login(client, "ann@example.com", "nope-nope")
        assert bad.status_code == 400

    response = _login(client, "ann@example.com", PASSWORD)

    assert response.status_code == 429
    message = response.json()["errors"]["password"]
    assert message.startswith("Too many attempts. Try again in ")
    assert 0 < int(response.headers["retry-after"]) <= 30
    assert _no_session_cookie(response)


def _client_from(api_server: ThreadedServer, address: str) -> httpx.Client:
    """A client of the API whose connections come from another loopback `address`."""
    return httpx.Client(base_url=api_server.url, timeout=30,
                        transport=httpx.HTTPTransport(local_address=address))


def test_one_address_trying_many_emails_gets_429_with_retry_after(
    client: httpx.Client, api_server: ThreadedServer
) -> None:
    _signup(client)
    for i in range(rate_limits.SIGN_IN_PER_ADDRESS.max_hits):
        assert _login(client, f"guess{i}@example.com", "nope-nope").status_code == 400

    response = _login(client, "ann@example.com", PASSWORD)

    assert response.status_code == 429
    assert response.json() == {"error": "Too many attempts. Try again in 15 minutes."}
    assert 14 * 60 < int(response.headers["retry-after"]) <= 15 * 60
    assert _no_session_cookie(response)
    with _client_from(api_server, "127.0.0.2") as elsewhere:
        assert _login(elsewhere, "ann@example.com", PASSWORD).status_code == 200


def test_a_locked_address_does_not_lock_the_owner_out_from_another(
    client: httpx.Client, api_server: ThreadedServer
) -> None:
    _signup(client)
    for _ in range(users.FREE_FAILURES):
        _login(client, "ann@example.com", "nope-nope")
    assert _login(client, "ann@example.com", PASSWORD).status_code == 429

    with _client_from(api_server, "127.0.0.2") as owner:
        assert _login(owner, "ann@example.com", PASSWORD).status_code == 200


def test_signing_up_one_email_over_and_over_gets_429(client: httpx.Client) -> None:
    for _ in range(rate_limits.SIGN_UP_PER_EMAIL.max_hits):
        _signup(client)

    response = _signup(client)

    assert response.status_code == 429
    assert response.json() == {"error": "Too many attempts. Try again in 60 minutes."}
    assert int(response.headers["retry-after"]) > 59 * 60


def test_a_full_hashing_queue_is_503_with_retry_after(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _signup(client)

    with hashing_turns_taken(monkeypatch):
        response = _login(client, "ann@example.com", PASSWORD)

    assert response.status_code == 503
    assert response.json() == {"error": "We're busy right now. Please try again in a moment."}
    assert response.headers["retry-after"] == str(passwords.BUSY_RETRY_AFTER)
    assert _no_session_cookie(response)


def test_logout_revokes_the_session_and_clears_the_cookie(client: httpx.Client) -> None:
    token = _set_cookie(_signup(client))["value"]

    client.cookies.clear()
    response = client.post("/api/auth/logout", headers=_with_cookie(token))

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cleared = _set_cookie(response)
    assert cleared["value"] in ("", '""')
    assert cleared["max-age"] == "0"
    assert _me(client, token).status_code == 401  # the old token is dead, not just forgotten


def test_cross_site_posts_are_refused(client: httpx.Client, api_server: ThreadedServer) -> None:
    _signup(client)
    body = {"email": "ann@example.com", "password": PASSWORD}

    foreign = client.post("/api/auth/login", json=body, headers={"Origin": "https://evil.example"})
    own = client.post("/api/auth/login", json=body, headers={"Origin": api_server.url})

    assert foreign.status_code == 403
    assert _no_session_cookie(foreign)
    assert own.status_code == 200


def test_me_without_a_cookie_is_401(client: httpx.Client) -> None:
    assert _me(client, None).status_code == 401
    assert _me(client, "made-up-token").status_code == 401


# -- the form sign-in handoff ----------------------------------------------------------------


def _ticket(session: Session, email: str = "ann@example.com") -> tuple[str, User]:
    """A handoff ticket, as the sign-in form makes it in the browser with cookie BROWSER."""
    user = users.sign_up(session, email=email, password=PASSWORD, name="Ann")
    ticket = sign_in_sessions.create_handoff(session, user_id=user.id, browser=BROWSER)
    session.commit()
    return ticket, user


def _redeem(client: httpx.Client, ticket: str, next_url: str | None = None,
            browser: str | None = BROWSER) -> httpx.Response:
    """The browser arriving at the handoff route, with pre-sign-in cookie `browser`."""
    params = {"ticket": ticket, **({"next": next_url} if next_url is not None else {})}
    headers = {"cookie": browser_cookie(browser)} if browser else {}
    return client.get("/api/auth/session", params=params, headers=headers)


def test_handoff_swaps_the_ticket_for_a_cookie_and_goes_to_next(
    client: httpx.Client, session: Session
) -> None:
    ticket, user = _ticket(session)

    response = _redeem(client, ticket, "/dashboard?x=1")

    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard?x=1"
    token = _set_cookie(response)["value"]
    assert token != ticket
    assert _me(client, token).json()["user"]["id"] == user.id
    assert _me(client, ticket).status_code == 401  # a ticket is never a session


def test_a_ticket_works_once(client: httpx.Client, session: Session) -> None:
    ticket, _ = _ticket(session)
    assert _redeem(client, ticket).status_code == 303

    again = _redeem(client, ticket, "/dashboard")

    assert _login_error(again) == TICKET_EXPIRED
    assert parse_qs(urlsplit(again.headers["location"]).query)["next"] == ["/dashboard"]
    assert _no_session_cookie(again)


@pytest.mark.parametrize(
    "next_url",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)",
     "dashboard"],
)
def test_next_never_leaves_the_site(
    client: httpx.Client, session: Session, next_url: str
) -> None:
    ticket, _ = _ticket(session)

    response = _redeem(client, ticket, next_url)

    assert response.status_code == 303
    assert response.headers["location"] == "/"


@pytest.mark.parametrize(
    "browser", [pytest.param(None, id="no-cookie"), pytest.param("other", id="another-browser")]
)
def test_a_ticket_replayed_in_another_browser_is_refused_and_dead(
    client: httpx.Client, session: Session, browser: str | None
) -> None:
    ticket, _ = _ticket(session)
    presented = pre_sign_in.new_value() if browser == "other" else None

    replayed = _redeem(client, ticket, "/dashboard", browser=presented)

    assert _login_error(replayed) == TICKET_EXPIRED
    assert _no_session_cookie(replayed)
    # The browser that made it cannot use it afterwards either.
    assert _login_error(_redeem(client, ticket)) == TICKET_EXPIRED
    assert session.exec(select(SignInSession.revoked_at)).one() is not None


# -- OpenID Connect --------------------------------------------------------------------------


def _start(client: httpx.Client, next_url: str = "/dashboard") -> httpx.Response:
    response = client.get("/api/auth/login/google", params={"next": next_url})
    assert response.status_code == 302, response.text
    return response


def _through_provider(start: httpx.Response) -> str:
    """The provider's answer to our redirect: the callback URL it sends the browser to."""
    at_provider = httpx.get(start.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302, at_provider.text
    return at_provider.headers["location"]


def _oidc_sign_in(client: httpx.Client, next_url: str = "/dashboard") -> httpx.Response:
    return client.get(_through_provider(_start(client, next_url)))


def test_google_sign_in_end_to_end(
    client: httpx.Client, oidc: FakeOIDCProvider, api_server: ThreadedServer, session: Session
) -> None:
    start = _start(client, "/book-now?tutor=maria-garcia")
    authorize = parse_qs(urlsplit(start.headers["location"]).query)
    assert start.headers["location"].startswith(oidc.authorization_endpoint + "?")
    assert authorize["redirect_uri"] == [api_server.url + "/api/auth/callback/google"]
    assert authorize["code_challenge_method"] == ["S256"]
    assert authorize["nonce"] and authorize["state"] and authorize["code_challenge"]
    assert "openid" in authorize["scope"][0].split()

    callback = client.get(_through_provider(start))

    assert callback.status_code == 303
    assert callback.headers["location"] == "/book-now?tutor=maria-garcia"
    cookie = _set_cookie(callback)
    assert cookie["httponly"] == "true"
    assert cookie["samesite"].lower() == "lax"
    me = _me(client, cookie["value"]).json()["user"]
    assert me["email"] == oidc.user["email"]
    assert me["name"] == oidc.user["name"]
    user = session.get(User, me["id"])
    assert user is not None and user.email_verified and user.password_hash is None
    identity = session.exec(select(OAuthIdentity)).one()
    assert (identity.provider, identity.subject) == ("google", oidc.user["sub"])
    assert session.exec(select(OAuthState)).all() == []  # the state was used up


def test_google_sign_in_again_is_the_same_user(
    client: httpx.Client, oidc: FakeOIDCProvider
) -> None:
    first = _me(client, _set_cookie(_oidc_sign_in(client))["value"]).json()["user"]["id"]
    oidc.user = {**oidc.user, "email": "renamed@example.com"}

    second = _me(client, _set_cookie(_oidc_sign_in(client))["value"]).json()["user"]["id"]

    assert second == first  # found by (provider, subject), not by email


def test_verified_google_email_joins_the_password_account(
    client: httpx.Client, oidc: FakeOIDCProvider
) -> None:
    user_id = _signup(client, email=oidc.user["email"]).json()["user"]["id"]

    callback = _oidc_sign_in(client)

    assert callback.status_code == 303
    assert _me(client, _set_cookie(callback)["value"]).json()["user"]["id"] == user_id


def test_unverified_google_email_never_joins_an_existing_account(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    _signup(client, email=oidc.user["email"])
    oidc.user = {**oidc.user, "email_verified": False}

    callback = _oidc_sign_in(client)

    assert _login_error(callback) == users.UNVERIFIED_EMAIL_CLASH
    assert _no_session_cookie(callback)
    assert session.exec(select(OAuthIdentity)).all() == []


def test_email_given_only_by_userinfo_signs_in(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    oidc.email_only_in_userinfo = True

    callback = _oidc_sign_in(client)

    assert callback.status_code == 303
    me = _me(client, _set_cookie(callback)["value"]).json()["user"]
    assert me["email"] == oidc.user["email"]
    user = session.get(User, me["id"])
    assert user is not None and user.email_verified
    assert oidc.requests_to("/userinfo")  # asked, since the id_token had no email


def test_verified_email_from_userinfo_joins_the_password_account(
    client: httpx.Client, oidc: FakeOIDCProvider
) -> None:
    user_id = _signup(client, email=oidc.user["email"]).json()["user"]["id"]
    oidc.email_only_in_userinfo = True

    callback = _oidc_sign_in(client)

    assert _me(client, _set_cookie(callback)["value"]).json()["user"]["id"] == user_id


def test_userinfo_without_email_verified_never_joins_an_existing_account(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    _signup(client, email=oidc.user["email"])
    oidc.email_only_in_userinfo = True
    oidc.user = {k: v for k, v in oidc.user.items() if k != "email_verified"}

    callback = _oidc_sign_in(client)

    assert _login_error(callback) == users.UNVERIFIED_EMAIL_CLASH
    assert _no_session_cookie(callback)
    assert session.exec(select(OAuthIdentity)).all() == []


def test_userinfo_about_another_subject_is_refused(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    oidc.email_only_in_userinfo = True
    oidc.userinfo_sub = "another-subject"

    with caplog.at_level(logging.WARNING, logger="tutor_app.api.auth"):
        callback = _oidc_sign_in(client)

    _assert_refused(callback, session)
    assert session.exec(select(OAuthIdentity)).all() == []
    assert any("another subject" in r.getMessage() for r in caplog.records)


def test_userinfo_down_is_refused_cleanly(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    oidc.email_only_in_userinfo = True
    oidc.fail_userinfo = True

    callback = _oidc_sign_in(client)

    assert callback.status_code == 303
    _assert_refused(callback, session)


def test_userinfo_is_not_asked_when_the_id_token_has_the_email(
    client: httpx.Client, oidc: FakeOIDCProvider
) -> None:
    oidc.fail_userinfo = True

    assert _oidc_sign_in(client).status_code == 303
    assert oidc.requests_to("/userinfo") == []


def test_login_route_is_404_when_google_is_not_configured(client: httpx.Client) -> None:
    assert client.get("/api/auth/login/google").status_code == 404
    assert client.get("/api/auth/callback/google", params={"state": "x"}).status_code == 404


def test_only_the_google_provider_name_exists(
    client: httpx.Client, oidc: FakeOIDCProvider
) -> None:
    assert client.get("/api/auth/login/github").status_code == 404
    assert client.get("/api/auth/callback/github", params={"state": "x"}).status_code == 404


def _pre_sign_in_set(response: httpx.Response) -> dict[str, str] | None:
    """The pre-sign-in cookie's attributes as sent in Set-Cookie, or None when not set."""
    name = pre_sign_in.pre_sign_in_cookie_name()
    headers = [v for v in response.headers.get_list("set-cookie") if v.startswith(name + "=")]
    if not headers:
        return None
    (raw,) = headers
    attributes = {"value": raw.split(";", 1)[0].split("=", 1)[1]}
    for part in raw.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        attributes[key.lower()] = value or "true"
    return attributes


def test_login_route_gives_a_new_browser_its_pre_sign_in_cookie_and_binds_the_state(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    cookie = _pre_sign_in_set(_start(client))

    assert cookie is not None
    assert (cookie["httponly"], cookie["samesite"].lower(), cookie["path"]) == ("true", "lax", "/")
    assert cookie["max-age"] == str(2 * 3600)
    assert "secure" not in cookie and "domain" not in cookie  # http://127.0.0.1 here
    row = session.exec(select(OAuthState)).one()
    assert row.browser_hash == pre_sign_in.browser_hash(cookie["value"])


def test_login_route_keeps_the_cookie_a_browser_already_has(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    start = client.get("/api/auth/login/google", headers={"cookie": browser_cookie(BROWSER)})

    assert start.status_code == 302
    assert _pre_sign_in_set(start) is None
    row = session.exec(select(OAuthState)).one()
    assert row.browser_hash == pre_sign_in.browser_hash(BROWSER)


def test_over_https_the_pre_sign_in_cookie_is_host_prefixed_and_secure(
    client: httpx.Client, oidc: FakeOIDCProvider, configure: object
) -> None:
    configure(APP_URL="https://tutors.example.com")  # type: ignore[operator]

    start = client.get("/api/auth/login/google")

    raw = start.headers.get_list("set-cookie")
    assert len(raw) == 1 and raw[0].startswith("__Host-tutor_pre_sign_in="), raw
    cookie = _pre_sign_in_set(start)
    assert cookie is not None and cookie["secure"] == "true" and cookie["path"] == "/"
    assert "domain" not in cookie


@pytest.mark.parametrize(
    "browser", [pytest.param(None, id="no-cookie"), pytest.param("other", id="another-browser")]
)
def test_a_callback_replayed_in_another_browser_is_refused_and_the_state_spent(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session, browser: str | None
) -> None:
    callback_url = _through_provider(_start(client))  # the attacker's own sign-in
    starter_jar = dict(client.cookies)
    client.cookies.clear()
    headers = {"cookie": browser_cookie()} if browser == "other" else {}

    replayed = client.get(callback_url, headers=headers)  # finished in the victim's browser

    _assert_refused(replayed, session)
    assert session.exec(select(OAuthState)).all() == []  # used up by the refusal
    client.cookies.update(starter_jar)
    assert _login_error(client.get(callback_url)) == OIDC_FAILED


def test_login_route_drops_a_foreign_next(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    _start(client, "https://evil.example/")

    assert session.exec(select(OAuthState.next_url)).all() == ["/"]


def _assert_refused(callback: httpx.Response, session: Session, message: str = OIDC_FAILED) -> None:
    assert _login_error(callback) == message
    assert _no_session_cookie(callback)
    assert session.exec(select(SignInSession)).all() == []
    assert session.exec(select(User)).all() == []


def test_callback_with_an_unknown_state_is_refused(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    oidc.state_override = "forged-state"

    _assert_refused(_oidc_sign_in(client), session)


def test_callback_replayed_is_refused(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    callback_url = _through_provider(_start(client))
    assert client.get(callback_url).status_code == 303
    session.exec(select(SignInSession)).one()

    again = client.get(callback_url)

    assert _login_error(again) == OIDC_FAILED
    assert _no_session_cookie(again)
    assert len(session.exec(select(SignInSession)).all()) == 1


def test_callback_with_an_expired_state_is_refused(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    callback_url = _through_provider(_start(client))
    row = session.exec(select(OAuthState)).one()
    row.created_at = clock.now() - timedelta(minutes=11)
    session.add(row)
    session.commit()

    _assert_refused(client.get(callback_url), session)
    assert session.exec(select(OAuthState)).all() == []


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        pytest.param({"nonce": "x"}, "'nonce'", id="bad-nonce"),
        pytest.param({"iss": "https://users.evil.example"}, "'iss'", id="wrong-issuer"),
        pytest.param({"aud": "someone-else.apps.googleusercontent.com"}, "'aud'",
                     id="wrong-audience"),
        pytest.param({"exp": 1_000_000_000}, "expired", id="expired"),
    ],
)
def test_callback_with_a_bad_id_token_is_refused(
    client: httpx.Client,
    oidc: FakeOIDCProvider,
    session: Session,
    caplog: pytest.LogCaptureFixture,
    overrides: dict[str, object],
    reason: str,
) -> None:
    oidc.id_token_overrides = overrides

    with caplog.at_level(logging.WARNING, logger="tutor_app.api.auth"):
        callback = _oidc_sign_in(client)

    _assert_refused(callback, session)
    (record,) = [r for r in caplog.records if r.name == "tutor_app.api.auth"]
    assert "id_token rejected" in record.getMessage()
    assert reason in record.getMessage()  # refused for this reason, not some other one


def test_callback_with_a_forged_signature_is_refused(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    oidc.sign_with_wrong_key = True

    _assert_refused(_oidc_sign_in(client), session)


def test_callback_when_the_token_endpoint_fails_is_refused(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    oidc.fail_token_endpoint = True

    _assert_refused(_oidc_sign_in(client), session)


def test_consent_denied_says_it_was_cancelled(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    oidc.deny_consent = True

    callback = _oidc_sign_in(client, "/dashboard")

    _assert_refused(callback, session, OIDC_CANCELLED)
    assert parse_qs(urlsplit(callback.headers["location"]).query)["next"] == ["/dashboard"]
    assert session.exec(select(OAuthState)).all() == []  # the state is spent anyway


def test_failure_messages_do_not_leak_details(
    client: httpx.Client, oidc: FakeOIDCProvider
) -> None:
    oidc.id_token_overrides = {"aud": "someone-else"}

    location = _oidc_sign_in(client).headers["location"]

    assert "aud" not in location.lower()
    assert "token" not in location.lower()


def test_redirect_uri_follows_app_url_not_the_issuer(
    client: httpx.Client, oidc: FakeOIDCProvider, configure: object
) -> None:
    configure(APP_URL="https://tutors.example.com")  # type: ignore[operator]

    start = client.get("/api/auth/login/google")

    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["redirect_uri"] == ["https://tutors.example.com/api/auth/callback/google"]


def test_abandoned_states_are_cleared_by_later_sign_ins(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    _start(client)
    stale = session.exec(select(OAuthState)).one()
    stale.created_at = clock.now() - timedelta(minutes=11)
    session.add(stale)
    session.commit()

    _start(client)

    states = session.exec(select(OAuthState.state)).all()
    assert len(states) == 1 and states[0] != stale.state


def test_state_rows_are_single_use_in_the_database(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    _start(client)
    _start(client)

    states = session.exec(select(OAuthState).where(col(OAuthState.purpose) == "login")).all()
    assert len(states) == 2
    assert len({(s.state, s.nonce, s.code_verifier) for s in states}) == 2


# -- discovery and signing keys --------------------------------------------------------------

DISCOVERY_PATH = "/.well-known/openid-configuration"


def _signed_in(callback: httpx.Response) -> bool:
    return callback.status_code == 303 and not _no_session_cookie(callback)


def test_discovery_and_keys_are_fetched_once_for_many_sign_ins(
    client: httpx.Client, oidc: FakeOIDCProvider
) -> None:
    assert _signed_in(_oidc_sign_in(client))
    client.cookies.clear()
    assert _signed_in(_oidc_sign_in(client))

    assert len(oidc.requests_to(DISCOVERY_PATH)) == 1
    assert len(oidc.requests_to("/jwks")) == 1


def test_sign_in_works_after_the_provider_rotates_its_key(
    client: httpx.Client, oidc: FakeOIDCProvider
) -> None:
    assert _signed_in(_oidc_sign_in(client))  # the old key set is cached now
    oidc.rotate_key()
    client.cookies.clear()

    assert _signed_in(_oidc_sign_in(client))
    assert len(oidc.requests_to("/jwks")) == 2  # refetched once, for the unknown kid
    client.cookies.clear()
    assert _signed_in(_oidc_sign_in(client))
    assert len(oidc.requests_to("/jwks")) == 2  # and the new set is cached again


def test_a_key_id_the_provider_does_not_publish_is_refused_after_one_refetch(
    client: httpx.Client, oidc: FakeOIDCProvider
) -> None:
    assert _signed_in(_oidc_sign_in(client))
    oidc.rotate_key(publish=False)
    client.cookies.clear()

    callback = _oidc_sign_in(client)

    assert _login_error(callback) == OIDC_FAILED
    assert _no_session_cookie(callback)
    assert len(oidc.requests_to("/jwks")) == 2  # one refetch, then refused: no loop


def _login_via(client: httpx.Client, forwarded_for: str, password: str = "nope-nope",
               email: str = "ann@example.com") -> int:
    return client.post("/api/auth/login", json={"email": email, "password": password},
                       headers={"X-Forwarded-For": forwarded_for}).status_code


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    client: httpx.Client, configure: ConfigureFn
) -> None:
    """With TRUSTED_PROXY_HOPS=1 (one nginx in front), the client is the address the proxy
    appended last to X-Forwarded-For: not the proxy's own, nor what a client wrote before it."""
    configure(TRUSTED_PROXY_HOPS="1")
    _signup(client)
    for i in range(rate_limits.SIGN_IN_PER_ADDRESS.max_hits):
        assert _login_via(client, "203.0.113.7", email=f"guess{i}@example.com") == 400

    assert _login_via(client, "203.0.113.7", PASSWORD) == 429
    # What the client itself put first does not make it another client:
    assert _login_via(client, "198.51.100.9, 203.0.113.7", PASSWORD) == 429
    # Another visitor through the same proxy has a counter of their own:
    assert _login_via(client, "198.51.100.9", PASSWORD) == 200


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(
    client: httpx.Client, configure: ConfigureFn
) -> None:
    configure(TRUSTED_PROXY_HOPS=None)
    _signup(client)
    for i in range(rate_limits.SIGN_IN_PER_ADDRESS.max_hits):
        assert _login_via(client, f"203.0.113.{i}", email=f"guess{i}@example.com") == 400

    assert _login_via(client, "198.51.100.9", PASSWORD) == 429

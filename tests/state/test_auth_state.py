"""AuthState, LoginState and SignupState handlers, driven without a browser.

Reflex 0.10.1 lets the state tree be built directly under pytest; the router data (headers
with the cookie, the page URL) is set on the root the way the websocket handler sets it, so the
handlers read the same `router.headers.cookie` and `router.url` as in the running app.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import sqlalchemy as sa
from reflex_base.utils.format import json_dumps
from sqlmodel import Session, select

from tests.factories import browser_cookie
from tests.hashing_helpers import hashing_turns_taken
from tests.state.handlers import run, state_on
from tutor_app.accounts import passwords, pre_sign_in, sign_in_sessions, users
from tutor_app.core import rate_limits
from tutor_app.core.models import SignInSession, User
from tutor_app.core.settings import Settings
from tutor_app.state.auth import (
    GENERIC_SIGN_IN_ERROR,
    RELOAD_TO_SIGN_IN,
    AuthState,
    LoginState,
    SignupState,
    login_url,
)

PASSWORD = "correct horse battery"
# The browser's pre-sign-in cookie, which its page load set before the websocket opened.
BROWSER = pre_sign_in.new_value()
FORM = browser_cookie(BROWSER)


def _signed_in(session: Session, *, role: str = "student", email: str = "ann@example.com") -> str:
    user = users.sign_up(session, email=email, password=PASSWORD, name="Ann")
    user.role = role
    session.add(user)
    token = sign_in_sessions.create_session(session, user_id=user.id)
    session.commit()
    return f"theme=dark; {sign_in_sessions.session_cookie_name()}={token}"


def _redirect_target(spec: Any) -> str:
    assert spec.handler.fn.__qualname__ == "_redirect"
    args = {name._js_expr: value._var_value for name, value in spec.args}
    assert args["external"] is False
    return str(args["path"])


def _navigation_target(spec: Any) -> str:
    """Where a full-page navigation (window.location.assign) sends the browser."""
    assert spec.handler.fn.__qualname__ == "_call_script"
    args = {name._js_expr: value for name, value in spec.args}
    script = args["javascript_code"]._var_value
    match = re.fullmatch(r'window\.location\.assign\("([^"]*)"\)', script)
    assert match, script
    return match.group(1)


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


# -- AuthState -------------------------------------------------------------------------------


def test_load_user_reads_the_session_cookie(session: Session) -> None:
    cookie = _signed_in(session, role="admin")
    state = state_on(AuthState, "/", cookie=cookie)

    run(state.load_user())

    user = session.exec(select(User)).one()
    assert state.user_id == user.id
    assert state.user_email == "ann@example.com"
    assert state.user_name == "Ann"
    assert state.user_role == "admin"
    assert state.signed_in is True
    assert state.is_admin is True
    assert state.is_tutor is False


def test_load_user_without_a_cookie_is_signed_out(database: sa.Engine) -> None:
    state = state_on(AuthState, "/")

    run(state.load_user())

    assert (state.user_id, state.user_email, state.user_name, state.user_role) == ("", "", "", "")
    assert state.signed_in is False


def test_load_user_forgets_a_revoked_session(session: Session) -> None:
    cookie = _signed_in(session)
    state = state_on(AuthState, "/", cookie=cookie)
    run(state.load_user())
    assert state.signed_in

    token = sign_in_sessions.token_from_cookie_header(cookie)
    sign_in_sessions.revoke_session(session, token=token)
    session.commit()
    run(state.load_user())

    assert state.user_id == ""
    assert state.signed_in is False


def test_require_login_sends_a_signed_out_visitor_to_login_and_back(database: sa.Engine) -> None:
    state = state_on(AuthState, "/dashboard?tab=past")

    spec = run(state.require_login())

    assert _redirect_target(spec) == "/login?next=%2Fdashboard%3Ftab%3Dpast"
    assert parse_qs(urlsplit(_redirect_target(spec)).query)["next"] == ["/dashboard?tab=past"]


def test_require_login_lets_a_signed_in_user_stay(session: Session) -> None:
    state = state_on(AuthState, "/dashboard", cookie=_signed_in(session, role="tutor"))

    assert run(state.require_login()) is None
    assert state.is_tutor is True


def test_current_user_is_looked_up_on_every_call(session: Session) -> None:
    state = state_on(AuthState, "/", cookie=_signed_in(session))
    user = state._current_user()
    assert user is not None

    user.role = "admin"
    session.add(session.merge(user))
    session.commit()

    again = state._current_user()
    assert again is not None and again.role == "admin"


def test_login_url_refuses_foreign_next() -> None:
    assert login_url("//evil.example") == "/login?next=%2F"
    assert login_url("/book-now?tutor=x") == "/login?next=%2Fbook-now%3Ftutor%3Dx"


# -- LoginState ------------------------------------------------------------------------------


def test_login_page_sends_a_signed_in_visitor_on_to_next(session: Session) -> None:
    state = state_on(LoginState, "/login?next=%2Fdashboard", cookie=_signed_in(session))

    spec = run(state.on_load())

    assert _redirect_target(spec) == "/dashboard"


def test_login_page_with_a_foreign_next_goes_home(session: Session) -> None:
    state = state_on(LoginState, "/login?next=https%3A%2F%2Fevil.example",
                   cookie=_signed_in(session))

    assert _redirect_target(run(state.on_load())) == "/"
    assert state.next_path == "/"


def test_login_page_for_a_signed_out_visitor_stays(database: sa.Engine) -> None:
    state = state_on(LoginState, "/login?next=%2Fdashboard")

    assert run(state.on_load()) is None
    assert state.next_path == "/dashboard"
    assert state.signup_link == "/signup?next=%2Fdashboard"


def test_login_submit_with_good_credentials_hands_off_to_the_cookie_route(
    session: Session,
) -> None:
    user = users.sign_up(session, email="ann@example.com", password=PASSWORD)
    session.commit()
    state = state_on(LoginState, "/login?next=%2Fbook-now%3Ftutor%3Dmaria-garcia", cookie=FORM)

    spec = _run(state.submit({"email": " Ann@Example.com", "password": PASSWORD}))

    target = urlsplit(_navigation_target(spec))
    assert target.path == "/api/auth/session"
    query = parse_qs(target.query)
    assert query["next"] == ["/book-now?tutor=maria-garcia"]
    redeemed = sign_in_sessions.redeem_handoff(session, ticket=query["ticket"][0],
                                                browser=BROWSER)
    session.commit()
    assert redeemed is not None and redeemed[1].id == user.id
    assert (state.email_error, state.password_error) == ("", "")


def test_login_submit_with_a_wrong_password_shows_it_by_the_field(session: Session) -> None:
    users.sign_up(session, email="ann@example.com", password=PASSWORD)
    session.commit()
    state = state_on(LoginState, "/login", cookie=FORM)

    spec = _run(state.submit({"email": "ann@example.com", "password": "not the password"}))

    assert spec is None
    assert state.password_error == "Wrong email or password"
    assert state.email == "ann@example.com"
    assert session.exec(select(SignInSession)).all() == []


def test_login_submit_with_a_bad_email_shows_it_by_the_field(database: sa.Engine) -> None:
    state = state_on(LoginState, "/login", cookie=FORM)

    _run(state.submit({"email": "ann", "password": PASSWORD}))

    assert state.email_error == "Enter a valid email address"
    assert state.password_error == ""


def test_login_submit_when_throttled_says_when_to_try_again(session: Session) -> None:
    users.sign_up(session, email="ann@example.com", password=PASSWORD)
    session.commit()
    state = state_on(LoginState, "/login", cookie=FORM)
    for _ in range(users.FREE_FAILURES):
        _run(state.submit({"email": "ann@example.com", "password": "wrong password"}))

    spec = _run(state.submit({"email": "ann@example.com", "password": PASSWORD}))

    assert spec is None
    assert state.password_error.startswith("Too many attempts. Try again in ")


def test_login_submit_from_an_address_trying_too_often_says_when_to_try_again(
    session: Session,
) -> None:
    users.sign_up(session, email="ann@example.com", password=PASSWORD)
    session.commit()
    stuffer = state_on(LoginState, "/login", cookie=FORM, client_ip="198.51.100.66")
    for i in range(rate_limits.SIGN_IN_PER_ADDRESS.max_hits):
        _run(stuffer.submit({"email": f"guess{i}@example.com", "password": "wrong password"}))

    spec = _run(stuffer.submit({"email": "ann@example.com", "password": PASSWORD}))

    assert spec is None
    assert stuffer.form_error == "Too many attempts. Try again in 15 minutes."
    assert stuffer.password_error == ""
    owner = state_on(LoginState, "/login", cookie=FORM, client_ip="203.0.113.7")
    assert _navigation_target(_run(owner.submit({"email": "ann@example.com",
                                                 "password": PASSWORD})))


def test_login_submit_when_hashing_is_saturated_says_we_are_busy(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    users.sign_up(session, email="ann@example.com", password=PASSWORD)
    session.commit()
    state = state_on(LoginState, "/login", cookie=FORM)

    with hashing_turns_taken(monkeypatch):
        spec = _run(state.submit({"email": "ann@example.com", "password": PASSWORD}))

    assert spec is None
    assert state.form_error == passwords.BUSY_MESSAGE
    assert state.form_error == "We're busy right now. Please try again in a moment."


def test_no_state_var_holds_the_password_or_a_token(session: Session) -> None:
    users.sign_up(session, email="ann@example.com", password=PASSWORD)
    session.commit()
    cookie_token = "cookie-token-value"
    state = state_on(LoginState, "/login",
                     cookie=f"{sign_in_sessions.session_cookie_name()}={cookie_token}; {FORM}")

    spec = _run(state.submit({"email": "ann@example.com", "password": PASSWORD}))
    ticket = parse_qs(urlsplit(_navigation_target(spec)).query)["ticket"][0]

    sent = json_dumps(state._get_root_state().dict())  # serialised as deltas to the browser are
    assert PASSWORD not in sent
    assert ticket not in sent
    assert cookie_token not in sent


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        ("Google sign-in failed. Please try again.", "Google sign-in failed. Please try again."),
        (users.UNVERIFIED_EMAIL_CLASH, users.UNVERIFIED_EMAIL_CLASH),
        ("Call +1 555 0100 to unlock your account", GENERIC_SIGN_IN_ERROR),
        ("", ""),
    ],
)
def test_login_page_shows_only_its_own_error_messages(
    database: sa.Engine, error: str, shown: str
) -> None:
    state = state_on(LoginState, f"/login?error={quote(error)}" if error else "/login")

    assert state.query_error == shown


def test_google_button_follows_the_settings(
    database: sa.Engine, configure: Callable[..., Settings]
) -> None:
    configure(GOOGLE_CLIENT_ID=None, GOOGLE_CLIENT_SECRET=None)
    assert state_on(LoginState, "/login").google_login_enabled is False

    configure(GOOGLE_CLIENT_ID="id.apps.googleusercontent.com", GOOGLE_CLIENT_SECRET="s")
    state = state_on(SignupState, "/signup?next=%2Fdashboard")

    assert state.google_login_enabled is True
    assert state.google_login_url == "/api/auth/login/google?next=%2Fdashboard"


# -- the pre-sign-in cookie: a form's ticket works only in its own browser -------------------


@pytest.mark.parametrize(
    ("form_state", "path", "email"),
    [(LoginState, "/login", "ann@example.com"), (SignupState, "/signup", "bob@example.com")],
)
def test_a_form_without_the_pre_sign_in_cookie_asks_to_reload_and_does_nothing(
    session: Session, form_state: type[LoginState] | type[SignupState], path: str, email: str,
) -> None:
    users.sign_up(session, email="ann@example.com", password=PASSWORD)
    session.commit()
    state = state_on(form_state, path, cookie="theme=dark")  # page loaded hours ago

    spec = _run(state.submit({"email": email, "password": PASSWORD}))

    assert spec is None
    assert state.form_error == RELOAD_TO_SIGN_IN
    assert session.exec(select(SignInSession)).all() == []  # no ticket
    assert session.exec(select(User.email)).all() == ["ann@example.com"]  # no account made


def test_the_ticket_is_bound_to_the_browser_of_the_form(session: Session) -> None:
    users.sign_up(session, email="ann@example.com", password=PASSWORD)
    session.commit()
    state = state_on(LoginState, "/login", cookie=f"theme=dark; {FORM}")

    spec = _run(state.submit({"email": "ann@example.com", "password": PASSWORD}))

    ticket = parse_qs(urlsplit(_navigation_target(spec)).query)["ticket"][0]
    row = session.exec(select(SignInSession)).one()
    assert row.browser_hash == pre_sign_in.browser_hash(BROWSER)
    other_browser = pre_sign_in.new_value()
    assert sign_in_sessions.redeem_handoff(session, ticket=ticket, browser=other_browser) is None


# -- SignupState -----------------------------------------------------------------------------


def test_signup_submit_creates_the_account_and_hands_off(session: Session) -> None:
    state = state_on(SignupState, "/signup?next=%2Fdashboard", cookie=FORM)

    spec = _run(state.submit({"name": " Ann Lee ", "email": "ann@example.com",
                              "password": PASSWORD}))

    query = parse_qs(urlsplit(_navigation_target(spec)).query)
    assert query["next"] == ["/dashboard"]
    user = session.exec(select(User)).one()
    assert (user.email, user.name) == ("ann@example.com", "Ann Lee")
    redeemed = sign_in_sessions.redeem_handoff(session, ticket=query["ticket"][0],
                                                browser=BROWSER)
    assert redeemed is not None and redeemed[1].id == user.id


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"email": "nope", "password": PASSWORD}, "email_error", "Enter a valid email address"),
        ({"email": "ann@example.com", "password": "short"}, "password_error",
         "Use at least 8 characters"),
        ({"email": "ann@example.com", "password": PASSWORD, "name": "n" * 101}, "name_error",
         "Use at most 100 characters"),
    ],
)
def test_signup_submit_shows_each_error_by_its_field(
    database: sa.Engine, form: dict[str, str], field: str, message: str
) -> None:
    state = state_on(SignupState, "/signup", cookie=FORM)

    assert _run(state.submit(form)) is None

    assert getattr(state, field) == message
    errors = {"email_error", "password_error", "name_error"} - {field}
    assert all(getattr(state, other) == "" for other in errors)


def test_signup_shows_every_wrong_field_at_once(database: sa.Engine) -> None:
    state = state_on(SignupState, "/signup", cookie=FORM)

    _run(state.submit({"email": "ann@", "password": "short", "name": ""}))

    assert state.email_error == "Enter a valid email address"
    assert state.password_error == "Use at least 8 characters"
    assert state.name_error == ""


def test_signup_with_a_taken_email_says_so(session: Session) -> None:
    users.sign_up(session, email="ann@example.com", password=PASSWORD)
    session.commit()
    state = state_on(SignupState, "/signup", cookie=FORM)

    _run(state.submit({"email": "Ann@example.com", "password": PASSWORD}))

    assert state.email_error == "An account with this email already exists"


def test_signup_submits_for_one_email_are_rate_limited_from_any_address(
    database: sa.Engine,
) -> None:
    for i in range(rate_limits.SIGN_UP_PER_EMAIL.max_hits):
        _run(state_on(SignupState, "/signup", cookie=FORM, client_ip=f"192.0.2.{i}").submit(
            {"email": "ann@example.com", "password": PASSWORD}))
    state = state_on(SignupState, "/signup", cookie=FORM, client_ip="192.0.2.250")

    spec = _run(state.submit({"email": "Ann@example.com", "password": PASSWORD}))

    assert spec is None
    assert state.form_error == "Too many attempts. Try again in 60 minutes."
    assert state.email_error == ""


def test_signup_links_back_to_login_keeping_next(database: sa.Engine) -> None:
    state = state_on(SignupState, "/signup?next=%2Fbook-now%3Ftutor%3Dx")

    assert state.login_link == "/login?next=%2Fbook-now%3Ftutor%3Dx"


# -- the websocket's Origin ----------------------------------------------------------------


def test_a_websocket_opened_by_another_site_is_signed_out(session: Session) -> None:
    cookie = _signed_in(session)
    for origin in ("https://evil.example", "null", "http://localhost:3000.evil.example"):
        state = state_on(AuthState, "/dashboard", cookie=cookie, origin=origin)
        run(state.load_user())
        assert state.signed_in is False and state.user_id == "", origin
        assert state._current_user() is None
        redirect = run(state.require_login())
        assert _redirect_target(redirect).startswith("/login")


def test_a_websocket_from_the_apps_own_pages_is_signed_in(
    session: Session, configure: Callable[..., Settings]
) -> None:
    configure(APP_URL="https://tutors.example.com")
    cookie = _signed_in(session)  # named as under https: __Host-tutor_session
    for origin in ("https://tutors.example.com", "https://TUTORS.example.com:443"):
        state = state_on(AuthState, "/dashboard", cookie=cookie, origin=origin)
        run(state.load_user())
        assert state.signed_in is True, origin
    elsewhere = state_on(AuthState, "/dashboard", cookie=cookie, origin="http://localhost:3000")
    run(elsewhere.load_user())
    assert elsewhere.signed_in is False  # the dev origin is not prod's site

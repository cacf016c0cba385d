"""The states of the account emails, driven without a browser: sign-up for an unclaimed email,
the verification page (which never signs anyone in, and also opens an email change's link),
the reminder's "Resend", and the forgotten-password pages. Mail goes to a real SMTP server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests.factories import browser_cookie, make_booking
from tests.fakes.smtp_server import SmtpServer
from tests.mail_links import token_in
from tests.state.handlers import run, state_on
from tutor_app.accounts import email_links, email_verification, sign_in_sessions, users
from tutor_app.accounts.password_reset import PASSWORD_CHANGED, PASSWORDS_DIFFER, RESET_LINK_DEAD
from tutor_app.core import clock, routes
from tutor_app.core.models import Booking, SignInSession, User
from tutor_app.core.settings import Settings
from tutor_app.state.account import AccountState
from tutor_app.state.auth import AuthState, LoginState, SignupState
from tutor_app.state.password_reset import ForgotPasswordState, ResetPasswordState
from tutor_app.state.verify_email import DEAD, TAKEN, VERIFIED, VerifyEmailState

PASSWORD = "correct horse battery"
NEW = "a brand new passphrase"
ConfigureFn = Callable[..., Settings]


@pytest.fixture
def smtp(mailbox: SmtpServer, configure: ConfigureFn) -> SmtpServer:
    configure(APP_URL="http://localhost:3000")
    return mailbox


def _account(session: Session, email: str = "ann@example.com") -> tuple[User, str]:
    """A password account, unverified, and a Cookie header signing it in."""
    user = users.sign_up(session, email=email, password=PASSWORD, name="Ann")
    token = sign_in_sessions.create_session(session, user_id=user.id)
    session.commit()
    return user, f"{sign_in_sessions.session_cookie_name()}={token}"


def _redirect_target(spec: Any) -> str:
    assert spec.handler.fn.__qualname__ == "_redirect"
    args = {name._js_expr: value._var_value for name, value in spec.args}
    return str(args["path"])


def _sessions(session: Session) -> list[SignInSession]:
    """Every sign-in session row, read afresh (the read ends: a stale snapshot sees nothing new)."""
    session.expire_all()
    rows = list(session.exec(select(SignInSession)).all())
    session.commit()
    return rows


# -- sign-up ---------------------------------------------------------------------------------


def test_signup_mails_a_verification_link_and_signs_in(session: Session, smtp: SmtpServer) -> None:
    state = state_on(SignupState, "/signup", cookie=browser_cookie())

    spec = asyncio.run(state.submit({"email": "ann@example.com", "password": PASSWORD}))

    assert spec is not None and state.notice == ""  # handed off to the cookie route
    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == ("ann@example.com",)
    assert token_in(mail, routes.VERIFY_EMAIL)


def test_signup_for_an_unclaimed_email_signs_nobody_in_and_says_a_link_was_sent(
    session: Session, smtp: SmtpServer
) -> None:
    unclaimed = users.find_or_create_by_email(session, email="ann@example.com")
    session.commit()
    state = state_on(SignupState, "/signup?next=%2Fdashboard", cookie=browser_cookie())

    spec = asyncio.run(state.submit({"email": "Ann@example.com", "password": PASSWORD,
                                     "name": "Mallory"}))

    assert spec is None  # no handoff: nobody is signed in
    assert state.notice == ("We sent a link to ann@example.com. Open it to finish creating "
                            "your account.")
    assert (state.email_error, state.password_error, state.form_error) == ("", "", "")
    assert _sessions(session) == []
    session.refresh(unclaimed)
    assert unclaimed.password_hash is None
    assert smtp.wait_for(1)[0]["Subject"] == "Finish creating your Tutorly account"

    asyncio.run(state.submit({"email": "nope", "password": PASSWORD}))
    assert state.notice == ""  # a new submit starts afresh


# -- the verification page -------------------------------------------------------------------


def test_the_verify_page_confirms_the_email_and_signs_nobody_in(
    session: Session, smtp: SmtpServer
) -> None:
    user = email_verification.sign_up_with_password(email="ann@example.com", password=PASSWORD)
    token = token_in(smtp.wait_for(1)[0], routes.VERIFY_EMAIL)
    sessions_before = len(_sessions(session))
    state = state_on(VerifyEmailState, f"/verify-email?token={quote(token)}")

    assert run(state.open_link()) is None  # no navigation, no handoff: the page says so

    assert state.outcome == VERIFIED
    assert state.signed_in is False
    assert state.continue_url == "/login?next=%2Fdashboard"
    assert len(_sessions(session)) == sessions_before
    assert session.get(User, user.id).email_verified is True  # type: ignore[union-attr]


def test_the_verify_page_leaves_whoever_is_signed_in_signed_in_as_themselves(
    session: Session, smtp: SmtpServer
) -> None:
    # Mallory mails Ann a link to Mallory's own account: Ann's browser stays Ann's.
    mallory = email_verification.sign_up_with_password(email="mallory@example.com",
                                                       password=PASSWORD)
    token = token_in(smtp.wait_for(1)[0], routes.VERIFY_EMAIL)
    ann, cookie = _account(session)
    state = state_on(VerifyEmailState, f"/verify-email?token={quote(token)}", cookie=cookie)

    run(state.open_link())

    assert state.outcome == VERIFIED
    assert state.user_id == ann.id and state.user_id != mallory.id
    assert state.user_email_verified is False  # Ann's own email still is not
    assert state.continue_url == routes.DASHBOARD


def test_a_dead_link_says_so_and_the_signed_in_user_can_get_a_new_one(
    session: Session, smtp: SmtpServer
) -> None:
    _user, cookie = _account(session)
    state = state_on(VerifyEmailState, "/verify-email?token=no-such-token", cookie=cookie)

    run(state.open_link())
    assert state.outcome == DEAD

    run(state.resend())

    assert state.resend_notice.startswith("We sent a new link to ann@example.com.")
    assert email_verification.verify_email(token_in(smtp.wait_for(1)[0],
                                                    routes.VERIFY_EMAIL)) is not None


def test_the_verify_page_without_a_token_is_a_dead_link(database: sa.Engine) -> None:
    state = state_on(VerifyEmailState, "/verify-email")

    run(state.open_link())

    assert state.outcome == DEAD


# -- an email change's link ------------------------------------------------------------------


def _change_link(smtp: SmtpServer, cookie: str, new_email: str = "nina@example.com") -> str:
    """Ask for an email change on /account; the token mailed to the new address."""
    account = state_on(AccountState, "/account", cookie=cookie)
    run(account.load())
    run(account.request_email_change({"new_email": new_email, "email_password": PASSWORD}))
    [mail] = [m for m in smtp.wait_for(2) if m.rcpt_tos == (new_email,)]
    return token_in(mail, routes.VERIFY_EMAIL)


def test_the_verify_page_opens_an_email_change_and_signs_nobody_in(
    session: Session, smtp: SmtpServer
) -> None:
    user, cookie = _account(session)
    token = _change_link(smtp, cookie)
    sessions_before = len(_sessions(session))
    state = state_on(VerifyEmailState, f"/verify-email?token={quote(token)}")

    assert run(state.open_link()) is None

    assert (state.outcome, state.email_changed) == (VERIFIED, True)
    assert state.result == "Your email address is now nina@example.com."
    assert state.signed_in is False
    assert len(_sessions(session)) == sessions_before
    # The account page, in the browser that asked, shows the new address, verified.
    account = state_on(AccountState, "/account", cookie=cookie)
    run(account.load())
    assert (account.user_email, account.user_email_verified) == ("nina@example.com", True)
    assert account.user_id == user.id


def test_the_verify_page_says_when_the_new_address_was_taken_meanwhile(
    session: Session, smtp: SmtpServer
) -> None:
    user, cookie = _account(session)
    token = _change_link(smtp, cookie)
    users.sign_up(session, email="nina@example.com", password=PASSWORD)
    session.commit()
    state = state_on(VerifyEmailState, f"/verify-email?token={quote(token)}", cookie=cookie)

    run(state.open_link())

    assert state.outcome == TAKEN
    assert state.result == email_verification.ADDRESS_TAKEN.format(email="nina@example.com")
    assert state.user_email == "ann@example.com"  # nothing changed
    session.expire_all()
    assert session.get(User, user.id).email == "ann@example.com"  # type: ignore[union-attr]


def test_a_sign_up_link_still_says_the_email_is_confirmed(
    session: Session, smtp: SmtpServer
) -> None:
    email_verification.sign_up_with_password(email="ann@example.com", password=PASSWORD)
    token = token_in(smtp.wait_for(1)[0], routes.VERIFY_EMAIL)
    state = state_on(VerifyEmailState, f"/verify-email?token={quote(token)}")

    run(state.open_link())

    assert (state.outcome, state.email_changed) == (VERIFIED, False)
    assert state.result == email_verification.EMAIL_CONFIRMED


# -- the reminder on the dashboard -----------------------------------------------------------


def test_the_user_vars_say_whether_the_email_is_verified(session: Session) -> None:
    user, cookie = _account(session)
    state = state_on(AuthState, "/dashboard", cookie=cookie)

    run(state.load_user())
    assert state.user_email_verified is False

    users.mark_email_verified(session, user)
    session.commit()
    run(state.load_user())
    assert state.user_email_verified is True


def test_resend_from_the_reminder(session: Session, smtp: SmtpServer) -> None:
    _user, cookie = _account(session)
    state = state_on(VerifyEmailState, "/dashboard", cookie=cookie)

    run(state.resend())

    assert state.resend_notice == email_verification.NEW_LINK_SENT.format(email="ann@example.com")
    assert smtp.wait_for(1)[0].rcpt_tos == ("ann@example.com",)


def test_resend_when_signed_out_goes_to_sign_in(database: sa.Engine) -> None:
    state = state_on(VerifyEmailState, "/dashboard")

    spec = run(state.resend())

    assert _redirect_target(spec) == "/login?next=%2Fdashboard"


# -- forgotten password ----------------------------------------------------------------------


def test_forgot_password_answers_the_same_for_any_address(
    session: Session, smtp: SmtpServer
) -> None:
    _account(session)
    answers = []
    for email in ("ann@example.com", "nobody@example.com"):
        state = state_on(ForgotPasswordState, "/forgot-password")
        run(state.submit({"email": email}))
        answers.append(state.notice.replace(email, "X"))

    assert answers[0] == answers[1] == (
        "If an account exists for X, we sent a link to reset its password. "
        "It works for one hour."
    )
    email_links.wait_idle()
    assert [m.rcpt_tos for m in smtp.messages] == [("ann@example.com",)]


def test_forgot_password_shows_a_malformed_address_by_the_field(database: sa.Engine) -> None:
    state = state_on(ForgotPasswordState, "/forgot-password")

    run(state.submit({"email": "ann@"}))

    assert state.email_error == "Enter a valid email address"
    assert state.notice == ""


def _reset_page(smtp: SmtpServer, email: str = "ann@example.com",
                cookie: str = "") -> ResetPasswordState:
    forgot = state_on(ForgotPasswordState, "/forgot-password")
    run(forgot.submit({"email": email}))
    email_links.wait_idle()
    token = token_in(smtp.messages[-1], routes.RESET_PASSWORD)
    state = state_on(ResetPasswordState, f"/reset-password?token={quote(token)}", cookie=cookie)
    run(state.on_load())
    return state


def test_reset_sets_the_password_signs_out_everywhere_and_goes_to_sign_in(
    session: Session, smtp: SmtpServer
) -> None:
    _user, cookie = _account(session)
    state = _reset_page(smtp, cookie=cookie)
    assert (state.checked, state.link_live) == (True, True)

    spec = run(state.submit({"password": NEW, "confirm": NEW}))

    target = _redirect_target(spec)
    assert target == "/login?notice=" + quote(PASSWORD_CHANGED, safe="")
    assert all(row.revoked_at is not None for row in _sessions(session))
    after = state_on(AuthState, "/", cookie=cookie)
    run(after.load_user())
    assert after.signed_in is False
    login = state_on(LoginState, target, cookie=browser_cookie())
    assert login.query_notice == "Your password has been changed. Sign in with your new password."
    spec = asyncio.run(login.submit({"email": "ann@example.com", "password": PASSWORD}))
    assert spec is None and login.password_error == users.WRONG_CREDENTIALS
    assert asyncio.run(login.submit({"email": "ann@example.com", "password": NEW})) is not None


def test_reset_shows_a_bad_password_by_its_field_and_keeps_the_link(
    session: Session, smtp: SmtpServer
) -> None:
    _account(session)
    state = _reset_page(smtp)

    assert run(state.submit({"password": NEW, "confirm": "something else"})) is None
    assert state.confirm_error == PASSWORDS_DIFFER
    assert run(state.submit({"password": "short", "confirm": "short"})) is None
    assert (state.password_error, state.confirm_error) == ("Use at least 8 characters", "")
    assert state.link_live is True


def test_a_used_reset_link_shows_no_form(session: Session, smtp: SmtpServer) -> None:
    _account(session)
    state = _reset_page(smtp)
    run(state.submit({"password": NEW, "confirm": NEW}))

    again = state_on(ResetPasswordState, str(state.router.url))
    run(again.on_load())
    assert (again.checked, again.link_live) == (True, False)
    assert run(again.submit({"password": NEW, "confirm": NEW})) is None
    assert again.form_error == RESET_LINK_DEAD


def test_login_page_shows_only_its_own_notices(database: sa.Engine) -> None:
    crafted = state_on(LoginState, "/login?notice=" + quote("Call +1 555 0100 now", safe=""))
    assert crafted.query_notice == ""
    assert state_on(LoginState, "/login").query_notice == ""


def test_opening_a_link_collects_the_lessons_paid_with_the_email(
    session: Session, smtp: SmtpServer
) -> None:
    user, cookie = _account(session)
    make_booking(session, start=clock.now() + timedelta(days=2), customer_email="ann@example.com")
    run(state_on(VerifyEmailState, "/dashboard", cookie=cookie).resend())
    token = token_in(smtp.wait_for(1)[0], routes.VERIFY_EMAIL)

    run(state_on(VerifyEmailState, f"/verify-email?token={quote(token)}").open_link())

    session.expire_all()
    assert session.exec(select(Booking)).one().user_id == user.id

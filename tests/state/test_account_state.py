"""The `/account` page's handlers (`AccountState`), driven without a browser."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlmodel import Session, col, select

from tests.factories import lesson_start, make_booking, make_user
from tests.fakes.smtp_server import SmtpServer
from tests.state.handlers import run, state_on
from tutor_app.accounts import account_settings, email_verification, sign_in_sessions, users
from tutor_app.core.models import EmailLink, LoginThrottle, OAuthIdentity, SignInSession, User
from tutor_app.state.account import DEVICE_SIGNED_OUT, AccountState
from tutor_app.state.directory import DirectoryState
from tutor_app.state.viewer_zone import TZ_SCRIPT

IP = "127.0.0.1"  # where state_on's websocket comes from
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a whole new sentence"
NEW_EMAIL = "nina@example.com"
CHROME_LINUX = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36")
FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0"


def _account(session: Session, *, timezone: str | None = None) -> User:
    user = users.sign_up(session, email="ann@example.com", password=PASSWORD, name="Ann")
    user.timezone = timezone
    session.add(user)
    session.commit()
    return user


def _cookie(session: Session, user: User, *, user_agent: str = CHROME_LINUX,
            tz: str = "") -> str:
    token = sign_in_sessions.create_session(session, user_id=user.id, user_agent=user_agent)
    session.commit()
    cookie = f"{sign_in_sessions.session_cookie_name()}={token}"
    return f"{cookie}; tz={tz.replace('/', '%2F')}" if tz else cookie


def _page(cookie: str) -> AccountState:
    """The account page with its on_load run; it must not need to ask the browser's zone."""
    state = state_on(AccountState, "/account", cookie=cookie)
    assert run(state.load()) is None
    assert state.loaded
    return state


def _kind(spec: Any) -> str:
    return str(spec.handler.fn.__qualname__)


def _args(spec: Any) -> dict[str, Any]:
    return {name._js_expr: getattr(value, "_var_value", value) for name, value in spec.args}


def _navigation_target(spec: Any) -> str:
    """Where a full-page navigation (window.location.assign) sends the browser."""
    assert _kind(spec) == "_call_script"
    match = re.fullmatch(r'window\.location\.assign\("([^"]*)"\)', _args(spec)["javascript_code"])
    assert match, _args(spec)
    return match.group(1)


def _fresh(session: Session, user_id: str) -> User:
    session.expire_all()
    user = session.get(User, user_id)
    assert user is not None
    session.commit()
    return user


# -- loading ---------------------------------------------------------------------------------


def test_the_page_shows_the_account_and_preselects_the_browsers_zone(session: Session) -> None:
    user = _account(session)
    state = _page(_cookie(session, user, tz="Asia/Tokyo"))

    assert (state.user_email, state.form_name, state.has_password) == (
        "ann@example.com", "Ann", True)
    assert state.zone == "Asia/Tokyo"
    labels = {option["value"]: option["label"] for option in state.zone_options}
    assert labels["Asia/Tokyo"] == "Asia/Tokyo (JST, UTC+09:00)"
    assert len(labels) == len(account_settings.selectable_zones())
    (device,) = state.devices
    assert (device["description"], device["current"]) == ("Chrome on Linux", True)
    assert device["signed_in"].endswith("(Asia/Tokyo)")
    assert _fresh(session, user.id).timezone is None  # shown, not saved until chosen


def test_the_accounts_zone_is_preselected_over_the_browsers(session: Session) -> None:
    user = _account(session, timezone="Europe/Paris")

    state = _page(_cookie(session, user, tz="Asia/Tokyo"))

    assert state.zone == "Europe/Paris" and state.viewer_tz == "Europe/Paris"


def test_without_any_zone_the_browser_is_asked_and_its_answer_preselected(
    session: Session,
) -> None:
    user = _account(session)
    state = state_on(AccountState, "/account", cookie=_cookie(session, user))

    ask = run(state.load())

    assert _kind(ask) == "_call_script" and TZ_SCRIPT in str(_args(ask)["javascript_code"])
    state.set_viewer_tz("America/Chicago")
    assert state.zone == "America/Chicago"


def test_an_account_without_a_password_shows_no_password_form(session: Session) -> None:
    user = make_user(session, email="gina@example.com", name="Gina")
    session.add(OAuthIdentity(user_id=user.id, provider="google", subject="s", email=user.email))
    session.commit()

    assert _page(_cookie(session, user, tz="UTC")).has_password is False


# -- email -----------------------------------------------------------------------------------


def test_the_page_says_whether_the_email_is_verified(session: Session) -> None:
    user = _account(session)
    cookie = _cookie(session, user, tz="UTC")
    assert _page(cookie).user_email_verified is False

    users.mark_email_verified(session, user)
    session.commit()

    assert _page(cookie).user_email_verified is True


def test_resend_the_link_from_the_account_page(session: Session, mailbox: SmtpServer) -> None:
    user = _account(session)
    state = _page(_cookie(session, user, tz="UTC"))

    run(state.resend_verification())
    assert state.verify_notice == email_verification.NEW_LINK_SENT.format(email=user.email)
    assert mailbox.wait_for(1)[0].rcpt_tos == ("ann@example.com",)

    run(state.resend_verification())  # within the minute: nothing more is sent
    assert state.verify_notice == email_verification.LINK_JUST_SENT.format(email=user.email)
    assert len(mailbox.messages) == 1


def test_an_email_change_mails_the_new_address_and_keeps_the_old_one_for_now(
    session: Session, mailbox: SmtpServer
) -> None:
    user = _account(session)
    state = _page(_cookie(session, user, tz="UTC"))

    spec = run(state.request_email_change({"new_email": NEW_EMAIL, "email_password": PASSWORD}))

    assert spec is None
    assert state.email_notice == (
        "We sent a link to nina@example.com. Your email changes when you open it.")
    assert (state.new_email_error, state.email_password_error) == ("", "")
    assert state.user_email == "ann@example.com"
    assert _fresh(session, user.id).email == "ann@example.com"
    assert sorted(m.rcpt_tos[0] for m in mailbox.wait_for(2)) == [
        "ann@example.com", NEW_EMAIL]
    # The password came from the form and never lands in the state the browser receives.
    assert PASSWORD not in json.dumps(state.dict(), default=str)


def test_an_email_change_shows_what_is_wrong_by_the_field(
    session: Session, mailbox: SmtpServer
) -> None:
    user = _account(session)
    make_user(session, email="bob@example.com")
    state = _page(_cookie(session, user, tz="UTC"))

    run(state.request_email_change({"new_email": NEW_EMAIL, "email_password": "guess"}))
    assert state.email_password_error == account_settings.WRONG_CURRENT_PASSWORD
    assert (state.new_email_error, state.email_notice) == ("", "")
    session.expire_all()
    throttle = session.get(LoginThrottle, {"email": user.email, "ip": IP})
    assert throttle is not None and throttle.failures == 1  # a failed sign-in

    run(state.request_email_change({"new_email": "Bob@example.com", "email_password": PASSWORD}))
    assert state.new_email_error == users.EMAIL_TAKEN
    assert state.email_password_error == ""

    run(state.request_email_change({"new_email": "ann@example.com", "email_password": ""}))
    assert state.new_email_error == account_settings.SAME_EMAIL
    assert state.email_password_error == account_settings.MISSING_CURRENT_PASSWORD
    assert mailbox.messages == []
    session.expire_all()
    assert session.exec(select(EmailLink)).all() == []


def test_an_email_from_google_cannot_be_changed_here(
    session: Session, mailbox: SmtpServer
) -> None:
    user = make_user(session, email="gina@example.com", name="Gina", email_verified=True)
    session.add(OAuthIdentity(user_id=user.id, provider="google", subject="s", email=user.email))
    session.commit()
    state = _page(_cookie(session, user, tz="UTC"))
    assert state.has_password is False  # the page shows no form, only where the email is from

    run(state.request_email_change({"new_email": NEW_EMAIL, "email_password": "x"}))

    assert state.new_email_error == account_settings.EMAIL_FROM_GOOGLE
    assert _fresh(session, user.id).email == "gina@example.com"
    assert mailbox.messages == []


def test_an_email_change_from_a_signed_out_browser_goes_to_sign_in(
    session: Session, mailbox: SmtpServer
) -> None:
    user = _account(session)
    state = _page(_cookie(session, user, tz="UTC"))
    sign_in_sessions.revoke_sessions(session, user_id=user.id)
    session.commit()

    spec = run(state.request_email_change({"new_email": NEW_EMAIL, "email_password": PASSWORD}))

    assert _args(spec)["path"] == "/login?next=%2Faccount"
    assert mailbox.messages == []


# -- name and zone ---------------------------------------------------------------------------


def test_saving_the_name_updates_the_header_or_says_what_is_wrong(session: Session) -> None:
    user = _account(session)
    state = _page(_cookie(session, user, tz="UTC"))

    run(state.save_name({"name": "x" * 101}))
    assert state.name_error == users.LONG_NAME and state.name_notice == ""

    run(state.save_name({"name": "  Ann  Lee "}))
    assert (state.name_error, state.name_notice) == ("", account_settings.NAME_SAVED)
    assert state.user_name == state.form_name == "Ann Lee"
    assert _fresh(session, user.id).name == "Ann Lee"


def test_saving_the_zone_keeps_it_on_the_account_and_shows_times_in_it(
    session: Session,
) -> None:
    user = _account(session)
    state = _page(_cookie(session, user, tz="America/New_York"))

    state.set_zone("Asia/Tokyo")
    run(state.save_timezone({"timezone": "Asia/Tokyo"}))

    assert state.zone_notice == account_settings.ZONE_SAVED
    assert _fresh(session, user.id).timezone == "Asia/Tokyo"
    assert state.devices[0]["signed_in"].endswith("(Asia/Tokyo)")
    run(state.save_timezone({"timezone": "Atlantis/Capital"}))
    assert state.zone_error == account_settings.UNKNOWN_ZONE
    assert _fresh(session, user.id).timezone == "Asia/Tokyo"


# -- password --------------------------------------------------------------------------------


def test_a_wrong_current_password_is_shown_by_its_field_and_counted(session: Session) -> None:
    user = _account(session)
    state = _page(_cookie(session, user, tz="UTC"))

    run(state.change_password({"current_password": "guess", "new_password": NEW_PASSWORD}))

    assert state.current_password_error == account_settings.WRONG_CURRENT_PASSWORD
    assert (state.new_password_error, state.password_notice) == ("", "")
    session.expire_all()
    throttle = session.get(LoginThrottle, {"email": user.email, "ip": IP})
    assert throttle is not None and throttle.failures == 1


def test_a_short_new_password_is_shown_by_its_field(session: Session) -> None:
    user = _account(session)
    state = _page(_cookie(session, user, tz="UTC"))

    run(state.change_password({"current_password": PASSWORD, "new_password": "short"}))

    assert state.new_password_error == users.SHORT_PASSWORD
    assert state.current_password_error == ""


def test_a_new_password_signs_out_the_other_devices_only(session: Session) -> None:
    user = _account(session)
    here = _cookie(session, user, tz="UTC")
    laptop = _cookie(session, user, user_agent=FIREFOX_MAC)
    state = _page(here)
    assert len(state.devices) == 2

    run(state.change_password({"current_password": PASSWORD, "new_password": NEW_PASSWORD}))

    assert state.password_notice == account_settings.PASSWORD_CHANGED
    assert [d["current"] for d in state.devices] == [True]
    assert sign_in_sessions.user_for_cookie_header(here) is not None
    assert sign_in_sessions.user_for_cookie_header(laptop) is None
    # Passwords come from the form and never land in the state the browser receives.
    sent = json.dumps(state.dict(), default=str)
    assert PASSWORD not in sent and NEW_PASSWORD not in sent


# -- devices ---------------------------------------------------------------------------------


def test_signing_out_another_device(session: Session) -> None:
    user = _account(session)
    here = _cookie(session, user, tz="UTC")
    laptop = _cookie(session, user, user_agent=FIREFOX_MAC)
    state = _page(here)
    other = next(d for d in state.devices if not d["current"])
    assert other["description"] == "Firefox on macOS"

    run(state.sign_out_device(other["id"]))

    assert state.devices_notice == DEVICE_SIGNED_OUT
    assert [d["description"] for d in state.devices] == ["Chrome on Linux"]
    assert sign_in_sessions.user_for_cookie_header(laptop) is None
    assert sign_in_sessions.user_for_cookie_header(here) is not None


def test_sign_out_everywhere_signs_this_browser_out_too_and_goes_to_sign_in(
    session: Session,
) -> None:
    user = _account(session)
    here = _cookie(session, user, tz="UTC")
    laptop = _cookie(session, user, user_agent=FIREFOX_MAC)
    state = _page(here)

    target = _navigation_target(run(state.sign_out_everywhere()))

    assert target == "/login"
    assert state.signed_in is False
    assert sign_in_sessions.user_for_cookie_header(here) is None
    assert sign_in_sessions.user_for_cookie_header(laptop) is None


def test_a_signed_out_browser_is_sent_to_sign_in(session: Session) -> None:
    user = _account(session)
    here = _cookie(session, user, tz="UTC")
    state = _page(here)
    sign_in_sessions.revoke_sessions(session, user_id=user.id)
    session.commit()

    spec = run(state.save_name({"name": "Mallory"}))

    assert _kind(spec) == "_redirect"
    assert _args(spec)["path"] == "/login?next=%2Faccount"
    assert _fresh(session, user.id).name == "Ann"


# -- deleting the account --------------------------------------------------------------------


def test_deleting_with_an_upcoming_lesson_is_refused_by_the_field(session: Session) -> None:
    user = _account(session)
    make_booking(session, user=user, start=lesson_start(days=3))
    state = _page(_cookie(session, user, tz="UTC"))

    assert run(state.delete_account({"confirm": PASSWORD})) is None

    assert state.confirm_error == account_settings.UPCOMING_LESSONS
    assert _fresh(session, user.id).deleted_at is None


def test_deleting_signs_the_browser_out_and_goes_home_with_a_notice(session: Session) -> None:
    user = _account(session)
    here = _cookie(session, user, tz="UTC")
    state = _page(here)

    target = _navigation_target(run(state.delete_account({"confirm": PASSWORD})))

    assert target == "/?notice=account-deleted"
    assert state.signed_in is False and state.devices == []
    gone = _fresh(session, user.id)
    assert gone.deleted_at is not None and gone.email.endswith("@deleted.invalid")
    assert sign_in_sessions.user_for_cookie_header(here) is None
    assert session.exec(select(SignInSession).where(
        col(SignInSession.revoked_at).is_(None))).all() == []
    home = state_on(DirectoryState, target, route="/")
    assert home.home_notice == account_settings.ACCOUNT_DELETED
    assert state_on(DirectoryState, "/?notice=Free%20money", route="/").home_notice == ""


def test_the_confirm_field_says_what_to_type(session: Session) -> None:
    user = _account(session)
    state = _page(_cookie(session, user, tz="UTC"))

    run(state.delete_account({"confirm": ""}))

    assert state.confirm_error == account_settings.CONFIRM_WITH_PASSWORD
    assert _fresh(session, user.id).deleted_at is None

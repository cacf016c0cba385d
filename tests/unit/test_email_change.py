"""Changing the account's email: a link mailed to the new address (the email changes only when
it is opened), a notice to the old one, the password checked as a sign-in, and requests rate
limited. Mail goes to a real SMTP server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from tests.factories import make_booking, make_user
from tests.fakes.smtp_server import ReceivedMail, SmtpServer
from tests.mail_links import link_in, token_in
from tutor_app.accounts import account_settings, email_links, users
from tutor_app.accounts.account_settings import (
    EMAIL_FROM_GOOGLE,
    MISSING_CURRENT_PASSWORD,
    SAME_EMAIL,
    WRONG_CURRENT_PASSWORD,
    request_email_change,
)
from tutor_app.accounts.email_verification import (
    AddressTaken,
    resend_verification,
    verify_email,
)
from tutor_app.accounts.password_reset import request_reset
from tutor_app.accounts.users import AuthError
from tutor_app.core import clock, rate_limits, routes
from tutor_app.core.models import (
    Booking,
    EmailLink,
    LoginThrottle,
    OAuthIdentity,
    RateLimitCounter,
    User,
)
from tutor_app.core.settings import Settings
from tutor_app.mail.account_mail import mask_email

PASSWORD = "correct horse battery"
APP = "https://tutors.example.com"
IP = "198.51.100.7"
NEW = "nina@example.com"
ConfigureFn = Callable[..., Settings]


@pytest.fixture
def smtp(mailbox: SmtpServer, configure: ConfigureFn) -> SmtpServer:
    """The mailbox, with the app's address the links point to."""
    configure(APP_URL=APP)
    return mailbox


def _account(session: Session, email: str = "ann@example.com", *,
             verified: bool = True) -> User:
    user = users.sign_up(session, email=email, password=PASSWORD, name="Ann")
    user.email_verified = verified
    session.add(user)
    session.commit()
    return user


def _fresh(session: Session, user_id: str) -> User:
    session.expire_all()
    user = session.get(User, user_id)
    assert user is not None
    session.commit()
    return user


def _refused(**kwargs: str) -> AuthError:
    with pytest.raises(AuthError) as info:
        request_email_change(**{"ip": IP, **kwargs})  # type: ignore[arg-type]
    return info.value


def _mail_to(smtp: SmtpServer, address: str) -> ReceivedMail:
    [mail] = [m for m in smtp.messages if m.rcpt_tos == (address,)]
    return mail


def _text(mail: ReceivedMail) -> str:
    body = mail.message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _change_token(smtp: SmtpServer, user: User, new_email: str = NEW) -> str:
    """Ask for the change and read the token off the mail to the new address."""
    request_email_change(user_id=user.id, new_email=new_email, password=PASSWORD, ip=IP)
    smtp.wait_for(2)
    return token_in(_mail_to(smtp, new_email), routes.VERIFY_EMAIL)


# -- asking ----------------------------------------------------------------------------------


def test_a_link_goes_to_the_new_address_and_a_notice_to_the_old_one(
    session: Session, smtp: SmtpServer
) -> None:
    user = _account(session)

    answer = request_email_change(user_id=user.id, new_email=" Nina@Example.com ",
                                  password=PASSWORD, ip=IP)

    assert answer == ("We sent a link to nina@example.com. Your email changes when you open "
                      "it.")
    smtp.wait_for(2)
    link_mail = _mail_to(smtp, NEW)
    assert link_mail["Subject"] == "Confirm your new email address for Tutorly"
    assert link_in(link_mail, routes.VERIFY_EMAIL).startswith(f"{APP}/verify-email?token=")
    assert "48 hours" in _text(link_mail)
    notice = _mail_to(smtp, "ann@example.com")
    assert notice["Subject"] == "Your Tutorly email address is about to change"
    text = _text(notice)
    assert "Someone asked to change your Tutorly email to n***@example.com." in text
    assert NEW not in text  # the old mailbox is not told the new address
    assert f"Reset my password: {APP}/forgot-password\r\n" in text
    assert "token=" not in text
    link = session.exec(select(EmailLink)).one()
    assert (link.purpose, link.email, link.user_id) == (email_links.CHANGE_EMAIL, NEW, user.id)
    assert link.expires_at - link.created_at == timedelta(hours=48)


def test_the_email_stays_until_the_link_is_opened(session: Session, smtp: SmtpServer) -> None:
    user = _account(session)
    token = _change_token(smtp, user)

    assert _fresh(session, user.id).email == "ann@example.com"
    assert users.authenticate(session, email="ann@example.com", password=PASSWORD, ip=IP)
    session.commit()

    opened = verify_email(token)

    assert opened is not None
    assert (opened.user_id, opened.email, opened.email_changed) == (user.id, NEW, True)
    changed = _fresh(session, user.id)
    assert (changed.email, changed.email_verified) == (NEW, True)
    assert users.authenticate(session, email=NEW, password=PASSWORD, ip=IP).id == user.id
    session.commit()
    with pytest.raises(AuthError):
        users.authenticate(session, email="ann@example.com", password=PASSWORD, ip=IP)
    assert verify_email(token) is None  # used once


def test_an_unverified_account_proves_its_new_address_with_the_link(
    session: Session, smtp: SmtpServer
) -> None:
    user = _account(session, "ann@exmaple.com", verified=False)  # a typo at sign-up
    token = _change_token(smtp, user, "ann@example.com")

    verify_email(token)

    changed = _fresh(session, user.id)
    assert (changed.email, changed.email_verified) == ("ann@example.com", True)
    assert resend_verification(user.id) == "Your email address is already confirmed."


def test_opening_the_link_collects_the_lessons_paid_with_the_new_address(
    session: Session, smtp: SmtpServer
) -> None:
    user = _account(session)
    make_booking(session, start=clock.now() + timedelta(days=2), customer_email=NEW)
    token = _change_token(smtp, user)

    verify_email(token)

    session.expire_all()
    assert session.exec(select(Booking)).one().user_id == user.id


def test_only_the_newest_change_link_works_and_opening_it_voids_the_old_addresss_links(
    session: Session, smtp: SmtpServer
) -> None:
    user = _account(session, verified=False)
    resend_verification(user.id)  # a verification link to the old address...
    request_reset("ann@example.com", ip=IP)  # ...and a reset link
    email_links.wait_idle()
    smtp.wait_for(2)
    smtp.clear()
    earlier = _change_token(smtp, user, "nina.old@example.com")
    smtp.clear()
    newest = _change_token(smtp, user)

    assert verify_email(earlier) is None
    assert verify_email(newest) is not None

    assert _fresh(session, user.id).email == NEW
    unused = session.exec(select(EmailLink).where(col(EmailLink.used_at).is_(None))).all()
    assert unused == []


# -- refused ---------------------------------------------------------------------------------


def test_an_address_taken_meanwhile_changes_nothing(session: Session, smtp: SmtpServer) -> None:
    user = _account(session)
    token = _change_token(smtp, user)
    users.find_or_create_by_email(session, email=NEW)  # say, a lesson paid with it meanwhile
    session.commit()

    with pytest.raises(AddressTaken) as taken:
        verify_email(token)

    assert taken.value.message == (
        "Another account uses nina@example.com now, so your email address was not changed."
    )
    unchanged = _fresh(session, user.id)
    assert (unchanged.email, unchanged.email_verified) == ("ann@example.com", True)
    assert verify_email(token) is None  # the link is used up


def test_an_address_taken_at_the_same_moment_is_caught_by_the_unique_email(
    session: Session, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _account(session)
    token = _change_token(smtp, user)
    make_user(session, email=NEW)
    # The other user's row commits just after the check looked: the unique index refuses.
    monkeypatch.setattr(users, "get_user_by_email", lambda _db, _email: None)

    with pytest.raises(AddressTaken):
        verify_email(token)

    monkeypatch.undo()
    assert _fresh(session, user.id).email == "ann@example.com"
    assert verify_email(token) is None  # the link is used up


def test_an_address_in_use_is_refused_without_saying_more(
    session: Session, smtp: SmtpServer
) -> None:
    user = _account(session)
    make_user(session, email=NEW)  # an unclaimed user counts too

    error = _refused(user_id=user.id, new_email="NINA@example.com", password=PASSWORD)

    assert (error.field, error.message) == ("new_email", "An account with this email already "
                                                         "exists")
    # With a wrong password, only the password is wrong: the address is not probed.
    error = _refused(user_id=user.id, new_email=NEW, password="guess")
    assert error.errors == {"email_password": WRONG_CURRENT_PASSWORD}
    assert smtp.messages == []
    assert session.exec(select(EmailLink)).all() == []


def test_a_wrong_password_is_refused_and_counts_as_a_failed_sign_in(
    session: Session, smtp: SmtpServer
) -> None:
    user = _account(session)

    error = _refused(user_id=user.id, new_email=NEW, password="guess")

    assert (error.field, error.message) == ("email_password", WRONG_CURRENT_PASSWORD)
    throttle = session.get(LoginThrottle, {"email": "ann@example.com", "ip": IP})
    assert throttle is not None and throttle.failures == 1
    assert smtp.messages == [] and session.exec(select(EmailLink)).all() == []


def test_an_account_whose_email_comes_from_google_cannot_change_it(
    session: Session, smtp: SmtpServer
) -> None:
    user = make_user(session, email="gina@example.com", email_verified=True)
    session.add(OAuthIdentity(user_id=user.id, provider="google", subject="sub-gina",
                              email=user.email))
    session.commit()

    error = _refused(user_id=user.id, new_email=NEW, password="")

    assert (error.field, error.message) == ("new_email", EMAIL_FROM_GOOGLE)
    assert _fresh(session, user.id).email == "gina@example.com"
    assert smtp.messages == []


@pytest.mark.parametrize(
    ("new_email", "password", "errors"),
    [
        ("nina@", PASSWORD, {"new_email": users.INVALID_EMAIL}),
        (" ANN@example.com", PASSWORD, {"new_email": SAME_EMAIL}),
        (NEW, "", {"email_password": MISSING_CURRENT_PASSWORD}),
        ("", "", {"new_email": users.INVALID_EMAIL,
                  "email_password": MISSING_CURRENT_PASSWORD}),
    ],
)
def test_a_bad_field_is_refused_by_the_field_before_anything_is_counted(
    session: Session, smtp: SmtpServer, new_email: str, password: str, errors: dict[str, str]
) -> None:
    user = _account(session)

    error = _refused(user_id=user.id, new_email=new_email, password=password)

    assert error.errors == errors
    assert session.exec(select(RateLimitCounter)).all() == []
    assert session.get(LoginThrottle, {"email": "ann@example.com", "ip": IP}) is None
    assert smtp.messages == []


def test_requests_are_rate_limited_per_account(session: Session, smtp: SmtpServer) -> None:
    user = _account(session)
    limit = rate_limits.EMAIL_CHANGE_PER_ACCOUNT
    for i in range(limit.max_hits):
        request_email_change(user_id=user.id, new_email=f"nina{i}@example.com",
                             password=PASSWORD, ip=f"192.0.2.{i}")

    error = _refused(user_id=user.id, new_email=NEW, password=PASSWORD)

    assert (error.field, error.message) == ("new_email",
                                            "Too many attempts. Try again in 60 minutes.")
    assert len(smtp.wait_for(2 * limit.max_hits)) == 2 * limit.max_hits
    assert NEW not in {m.rcpt_tos[0] for m in smtp.messages}


def test_requests_are_rate_limited_per_address(session: Session, smtp: SmtpServer) -> None:
    limit = rate_limits.EMAIL_CHANGE_PER_ADDRESS
    for i in range(limit.max_hits):
        someone = _account(session, f"someone{i}@example.com")
        request_email_change(user_id=someone.id, new_email=f"new{i}@example.com",
                             password=PASSWORD, ip=IP)
    user = _account(session)

    error = _refused(user_id=user.id, new_email=NEW, password=PASSWORD)

    assert error.message.startswith("Too many attempts")
    assert request_email_change(user_id=user.id, new_email=NEW, password=PASSWORD,
                                ip="203.0.113.9")  # from another address it may


def test_a_deleted_accounts_link_changes_nothing(session: Session, smtp: SmtpServer) -> None:
    user = _account(session)
    token = _change_token(smtp, user)
    account_settings.delete_account(user_id=user.id, confirmation=PASSWORD, ip=IP)

    assert verify_email(token) is None
    assert users.get_user_by_email(session, NEW) is None


def test_the_new_address_is_masked_in_the_notice() -> None:
    assert mask_email("nina@example.com") == "n***@example.com"
    assert mask_email("n@example.com") == "n***@example.com"

"""Password reset: one answer for every address, a one-hour single-use link, and a reset that
ends every sign-in session. Mail goes to a real SMTP server."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from tests.factories import make_booking, make_user
from tests.fakes.smtp_server import SmtpServer
from tests.mail_links import link_in, token_in
from tutor_app.accounts import email_links, passwords, sign_in_sessions
from tutor_app.accounts.email_links import OutgoingLink
from tutor_app.accounts.password_reset import (
    PASSWORDS_DIFFER,
    RESET_LINK_DEAD,
    request_reset,
    reset_link_is_live,
    reset_password,
)
from tutor_app.accounts.users import AuthError, authenticate, find_or_create_by_email, sign_up
from tutor_app.core import clock, rate_limits, routes
from tutor_app.core.models import Booking, EmailLink, User
from tutor_app.core.settings import Settings

OLD = "correct horse battery"
NEW = "a brand new passphrase"
APP = "https://tutors.example.com"
IP = "198.51.100.7"
ConfigureFn = Callable[..., Settings]


@pytest.fixture
def smtp(mailbox: SmtpServer, configure: ConfigureFn) -> SmtpServer:
    """The mailbox, with the app's address the links point to."""
    configure(APP_URL=APP)
    return mailbox


@pytest.fixture
def ann(session: Session) -> User:
    user = sign_up(session, email="ann@example.com", password=OLD, name="Ann")
    session.commit()
    return user


def _reset_token(smtp: SmtpServer, email: str = "ann@example.com") -> str:
    request_reset(email, ip=IP)
    email_links.wait_idle()
    mails = [m for m in smtp.messages if email in m.rcpt_tos]
    return token_in(mails[-1], routes.RESET_PASSWORD)


def _fresh(session: Session, user_id: str) -> User:
    session.expire_all()
    user = session.get(User, user_id)
    assert user is not None
    return user


# -- asking for a link -----------------------------------------------------------------------


def test_asking_mails_a_one_hour_reset_link(session: Session, smtp: SmtpServer, ann: User) -> None:
    answer = request_reset(" Ann@Example.com ", ip=IP)

    assert answer == ("If an account exists for ann@example.com, we sent a link to reset its "
                      "password. It works for one hour.")
    email_links.wait_idle()
    [mail] = smtp.messages
    assert mail.rcpt_tos == ("ann@example.com",)
    assert mail["Subject"] == "Reset your Tutorly password"
    assert link_in(mail, routes.RESET_PASSWORD).startswith(f"{APP}/reset-password?token=")
    link = session.exec(select(EmailLink)).one()
    assert link.expires_at - link.created_at == timedelta(hours=1)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    session: Session, smtp: SmtpServer, ann: User
) -> None:
    known = request_reset("ann@example.com", ip=IP)
    unknown = request_reset("nobody@example.com", ip=IP)

    assert unknown == known.replace("ann@example.com", "nobody@example.com")
    email_links.wait_idle()
    assert [m.rcpt_tos for m in smtp.messages] == [("ann@example.com",)]
    assert session.exec(select(EmailLink.user_id)).all() == [ann.id]


def test_the_answer_does_not_wait_for_the_mail(session: Session, ann: User) -> None:
    """A slow mail server must not make an address with an account answer later."""
    slow_sent: list[str] = []

    def slow_mailer(link: OutgoingLink) -> None:
        time.sleep(1.0)
        slow_sent.append(link.to)

    real = email_links.mailer()
    assert real is not None
    email_links.register_mailer(slow_mailer)
    try:
        started = time.monotonic()
        request_reset("ann@example.com", ip=IP)
        known = time.monotonic() - started
        started = time.monotonic()
        request_reset("nobody@example.com", ip=IP)
        unknown = time.monotonic() - started
        email_links.wait_idle()
    finally:
        email_links.register_mailer(real)

    assert known < 0.5 and unknown < 0.5, (known, unknown)
    assert slow_sent == ["ann@example.com"]


def test_a_malformed_address_is_refused_by_the_field(database: object) -> None:
    with pytest.raises(AuthError) as error:
        request_reset("ann@", ip=IP)

    assert error.value.field == "email"


# -- using the link --------------------------------------------------------------------------


def test_a_reset_changes_the_password_and_ends_every_session(
    session: Session, smtp: SmtpServer, ann: User
) -> None:
    phone = sign_in_sessions.create_session(session, user_id=ann.id)
    laptop = sign_in_sessions.create_session(session, user_id=ann.id)
    session.commit()
    token = _reset_token(smtp)

    user = reset_password(token=token, password=NEW, confirm=NEW)

    assert user.id == ann.id
    session.expire_all()
    assert sign_in_sessions.user_for_token(session, phone) is None
    assert sign_in_sessions.user_for_token(session, laptop) is None
    with pytest.raises(AuthError):
        authenticate(session, email="ann@example.com", password=OLD, ip=IP)
    session.rollback()
    assert authenticate(session, email="ann@example.com", password=NEW, ip=IP).id == ann.id


def test_a_reset_link_works_once_and_voids_the_others(
    session: Session, smtp: SmtpServer, ann: User
) -> None:
    older = _reset_token(smtp)
    token = _reset_token(smtp)
    assert not reset_link_is_live(older)  # the newest link is the one that works
    assert reset_link_is_live(token)

    reset_password(token=token, password=NEW, confirm=NEW)

    assert not reset_link_is_live(token)
    for used in (token, older):
        with pytest.raises(AuthError) as error:
            reset_password(token=used, password="yet another one", confirm="yet another one")
        assert (error.value.field, error.value.message) == ("form", RESET_LINK_DEAD)


def test_a_reset_link_expires_after_one_hour(
    session: Session, smtp: SmtpServer, ann: User
) -> None:
    token = _reset_token(smtp)

    with pytest.raises(AuthError) as error:
        reset_password(token=token, password=NEW, confirm=NEW,
                       now=clock.now() + timedelta(hours=1, seconds=1))

    assert error.value.message == RESET_LINK_DEAD
    assert passwords.verify_password(_fresh(session, ann.id).password_hash or "", OLD)


@pytest.mark.parametrize(
    ("password", "confirm", "field", "message"),
    [
        ("short", "short", "password", "Use at least 8 characters"),
        (NEW, NEW + "!", "confirm", PASSWORDS_DIFFER),
    ],
)
def test_a_bad_new_password_leaves_the_link_usable(
    session: Session, smtp: SmtpServer, ann: User, password: str, confirm: str, field: str,
    message: str,
) -> None:
    token = _reset_token(smtp)

    with pytest.raises(AuthError) as error:
        reset_password(token=token, password=password, confirm=confirm)

    assert (error.value.field, error.value.message) == (field, message)
    assert reset_link_is_live(token)


def test_a_reset_proves_the_mailbox(session: Session, smtp: SmtpServer, ann: User) -> None:
    make_booking(session, start=clock.now() + timedelta(days=3), customer_email="ann@example.com")
    verify = email_links.issue_link(session, user_id=ann.id, purpose=email_links.VERIFY_EMAIL,
                                    email=ann.email)
    session.commit()

    reset_password(token=_reset_token(smtp), password=NEW, confirm=NEW)

    assert _fresh(session, ann.id).email_verified is True
    assert session.exec(select(Booking)).one().user_id == ann.id
    assert email_links.live_link(session, token=verify, purpose=email_links.VERIFY_EMAIL) is None


@pytest.mark.parametrize("kind", ["unclaimed", "google only"])
def test_an_account_without_a_password_can_set_one(
    session: Session, smtp: SmtpServer, kind: str
) -> None:
    if kind == "unclaimed":
        user = find_or_create_by_email(session, email="bob@example.com")
        session.commit()
    else:
        user = make_user(session, email="bob@example.com", email_verified=True)

    reset_password(token=_reset_token(smtp, "bob@example.com"), password=NEW, confirm=NEW)

    session.expire_all()
    assert authenticate(session, email="bob@example.com", password=NEW, ip=IP).id == user.id


@pytest.mark.parametrize("email", ["ann@example.com", "nobody@example.com"])
def test_reset_requests_are_rate_limited_per_email_whether_or_not_it_has_an_account(
    smtp: SmtpServer, ann: User, email: str
) -> None:
    for i in range(rate_limits.PASSWORD_RESET_PER_EMAIL.max_hits):
        request_reset(email, ip=f"192.0.2.{i}")

    with pytest.raises(rate_limits.RateLimited) as refused:
        request_reset(email, ip="192.0.2.200")

    assert str(refused.value) == "Too many attempts. Try again in 60 minutes."
    email_links.wait_idle()
    sent = [m for m in smtp.messages if email in m.rcpt_tos]
    assert len(sent) == (rate_limits.PASSWORD_RESET_PER_EMAIL.max_hits
                         if email == "ann@example.com" else 0)


def test_reset_requests_are_rate_limited_per_address(smtp: SmtpServer, ann: User) -> None:
    for i in range(rate_limits.PASSWORD_RESET_PER_ADDRESS.max_hits):
        request_reset(f"someone{i}@example.com", ip=IP)

    with pytest.raises(rate_limits.RateLimited):
        request_reset("ann@example.com", ip=IP)
    assert request_reset("ann@example.com", ip="203.0.113.9")  # another address may ask

"""Email verification: the link mailed at sign-up, an unclaimed user's sign-up waiting on its
mailbox, opening a link, and asking for a new one. Mail goes to a real SMTP server."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from tests.factories import make_booking, make_user
from tests.fakes.smtp_server import SmtpServer
from tests.mail_links import link_in, token_in
from tutor_app.accounts import email_links, passwords, users
from tutor_app.accounts.email_verification import (
    ALREADY_CONFIRMED,
    LINK_JUST_SENT,
    NEW_LINK_SENT,
    RESEND_COOLDOWN,
    ConfirmationPending,
    resend_verification,
    sign_up_with_password,
    verify_email,
)
from tutor_app.accounts.users import AuthError, authenticate, find_or_create_by_email
from tutor_app.core import clock, routes
from tutor_app.core.models import Booking, EmailLink, User
from tutor_app.core.settings import Settings

PASSWORD = "correct horse battery"
THEIRS = "mallory's own password"
APP = "https://tutors.example.com"
ConfigureFn = Callable[..., Settings]


@pytest.fixture
def smtp(mailbox: SmtpServer, configure: ConfigureFn) -> SmtpServer:
    """The mailbox, with the app's address the links point to."""
    configure(APP_URL=APP)
    return mailbox


def _unclaimed_with_a_booking(session: Session, email: str = "ann@example.com") -> User:
    """An unclaimed user, as a payment leaves one, with a lesson booked under it."""
    unclaimed = find_or_create_by_email(session, email=email, name="Ann Paid")
    session.commit()
    make_booking(session, user=unclaimed, start=clock.now() + timedelta(days=3),
                 customer_email=email)
    return unclaimed


def _fresh(session: Session, user_id: str) -> User:
    session.expire_all()
    user = session.get(User, user_id)
    assert user is not None
    return user


# -- sign-up of a new email ------------------------------------------------------------------


def test_sign_up_creates_an_unverified_account_and_mails_a_verification_link(
    session: Session, smtp: SmtpServer
) -> None:
    user = sign_up_with_password(email=" Ann@Example.com", password=PASSWORD, name="Ann")

    assert user.email == "ann@example.com" and user.email_verified is False
    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == ("ann@example.com",)
    assert mail["Subject"] == "Confirm your email address for Tutorly"
    assert link_in(mail, routes.VERIFY_EMAIL).startswith(f"{APP}/verify-email?token=")
    html = mail.message.get_body(("html",))
    assert html is not None and f"{APP}/verify-email?token=" in html.get_content()
    link = session.exec(select(EmailLink)).one()
    assert link.purpose == email_links.VERIFY_EMAIL and link.pending_password_hash is None


def test_sign_up_still_succeeds_when_the_mail_cannot_go(
    session: Session, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    smtp.fail_with = "451 4.3.0 try later"

    with caplog.at_level(logging.ERROR):
        user = sign_up_with_password(email="ann@example.com", password=PASSWORD)

    assert session.get(User, user.id) is not None
    assert "verify_email link could not be mailed" in caplog.text


def test_sign_up_with_a_taken_email_mails_nothing(session: Session, smtp: SmtpServer) -> None:
    sign_up_with_password(email="ann@example.com", password=PASSWORD)
    smtp.wait_for(1)

    with pytest.raises(AuthError) as error:
        sign_up_with_password(email="ANN@example.com", password=PASSWORD)

    assert error.value.message == users.EMAIL_TAKEN
    assert len(smtp.messages) == 1


# -- the email of an unclaimed user ----------------------------------------------------------


def test_sign_up_for_an_unclaimed_email_waits_on_its_mailbox(
    session: Session, smtp: SmtpServer
) -> None:
    unclaimed = _unclaimed_with_a_booking(session)

    with pytest.raises(ConfirmationPending) as pending:
        sign_up_with_password(email="ann@example.com", password=THEIRS, name="Mallory")

    assert pending.value.message == (
        "We sent a link to ann@example.com. Open it to finish creating your account."
    )
    user = _fresh(session, unclaimed.id)
    assert user.password_hash is None and user.name == "Ann Paid"  # nothing taken over
    with pytest.raises(AuthError):
        authenticate(session, email="ann@example.com", password=THEIRS, ip="127.0.0.1")
    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == ("ann@example.com",)
    assert mail["Subject"] == "Finish creating your Tutorly account"
    assert THEIRS not in mail.raw.decode(errors="replace")
    link = session.exec(select(EmailLink)).one()
    assert link.pending_password_hash is not None
    assert passwords.verify_password(link.pending_password_hash, THEIRS)


def test_opening_the_link_finishes_the_sign_up_with_the_lessons(
    session: Session, smtp: SmtpServer
) -> None:
    unclaimed = _unclaimed_with_a_booking(session)
    with pytest.raises(ConfirmationPending):
        sign_up_with_password(email="ann@example.com", password=PASSWORD)

    verified = verify_email(token_in(smtp.wait_for(1)[0], routes.VERIFY_EMAIL))

    assert verified is not None
    assert (verified.user_id, verified.password_set) == (unclaimed.id, True)
    user = _fresh(session, unclaimed.id)
    assert user.email_verified is True
    signed_in = authenticate(session, email="ann@example.com", password=PASSWORD, ip="127.0.0.1")
    assert signed_in.id == unclaimed.id
    booking = session.exec(select(Booking)).one()
    assert booking.user_id == unclaimed.id


def test_signing_up_again_replaces_the_waiting_link(session: Session, smtp: SmtpServer) -> None:
    unclaimed = _unclaimed_with_a_booking(session)
    for password in (THEIRS, PASSWORD):
        with pytest.raises(ConfirmationPending):
            sign_up_with_password(email="ann@example.com", password=password)
    first, newest = (token_in(mail, routes.VERIFY_EMAIL) for mail in smtp.wait_for(2))

    assert verify_email(first) is None
    assert verify_email(newest) is not None
    assert passwords.verify_password(_fresh(session, unclaimed.id).password_hash or "", PASSWORD)


def test_a_waiting_password_never_replaces_one_set_meanwhile(
    session: Session, smtp: SmtpServer
) -> None:
    unclaimed = _unclaimed_with_a_booking(session)
    with pytest.raises(ConfirmationPending):
        sign_up_with_password(email="ann@example.com", password=THEIRS)
    token = token_in(smtp.wait_for(1)[0], routes.VERIFY_EMAIL)
    user = _fresh(session, unclaimed.id)
    user.password_hash = passwords.hash_password(PASSWORD)  # set meanwhile (say, a reset)
    session.add(user)
    session.commit()

    verified = verify_email(token)

    assert verified is not None and verified.password_set is False
    assert passwords.verify_password(_fresh(session, unclaimed.id).password_hash or "", PASSWORD)


# -- opening a verification link -------------------------------------------------------------


def test_a_verification_link_verifies_once_and_collects_bookings_kept_by_email(
    session: Session, smtp: SmtpServer
) -> None:
    user = sign_up_with_password(email="ann@example.com", password=PASSWORD)
    # Paid with the address before it was verified: kept by its email, owned by nobody.
    make_booking(session, start=clock.now() + timedelta(days=3), customer_email="Ann@example.com")
    token = token_in(smtp.wait_for(1)[0], routes.VERIFY_EMAIL)

    verified = verify_email(token)

    assert verified is not None and verified.password_set is False
    assert _fresh(session, user.id).email_verified is True
    assert session.exec(select(Booking)).one().user_id == user.id
    assert verify_email(token) is None  # single use


def test_a_verification_link_expires_after_48_hours(session: Session, smtp: SmtpServer) -> None:
    user = sign_up_with_password(email="ann@example.com", password=PASSWORD)
    token = token_in(smtp.wait_for(1)[0], routes.VERIFY_EMAIL)

    assert verify_email(token, now=clock.now() + timedelta(hours=48, seconds=1)) is None
    assert _fresh(session, user.id).email_verified is False


def test_a_link_to_an_address_the_user_no_longer_has_verifies_nothing(
    session: Session, smtp: SmtpServer
) -> None:
    user = sign_up_with_password(email="ann@example.com", password=PASSWORD)
    token = token_in(smtp.wait_for(1)[0], routes.VERIFY_EMAIL)
    changed = _fresh(session, user.id)
    changed.email = "ann.new@example.com"
    session.add(changed)
    session.commit()

    assert verify_email(token) is None
    assert _fresh(session, user.id).email_verified is False


# -- asking for a new link -------------------------------------------------------------------


def test_resend_mails_a_new_link_and_the_old_one_stops_working(
    session: Session, smtp: SmtpServer
) -> None:
    user = sign_up_with_password(email="ann@example.com", password=PASSWORD)
    old = token_in(smtp.wait_for(1)[0], routes.VERIFY_EMAIL)

    answer = resend_verification(user.id, now=clock.now() + RESEND_COOLDOWN)

    assert answer == NEW_LINK_SENT.format(email="ann@example.com")
    assert "48 hours" in answer
    new = token_in(smtp.wait_for(2)[1], routes.VERIFY_EMAIL)
    assert verify_email(old) is None
    assert verify_email(new) is not None
    assert resend_verification(user.id) == ALREADY_CONFIRMED
    assert len(smtp.messages) == 2


def test_resend_right_after_a_link_sends_nothing(session: Session, smtp: SmtpServer) -> None:
    user = sign_up_with_password(email="ann@example.com", password=PASSWORD)
    smtp.wait_for(1)

    answer = resend_verification(user.id)

    assert answer == LINK_JUST_SENT.format(email="ann@example.com")
    assert len(smtp.messages) == 1


def test_resend_for_a_user_without_any_link_yet(session: Session, smtp: SmtpServer) -> None:
    user = make_user(session, email="bob@example.com", name="Bob")  # say, an unverified Google

    assert resend_verification(user.id) == NEW_LINK_SENT.format(email="bob@example.com")
    [mail] = smtp.wait_for(1)
    assert mail["To"] == "bob@example.com"
    assert "Hi Bob," in (mail.message.get_body(("plain",)) or mail.message).get_content()


"""The student's time zone belongs to the account: detected from the browser's `tz` cookie at
sign-up (and at checkout, while still unset), never overwriting a saved one, and then used by
the pages that show the student's lessons and by every email and calendar file."""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import Any

import pytest
from icalendar import Calendar
from sqlmodel import Session, select

from tests.factories import browser_cookie, lesson_start, make_booking, signed_in_user
from tests.state.handlers import run, state_on
from tutor_app.booking import checkout
from tutor_app.core import clock, timefmt
from tutor_app.core.models import User
from tutor_app.mail import notifications
from tutor_app.state.auth import SignupState
from tutor_app.state.booking import BookingWizardState
from tutor_app.state.dashboard import DashboardState
from tutor_app.state.payment import PaymentState

PASSWORD = "correct horse battery"
TOKYO = "Asia/Tokyo"
TOKYO_COOKIE = "tz=Asia%2FTokyo"


def _user(session: Session, email: str) -> User:
    session.expire_all()
    user = session.exec(select(User).where(User.email == email)).one()
    session.commit()
    return user


def _sign_up(email: str, cookie: str) -> None:
    form_cookie = "; ".join(part for part in (cookie, browser_cookie()) if part)
    state = state_on(SignupState, "/signup", cookie=form_cookie)
    asyncio.run(state.submit({"email": email, "password": PASSWORD, "name": "Tomo"}))
    assert state.email_error == state.password_error == state.form_error == ""


@pytest.mark.parametrize(
    ("cookie", "saved"),
    [(f"theme=dark; {TOKYO_COOKIE}", TOKYO), ("", None), ("tz=Not%2FAZone", None)],
)
def test_sign_up_saves_the_browsers_zone_on_the_account(
    session: Session, cookie: str, saved: str | None
) -> None:
    _sign_up("tomo@example.com", cookie)

    assert _user(session, "tomo@example.com").timezone == saved


def test_the_confirmation_email_and_its_calendar_file_show_the_saved_zone(
    session: Session,
) -> None:
    _sign_up("tomo@example.com", TOKYO_COOKIE)
    user = _user(session, "tomo@example.com")
    booking = make_booking(session, user=user, start=lesson_start(days=4))

    email = notifications.compose(session, booking=booking, kind=notifications.CONFIRMATION,
                                  now=clock.now())

    assert timefmt.format_range(booking.start_time, booking.end_time, TOKYO) in email.text
    assert "(Asia/Tokyo)" in email.subject
    assert "Times are in UTC" not in email.text
    (invite,) = email.attachments
    event = next(iter(Calendar.from_ical(invite.content).walk("VEVENT")))
    assert event.decoded("dtstart") == booking.start_time.astimezone(UTC)
    assert event.decoded("dtend") == booking.end_time.astimezone(UTC)
    text = f"{event.get('summary')} {event.get('description')}"
    assert "UTC" not in text and "America/" not in text  # no zone but the student's, if any


# -- checkout --------------------------------------------------------------------------------


def _pay(cookie: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Walk the wizard to payment and pay (the checkout service itself is replaced)."""
    monkeypatch.setattr(
        checkout, "start_checkout",
        lambda **_: checkout.CheckoutStarted(url="https://pay.test/cs_1", session_id="cs_1",
                                             resumed=False),
    )
    state = state_on(BookingWizardState, "/book-now", cookie=cookie, route="/book-now")
    run(state.load())
    run(state.choose_tutor("james-okafor"))
    run(state.choose_duration(60))
    state.choose_start(state._slots[0])
    run(state.next_step())
    run(state.next_step())
    events: list[Any] = run(state.pay())
    assert state.pay_error == "" and events


def test_a_checkout_saves_the_zone_of_an_account_without_one(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, cookie = signed_in_user(session, email="sam@example.com")

    _pay(f"{cookie}; {TOKYO_COOKIE}", monkeypatch)

    assert _user(session, user.email).timezone == TOKYO


def test_a_checkout_never_overwrites_a_saved_zone(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, cookie = signed_in_user(session, email="sam@example.com", timezone="Europe/Paris")

    _pay(f"{cookie}; {TOKYO_COOKIE}", monkeypatch)

    assert _user(session, user.email).timezone == "Europe/Paris"


# -- pages -----------------------------------------------------------------------------------


def test_pages_with_the_students_lessons_use_the_accounts_zone_over_the_browsers(
    session: Session,
) -> None:
    user, session_cookie = signed_in_user(session, email="sam@example.com", timezone=TOKYO)
    booking = make_booking(session, user=user, start=lesson_start(days=3),
                           session_id="cs_test_zone")
    cookie = f"{session_cookie}; tz=America%2FNew_York"
    expected = timefmt.format_range(booking.start_time, booking.end_time, TOKYO)

    dashboard = state_on(DashboardState, "/dashboard", cookie=cookie)
    assert run(dashboard.load()) is None
    assert dashboard.viewer_tz == TOKYO and dashboard.upcoming[0]["when"] == expected

    payment = state_on(PaymentState, "/payment/success?session_id=cs_test_zone", cookie=cookie)
    run(payment.load_success())
    assert payment.when == expected

    wizard = state_on(BookingWizardState, "/book-now", cookie=cookie, route="/book-now")
    run(wizard.load())
    assert wizard.viewer_tz == TOKYO


def test_without_a_saved_zone_the_pages_keep_the_browsers(session: Session) -> None:
    user, session_cookie = signed_in_user(session, email="sam@example.com")
    make_booking(session, user=user, start=lesson_start(days=3))

    dashboard = state_on(DashboardState, "/dashboard",
                         cookie=f"{session_cookie}; tz=America%2FNew_York")
    run(dashboard.load())

    assert dashboard.viewer_tz == "America/New_York"

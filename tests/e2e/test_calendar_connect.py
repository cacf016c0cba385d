"""A tutor connects their Google Calendar in Chromium, and a student's booking lands in it.

Against the real app (`live_app`), whose Google is the local `fake_google` of the e2e
session: its consent screen agrees at once and sends the browser back, as Google does after
the tutor clicks "Allow". Steps: a new user signs up, is made the tutor of a catalog entry
(as an admin would, on the shared database), opens `/tutor`, connects, and sees
"Connected as ...". Then a student books and pays that tutor: the event appears in the
tutor's (fake) Google Calendar, the tutor's page shows the lesson "In calendar", and the
student's dashboard card offers the lesson as an `.ics` download and a Google Calendar link.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from tests.e2e.app_server import ReflexApp, wait_for_backend
from tests.e2e.conftest import Shots, visitor_page
from tests.e2e.steps import (
    choose_lesson,
    goto,
    pay_in_dev_checkout,
    signed_up,
)
from tests.fakes.fake_google import FakeGoogle
from tutor_app.accounts.users import grant_role
from tutor_app.core.models import Booking, CalendarConnection, Role, User
from tutor_app.tutor_calendar.calendar_sync import event_id_for

pytestmark = pytest.mark.e2e

TUTOR_ID = "priya-sharma"  # no other browser test books her, so her lessons are this test's
EVENT_TIMEOUT_S = 20.0


@pytest.fixture
def student_page(browser: Browser, live_app: ReflexApp) -> Iterator[Page]:
    """A second visitor, in a context of their own (the tutor keeps `page`)."""
    with visitor_page(browser, live_app.url, whose="the student's page",
                      accept_downloads=True) as page:
        yield page


def _make_tutor(engine: sa.Engine, email: str) -> None:
    with Session(engine) as db:
        grant_role(db, email=email, role=Role.TUTOR.value, tutor_id=TUTOR_ID)
        db.commit()


def _booking_for_session(engine: sa.Engine, checkout_session_id: str) -> Booking:
    with Session(engine) as db:
        booking = db.exec(
            select(Booking).where(Booking.stripe_checkout_session_id == checkout_session_id)
        ).one()
        db.expunge(booking)
        return booking


def _wait_for_event(google: FakeGoogle, calendar: str, event_id: str) -> dict[str, Any]:
    """The event once the app's follow-up (after the webhook's commit) has put it there."""
    deadline = time.monotonic() + EVENT_TIMEOUT_S
    while time.monotonic() < deadline:
        event = google.calendar_events(calendar).get(event_id)
        if event is not None:
            return event
        time.sleep(0.2)
    raise AssertionError(f"no event {event_id} in {calendar}'s calendar: {google.calls()}")


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_tutor_connects_google_calendar_and_a_booking_lands_in_it(
    page: Page,
    student_page: Page,
    shot: Shots,
    new_email: Callable[[str], str],
    fake_google: FakeGoogle,
    _engine: sa.Engine,
) -> None:
    tutor_email = new_email("tutor")
    calendar_email = new_email("calendar")  # the Google account may differ from the sign-in
    signed_up(page, name="Priya Sharma", email=tutor_email)
    _make_tutor(_engine, tutor_email)

    goto(page, "/tutor")
    status = page.locator("#calendar-status")
    expect(status).to_have_text("Not connected")
    shot("tutor portal before connecting")

    # Google's consent, answered by the fake for this Google account; back on /tutor.
    fake_google.user = {"sub": "calendar-" + calendar_email, "email": calendar_email,
                        "email_verified": True, "name": "Priya Sharma"}
    page.click("#connect-calendar")
    expect(page).to_have_url(re.compile(r"/tutor/?\?calendar=connected$"))
    wait_for_backend(page)
    expect(status).to_contain_text("Connected as")
    expect(status).to_have_text(f"Connected as {calendar_email}")
    expect(page.locator("#disconnect-calendar")).to_be_visible()
    shot("tutor portal connected")

    consent = [params for path, params in fake_google.requests if path == "/authorize"]
    assert consent and consent[-1]["access_type"] == "offline"
    assert "https://www.googleapis.com/auth/calendar.events" in consent[-1]["scope"].split()
    with Session(_engine) as db:
        tutor = db.exec(select(User).where(User.email == tutor_email)).one()
        connection = db.exec(
            select(CalendarConnection).where(CalendarConnection.user_id == tutor.id)
        ).one()
        assert connection.google_email == calendar_email

    # A student books and pays a lesson with this tutor (dev test-checkout, real webhook).
    student_email = new_email("student")
    signed_up(student_page, name="Sam Student", email=student_email)
    _, start = choose_lesson(student_page, TUTOR_ID)
    checkout_session_id = pay_in_dev_checkout(student_page)
    booking = _booking_for_session(_engine, checkout_session_id)

    # The event is in the tutor's Google Calendar: the lesson's time, the student as a guest.
    event = _wait_for_event(fake_google, calendar_email, event_id_for(booking.id))
    assert _utc(event["start"]["dateTime"]) == _utc(start)
    assert _utc(event["end"]["dateTime"]) - _utc(start) == booking.end_time - booking.start_time
    assert student_email in [a["email"] for a in event.get("attendees", [])]
    assert "Sam Student" in event["summary"]

    # The tutor sees the lesson, in their calendar.
    goto(page, "/tutor")
    row = page.locator(f"#lesson-{booking.id}")
    expect(row).to_contain_text("Sam Student")
    expect(row.locator(".sync-status")).to_have_text("In calendar")
    shot("tutor sees the lesson in calendar")

    # The student's card offers "Add to calendar": the .ics as a download, and Google's form.
    goto(student_page, "/dashboard")
    card = student_page.locator(f"[data-booking-id='{booking.id}']")
    expect(card).to_be_visible()
    google_link = card.locator(f"#google-calendar-{booking.id}")
    expect(google_link).to_have_attribute("target", "_blank")
    expect(google_link).to_have_attribute(
        "href", re.compile(r"^https://calendar\.google\.com/calendar/render\?action=TEMPLATE&")
    )
    ics_link = card.locator(f"#add-to-calendar-{booking.id}")
    expect(ics_link).to_have_attribute("href", f"/api/bookings/{booking.id}/calendar.ics")
    shot("student dashboard add to calendar", page=student_page)
    with student_page.expect_download() as download_info:
        ics_link.click()
    download = download_info.value
    assert download.suggested_filename == f"lesson-{booking.id}.ics"
    content = Path(download.path()).read_text(encoding="utf-8")
    assert "BEGIN:VEVENT" in content and f"booking-{booking.id}@" in content
    expect(student_page).to_have_url(re.compile(r"/dashboard/?$"))  # the page stays

"""GET /api/bookings/{id}/calendar.ics over real HTTP: the owner's lesson, nobody else's."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from icalendar import Calendar
from sqlmodel import Session

from tests.factories import make_booking, make_user, signed_in_user
from tests.fakes.server import ThreadedServer
from tutor_app.accounts import sign_in_sessions
from tutor_app.core.models import Booking, User


def _booking(session: Session, user: User) -> Booking:
    return make_booking(session, user=user, start=datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
                        minutes=90, note="Essay, draft 2")


def _url(booking_id: str) -> str:
    return f"/api/bookings/{booking_id}/calendar.ics"


def test_owner_downloads_the_lesson_as_a_calendar_file(
    client: httpx.Client, session: Session, api_server: ThreadedServer
) -> None:
    owner, cookie = signed_in_user(session, email="ann@example.com")
    booking = _booking(session, owner)

    response = client.get(_url(booking.id), headers={"cookie": cookie})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="lesson-{booking.id}.ics"'
    )
    assert "no-store" in response.headers["cache-control"]
    calendar = Calendar.from_ical(response.content)
    [event] = calendar.walk("VEVENT")
    host = urlsplit(api_server.url).hostname
    assert calendar["METHOD"] == "PUBLISH"
    assert str(event["UID"]) == f"booking-{booking.id}@{host}"
    assert str(event["SUMMARY"]) == "Lesson with James Okafor"
    assert event["DTSTART"].dt == booking.start_time
    assert event["DTEND"].dt == booking.end_time
    assert "Essay, draft 2" in str(event["DESCRIPTION"])


def test_another_user_gets_404_like_an_unknown_id(client: httpx.Client, session: Session) -> None:
    owner = make_user(session, email="ann@example.com")
    _, stranger = signed_in_user(session, email="eve@example.com")
    booking = _booking(session, owner)

    theirs = client.get(_url(booking.id), headers={"cookie": stranger})
    unknown = client.get(_url("cnosuchbooking0000000000000"), headers={"cookie": stranger})

    assert theirs.status_code == unknown.status_code == 404
    assert theirs.text == unknown.text
    assert b"VCALENDAR" not in theirs.content


def test_signed_out_gets_404(client: httpx.Client, session: Session) -> None:
    owner = make_user(session, email="ann@example.com")
    booking = _booking(session, owner)

    assert client.get(_url(booking.id)).status_code == 404
    bogus = {"cookie": f"{sign_in_sessions.session_cookie_name()}=not-a-real-token"}
    assert client.get(_url(booking.id), headers=bogus).status_code == 404

"""The dashboard's "Add to calendar" links: what each lesson card carries.

An upcoming lesson offers its `.ics` file (a route of the API, served to its own student) and
a Google Calendar link filled in with the lesson; past and canceled lessons offer neither.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import sqlalchemy as sa
from icalendar import Calendar
from sqlmodel import Session

from tests.factories import signed_in_user
from tests.fakes.server import ThreadedServer
from tests.state.handlers import run, state_on
from tests.state.test_dashboard_state import _book
from tutor_app.api import build_api
from tutor_app.core.models import BookingStatus
from tutor_app.mail.ics import booking_uid
from tutor_app.state.dashboard import DashboardState


def _google_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def test_upcoming_lesson_card_links_its_ics_file_and_google_calendar(
    database: sa.Engine, session: Session
) -> None:
    me, cookie = signed_in_user(session, email="me@example.com")
    other, _ = signed_in_user(session, email="other@example.com")
    lesson = _book(session, me, 3, note="Vectors, forces & more")
    _book(session, other, 4, tutor_id="liam-murphy")

    state = state_on(DashboardState, "/dashboard", cookie=cookie)
    run(state.load())

    [card] = state.upcoming
    assert card["id"] == lesson.id
    assert card["calendar_file_url"] == f"/api/bookings/{lesson.id}/calendar.ics"

    google = urlsplit(card["google_calendar_url"])
    assert (google.scheme, google.netloc, google.path) == (
        "https", "calendar.google.com", "/calendar/render"
    )
    query = parse_qs(google.query)
    assert query["action"] == ["TEMPLATE"]
    assert query["text"] == ["Lesson with James Okafor"]
    assert query["dates"] == [
        f"{_google_time(lesson.start_time)}/{_google_time(lesson.end_time)}"
    ]
    assert "Vectors, forces & more" in query["details"][0]

    # The link is the real route, and it gives this student this lesson.
    with ThreadedServer(build_api()) as api:
        response = httpx.get(api.url + card["calendar_file_url"], headers={"cookie": cookie})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["uid"]) == booking_uid(lesson.id)
    assert event.decoded("dtstart") == lesson.start_time.astimezone(UTC)


def test_past_and_canceled_lessons_offer_no_calendar_links(
    database: sa.Engine, session: Session
) -> None:
    me, cookie = signed_in_user(session, email="me@example.com")
    _book(session, me, -2)
    _book(session, me, 5, tutor_id="aiko-tanaka", status=BookingStatus.CANCELED)
    upcoming = _book(session, me, 6, tutor_id="maria-garcia")

    state = state_on(DashboardState, "/dashboard", cookie=cookie)
    run(state.load())

    assert [c["id"] for c in state.upcoming] == [upcoming.id]
    assert state.upcoming[0]["calendar_file_url"] != ""
    assert len(state.past) == 2
    for card in state.past:
        assert card["calendar_file_url"] == "" and card["google_calendar_url"] == ""

    # Re-formatting for the browser's zone keeps the links.
    state.set_viewer_tz("Europe/Berlin")
    assert state.upcoming[0]["google_calendar_url"].startswith(
        "https://calendar.google.com/calendar/render?"
    )

"""Calendar files for lessons: what Google Calendar, Apple Calendar and Outlook rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar

from tutor_app.core.models import Booking, BookingStatus
from tutor_app.mail.ics import (
    booking_uid,
    google_calendar_link,
    google_calendar_url,
    lesson_calendar,
)

APP = "https://tutors.example.com"


def _booking(**overrides: object) -> Booking:
    start = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    values: dict[str, object] = {
        "id": "cbooking000000000000000001",
        "tutor_id": "maria-garcia",
        "start_time": start,
        "end_time": start + timedelta(minutes=60),
        "price_cents": 4500,
        "stripe_checkout_session_id": "cs_test_1",
        "sequence": 0,
    }
    values.update(overrides)
    return Booking(**values)  # type: ignore[arg-type]


def _event(data: bytes) -> tuple[Calendar, object]:
    calendar = Calendar.from_ical(data)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def test_uid_is_stable_per_booking_and_differs_between_bookings() -> None:
    booking = _booking()
    first = lesson_calendar(booking, "María García", "ann@example.com", app_url=APP)
    booking.sequence = 2
    booking.start_time += timedelta(days=1)
    booking.end_time += timedelta(days=1)
    moved = lesson_calendar(booking, "María García", "ann@example.com", app_url=APP)
    other = lesson_calendar(_booking(id="cbooking000000000000000002"), "María García",
                            "ann@example.com", app_url=APP)

    uids = [str(_event(data)[1]["UID"]) for data in (first, moved, other)]
    assert uids[0] == uids[1] == f"booking-{booking.id}@tutors.example.com"
    assert uids[2] != uids[0]
    assert booking_uid(booking.id, app_url=APP) == uids[0]


def test_request_file_has_the_calendar_fields_clients_need() -> None:
    data = lesson_calendar(_booking(sequence=3), "María García", "ann@example.com",
                           app_url=APP, student_name="Ann")
    calendar, event = _event(data)

    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"]
    assert calendar["METHOD"] == "REQUEST"
    assert event["SEQUENCE"] == 3
    assert event["STATUS"] == "CONFIRMED"
    assert str(event["SUMMARY"]) == "Lesson with María García"
    assert f"{APP}/dashboard" in str(event["DESCRIPTION"])
    assert event["DTSTAMP"].dt.tzinfo is not None
    assert str(event["ORGANIZER"]).startswith("mailto:")
    assert str(event["ATTENDEE"]) == "mailto:ann@example.com"
    assert event["ATTENDEE"].params["CN"] == "Ann"
    # RFC 5545: CRLF line ends and lines folded at 75 octets.
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    assert "María García".encode() in data.replace(b"\r\n ", b"")


def test_cancel_keeps_the_uid_and_marks_the_event_cancelled() -> None:
    booking = _booking()
    request = _event(lesson_calendar(booking, "María García", "ann@example.com", app_url=APP))[1]
    booking.status = BookingStatus.CANCELED
    booking.sequence = 1  # cancellation bumps it (booking.cancellation)
    calendar, cancel = _event(
        lesson_calendar(booking, "María García", "ann@example.com", method="CANCEL", app_url=APP)
    )

    assert calendar["METHOD"] == "CANCEL"
    assert cancel["UID"] == request["UID"]
    assert cancel["SEQUENCE"] > request["SEQUENCE"]
    assert cancel["STATUS"] == "CANCELLED"


def test_times_are_utc_even_for_a_lesson_just_after_a_dst_change() -> None:
    # 29 March 2026, 03:30 in Berlin: the first hour of summer time (UTC+2), i.e. 01:30 UTC.
    berlin = datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    booking = _booking(start_time=berlin.astimezone(UTC),
                       end_time=(berlin + timedelta(minutes=90)).astimezone(UTC))
    data = lesson_calendar(booking, "Emma Schneider", "ann@example.com", app_url=APP)
    _, event = _event(data)

    assert b"DTSTART:20260329T013000Z\r\n" in data
    assert b"DTEND:20260329T030000Z\r\n" in data
    assert b"VTIMEZONE" not in data
    assert event["DTSTART"].dt == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert event["DTEND"].dt - event["DTSTART"].dt == timedelta(minutes=90)


def test_commas_semicolons_and_newlines_are_escaped_and_round_trip() -> None:
    tutor = "Smith, Jane; PhD"
    note = "Chapter 3, please;\nbring the workbook"
    data = lesson_calendar(_booking(note=note), tutor, "ann@example.com", app_url=APP)
    unfolded = data.replace(b"\r\n ", b"")
    _, event = _event(data)

    assert b"SUMMARY:Lesson with Smith\\, Jane\\; PhD\r\n" in unfolded
    assert b"Chapter 3\\, please\\;\\nbring the workbook" in unfolded
    assert str(event["SUMMARY"]) == f"Lesson with {tutor}"
    assert note in str(event["DESCRIPTION"])


def test_publish_download_has_no_attendee() -> None:
    data = lesson_calendar(_booking(), "María García", "ann@example.com", method="PUBLISH",
                           app_url=APP)
    calendar, event = _event(data)

    assert calendar["METHOD"] == "PUBLISH"
    assert "ATTENDEE" not in event
    assert event["STATUS"] == "CONFIRMED"


def test_google_calendar_link_format() -> None:
    booking = _booking(note="Bring, notes")
    link = google_calendar_link(booking, "Smith, Jane", app_url=APP)
    parts = urlsplit(link)
    query = parse_qs(parts.query)

    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://calendar.google.com/calendar/render"
    )
    assert "dates=20261201T150000Z/20261201T160000Z" in link
    assert query["action"] == ["TEMPLATE"]
    assert query["text"] == ["Lesson with Smith, Jane"]
    assert query["dates"] == ["20261201T150000Z/20261201T160000Z"]
    assert f"{APP}/dashboard" in query["details"][0]
    assert "Bring, notes" in query["details"][0]
    assert " " not in link


def test_google_link_from_plain_values_matches_the_booking_one() -> None:
    booking = _booking(note="Essay")

    assert google_calendar_url(
        tutor_name="Aiko Tanaka", start=booking.start_time, end=booking.end_time, note="Essay",
        app_url=APP,
    ) == google_calendar_link(booking, "Aiko Tanaka", app_url=APP)

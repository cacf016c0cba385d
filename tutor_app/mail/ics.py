"""iCalendar files for a lesson, and the Google Calendar "add event" link.

Built with the `icalendar` library, which escapes commas, semicolons and newlines in text and
folds long lines, the two things hand-written `.ics` files usually get wrong. What Google
Calendar, Apple Calendar and Outlook need to treat later files as updates of the same event:
- UID is stable per booking (`booking-<id>@<app host>`), so an update replaces the event;
- SEQUENCE is `booking.sequence`, which the write side bumps on every reschedule and cancel,
  so the newer file wins;
- METHOD says what the file is: REQUEST (an invitation in an email), CANCEL (the same UID,
  STATUS:CANCELLED) or PUBLISH (a plain download for "Add to calendar");
- times are written in UTC (`...Z`), the one form every client reads the same way, so no
  VTIMEZONE block is needed; each client shows them in its own zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Literal
from urllib.parse import quote, urlencode, urlsplit

from icalendar import Calendar, Event, vCalAddress, vText

from tutor_app.core import clock
from tutor_app.core.models import Booking, BookingKind, BookingStatus
from tutor_app.core.settings import PRODUCT_NAME, get_settings
from tutor_app.core.timefmt import format_duration

Method = Literal["REQUEST", "CANCEL", "PUBLISH"]
PRODID = f"-//{PRODUCT_NAME}//Lessons//EN"
GOOGLE_RENDER_URL = "https://calendar.google.com/calendar/render"


def _app_url(app_url: str | None) -> str:
    return (app_url or get_settings().app_url).rstrip("/")


def booking_uid(booking_id: str, *, app_url: str | None = None) -> str:
    """The event's UID: the same for every file about this booking, from any process."""
    host = urlsplit(_app_url(app_url)).hostname or "localhost"
    return f"booking-{booking_id}@{host}"


def lesson_summary(tutor_name: str) -> str:
    return f"Lesson with {tutor_name}"


def consultation_summary(tutor_name: str) -> str:
    return f"Free consultation with {tutor_name}"


def lesson_description(
    *, tutor_name: str, start: datetime, end: datetime, note: str = "",
    app_url: str | None = None,
) -> str:
    """The event's text: what, the student's note, and where to manage it."""
    minutes = int((end - start).total_seconds() // 60)
    lines = [f"Your {format_duration(minutes)} lesson with {tutor_name}."]
    if note.strip():
        lines += ["", f"Your note: {note.strip()}"]
    lines += ["", f"See or change your lessons: {_app_url(app_url)}/dashboard"]
    return "\n".join(lines)


def lesson_calendar(
    booking: Booking,
    tutor_name: str,
    student_email: str | None,
    *,
    method: Method = "REQUEST",
    app_url: str | None = None,
    student_name: str = "",
    stamp: datetime | None = None,
) -> bytes:
    """One VCALENDAR with one VEVENT for the lesson, as bytes (UTF-8, CRLF line ends).

    A canceled booking, or `method="CANCEL"`, gives STATUS:CANCELLED. The attendee is left
    out for PUBLISH, which RFC 5546 does not allow it in.
    """
    if method not in ("REQUEST", "CANCEL", "PUBLISH"):
        raise ValueError(f"unknown iTIP method {method!r}")
    base = _app_url(app_url)
    canceled = method == "CANCEL" or booking.status == BookingStatus.CANCELED

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)

    event = Event()
    event.add("uid", booking_uid(booking.id, app_url=base))
    event.add("sequence", booking.sequence)
    event.add("dtstamp", (stamp or clock.now()).astimezone(UTC).replace(microsecond=0))
    event.add("dtstart", booking.start_time.astimezone(UTC))
    event.add("dtend", booking.end_time.astimezone(UTC))
    event.add("summary", consultation_summary(tutor_name)
              if booking.kind == BookingKind.CONSULTATION else lesson_summary(tutor_name))
    event.add("description", lesson_description(
        tutor_name=tutor_name, start=booking.start_time, end=booking.end_time,
        note=booking.note, app_url=base,
    ))
    event.add("url", f"{base}/dashboard")
    event.add("status", "CANCELLED" if canceled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if canceled else "OPAQUE")

    organizer_name, organizer_email = parseaddr(get_settings().mail_from)
    organizer = vCalAddress(f"mailto:{organizer_email or 'no-reply@localhost'}")
    organizer.params["cn"] = vText(organizer_name or PRODUCT_NAME)
    event.add("organizer", organizer)
    if student_email and method != "PUBLISH":
        attendee = vCalAddress(f"mailto:{student_email}")
        if student_name:
            attendee.params["cn"] = vText(student_name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("DECLINED" if canceled else "ACCEPTED")
        attendee.params["rsvp"] = vText("FALSE")
        event.add("attendee", attendee, encode=False)
    calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical


def _google_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def google_calendar_link(booking: Booking, tutor_name: str, *, app_url: str | None = None) -> str:
    """A link that opens Google Calendar's "new event" form filled in with the lesson."""
    return google_calendar_url(tutor_name=tutor_name, start=booking.start_time,
                               end=booking.end_time, note=booking.note, app_url=app_url)


def google_calendar_url(
    *, tutor_name: str, start: datetime, end: datetime, note: str = "",
    app_url: str | None = None,
) -> str:
    """The same link from plain values (e.g. a `lessons.LessonView`: start, end, note)."""
    query = urlencode(
        {
            "action": "TEMPLATE",
            "text": lesson_summary(tutor_name),
            "dates": f"{_google_time(start)}/{_google_time(end)}",
            "details": lesson_description(tutor_name=tutor_name, start=start, end=end,
                                          note=note, app_url=app_url),
        },
        quote_via=quote,
        safe="/",
    )
    return f"{GOOGLE_RENDER_URL}?{query}"

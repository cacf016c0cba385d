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

The tutor gets files of their own (`tutor_lesson_calendar`): a different UID
(`booking-<id>-tutor@<app host>`), the tutor as the attendee, the student named in the
summary. Two people's copies of one lesson are two events: should both files ever reach one
calendar (a shared mailbox, a tutor booking a lesson of their own to try it), neither replaces
the other with the wrong attendee and wording; the sequence and methods follow the booking
exactly as the student's do.
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


def tutor_booking_uid(booking_id: str, *, app_url: str | None = None) -> str:
    """The UID of the tutor's copy of the lesson: stable, and never the student's."""
    host = urlsplit(_app_url(app_url)).hostname or "localhost"
    return f"booking-{booking_id}-tutor@{host}"


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
    base = _app_url(app_url)
    return _calendar(
        booking,
        uid=booking_uid(booking.id, app_url=base),
        summary=(consultation_summary(tutor_name) if booking.kind == BookingKind.CONSULTATION
                 else lesson_summary(tutor_name)),
        description=lesson_description(
            tutor_name=tutor_name, start=booking.start_time, end=booking.end_time,
            note=booking.note, app_url=base,
        ),
        url=f"{base}/dashboard",
        attendee_email=student_email,
        attendee_name=student_name,
        method=method,
        stamp=stamp,
    )


def tutor_lesson_calendar(
    booking: Booking,
    *,
    tutor_email: str,
    tutor_name: str = "",
    student_name: str,
    student_email: str = "",
    method: Method = "REQUEST",
    app_url: str | None = None,
    stamp: datetime | None = None,
) -> bytes:
    """The tutor's calendar file of the lesson: its own UID, the tutor as the attendee, the
    student and their note in the text, a link to the tutor's lessons."""
    base = _app_url(app_url)
    minutes = int((booking.end_time - booking.start_time).total_seconds() // 60)
    who = f"{student_name} <{student_email}>" if student_email else student_name
    what = "free consultation" if booking.kind == BookingKind.CONSULTATION else "lesson"
    lines = [f"A {format_duration(minutes)} {what} with {who}."]
    if booking.note.strip():
        lines += ["", f"The student's note: {booking.note.strip()}"]
    lines += ["", f"Your lessons: {base}/tutor"]
    return _calendar(
        booking,
        uid=tutor_booking_uid(booking.id, app_url=base),
        summary=(f"Free consultation: {student_name}"
                 if booking.kind == BookingKind.CONSULTATION else f"Lesson: {student_name}"),
        description="\n".join(lines),
        url=f"{base}/tutor",
        attendee_email=tutor_email,
        attendee_name=tutor_name,
        method=method,
        stamp=stamp,
    )


def _calendar(
    booking: Booking,
    *,
    uid: str,
    summary: str,
    description: str,
    url: str,
    attendee_email: str | None,
    attendee_name: str,
    method: Method,
    stamp: datetime | None,
) -> bytes:
    if method not in ("REQUEST", "CANCEL", "PUBLISH"):
        raise ValueError(f"unknown iTIP method {method!r}")
    canceled = method == "CANCEL" or booking.status == BookingStatus.CANCELED

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)

    event = Event()
    event.add("uid", uid)
    event.add("sequence", booking.sequence)
    event.add("dtstamp", (stamp or clock.now()).astimezone(UTC).replace(microsecond=0))
    event.add("dtstart", booking.start_time.astimezone(UTC))
    event.add("dtend", booking.end_time.astimezone(UTC))
    event.add("summary", summary)
    event.add("description", description)
    event.add("url", url)
    event.add("status", "CANCELLED" if canceled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if canceled else "OPAQUE")

    organizer_name, organizer_email = parseaddr(get_settings().mail_from)
    organizer = vCalAddress(f"mailto:{organizer_email or 'no-reply@localhost'}")
    organizer.params["cn"] = vText(organizer_name or PRODUCT_NAME)
    event.add("organizer", organizer)
    if attendee_email and method != "PUBLISH":
        attendee = vCalAddress(f"mailto:{attendee_email}")
        if attendee_name:
            attendee.params["cn"] = vText(attendee_name)
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

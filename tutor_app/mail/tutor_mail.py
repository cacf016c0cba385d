"""The tutor's own emails about their lessons: a new booking, a cancellation (by either side)
and a move, each with a calendar file of the tutor's copy of the lesson.

Who gets them: the account that runs the booking's tutor profile (role tutor, `tutor_id` the
booking's, not deleted); should two accounts run one profile, the oldest. A tutor without an
account gets nothing (no notification row is even written). Times are on the tutor's wall
clock (`Tutor.timezone`, the zone their hours are set in), whether or not their Google
Calendar is connected: the calendar event and the email are separate follow-ups.

The calendar file is the tutor's own (`ics.tutor_lesson_calendar`: its UID differs from the
student's, the tutor is the attendee); its SEQUENCE follows the booking, so the cancel and
move files replace the event the first file made.

Sending, at most once and with retries, is `notifications`' job: these kinds go through the
same claimed rows (`<booking id>:tutor:booked`, `<booking id>:tutor:canceled`,
`<booking id>:tutor:rescheduled:<sequence>`); this module only finds the recipient and writes
the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from tutor_app.catalog.pricing import format_money
from tutor_app.catalog.tutor_catalog import get_tutor
from tutor_app.core.models import Booking, Role, User
from tutor_app.core.settings import PRODUCT_NAME, get_settings
from tutor_app.core.timefmt import format_datetime, format_duration, format_range, safe_zone
from tutor_app.integrations.mail_transport import Attachment
from tutor_app.mail.ics import Method, tutor_lesson_calendar
from tutor_app.mail.rendering import Email, NoRecipient, greeting, render_html, render_text

TUTOR_BOOKED = "tutor_booked"
TUTOR_CANCELED = "tutor_canceled"
TUTOR_RESCHEDULED = "tutor_rescheduled"
KINDS = (TUTOR_BOOKED, TUTOR_CANCELED, TUTOR_RESCHEDULED)

# `booking.transitions`' cancel codes that change the wording (mail sits below booking in the
# layers, so they are restated here; tests/unit/test_tutor_mail.py keeps them equal).
TUTOR_CANCELED_REASON = "tutor_canceled"
STUDENT_CANCELED_REASON = "student_canceled"
A_STUDENT = "A student"


def booked_key(booking_id: str) -> str:
    return f"{booking_id}:tutor:booked"


def canceled_key(booking_id: str) -> str:
    return f"{booking_id}:tutor:canceled"


def rescheduled_key(booking_id: str, sequence: int) -> str:
    return f"{booking_id}:tutor:rescheduled:{sequence}"


def tutor_account(db: Session, tutor_id: str) -> User | None:
    """The account that runs the tutor profile `tutor_id` (the oldest, should there be two)."""
    return db.exec(
        select(User)
        .where(col(User.tutor_id) == tutor_id, col(User.role) == Role.TUTOR,
               col(User.deleted_at).is_(None))
        .order_by(col(User.created_at), col(User.id))
    ).first()


@dataclass(frozen=True)
class _Facts:
    to: str
    tutor_name: str
    zone: str
    student: str  # "Ann Lee" (or A_STUDENT)
    student_line: str  # "Ann Lee <ann@example.com>"
    student_email: str
    when: str
    when_short: str
    length: str
    price: str
    lessons_url: str


def _facts(db: Session, booking: Booking) -> _Facts:
    account = tutor_account(db, booking.tutor_id)
    if account is None:
        raise NoRecipient(booking.id)
    tutor = get_tutor(db, booking.tutor_id, include_inactive=True)
    zone = safe_zone(tutor.timezone if tutor else None)
    student = db.get(User, booking.user_id) if booking.user_id else None
    if student is not None and student.deleted_at is not None:
        name, email = "", ""
    else:
        email = (student.email if student else "") or (booking.customer_email or "")
        name = (student.name.strip() if student else "") or email
    minutes = int((booking.end_time - booking.start_time).total_seconds() // 60)
    shown = name or A_STUDENT
    return _Facts(
        to=account.email,
        tutor_name=(account.name or (tutor.name if tutor else "")).strip(),
        zone=zone,
        student=shown,
        student_line=f"{shown} <{email}>" if email and email != shown else shown,
        student_email=email,
        when=format_range(booking.start_time, booking.end_time, zone),
        when_short=f"{format_datetime(booking.start_time, zone)} ({zone})",
        length=format_duration(minutes),
        price=format_money(booking.price_cents, booking.currency),
        lessons_url=f"{get_settings().app_url}/tutor",
    )


def compose(db: Session, *, booking: Booking, kind: str, now: datetime) -> Email:
    """The tutor's email of `kind` for `booking`, on the tutor's wall clock; NoRecipient when
    no account runs the tutor profile."""
    facts = _facts(db, booking)
    student = facts.student
    extra: list[str] = []
    if kind == TUTOR_BOOKED:
        subject = f"New lesson: {student}, {facts.when_short}"
        intro = f"{student} booked a lesson with you and has paid."
        method: Method = "REQUEST"
        extra.append("The attached calendar file (.ics) adds it to your calendar.")
    elif kind == TUTOR_CANCELED:
        subject = f"Lesson canceled: {student}, {facts.when_short}"
        method = "CANCEL"
        if booking.cancel_reason == TUTOR_CANCELED_REASON:
            intro = (f"You canceled your lesson with {student}. They have been refunded in "
                     "full and told your reason.")
            if booking.cancel_note:
                extra.append(f"Your reason: {booking.cancel_note}")
        elif booking.cancel_reason == STUDENT_CANCELED_REASON:
            intro = f"{student} canceled their lesson with you. The time is free again."
        else:
            intro = (f"Your lesson with {student} has been canceled and refunded through "
                     f"{PRODUCT_NAME}. The time is free again.")
        extra.append("The attached calendar file removes it from your calendar.")
    elif kind == TUTOR_RESCHEDULED:
        subject = f"Lesson moved: {student}, now {facts.when_short}"
        intro = f"{student} moved their lesson with you to a new time."
        method = "REQUEST"
        extra.append("The attached calendar file moves the event in your calendar.")
    else:
        raise ValueError(f"unknown tutor notification kind {kind!r}")
    rows = [("Student", facts.student_line), ("When", facts.when), ("Length", facts.length),
            ("Price", facts.price)]
    if booking.note.strip():
        rows.append(("Note", booking.note.strip()))
    links = [("Your lessons", facts.lessons_url)]
    return Email(
        to=facts.to,
        subject=subject,
        text=render_text(greeting(facts.tutor_name), intro, rows, extra, links),
        html=render_html(greeting(facts.tutor_name), intro, rows, extra, links),
        attachments=(_invite(booking, facts, method),),
    )


def _invite(booking: Booking, facts: _Facts, method: Method) -> Attachment:
    content = tutor_lesson_calendar(
        booking, tutor_email=facts.to, tutor_name=facts.tutor_name, student_name=facts.student,
        student_email=facts.student_email, method=method,
    )
    return Attachment(
        filename=f"lesson-{booking.id}-tutor.ics",
        content=content,
        content_type=f"text/calendar; method={method}; charset=utf-8",
    )

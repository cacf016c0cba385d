"""A tutor's lessons as the tutor portal shows them: the read side, filtered in the database.

Upcoming and past follow the dashboard's rule (`lessons.is_upcoming`): upcoming is a
scheduled lesson that has not started; a lesson under way is past, where its tutor marks
attendance. Filters run in SQL: a status (scheduled, completed, canceled) and a range of days
on the viewer's wall clock (both days included). Each lesson carries what the tutor needs to
know about it: the student's name and email, their note, length, price, status, attendance,
the amount refunded, and the state of its Google Calendar event.

Callers establish who may look (`tutors.access.tutor_for_user`); this module only reads one
tutor's rows. No Reflex here: `state/tutor_lessons.py` formats these views.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tutor_app.core import clock, timefmt
from tutor_app.core.models import Booking, BookingStatus, User

# The status filter's choices: what the portal's select sends, and the status each means.
STATUS_FILTERS: dict[str, str] = {
    "scheduled": BookingStatus.SCHEDULED,
    "completed": BookingStatus.COMPLETED,
    "canceled": BookingStatus.CANCELED,
}
LIST_LIMIT = 200  # per section; a narrower date range finds older lessons
STUDENT_FALLBACK = "Student"


@dataclass(frozen=True)
class TutorLessonView:
    """One lesson of the tutor's, with its student."""

    id: str
    start: datetime  # UTC
    end: datetime  # UTC
    duration_minutes: int
    student_name: str
    student_email: str
    note: str
    price_cents: int
    currency: str
    status: str
    attendance: str | None
    refunded_cents: int
    cancel_reason: str | None
    sync_status: str
    sync_error: str | None


@dataclass(frozen=True)
class LessonFilter:
    """What the tutor asked to see: a status key of STATUS_FILTERS ("" for all) and the days
    `first_day`..`last_day` (either may be None: open) on the wall clock of `zone`."""

    status: str = ""
    first_day: date | None = None
    last_day: date | None = None
    zone: str = timefmt.DEFAULT_ZONE


def day_start(day: date, zone: str) -> datetime:
    """The instant `day` begins on the wall clock of `zone` (a bad zone reads as UTC)."""
    return datetime.combine(day, time(0), tzinfo=timefmt.zone(zone))


def _conditions(tutor_id: str, wanted: LessonFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [col(Booking.tutor_id) == tutor_id]
    status = STATUS_FILTERS.get(wanted.status)
    if status is not None:
        conditions.append(col(Booking.status) == status)
    if wanted.first_day is not None:
        conditions.append(col(Booking.start_time) >= day_start(wanted.first_day, wanted.zone))
    if wanted.last_day is not None:
        after = day_start(wanted.last_day + timedelta(days=1), wanted.zone)
        conditions.append(col(Booking.start_time) < after)
    return conditions


def tutor_lessons(
    db: Session, *, tutor_id: str, wanted: LessonFilter | None = None,
    now: datetime | None = None, limit: int = LIST_LIMIT,
) -> tuple[list[TutorLessonView], list[TutorLessonView]]:
    """(upcoming, past) lessons of the tutor matching `wanted`: upcoming soonest first, past
    most recent first, at most `limit` of each."""
    now = now or clock.now()
    conditions = _conditions(tutor_id, wanted or LessonFilter())
    upcoming_rule = sa.and_(col(Booking.status) == BookingStatus.SCHEDULED,
                            col(Booking.start_time) >= now)
    upcoming = db.exec(
        select(Booking).where(*conditions, upcoming_rule)
        .order_by(col(Booking.start_time), col(Booking.id)).limit(limit)
    ).all()
    past = db.exec(
        select(Booking).where(*conditions, sa.not_(upcoming_rule))
        .order_by(col(Booking.start_time).desc(), col(Booking.id)).limit(limit)
    ).all()
    students = _students(db, [*upcoming, *past])
    return ([_view(b, students.get(b.user_id or "")) for b in upcoming],
            [_view(b, students.get(b.user_id or "")) for b in past])


def _students(db: Session, bookings: list[Booking]) -> dict[str, User]:
    ids = {b.user_id for b in bookings if b.user_id}
    if not ids:
        return {}
    return {u.id: u for u in db.exec(select(User).where(col(User.id).in_(ids))).all()}


def _view(booking: Booking, student: User | None) -> TutorLessonView:
    email = (student.email if student and student.deleted_at is None else "") or (
        booking.customer_email or "")
    name = (student.name if student else "") or email or STUDENT_FALLBACK
    return TutorLessonView(
        id=booking.id,
        start=booking.start_time,
        end=booking.end_time,
        duration_minutes=int((booking.end_time - booking.start_time).total_seconds() // 60),
        student_name=name,
        student_email=email,
        note=booking.note,
        price_cents=booking.price_cents,
        currency=booking.currency,
        status=booking.status,
        attendance=booking.attendance,
        refunded_cents=booking.refunded_cents,
        cancel_reason=booking.cancel_reason,
        sync_status=booking.calendar_sync_status,
        sync_error=booking.calendar_sync_error,
    )

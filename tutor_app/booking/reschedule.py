"""A student moves their own upcoming lesson to another free slot of the same tutor.

Rules: only the owner; at least the policy window (settings, 24 h) before the
lesson's *original* start; the same tutor and the same length; the new slot must be one the
tutor offers today (hours and date overrides, notice, horizon: `slots.TutorSchedule`, as for a
new booking) and free of other bookings and live holds, with the tutor's buffer around them.
The length is the one paid for: a lesson keeps it, and can still be moved, after the tutor
stopped offering that length for new bookings. No new payment: the booking keeps its id, its
payment and its price, gets its new times, and its `sequence` goes up so calendar copies
update. A free consultation moves the same way, keeping its 15 minutes.

No overlap is possible: on SQLite the check and the update run in one `BEGIN IMMEDIATE`
transaction (writers are serialized); on PostgreSQL the row is locked and the
`ex_bookings_no_overlap` exclusion constraint refuses an overlapping update that slipped past
the check, which is reported exactly like a taken slot, with alternatives.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from tutor_app.booking import lesson_events, transitions
from tutor_app.booking.access import NotFound, owned_booking, within_policy
from tutor_app.catalog import tutor_catalog
from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.models import Booking, BookingStatus, Tutor
from tutor_app.core.settings import get_settings
from tutor_app.scheduling import holds, slots
from tutor_app.scheduling.availability import Busy, Span
from tutor_app.scheduling.slots import TutorSchedule

__all__ = [
    "InvalidReschedule",
    "NotFound",
    "RescheduleResult",
    "free_starts_for_booking",
    "reschedule_lesson",
]

log = logging.getLogger(__name__)


class InvalidReschedule(Exception):
    """The move is not allowed (too late, not upcoming, not a time the tutor offers);
    str() is a message for the student (routes answer 400)."""


@dataclass(frozen=True)
class RescheduleResult:
    """The lesson after the move (same id and payment, new times)."""

    booking_id: str
    start: datetime
    end: datetime
    sequence: int


def _duration(booking: Booking) -> timedelta:
    return booking.end_time - booking.start_time


def _busy_except(db: Session, booking: Booking, schedule: TutorSchedule, *, now: datetime
                 ) -> list[Span]:
    """The tutor's busy spans over the picker's window, without this booking itself.

    Every live hold counts, the student's own included: moving a lesson onto a slot the
    student is paying for in another tab would turn that payment into a refund.
    """
    lo, hi = schedule.window(now)
    busy = slots.busy_for(db, tutor_id=booking.tutor_id, start=lo, end=hi, now=now)
    own = Busy(booking.start_time, booking.end_time).span()
    if own in busy:
        busy.remove(own)  # one occurrence: the booking's own span
    return busy


def _bookable_tutor(db: Session, booking: Booking) -> Tutor:
    tutor = tutor_catalog.get_tutor(db, booking.tutor_id)
    if tutor is None:
        raise InvalidReschedule(
            "This tutor no longer takes bookings, so the lesson cannot be moved. "
            "You can cancel it instead."
        )
    return tutor


def _check_movable(booking: Booking, now: datetime) -> None:
    if booking.status != BookingStatus.SCHEDULED or booking.start_time <= now:
        raise InvalidReschedule("Only upcoming lessons can be rescheduled.")
    if not within_policy(booking.start_time, now):
        hours = get_settings().refund_window_hours
        raise InvalidReschedule(
            f"Lessons can be rescheduled up to {hours} hours before they start. "
            "This one starts sooner; you can still cancel it."
        )


def free_starts_for_booking(
    db: Session, *, booking_id: str, user_id: str, now: datetime | None = None
) -> list[datetime]:
    """The starts (UTC) this lesson could move to: same tutor and length, free, within notice
    and horizon. The lesson's own time is left out (moving there changes nothing). Raises
    NotFound unless the booking is the user's, InvalidReschedule if it cannot be moved."""
    now = now or clock.now()
    booking = owned_booking(db, booking_id=booking_id, user_id=user_id)
    _check_movable(booking, now)
    tutor = _bookable_tutor(db, booking)
    schedule = slots.schedule_for(db, tutor, now=now)
    starts = schedule.free_starts(
        duration=_duration(booking), busy=_busy_except(db, booking, schedule, now=now), now=now
    )
    return [t for t in starts if t != booking.start_time]


def _alternatives(db: Session, booking: Booking, schedule: TutorSchedule, start: datetime,
                  now: datetime) -> list[datetime]:
    found = schedule.nearest(
        start=start,
        duration=_duration(booking),
        busy=_busy_except(db, booking, schedule, now=now),
        now=now,
        limit=slots.ALTERNATIVES + 1,
    )
    return [t for t in found if t != booking.start_time][: slots.ALTERNATIVES]


def reschedule_lesson(
    *, booking_id: str, user_id: str, new_start: datetime, now: datetime | None = None,
    actor: transitions.Actor | None = None, in_transaction: transitions.InTransaction | None = None,
) -> RescheduleResult:
    """Move the user's lesson to `new_start`; owns its transaction.

    An admin moves it on the student's behalf by the same rules: `user_id` is the lesson's
    owner, `actor` the admin, and `in_transaction` writes the audit entry with the move.

    Raises NotFound (not the user's booking), InvalidReschedule (too late, not upcoming, a time
    the tutor does not offer, a bad value) or `slots.SlotTaken` (someone has that time; with
    alternatives for this lesson).
    """
    now = now or clock.now()
    if not isinstance(new_start, datetime) or new_start.utcoffset() is None:
        raise InvalidReschedule("Please choose a new start time.")
    new_start = new_start.astimezone(UTC)
    alternatives: list[datetime] = []
    try:
        with app_db.write_session() as db:
            booking = owned_booking(db, booking_id=booking_id, user_id=user_id, lock=True)
            _check_movable(booking, now)
            if new_start == booking.start_time:
                raise InvalidReschedule("The lesson is already at that time.")
            tutor = _bookable_tutor(db, booking)
            schedule = slots.schedule_for(db, tutor, now=now)
            duration = _duration(booking)
            free = schedule.is_free(
                start=new_start,
                duration=duration,
                busy=_busy_except(db, booking, schedule, now=now),
                now=now,
            )
            if not free:
                alternatives = _alternatives(db, booking, schedule, new_start, now)
                if schedule.offers(start=new_start, duration=duration, now=now):
                    raise slots.SlotTaken(
                        "Sorry, that time is already taken. Please choose another.", alternatives
                    )
                raise InvalidReschedule("That time is not one this tutor offers.")
            old_start = booking.start_time
            transitions.move(booking, start=new_start, now=now,
                             actor=actor or transitions.Actor("student", user_id))
            db.add(booking)
            if in_transaction is not None:
                in_transaction(db, booking)
            db.flush()  # PostgreSQL's exclusion constraint answers here
            db.commit()
            result = RescheduleResult(booking.id, booking.start_time, booking.end_time,
                                      booking.sequence)
    except IntegrityError as exc:
        if holds.violated_constraint(exc) != "ex_bookings_no_overlap":
            raise
        with app_db.session() as db:
            booking = owned_booking(db, booking_id=booking_id, user_id=user_id)
            tutor = _bookable_tutor(db, booking)
            schedule = slots.schedule_for(db, tutor, now=now)
            alternatives = _alternatives(db, booking, schedule, new_start, now)
        raise slots.SlotTaken("Sorry, that time was just taken. Please choose another.",
                              alternatives) from exc
    log.info("booking %s moved from %s to %s", booking_id, old_start.isoformat(),
             new_start.isoformat())
    lesson_events.after_booking_rescheduled(booking_id)
    return result

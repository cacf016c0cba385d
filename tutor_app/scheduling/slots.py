"""A tutor's free lesson starts as the database sees them right now.

`availability` computes free starts from weekly hours and a list of busy spans; this module
supplies that list from the database: SCHEDULED bookings plus live slot holds (an active hold
whose checkout session has not yet expired), so a slot someone is paying for is not offered to
anyone else. A student's own holds do not hide slots from that student, so someone who left
Stripe Checkout half-way can pick the same slot again and resume their session.

Only the rows that can touch the picker's window are read (now .. now + horizon + a day), with
the (tutor_id, start_time) indexes of both tables.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from tutor_app.catalog import tutor_catalog
from tutor_app.core import clock
from tutor_app.core.models import Booking, BookingStatus, HoldStatus, SlotHold, Tutor
from tutor_app.scheduling import availability, external_busy
from tutor_app.scheduling.availability import Busy

# How many alternatives to offer when a chosen slot turns out to be taken.
ALTERNATIVES = 3
# The longest lesson; rows starting this long before the window can still overlap it.
_LONGEST_LESSON = timedelta(days=1)


class SlotTaken(Exception):
    """Someone else booked or holds the chosen start; `.alternatives` are the nearest free
    starts (UTC). str() is a message for the student (routes answer 409)."""

    def __init__(self, message: str, alternatives: list[datetime] | None = None) -> None:
        super().__init__(message)
        self.alternatives: list[datetime] = list(alternatives or [])


class SlotNotOffered(Exception):
    """The chosen start is not one this tutor offers at all (hours, grid, notice, horizon), or
    the tutor takes no bookings: bad input rather than bad luck. `.alternatives` are the
    nearest free starts (UTC), when there are any; str() is a message for the student."""

    def __init__(self, message: str, alternatives: list[datetime] | None = None) -> None:
        super().__init__(message)
        self.alternatives: list[datetime] = list(alternatives or [])


def busy_for(
    db: Session,
    *,
    tutor_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
    for_user_id: str | None = None,
) -> list[Busy]:
    """The tutor's busy spans overlapping `[start, end)`: bookings, live holds, their calendar.

    A hold is live while it is active and `expires_at > now`; a lapsed one blocks nothing even
    before anything marks it released. Holds of `for_user_id` are left out (see module doc).
    """
    # Plain rows through the db session's connection: the wizard reads up to a thousand spans per
    # page event, and ORM result handling would cost more than the slot computation itself.
    conn = db.connection()
    bookings = conn.execute(
        select(Booking.start_time, Booking.end_time).where(
            Booking.tutor_id == tutor_id,
            Booking.status == BookingStatus.SCHEDULED,
            col(Booking.start_time) < end,
            col(Booking.start_time) >= start - _LONGEST_LESSON,
            col(Booking.end_time) > start,
        )
    ).all()
    hold_query = select(SlotHold.start_time, SlotHold.end_time).where(
        SlotHold.tutor_id == tutor_id,
        SlotHold.status == HoldStatus.ACTIVE,
        col(SlotHold.expires_at) > now,
        col(SlotHold.start_time) < end,
        col(SlotHold.start_time) >= start - _LONGEST_LESSON,
        col(SlotHold.end_time) > start,
    )
    if for_user_id is not None:
        hold_query = hold_query.where(SlotHold.user_id != for_user_id)
    holds = conn.execute(hold_query).all()
    spans = [Busy(s, e) for s, e in [*bookings, *holds]]
    # The tutor's connected Google Calendar (cached briefly; [] on any error). It also shows
    # the events we made for our own bookings: count those spans once, so that a reschedule
    # can take its own booking's span out again.
    calendar = external_busy.calendar_busy(tutor_id, start, end)
    if calendar:
        booked = set(spans[: len(bookings)])
        spans += [b for b in calendar if b not in booked]
    return spans


def _window(now: datetime) -> tuple[datetime, datetime]:
    return now, now + availability.HORIZON + timedelta(days=1)


def free_slots_for(
    db: Session,
    *,
    tutor_id: str,
    duration_minutes: int,
    now: datetime | None = None,
    for_user_id: str | None = None,
) -> list[datetime]:
    """Every bookable start (UTC) for a lesson of `duration_minutes` with this tutor.

    Weekly hours minus scheduled bookings and other students' live holds, with the 12-hour
    notice and the 60-day horizon. An unknown or hidden tutor has no free slots.
    """
    now = now or clock.now()
    tutor = tutor_catalog.get_tutor(db, tutor_id)
    if tutor is None:
        return []
    start, end = _window(now)
    return availability.free_slots(
        weekly_hours=tutor.weekly_hours,
        tutor_tz=tutor.timezone,
        duration=timedelta(minutes=duration_minutes),
        busy=busy_for(db, tutor_id=tutor_id, start=start, end=end, now=now,
                      for_user_id=for_user_id),
        now=now,
    )


def alternatives_for(
    db: Session,
    *,
    tutor: Tutor,
    start: datetime,
    duration_minutes: int,
    now: datetime,
    for_user_id: str | None = None,
    limit: int = ALTERNATIVES,
) -> list[datetime]:
    """The free starts nearest to `start`, for "that slot was just taken, try one of these"."""
    lo, hi = _window(now)
    return availability.nearest_free(
        start=start,
        weekly_hours=tutor.weekly_hours,
        tutor_tz=tutor.timezone,
        duration=timedelta(minutes=duration_minutes),
        busy=busy_for(db, tutor_id=tutor.id, start=lo, end=hi, now=now, for_user_id=for_user_id),
        now=now,
        limit=limit,
    )


def on_schedule(*, tutor: Tutor, start: datetime, duration_minutes: int, now: datetime) -> bool:
    """Whether `start` is a start the tutor offers at all (hours, grid, notice, horizon).

    Separates "not a time this tutor teaches" (bad input) from "taken" (offer alternatives).
    """
    return availability.is_slot_free(
        start=start,
        weekly_hours=tutor.weekly_hours,
        tutor_tz=tutor.timezone,
        duration=timedelta(minutes=duration_minutes),
        busy=(),
        now=now,
    )


def check_slot(
    db: Session,
    *,
    tutor_id: str,
    start: datetime,
    duration_minutes: int,
    user_id: str | None,
    now: datetime | None = None,
) -> None:
    """Raise SlotTaken or SlotNotOffered unless `user_id` can book `start` right now.

    Run right before payment (the picker's list may be minutes old) and again inside the
    checkout's write transaction, where it is authoritative.
    """
    now = now or clock.now()
    tutor = tutor_catalog.get_tutor(db, tutor_id)
    if tutor is None:
        raise SlotNotOffered("This tutor is not available for booking.")
    duration = timedelta(minutes=duration_minutes)
    free = availability.is_slot_free(
        start=start,
        weekly_hours=tutor.weekly_hours,
        tutor_tz=tutor.timezone,
        duration=duration,
        busy=busy_for(db, tutor_id=tutor_id, start=start, end=start + duration, now=now,
                      for_user_id=user_id),
        now=now,
    )
    if free:
        return
    alternatives = alternatives_for(
        db, tutor=tutor, start=start, duration_minutes=duration_minutes, now=now,
        for_user_id=user_id,
    )
    if on_schedule(tutor=tutor, start=start, duration_minutes=duration_minutes, now=now):
        raise SlotTaken("Sorry, that time was just taken.", alternatives)
    raise SlotNotOffered("That time is not one this tutor offers.", alternatives)

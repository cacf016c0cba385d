"""A tutor's free lesson starts as the database sees them right now.

`availability` computes free starts from hours, rules and a list of busy spans; this module
supplies all three from the database:

- the tutor's schedule (`TutorSchedule`, read by `schedule_for`): weekly hours, the date
  overrides that can touch the picker's window (one query), and the tutor's buffer, minimum
  notice and horizon;
- busy spans (`busy_for`): SCHEDULED bookings plus live slot holds (an active hold whose
  checkout session has not yet expired), so a slot someone is paying for is not offered to
  anyone else, plus the events of the tutor's connected calendar. A student's own holds do not
  hide slots from that student, so someone who left Stripe Checkout half-way can pick the same
  slot again and resume their session.

Bookings and holds get the tutor's buffer around them; calendar events do not (see
`availability`). Only the rows that can touch the picker's window are read (now + notice -
buffer .. now + horizon + a day + buffer), with the (tutor_id, start_time) indexes of both
tables and the (tutor_id, on_date) unique index of the overrides.

Every caller that offers or checks a start (the wizard, the checkout's check before payment,
the reschedule picker and its check) goes through `TutorSchedule`, so they cannot disagree.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, bindparam, cast, extract, literal, type_coerce, union_all
from sqlalchemy.types import NullType
from sqlmodel import Session, col, select

from tutor_app.catalog import tutor_catalog
from tutor_app.core import clock
from tutor_app.core.models import (
    Booking,
    BookingStatus,
    HoldStatus,
    SlotHold,
    Tutor,
    TutorDateOverride,
)
from tutor_app.scheduling import availability, external_busy
from tutor_app.scheduling.availability import Busy, Span, WeeklyHours

# How many alternatives to offer when a chosen slot turns out to be taken.
ALTERNATIVES = 3
# The longest lesson; rows starting this long before the window can still overlap it.
_LONGEST_LESSON = timedelta(days=1)
# Any zone's local date is within a day of UTC's; one more for the day before a window's date.
_DATE_SLACK = timedelta(days=2)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)

NOT_AVAILABLE = "This tutor is not available for booking."
TAKEN = "Sorry, that time was just taken."
NOT_OFFERED = "That time is not one this tutor offers."


class SlotTaken(Exception):
    """Someone else booked or holds the chosen start; `.alternatives` are the nearest free
    starts (UTC). str() is a message for the student (routes answer 409)."""

    def __init__(self, message: str, alternatives: list[datetime] | None = None) -> None:
        super().__init__(message)
        self.alternatives: list[datetime] = list(alternatives or [])


class SlotNotOffered(Exception):
    """The chosen start is not one this tutor offers at all (hours, day off, grid, notice,
    horizon, length), or the tutor takes no bookings: bad input rather than bad luck.
    `.alternatives` are the nearest free starts (UTC), when there are any; str() is a message
    for the student."""

    def __init__(self, message: str, alternatives: list[datetime] | None = None) -> None:
        super().__init__(message)
        self.alternatives: list[datetime] = list(alternatives or [])


@dataclass(frozen=True)
class TutorSchedule:
    """One tutor's hours and booking rules, as `availability` takes them.

    `overrides` holds only the dates that can touch the window it was read for (`schedule_for`).
    """

    weekly_hours: WeeklyHours
    timezone: str
    overrides: dict[date, list[list[str]]]
    notice: timedelta
    horizon: timedelta
    buffer: timedelta

    @classmethod
    def of(cls, tutor: Tutor, overrides: dict[date, list[list[str]]]) -> TutorSchedule:
        """The tutor's own rules (a negative stored value counts as none)."""
        return cls(
            weekly_hours=tutor.weekly_hours,
            timezone=tutor.timezone,
            overrides=overrides,
            notice=timedelta(minutes=max(0, tutor.min_notice_minutes)),
            horizon=timedelta(days=max(0, tutor.horizon_days)),
            buffer=timedelta(minutes=max(0, tutor.buffer_minutes)),
        )

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """The span whose busy times can touch a start offered at `now`."""
        return (now + self.notice - self.buffer,
                now + self.horizon + _LONGEST_LESSON + self.buffer)

    def _rules(self) -> dict[str, Any]:
        return {
            "weekly_hours": self.weekly_hours,
            "tutor_tz": self.timezone,
            "overrides": self.overrides,
            "notice": self.notice,
            "horizon": self.horizon,
            "buffer": self.buffer,
        }

    def free_starts(self, *, duration: timedelta, busy: list[Span], now: datetime
                    ) -> list[datetime]:
        """Every start (UTC) offered at `now` for a lesson of `duration`."""
        return availability.free_slots(duration=duration, busy=busy, now=now, **self._rules())

    def is_free(self, *, start: datetime, duration: timedelta, busy: list[Span], now: datetime
                ) -> bool:
        """Whether `start` is one of `free_starts` (computed for that one instant)."""
        return availability.is_slot_free(start=start, duration=duration, busy=busy, now=now,
                                         **self._rules())

    def offers(self, *, start: datetime, duration: timedelta, now: datetime) -> bool:
        """Whether `start` is a start the tutor offers at all, taken or not (hours, day off,
        grid, notice, horizon): "not a time this tutor teaches" versus "taken"."""
        return self.is_free(start=start, duration=duration, busy=[], now=now)

    def nearest(self, *, start: datetime, duration: timedelta, busy: list[Span], now: datetime,
                limit: int) -> list[datetime]:
        """The `limit` free starts closest to `start`, closest first."""
        return availability.nearest_free(start=start, duration=duration, busy=busy, now=now,
                                         limit=limit, **self._rules())


def schedule_for(db: Session, tutor: Tutor, *, now: datetime) -> TutorSchedule:
    """The tutor's schedule for starts offered at `now`: one query reads the date overrides
    from just before the notice to just past the horizon."""
    rules = TutorSchedule.of(tutor, {})
    lo, hi = rules.window(now)
    rows = db.connection().execute(_OVERRIDES, {
        "tutor": tutor.id, "first": (lo - _DATE_SLACK).date(), "last": (hi + _DATE_SLACK).date(),
    }).all()
    return TutorSchedule.of(tutor, {on_date: windows for on_date, windows in rows})


_OVERRIDES = select(col(TutorDateOverride.on_date), col(TutorDateOverride.windows)).where(
    col(TutorDateOverride.tutor_id) == bindparam("tutor"),
    col(TutorDateOverride.on_date) >= bindparam("first"),
    col(TutorDateOverride.on_date) <= bindparam("last"),
)


def busy_for(
    db: Session,
    *,
    tutor_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
    for_user_id: str | None = None,
) -> list[Span]:
    """The tutor's busy spans overlapping `[start, end)`: bookings, live holds, their calendar.

    As `availability.Span` tuples (epoch microseconds): bookings and holds buffered, calendar
    events not. A hold is live while it is active and `expires_at > now`; a lapsed one blocks
    nothing even before anything marks it released. Holds of `for_user_id` are left out (see
    module doc).
    """
    # One prepared statement (bookings and holds together) through the db session's
    # connection, its instants read as epoch microseconds: the wizard reads up to a thousand
    # spans per page event, and ORM or type handling (a datetime per instant) would cost more
    # than the slot computation itself.
    conn = db.connection()
    dialect = conn.dialect.name
    params: dict[str, Any] = {"tutor": tutor_id, "start": start, "end": end,
                              "lower": start - _LONGEST_LESSON, "now": now}
    if for_user_id is not None:
        params["user"] = for_user_id
    rows = conn.execute(_busy_statement(dialect, for_user_id is not None), params).all()
    if dialect == "postgresql":
        spans: list[Span] = [(s, e, True) for s, e, _ in rows]
    else:
        spans = [(_sqlite_epoch_us(s), _sqlite_epoch_us(e), True) for s, e, _ in rows]
    # The tutor's connected Google Calendar (cached briefly; [] on any error; not buffered).
    # It also shows the events we made for our own bookings: count those spans once, as the
    # booking's (buffered), so that a reschedule can take its own booking's span out again.
    calendar = external_busy.calendar_busy(tutor_id, start, end)
    if calendar:
        seen = {span[:2] for span, row in zip(spans, rows, strict=True) if row[2] == _BOOKED}
        spans += [span for span in map(Busy.span, calendar) if span[:2] not in seen]
    return spans


_BOOKED, _HELD = 0, 1


@functools.cache
def _busy_statement(dialect: str, except_user: bool) -> Any:
    """`SELECT start, end, kind` of the scheduled bookings and live holds overlapping
    `[:start, :end)` (rows starting before `:lower` cannot), holds of `:user` left out when
    `except_user`. Built once per dialect: PostgreSQL computes each instant's epoch
    microseconds itself; SQLite returns its stored text (UTC, without a zone), parsed by
    `_sqlite_epoch_us`, bypassing the model's type handling (`UTCDateTime`)."""
    instant = _pg_epoch_us if dialect == "postgresql" else _as_stored
    bookings = select(
        instant(Booking.start_time), instant(Booking.end_time), literal(_BOOKED)
    ).where(
        col(Booking.tutor_id) == bindparam("tutor"),
        col(Booking.status) == BookingStatus.SCHEDULED,
        col(Booking.start_time) < bindparam("end"),
        col(Booking.start_time) >= bindparam("lower"),
        col(Booking.end_time) > bindparam("start"),
    )
    holds = select(
        instant(SlotHold.start_time), instant(SlotHold.end_time), literal(_HELD)
    ).where(
        col(SlotHold.tutor_id) == bindparam("tutor"),
        col(SlotHold.status) == HoldStatus.ACTIVE,
        col(SlotHold.expires_at) > bindparam("now"),
        col(SlotHold.start_time) < bindparam("end"),
        col(SlotHold.start_time) >= bindparam("lower"),
        col(SlotHold.end_time) > bindparam("start"),
    )
    if except_user:
        holds = holds.where(col(SlotHold.user_id) != bindparam("user"))
    return union_all(bookings, holds)


def _pg_epoch_us(column: Any) -> Any:
    return cast(extract("epoch", column) * 1_000_000, BigInteger)


def _as_stored(column: Any) -> Any:
    return type_coerce(column, NullType())


def _sqlite_epoch_us(text: str) -> int:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return (value - _NAIVE_EPOCH) // _US
    return availability.epoch_us(value)


def free_slots_for(
    db: Session,
    *,
    tutor_id: str,
    duration_minutes: int,
    now: datetime | None = None,
    for_user_id: str | None = None,
) -> list[datetime]:
    """Every bookable start (UTC) for a lesson of `duration_minutes` with this tutor.

    The tutor's hours and date overrides minus scheduled bookings and other students' live
    holds (both with the tutor's buffer around them) and calendar events, within the tutor's
    notice and horizon. An unknown or hidden tutor, one not taking bookings, or a length the
    tutor does not offer has no free slots.
    """
    now = now or clock.now()
    tutor = tutor_catalog.get_tutor(db, tutor_id)
    if (
        tutor is None
        or duration_minutes not in tutor_catalog.bookable_lengths(tutor)
        or not tutor_catalog.taking_bookings(db, tutor, now=now)
    ):
        return []
    schedule = schedule_for(db, tutor, now=now)
    lo, hi = schedule.window(now)
    return schedule.free_starts(
        duration=timedelta(minutes=duration_minutes),
        busy=busy_for(db, tutor_id=tutor_id, start=lo, end=hi, now=now,
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
    schedule: TutorSchedule | None = None,
) -> list[datetime]:
    """The free starts nearest to `start`, for "that slot was just taken, try one of these"."""
    schedule = schedule or schedule_for(db, tutor, now=now)
    lo, hi = schedule.window(now)
    return schedule.nearest(
        start=start,
        duration=timedelta(minutes=duration_minutes),
        busy=busy_for(db, tutor_id=tutor.id, start=lo, end=hi, now=now, for_user_id=for_user_id),
        now=now,
        limit=limit,
    )


def on_schedule(
    db: Session, *, tutor: Tutor, start: datetime, duration_minutes: int, now: datetime
) -> bool:
    """Whether `start` is a start the tutor offers at all (hours, day off, grid, notice,
    horizon), taken or not.

    Separates "not a time this tutor teaches" (bad input) from "taken" (offer alternatives).
    """
    return schedule_for(db, tutor, now=now).offers(
        start=start, duration=timedelta(minutes=duration_minutes), now=now
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
    checkout's write transaction, where it is authoritative. Refused as not offered: a tutor
    not taking bookings, a length the tutor does not offer, and a start outside the hours, on
    a day off, off the grid, under the notice or past the horizon. Refused as taken: a start
    overlapping a booking or another student's hold or their buffer, or a calendar event.
    """
    now = now or clock.now()
    tutor = tutor_catalog.get_tutor(db, tutor_id)
    if tutor is None:
        raise SlotNotOffered(NOT_AVAILABLE)
    if not tutor_catalog.taking_bookings(db, tutor, now=now):
        raise SlotNotOffered(tutor_catalog.NOT_TAKING_BOOKINGS)
    if duration_minutes not in tutor_catalog.bookable_lengths(tutor):
        raise SlotNotOffered(tutor_catalog.lengths_offered_message(tutor))
    schedule = schedule_for(db, tutor, now=now)
    duration = timedelta(minutes=duration_minutes)
    free = schedule.is_free(
        start=start,
        duration=duration,
        busy=busy_for(db, tutor_id=tutor_id, start=start - schedule.buffer,
                      end=start + duration + schedule.buffer, now=now, for_user_id=user_id),
        now=now,
    )
    if free:
        return
    alternatives = alternatives_for(
        db, tutor=tutor, start=start, duration_minutes=duration_minutes, now=now,
        for_user_id=user_id, schedule=schedule,
    )
    if schedule.offers(start=start, duration=duration, now=now):
        raise SlotTaken(TAKEN, alternatives)
    raise SlotNotOffered(NOT_OFFERED, alternatives)

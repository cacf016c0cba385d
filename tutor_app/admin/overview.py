"""The admin overview: the business's figures and charts over a chosen range of days.

The definitions (the page says the same):

- The range is whole days on the admin's wall clock (`zone`, the viewer's): from the first
  day's midnight to the midnight after the last day, as UTC instants. Presets: this month,
  the last 30 days, the last 12 months (each ending today); or any custom from/to.
- **Bookings**: bookings made in the range (their `created_at`): paid lessons and free
  consultations, counted apart; a later cancel does not unmake a booking.
- **Revenue**: what students paid for the lessons booked in the range (`kind = 'lesson'`; a
  consultation is never revenue), per currency, USD first.
- **Refunds**: the refunds Stripe confirmed in the range (their own time; owed ones still
  pending are not money back yet), per currency.
- **New students**: student accounts created in the range.
- **Lessons per tutor**: lessons booked in the range that are not canceled.

Why roll-ups: a year is about half a million bookings on a busy site, too many to group on
every page load. Two small tables kept by triggers on `bookings`, in the transaction of each
write (migration 0013), hold the figures instead: `booking_hours` (bookings and their prices
per UTC hour, kind and currency) and `tutor_lesson_days` (live lessons per tutor and UTC day of
booking). PostgreSQL groups the hours by the viewer's day (it knows the zones); on SQLite they
are folded here; per tutor, the whole UTC days inside the
range come from the roll-up and the few hours at its two ends from `bookings` itself, so every
figure is exact. Refunds and new students are rare enough to count from their own tables.
`bench/admin.py` measures a year of it on 1,000,000 bookings.
Hours fold into days exactly for zones whose offset is a whole number of hours throughout
the range; for the rare others (India, Nepal, ...) the days are UTC's, and `Overview.zone`
says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from tutor_app.booking.refunds import PENDING_PREFIX
from tutor_app.core import clock, timefmt
from tutor_app.core.models import (
    Booking,
    BookingHour,
    BookingKind,
    BookingStatus,
    Refund,
    Role,
    Tutor,
    TutorLessonDay,
    User,
)

THIS_MONTH = "this_month"
LAST_30_DAYS = "last_30_days"
LAST_12_MONTHS = "last_12_months"
PRESETS: dict[str, str] = {
    THIS_MONTH: "This month",
    LAST_30_DAYS: "Last 30 days",
    LAST_12_MONTHS: "Last 12 months",
}
MAX_DAYS = 731  # a custom range covers at most two years
BAD_DAY = "Days are written YYYY-MM-DD, e.g. 2026-06-01."
INVERTED_RANGE = "The first day must not come after the last."
RANGE_TOO_LONG = f"Choose at most {MAX_DAYS} days."


class InvalidRange(ValueError):
    """A custom range that cannot be read, is inverted or too long; str() is for people."""


@dataclass(frozen=True)
class DayRange:
    """Whole days `first`..`last` (both included) on the wall clock of `zone`."""

    first: date
    last: date
    zone: str

    @property
    def start(self) -> datetime:
        """The first day's midnight in `zone`, as a UTC instant."""
        return _midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        """The midnight after the last day in `zone`, as a UTC instant (excluded)."""
        return _midnight(self.last + timedelta(days=1), self.zone)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class Money:
    currency: str
    cents: int


@dataclass(frozen=True)
class DayBookings:
    day: date
    lessons: int
    consultations: int


@dataclass(frozen=True)
class WeekMoney:
    """One week (starting on Monday, cut to the range) and currency: revenue and refunds."""

    week: date
    currency: str
    revenue_cents: int
    refunds_cents: int


@dataclass(frozen=True)
class TutorLessons:
    tutor_id: str
    name: str
    lessons: int


@dataclass(frozen=True)
class Overview:
    """The figures and the charts' series of one range."""

    range: DayRange  # in `zone`
    zone: str  # the zone of the days: the viewer's, or "UTC" (module doc)
    lessons: int
    consultations: int
    revenue: list[Money]
    refunds: list[Money]
    new_students: int
    per_day: list[DayBookings]
    per_week: list[WeekMoney]
    per_tutor: list[TutorLessons]

    @property
    def bookings(self) -> int:
        return self.lessons + self.consultations


def _midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def preset_range(preset: str, zone: str, now: datetime | None = None) -> DayRange:
    """The preset's days, ending today in `zone` (an unknown preset: this month)."""
    zone = timefmt.safe_zone(zone)
    today = timefmt.local(now or clock.now(), zone).date()
    if preset == LAST_30_DAYS:
        return DayRange(today - timedelta(days=29), today, zone)
    if preset == LAST_12_MONTHS:
        first = date(today.year - 1, today.month, 1) + timedelta(days=32)
        return DayRange(first.replace(day=1), today, zone)
    return DayRange(today.replace(day=1), today, zone)


def custom_range(first: str, last: str, zone: str) -> DayRange:
    """The days a form names (YYYY-MM-DD each); InvalidRange when unreadable, inverted or
    longer than MAX_DAYS."""
    start, end = timefmt.parse_day_key(first), timefmt.parse_day_key(last)
    if start is None or end is None:
        raise InvalidRange(BAD_DAY)
    if start > end:
        raise InvalidRange(INVERTED_RANGE)
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidRange(RANGE_TOO_LONG)
    return DayRange(start, end, timefmt.safe_zone(zone))


def days_zone(day_range: DayRange) -> str:
    """The range's zone when hours fold into its days exactly (module doc), else "UTC"."""
    zone = ZoneInfo(day_range.zone)
    for day in [*day_range.days(), day_range.last + timedelta(days=1)]:
        offset = datetime.combine(day, time(12), tzinfo=zone).utcoffset()
        if offset is None or offset.total_seconds() % 3600:
            return "UTC"
    return day_range.zone


def _bucket(column: Any, dialect: str, zone: str) -> ColumnElement[Any]:
    """What to group `column` by: PostgreSQL knows the zones, so its day there; SQLite does
    not, so the UTC hour, which `_day` folds into the zone's day."""
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone(zone, column), sa.Date)
    return sa.func.strftime("%Y-%m-%d %H", column)


def _day(bucket: object, zone: str) -> date:
    """The zone's day of a `_bucket` value."""
    if isinstance(bucket, datetime):
        hour = bucket if bucket.tzinfo else bucket.replace(tzinfo=UTC)
    elif isinstance(bucket, date):
        return bucket
    else:
        hour = datetime.strptime(str(bucket), "%Y-%m-%d %H").replace(tzinfo=UTC)
    return timefmt.local(hour, zone).date()


def _currency_order(currencies: Iterable[str]) -> list[str]:
    """USD first, then the others alphabetically."""
    return sorted(set(currencies), key=lambda c: (c != "usd", c))


def _utc_midnight_after(instant: datetime) -> datetime:
    """The first UTC midnight at or after `instant`."""
    midnight = datetime.combine(instant.date(), time(0), tzinfo=UTC)
    return midnight if midnight == instant else midnight + timedelta(days=1)


def _lessons_per_tutor(db: Session, start: datetime, end: datetime) -> list[tuple[str, int]]:
    """Live lessons booked in [start, end) per tutor: whole UTC days from `tutor_lesson_days`,
    the hours before the first and after the last of them from `bookings`."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    first_midnight = _utc_midnight_after(start)
    last_midnight = datetime.combine(end.date(), time(0), tzinfo=UTC)
    counts: dict[str, int] = defaultdict(int)
    edges = [(start, end)]
    if first_midnight < last_midnight:
        edges = [(start, first_midnight), (last_midnight, end)]
        day = col(TutorLessonDay.day)
        for tutor_id, lessons in db.execute(
            sa.select(col(TutorLessonDay.tutor_id), sa.func.sum(col(TutorLessonDay.lessons)))
            .where(day >= first_midnight.date(), day < last_midnight.date())
            .group_by(col(TutorLessonDay.tutor_id))
        ).tuples():
            counts[tutor_id] += int(lessons or 0)
    created = col(Booking.created_at)
    for edge_start, edge_end in edges:
        if edge_start >= edge_end:
            continue
        for tutor_id, lessons in db.execute(
            sa.select(col(Booking.tutor_id), sa.func.count())
            .where(created >= edge_start, created < edge_end,
                   col(Booking.kind) == BookingKind.LESSON,
                   col(Booking.status) != BookingStatus.CANCELED)
            .group_by(col(Booking.tutor_id))
        ).tuples():
            counts[tutor_id] += int(lessons)
    return [(tutor_id, count) for tutor_id, count in counts.items() if count]


def overview(db: Session, day_range: DayRange) -> Overview:
    """The figures and series of `day_range`: roll-ups for bookings, their own tables for
    refunds and new students (module doc)."""
    zone = days_zone(day_range)
    if zone != day_range.zone:
        day_range = DayRange(day_range.first, day_range.last, zone)
    start, end = day_range.start, day_range.end
    dialect = db.get_bind().dialect.name
    hour = _bucket(col(BookingHour.hour), dialect, zone).label("bucket")
    booked = db.execute(
        sa.select(hour, col(BookingHour.kind), col(BookingHour.currency),
                  sa.func.sum(col(BookingHour.bookings)),
                  sa.func.sum(col(BookingHour.price_cents)))
        .where(col(BookingHour.hour) >= start, col(BookingHour.hour) < end)
        .group_by(hour, col(BookingHour.kind), col(BookingHour.currency))
    ).all()
    refund_bucket = _bucket(col(Refund.created_at), dialect, zone).label("bucket")
    refunded = db.execute(
        sa.select(refund_bucket, col(Refund.currency), sa.func.sum(col(Refund.amount_cents)))
        .where(col(Refund.created_at) >= start, col(Refund.created_at) < end,
               col(Refund.stripe_refund_id).not_like(f"{PENDING_PREFIX}%"))
        .group_by(refund_bucket, col(Refund.currency))
    ).all()
    new_students = db.execute(
        sa.select(sa.func.count()).select_from(User).where(
            col(User.role) == Role.STUDENT, col(User.created_at) >= start,
            col(User.created_at) < end)
    ).scalar_one()
    per_tutor_rows = _lessons_per_tutor(db, start, end)

    def day_of(bucket: object) -> date:
        return _day(bucket, zone)

    def week_of(day: date) -> date:
        return max(day - timedelta(days=day.weekday()), day_range.first)

    lessons: dict[date, int] = defaultdict(int)
    consultations: dict[date, int] = defaultdict(int)
    revenue: dict[str, int] = defaultdict(int)
    refunds: dict[str, int] = defaultdict(int)
    weekly: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])
    for bucket, kind, currency, count, cents in booked:
        day = day_of(bucket)
        if kind == BookingKind.CONSULTATION:
            consultations[day] += int(count)
            continue
        lessons[day] += int(count)
        revenue[currency] += int(cents or 0)
        weekly[(week_of(day), currency)][0] += int(cents or 0)
    for bucket, currency, cents in refunded:
        refunds[currency] += int(cents or 0)
        weekly[(week_of(day_of(bucket)), currency)][1] += int(cents or 0)

    currencies = _currency_order([*revenue, *refunds]) or ["usd"]
    weeks = sorted({week_of(day) for day in day_range.days()})
    tutor_ids = [row[0] for row in per_tutor_rows]
    names = dict(db.execute(
        sa.select(col(Tutor.id), col(Tutor.name)).where(col(Tutor.id).in_(tutor_ids))
    ).tuples().all()) if tutor_ids else {}
    return Overview(
        range=day_range,
        zone=zone,
        lessons=sum(lessons.values()),
        consultations=sum(consultations.values()),
        revenue=[Money(c, revenue.get(c, 0)) for c in currencies],
        refunds=[Money(c, refunds.get(c, 0)) for c in currencies],
        new_students=int(new_students),
        per_day=[DayBookings(day, lessons.get(day, 0), consultations.get(day, 0))
                 for day in day_range.days()],
        per_week=[WeekMoney(week, c, *weekly.get((week, c), [0, 0]))
                  for c in currencies for week in weeks],
        per_tutor=sorted(
            (TutorLessons(tutor_id, names.get(tutor_id, tutor_id), int(count))
             for tutor_id, count in per_tutor_rows),
            key=lambda t: (-t.lessons, t.name),
        ),
    )

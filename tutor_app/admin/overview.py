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

Why no roll-up table: each chart is one range scan of an index on `created_at`, grouped by
the hour in SQL (a few thousand rows for a year), then folded into the zone's days and weeks
here, so nothing on the write path keeps a second copy of the figures. `bench/admin.py`
measures a year of it on 1,000,000 bookings: about 1.2 s, over the 200 ms target, so an hourly
roll-up kept by the booking and refund writes is still to be built for ranges that long.
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
from tutor_app.core.models import Booking, BookingKind, BookingStatus, Refund, Role, Tutor, User

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


def _hour(column: Any, dialect: str) -> ColumnElement[Any]:
    """The hour `column` falls in, as the database can group by it."""
    if dialect == "postgresql":
        return sa.func.date_trunc("hour", column)
    return sa.func.strftime("%Y-%m-%d %H", column)


def _hour_start(value: object) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.strptime(str(value), "%Y-%m-%d %H").replace(tzinfo=UTC)


def _currency_order(currencies: Iterable[str]) -> list[str]:
    """USD first, then the others alphabetically."""
    return sorted(set(currencies), key=lambda c: (c != "usd", c))


def overview(db: Session, day_range: DayRange) -> Overview:
    """The figures and series of `day_range` (four queries, each one index range scan)."""
    zone = days_zone(day_range)
    if zone != day_range.zone:
        day_range = DayRange(day_range.first, day_range.last, zone)
    start, end = day_range.start, day_range.end
    dialect = db.get_bind().dialect.name
    created = col(Booking.created_at)
    hour = _hour(created, dialect).label("hour")
    booked = db.execute(
        sa.select(hour, col(Booking.kind), col(Booking.currency), sa.func.count(),
                  sa.func.sum(col(Booking.price_cents)))
        .where(created >= start, created < end)
        .group_by(hour, col(Booking.kind), col(Booking.currency))
    ).all()
    refund_hour = _hour(col(Refund.created_at), dialect).label("hour")
    refunded = db.execute(
        sa.select(refund_hour, col(Refund.currency), sa.func.sum(col(Refund.amount_cents)))
        .where(col(Refund.created_at) >= start, col(Refund.created_at) < end,
               col(Refund.stripe_refund_id).not_like(f"{PENDING_PREFIX}%"))
        .group_by(refund_hour, col(Refund.currency))
    ).all()
    new_students = db.execute(
        sa.select(sa.func.count()).select_from(User).where(
            col(User.role) == Role.STUDENT, col(User.created_at) >= start,
            col(User.created_at) < end)
    ).scalar_one()
    per_tutor_rows = db.execute(
        sa.select(col(Booking.tutor_id), sa.func.count())
        .where(created >= start, created < end, col(Booking.kind) == BookingKind.LESSON,
               col(Booking.status) != BookingStatus.CANCELED)
        .group_by(col(Booking.tutor_id))
    ).all()

    def day_of(value: object) -> date:
        return timefmt.local(_hour_start(value), zone).date()

    def week_of(day: date) -> date:
        return max(day - timedelta(days=day.weekday()), day_range.first)

    lessons: dict[date, int] = defaultdict(int)
    consultations: dict[date, int] = defaultdict(int)
    revenue: dict[str, int] = defaultdict(int)
    refunds: dict[str, int] = defaultdict(int)
    weekly: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])
    for hour_value, kind, currency, count, cents in booked:
        day = day_of(hour_value)
        if kind == BookingKind.CONSULTATION:
            consultations[day] += int(count)
            continue
        lessons[day] += int(count)
        revenue[currency] += int(cents or 0)
        weekly[(week_of(day), currency)][0] += int(cents or 0)
    for hour_value, currency, cents in refunded:
        refunds[currency] += int(cents or 0)
        weekly[(week_of(day_of(hour_value)), currency)][1] += int(cents or 0)

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

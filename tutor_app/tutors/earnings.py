"""What a tutor earned, month by month on their own wall clock, and the same as a CSV file.

The definitions (the portal page and the CSV say the same):

- A lesson belongs to the month its start falls in, in the tutor's time zone
  (`Tutor.timezone`): a lesson at 22:00 on 31 May in New York is May's, though it is June in
  UTC.
- **Lessons completed**: the month's lessons that took place. That is a lesson the completion
  job has made COMPLETED (its end has passed), or one the tutor has already marked, attended
  or no-show (a student who did not come still paid for the time). A canceled lesson never
  counts, whoever canceled it and whatever came back: a completed lesson refunded in full in
  Stripe becomes canceled and leaves the month.
- **Gross**: the sum of the prices paid for those lessons.
- **Refunds**: the sum of what was refunded of those same lessons (`refunded_cents`, e.g. a
  partial refund made in Stripe that left the lesson completed), counted in the lesson's month.
  Refunds of canceled lessons are not here: their price never entered the gross.
- **Net**: gross minus refunds.

Amounts are per currency (a tutor who changed currency gets one row per month and currency);
a month without lessons is a row of zeros in the tutor's current currency.

One aggregate query does the work: the month of each lesson is a CASE over the months' UTC
boundaries (computed here from the tutor's zone, so SQLite and PostgreSQL agree without
either converting zones), grouped by month and currency. No Reflex here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col

from tutor_app.catalog.pricing import plain_amount
from tutor_app.core import clock, timefmt
from tutor_app.core.models import Booking, BookingKind, BookingStatus, Tutor

MAX_MONTHS = 60  # one request covers at most five years
DEFAULT_MONTHS = 12  # the page and the CSV without a range: the last year, this month included
CSV_HEADER = ("month", "lessons_completed", "gross", "refunds", "net", "currency")
BAD_MONTH = "Months are written YYYY-MM, e.g. 2026-06."
INVERTED_RANGE = "The first month must not come after the last."
RANGE_TOO_LONG = f"Choose at most {MAX_MONTHS} months."


class InvalidRange(ValueError):
    """The months asked for cannot be read or are too many; str() is for people."""


@dataclass(frozen=True)
class MonthEarnings:
    """One month (and currency) of a tutor's earnings, in minor units."""

    month: str  # "2026-06"
    currency: str
    lessons_completed: int
    gross_cents: int
    refunds_cents: int

    @property
    def net_cents(self) -> int:
        return self.gross_cents - self.refunds_cents


def parse_month(text: str | None) -> date | None:
    """The first day of the month "YYYY-MM", or None when `text` is not one."""
    if not text or not isinstance(text, str) or len(text) != 7 or text[4] != "-":
        return None
    try:
        return date(int(text[:4]), int(text[5:]), 1)
    except ValueError:
        return None


def month_key(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months(first: date, last: date) -> list[date]:
    """The first days of every month from `first`'s to `last`'s, both included."""
    result, month = [], first.replace(day=1)
    while month <= last:
        result.append(month)
        month = next_month(month)
    return result


def default_range(zone: str, now: datetime | None = None) -> tuple[date, date]:
    """The last DEFAULT_MONTHS months on the wall clock of `zone`, this one included."""
    today = timefmt.local(now or clock.now(), zone).date()
    last = today.replace(day=1)
    first = last
    for _ in range(DEFAULT_MONTHS - 1):
        first = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    return first, last


def read_range(first: str | None, last: str | None, zone: str,
               now: datetime | None = None) -> tuple[date, date]:
    """The months a request names (`from`, `to` as YYYY-MM; either missing takes the
    default range's); InvalidRange when they are unreadable, inverted or too many."""
    default_first, default_last = default_range(zone, now)
    start = parse_month(first) if first else default_first
    end = parse_month(last) if last else default_last
    if start is None or end is None:
        raise InvalidRange(BAD_MONTH)
    if start > end:
        raise InvalidRange(INVERTED_RANGE)
    if len(months(start, end)) > MAX_MONTHS:
        raise InvalidRange(RANGE_TOO_LONG)
    return start, end


def _boundary(month: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(month, time(0), tzinfo=zone)


def monthly_earnings(db: Session, *, tutor: Tutor, first: date, last: date
                     ) -> list[MonthEarnings]:
    """The tutor's earnings for every month from `first` to `last` (see the module
    docstring), oldest first."""
    zone = timefmt.zone(tutor.timezone)
    wanted = months(first, last)
    bounds = [_boundary(m, zone) for m in [*wanted, next_month(wanted[-1])]]
    start = col(Booking.start_time)
    month = sa.case(
        *[(sa.and_(start >= bounds[i], start < bounds[i + 1]), month_key(m))
          for i, m in enumerate(wanted)],
        else_=None,
    ).label("month")
    took_place = sa.and_(
        col(Booking.status) != BookingStatus.CANCELED,
        sa.or_(col(Booking.status) == BookingStatus.COMPLETED,
               col(Booking.attendance).is_not(None)),
    )
    rows = db.execute(
        sa.select(
            month,
            col(Booking.currency),
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(col(Booking.price_cents)), 0),
            sa.func.coalesce(sa.func.sum(col(Booking.refunded_cents)), 0),
        )
        .where(col(Booking.tutor_id) == tutor.id, start >= bounds[0], start < bounds[-1],
               took_place, col(Booking.kind) == BookingKind.LESSON)  # intros are never revenue
        .group_by(month, col(Booking.currency))
    ).all()
    found: dict[str, list[MonthEarnings]] = {}
    for key, currency, count, gross, refunded in rows:
        found.setdefault(str(key), []).append(
            MonthEarnings(str(key), str(currency), int(count), int(gross), int(refunded)))
    result: list[MonthEarnings] = []
    for m in wanted:
        key = month_key(m)
        result += sorted(found.get(key, []), key=lambda e: e.currency) or [
            MonthEarnings(key, tutor.currency, 0, 0, 0)]
    return result


def csv_rows(earnings: list[MonthEarnings]) -> Iterator[str]:
    """The CSV file, a line at a time (the header first), for a streamed download."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(values: tuple[str | int, ...]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(CSV_HEADER)
    for e in earnings:
        yield line((e.month, e.lessons_completed, plain_amount(e.gross_cents, e.currency),
                    plain_amount(e.refunds_cents, e.currency),
                    plain_amount(e.net_cents, e.currency), e.currency.upper()))


def csv_filename(tutor: Tutor, first: date, last: date) -> str:
    return f"earnings-{tutor.id}-{month_key(first)}-to-{month_key(last)}.csv"

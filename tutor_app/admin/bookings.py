"""The admin's bookings table: every tutor's bookings, filtered, sorted and paged in the database.

Built for a million rows: every filter is a plain comparison on an indexed column (status and
start: `ix_bookings_status_start`; start alone: `ix_bookings_start`; created:
`ix_bookings_created`; the student's email: the `users.email` index, then `user_id`, or
`ix_bookings_customer_email` for a booking kept by the payer's email), a page is one
`LIMIT 50 OFFSET n` query, and the count stops at `COUNT_LIMIT` ("10,000+" on the page) instead
of counting every row. The CSV export streams the same filtered query in chunks
(`yield_per`), never holding the rows in memory.

Days are the viewer's (`zone`, the page says which): `first_day` from its midnight there,
`last_day` to the next. The CSV's times are UTC instants whatever the zone (`start_utc`...).
Search takes an email (the student's) or an id (a booking, or its checkout session).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tutor_app.catalog.pricing import plain_amount
from tutor_app.core import db as app_db
from tutor_app.core import timefmt
from tutor_app.core.models import Booking, BookingKind, BookingStatus, Tutor, User

PAGE_SIZE = 50
COUNT_LIMIT = 10_000  # beyond it the count is shown as "10,000+"
CSV_CHUNK = 1_000

STATUSES = tuple(s.value for s in BookingStatus)
KINDS = {"paid": BookingKind.LESSON.value, "free": BookingKind.CONSULTATION.value}
SORTS = {
    "start": col(Booking.start_time),
    "created": col(Booking.created_at),
    "price": col(Booking.price_cents),
}
CSV_HEADER = ("booking_id", "start_utc", "end_utc", "tutor_id", "student_email", "kind",
              "status", "price", "refunded", "currency", "attendance", "checkout_session",
              "created_utc")


@dataclass(frozen=True)
class BookingFilter:
    """What the table shows; every field optional ("" / None: no filter)."""

    status: str = ""  # a BookingStatus value
    tutor_id: str = ""
    student_email: str = ""
    first_day: date | None = None  # days in `zone`, inclusive
    last_day: date | None = None
    paid: str = ""  # "paid" (lessons) or "free" (consultations)
    search: str = ""  # an email, a booking id or a checkout session id
    sort: str = "start"  # a key of SORTS
    descending: bool = True
    zone: str = "UTC"  # the zone of the days (an IANA name)


@dataclass(frozen=True)
class AdminBookingRow:
    """One booking as the table lists it."""

    id: str
    tutor_id: str
    tutor_name: str
    student_email: str
    student_name: str
    kind: str
    status: str
    start: datetime
    end: datetime
    price_cents: int
    refunded_cents: int
    currency: str
    attendance: str | None
    created_at: datetime


@dataclass(frozen=True)
class BookingPage:
    rows: list[AdminBookingRow]
    page: int  # from 1
    count: int  # exact up to COUNT_LIMIT
    count_is_estimate: bool  # True: at least `count` (the page says "10,000+")

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // PAGE_SIZE))


def _day_start(day: date, zone: str) -> datetime:
    """The day's first midnight in `zone`, as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _email_match(email: str) -> sa.ColumnElement[bool]:
    """The bookings of the account with that email, or kept by it as the payer's email."""
    email = email.strip().lower()
    owner = select(User.id).where(col(User.email) == email)
    return sa.or_(col(Booking.user_id).in_(owner.scalar_subquery()),
                  col(Booking.customer_email) == email)


def conditions(wanted: BookingFilter) -> list[sa.ColumnElement[bool]]:
    """The WHERE of a filter (shared by the page, the count and the CSV)."""
    where: list[sa.ColumnElement[bool]] = []
    if wanted.status in STATUSES:
        where.append(col(Booking.status) == wanted.status)
    if wanted.tutor_id:
        where.append(col(Booking.tutor_id) == wanted.tutor_id)
    if wanted.student_email:
        where.append(_email_match(wanted.student_email))
    if wanted.first_day is not None:
        where.append(col(Booking.start_time) >= _day_start(wanted.first_day, wanted.zone))
    if wanted.last_day is not None:
        where.append(col(Booking.start_time)
                     < _day_start(wanted.last_day + timedelta(days=1), wanted.zone))
    if wanted.paid in KINDS:
        where.append(col(Booking.kind) == KINDS[wanted.paid])
    search = wanted.search.strip()
    if "@" in search:
        where.append(_email_match(search))
    elif search:
        where.append(sa.or_(col(Booking.id) == search,
                            col(Booking.stripe_checkout_session_id) == search))
    return where


def _ordered(query: Any, wanted: BookingFilter) -> Any:
    column = SORTS.get(wanted.sort, SORTS["start"])
    if wanted.descending:
        return query.order_by(column.desc(), col(Booking.id).desc())
    return query.order_by(column.asc(), col(Booking.id).asc())


def _listing(wanted: BookingFilter) -> Any:
    """Bookings with their tutor's name and their student's email and name."""
    return (
        sa.select(Booking, col(Tutor.name), col(User.email), col(User.name))
        .join(Tutor, col(Tutor.id) == col(Booking.tutor_id), isouter=True)
        .join(User, col(User.id) == col(Booking.user_id), isouter=True)
        .where(*conditions(wanted))
    )


def _row(booking: Booking, tutor_name: str | None, email: str | None, name: str | None
         ) -> AdminBookingRow:
    return AdminBookingRow(
        id=booking.id, tutor_id=booking.tutor_id, tutor_name=tutor_name or booking.tutor_id,
        student_email=email or booking.customer_email or "", student_name=name or "",
        kind=booking.kind, status=booking.status, start=booking.start_time,
        end=booking.end_time, price_cents=booking.price_cents,
        refunded_cents=booking.refunded_cents, currency=booking.currency,
        attendance=booking.attendance, created_at=booking.created_at,
    )


def count_bookings(db: Session, wanted: BookingFilter) -> tuple[int, bool]:
    """(how many match, whether that is only a lower bound): counting stops at COUNT_LIMIT."""
    capped = (select(col(Booking.id)).where(*conditions(wanted)).limit(COUNT_LIMIT + 1)
              .subquery())
    found = int(db.exec(select(sa.func.count()).select_from(capped)).one())
    return min(found, COUNT_LIMIT), found > COUNT_LIMIT


def booking_page(db: Session, wanted: BookingFilter, *, page: int = 1) -> BookingPage:
    """One page (PAGE_SIZE rows) of the filtered, sorted table, and the filtered count."""
    page = max(1, page)
    rows = db.execute(
        _ordered(_listing(wanted), wanted).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    count, estimate = count_bookings(db, wanted)
    return BookingPage([_row(*r) for r in rows], page, count, estimate)


def _csv_line(writer: Any, buffer: io.StringIO, values: Sequence[object]) -> str:
    buffer.seek(0)
    buffer.truncate()
    writer.writerow(values)
    return buffer.getvalue()


def csv_lines(wanted: BookingFilter) -> Iterator[str]:
    """The filtered bookings as CSV, a line at a time (the header first), read from the
    database in chunks of CSV_CHUNK over one db session that lives as long as the download."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield _csv_line(writer, buffer, CSV_HEADER)
    query = _ordered(
        sa.select(col(Booking.id), col(Booking.start_time), col(Booking.end_time),
               col(Booking.tutor_id), col(User.email), col(Booking.customer_email),
               col(Booking.kind), col(Booking.status), col(Booking.price_cents),
               col(Booking.refunded_cents), col(Booking.currency), col(Booking.attendance),
               col(Booking.stripe_checkout_session_id), col(Booking.created_at))
        .join(User, col(User.id) == col(Booking.user_id), isouter=True)
        .where(*conditions(wanted)),
        wanted,
    ).execution_options(yield_per=CSV_CHUNK)
    with app_db.session() as db:
        for (booking_id, start, end, tutor_id, email, payer, kind, status, price, refunded,
             currency, attendance, session_id, created) in db.execute(query):
            yield _csv_line(writer, buffer, (
                booking_id, _iso(start), _iso(end), tutor_id, email or payer or "", kind,
                status, plain_amount(price, currency), plain_amount(refunded, currency),
                currency.upper(), attendance or "", session_id, _iso(created),
            ))


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def csv_filename(wanted: BookingFilter) -> str:
    first = wanted.first_day.isoformat() if wanted.first_day else "start"
    last = wanted.last_day.isoformat() if wanted.last_day else "now"
    return f"bookings-{first}-to-{last}.csv"


def read_filter(params: dict[str, str]) -> BookingFilter:
    """A filter from query or form parameters (the page's and the CSV link's, the same names);
    anything unreadable is left out rather than refused."""

    def day(name: str) -> date | None:
        try:
            return date.fromisoformat(params.get(name, "").strip())
        except ValueError:
            return None

    sort = params.get("sort", "start")
    return BookingFilter(
        status=params.get("status", "") if params.get("status", "") in STATUSES else "",
        tutor_id=params.get("tutor", "").strip(),
        student_email=params.get("email", "").strip(),
        first_day=day("from"),
        last_day=day("to"),
        paid=params.get("paid", "") if params.get("paid", "") in KINDS else "",
        search=params.get("q", "").strip(),
        sort=sort if sort in SORTS else "start",
        descending=params.get("dir", "desc") != "asc",
        zone=timefmt.safe_zone(params.get("tz", "").strip() or None),
    )


def filter_params(wanted: BookingFilter) -> dict[str, str]:
    """`read_filter`'s inverse: the query string of the CSV link for the filter shown."""
    values = {
        "status": wanted.status, "tutor": wanted.tutor_id, "email": wanted.student_email,
        "from": wanted.first_day.isoformat() if wanted.first_day else "",
        "to": wanted.last_day.isoformat() if wanted.last_day else "",
        "paid": wanted.paid, "q": wanted.search, "sort": wanted.sort,
        "dir": "desc" if wanted.descending else "asc",
        "tz": "" if wanted.zone == "UTC" else wanted.zone,
    }
    return {k: v for k, v in values.items() if v}


def tutor_choices(db: Session) -> list[tuple[str, str]]:
    """(id, name) of every tutor, for the tutor filter."""
    return [(t.id, t.name) for t in db.exec(select(Tutor).order_by(col(Tutor.name))).all()]

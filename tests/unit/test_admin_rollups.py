"""The overview's roll-ups (`booking_hours`, `tutor_lesson_days`) are kept by triggers in the
database: whatever writes a booking or cancels one, the overview's figures are those a recount
of the bookings themselves gives, on every range and in every zone, cut anywhere in a UTC day.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import Session, select

from tests.conftest import postgres_database
from tests.factories import lesson_start, make_booking
from tutor_app.admin import overview
from tutor_app.booking import transitions
from tutor_app.cli import alembic_config
from tutor_app.core import timefmt
from tutor_app.core.models import Booking, BookingKind, BookingStatus

TUTORS = ["maria-garcia", "james-okafor", "aiko-tanaka", "liam-murphy"]
FIRST = datetime(2026, 5, 28, tzinfo=UTC)
ZONES = ["UTC", "America/New_York", "Asia/Tokyo", "Pacific/Auckland"]


def _recount(bookings: list[Booking], day_range: overview.DayRange) -> dict[str, object]:
    """The overview's booking figures, counted the plain way from the rows."""
    start, end = day_range.start, day_range.end
    inside = [b for b in bookings if start <= b.created_at < end]
    lessons = [b for b in inside if b.kind == BookingKind.LESSON]
    per_day: Counter[tuple[date, str]] = Counter(
        (timefmt.local(b.created_at, day_range.zone).date(), b.kind) for b in inside)
    revenue: Counter[str] = Counter()
    for b in lessons:
        revenue[b.currency] += b.price_cents
    per_tutor = Counter(b.tutor_id for b in lessons if b.status != BookingStatus.CANCELED)
    return {
        "lessons": len(lessons),
        "consultations": len(inside) - len(lessons),
        "revenue": {c: cents for c, cents in revenue.items() if cents},
        "per_day": {day: (per_day[(day, BookingKind.LESSON)],
                          per_day[(day, BookingKind.CONSULTATION)])
                    for day in day_range.days()},
        "per_tutor": dict(per_tutor),
    }


def _figures(found: overview.Overview) -> dict[str, object]:
    return {
        "lessons": found.lessons,
        "consultations": found.consultations,
        "revenue": {m.currency: m.cents for m in found.revenue if m.cents},
        "per_day": {d.day: (d.lessons, d.consultations) for d in found.per_day},
        "per_tutor": {t.tutor_id: t.lessons for t in found.per_tutor},
    }


def _scatter_bookings(session: Session, count: int, rng: random.Random) -> None:
    """`count` bookings made at random minutes over twelve days; each in a slot of its own."""
    for n in range(count):
        kind = BookingKind.CONSULTATION if n % 7 == 0 else BookingKind.LESSON
        make_booking(
            session, start=lesson_start(days=20 + n, hour=10), tutor_id=TUTORS[n % len(TUTORS)],
            kind=kind, price_cents=0 if kind == BookingKind.CONSULTATION else 1000 + 250 * n,
            currency=rng.choice(["usd", "usd", "eur"]),
            created_at=FIRST + timedelta(minutes=rng.randrange(12 * 24 * 60)),
        )


def test_the_overview_agrees_with_a_recount_after_bookings_and_cancels(
    session: Session,
) -> None:
    rng = random.Random(7)
    _scatter_bookings(session, 80, rng)
    booked = list(session.exec(select(Booking)).all())
    # Cancel a third through the one transition function; put one back, as a data fix would.
    for booking in rng.sample(booked, 27):
        transitions.cancel(booking, reason="student", now=booking.created_at + timedelta(hours=1))
    session.commit()
    revived = next(b for b in booked if b.status == BookingStatus.CANCELED
                   and b.kind == BookingKind.LESSON)
    revived.status = BookingStatus.SCHEDULED
    session.commit()
    bookings = list(session.exec(select(Booking)).all())

    ranges = [
        overview.DayRange(date(2026, 5, 28), date(2026, 6, 8), zone) for zone in ZONES
    ] + [
        overview.DayRange(date(2026, 5, 30), date(2026, 5, 30), zone) for zone in ZONES
    ] + [
        overview.DayRange(date(2026, 5, 31), date(2026, 6, 4), zone) for zone in ZONES
    ]
    for day_range in ranges:
        found = overview.overview(session, day_range)
        assert _figures(found) == _recount(bookings, found.range), day_range
    whole = overview.overview(session, overview.DayRange(date(2026, 5, 1), date(2026, 6, 30),
                                                         "UTC"))
    assert whole.bookings == 80
    assert sum(t.lessons for t in whole.per_tutor) == sum(
        1 for b in bookings
        if b.kind == BookingKind.LESSON and b.status != BookingStatus.CANCELED)


def test_a_bulk_status_change_keeps_the_lessons_per_tutor(session: Session) -> None:
    """The periodic completion job moves many rows in one statement: still live lessons."""
    at = datetime(2026, 6, 2, 12, tzinfo=UTC)
    for n in range(3):
        make_booking(session, start=lesson_start(days=30 + n), created_at=at)
    session.execute(sa.update(Booking).values(status=BookingStatus.COMPLETED))
    session.commit()

    found = overview.overview(session, overview.DayRange(date(2026, 6, 1), date(2026, 6, 5),
                                                         "UTC"))

    assert [(t.tutor_id, t.lessons) for t in found.per_tutor] == [("james-okafor", 3)]


@pytest.fixture
def empty_database_url(_engine: sa.Engine, tmp_path_factory: pytest.TempPathFactory
                       ) -> Iterator[str]:
    """A database of its own, on the backend under test, with no migration applied yet."""
    if _engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('rollups') / 'upgrade.db'}"
        return
    with postgres_database("tutor_rollups") as url:
        yield url


def test_the_upgrade_rolls_up_the_bookings_already_there(empty_database_url: str) -> None:
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0012")
    engine = sa.create_engine(empty_database_url)
    try:
        with Session(engine) as session:
            rng = random.Random(11)
            _scatter_bookings(session, 30, rng)
            last = session.exec(select(Booking).where(Booking.kind == BookingKind.LESSON)
                                ).first()
            assert last is not None
            last.status = BookingStatus.CANCELED
            session.commit()
        command.upgrade(config, "head")
        with Session(engine) as session:
            bookings = list(session.exec(select(Booking)).all())
            day_range = overview.DayRange(date(2026, 5, 28), date(2026, 6, 8), "Asia/Tokyo")
            found = overview.overview(session, day_range)
            assert _figures(found) == _recount(bookings, day_range)
            whole = overview.overview(session, overview.DayRange(
                date(2026, 5, 1), date(2026, 6, 30), "UTC"))
            assert whole.bookings == 30
            assert sum(t.lessons for t in whole.per_tutor) == sum(
                1 for b in bookings
                if b.kind == BookingKind.LESSON and b.status != BookingStatus.CANCELED)
    finally:
        engine.dispose()

"""Free consultations under concurrency, on SQLite and on PostgreSQL (`TEST_DATABASE`).

On SQLite `BEGIN IMMEDIATE` runs the write transactions one after another; on PostgreSQL they
run side by side, and what holds is the lock on the student's row, the partial unique index
`ux_bookings_one_consultation` and the exclusion constraint `ex_bookings_no_overlap`.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.factories import TUTOR, make_user
from tests.money_helpers import run_concurrently
from tutor_app.booking import consultations
from tutor_app.booking.consultations import AlreadyHadConsultation
from tutor_app.catalog.pricing import CONSULTATION_MINUTES
from tutor_app.core import clock
from tutor_app.core.models import Booking, BookingKind
from tutor_app.scheduling import slots

ATTEMPTS = 10


@pytest.fixture
def offering(database: object) -> str:
    assert consultations.set_offers_consultation(tutor_id=TUTOR, offers=True)
    return TUTOR


def _starts(session: Session, count: int) -> list[datetime]:
    """`count` free 15-minute starts that do not overlap, a few days ahead."""
    starts = slots.free_slots_for(session, tutor_id=TUTOR, duration_minutes=CONSULTATION_MINUTES)
    session.commit()
    after = clock.now() + timedelta(days=2)
    return [s for s in starts if s >= after][:count]


def _consultations(session: Session) -> list[Booking]:
    session.commit()
    session.expire_all()
    rows = list(session.exec(select(Booking).where(Booking.kind == BookingKind.CONSULTATION)))
    session.commit()
    return rows


def test_ten_requests_of_one_student_at_once_book_exactly_one(
    session: Session, offering: str
) -> None:
    user = make_user(session)
    starts = _starts(session, ATTEMPTS)  # ten different times: only the one-per-tutor rule

    outcomes = run_concurrently(ATTEMPTS, lambda i: consultations.book_consultation(
        user=user, tutor_id=TUTOR, start=starts[i], ip="203.0.113.7"))

    booked = [o for o in outcomes if isinstance(o, str)]
    refused = [o for o in outcomes if not isinstance(o, str)]
    assert len(booked) == 1, outcomes
    assert len(refused) == ATTEMPTS - 1
    assert all(isinstance(o, AlreadyHadConsultation) for o in refused), refused
    [row] = _consultations(session)
    assert (row.id, row.user_id) == (booked[0], user.id)


def test_ten_clicks_on_the_same_time_book_it_once(session: Session, offering: str) -> None:
    user = make_user(session)
    [start] = _starts(session, 1)

    outcomes = run_concurrently(ATTEMPTS, lambda i: consultations.book_consultation(
        user=user, tutor_id=TUTOR, start=start, ip="203.0.113.7"))

    assert sum(isinstance(o, str) for o in outcomes) == 1, outcomes
    assert all(isinstance(o, str | AlreadyHadConsultation) for o in outcomes), outcomes
    assert len(_consultations(session)) == 1


def test_two_students_racing_for_one_slot_give_one_booking(
    session: Session, offering: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both transactions are held right after their slot check until both have checked (or a
    second passed: SQLite's second writer waits at BEGIN): on PostgreSQL both saw the slot
    free, so only the exclusion constraint can refuse the second insert."""
    first, second = make_user(session), make_user(session)
    [start] = _starts(session, 1)
    both_checked = threading.Barrier(2)
    real_check = slots.check_slot

    def check_then_wait(*args: Any, **kwargs: Any) -> None:
        real_check(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait(timeout=1)

    monkeypatch.setattr(slots, "check_slot", check_then_wait)

    students = (first, second)
    outcomes = run_concurrently(2, lambda i: consultations.book_consultation(
        user=students[i], tutor_id=TUTOR, start=start, ip=f"203.0.113.{i}"))

    assert sorted(type(o).__name__ for o in outcomes) == ["SlotTaken", "str"], outcomes
    taken = next(o for o in outcomes if isinstance(o, slots.SlotTaken))
    assert start not in taken.alternatives
    [row] = _consultations(session)
    assert row.start_time == start

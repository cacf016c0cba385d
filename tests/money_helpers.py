"""Helpers for the money-and-time tests: lessons paid at the fake Stripe, refund requests.

SQLite in WAL mode refuses a write in a transaction whose read snapshot went stale (another
connection committed meanwhile, e.g. a booking's follow-ups in their thread pool), so every
read helper here ends its read transaction before returning.

A "paid booking" here is made the way production makes one: `checkout.start_checkout` against
the fake Stripe API (the real SDK), the customer paying on the fake's side
(`FakeStripe.complete_session`), and the paid session handed to
`recording.record_paid_session`, so the booking carries a real payment intent the fake can
refund.

Each test module declares its own `fake` fixture over `fake_stripe_configured`, as the
checkout tests do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from tests.fakes.fake_stripe import FakeStripe, RecordedRequest
from tests.stripe_helpers import TUTOR, make_user
from tutor_app.booking import checkout, recording
from tutor_app.core import clock
from tutor_app.core.models import Booking, Refund, SlotHold, User
from tutor_app.core.settings import Settings
from tutor_app.scheduling import slots

ConfigureFn = Callable[..., Settings]

__all__ = [
    "TUTOR",
    "ConfigureFn",
    "booking",
    "free_start",
    "hold_of",
    "paid_booking",
    "refund_requests",
    "refunds_of",
    "run_concurrently",
]


def free_start(db: Session, *, days_ahead: float = 3, minutes: int = 60,
               tutor_id: str = TUTOR, now: datetime | None = None) -> datetime:
    """A start the tutor offers at least `days_ahead` days from now (past the policy window)."""
    now = now or clock.now()
    starts = slots.free_slots_for(db, tutor_id=tutor_id, duration_minutes=minutes, now=now)
    db.commit()  # end the read snapshot (SQLite WAL)
    after = now + timedelta(days=days_ahead)
    return next(s for s in starts if s >= after)


def paid_booking(
    db: Session, fake: FakeStripe, *, user: User | None = None, start: datetime | None = None,
    minutes: int = 60, tutor_id: str = TUTOR,
) -> Booking:
    """A SCHEDULED booking paid through the fake Stripe (see module doc)."""
    user = user or make_user(db)
    start = start or free_start(db, minutes=minutes, tutor_id=tutor_id)
    started = checkout.start_checkout(
        user=user, tutor_id=tutor_id, start=start, duration_minutes=minutes
    )
    paid = fake.complete_session(started.session_id)
    outcome = recording.record_paid_session(paid, source="test")
    assert outcome is recording.BookingOutcome.CREATED, outcome
    return booking(db, session_id=started.session_id)


def booking(db: Session, *, session_id: str | None = None, booking_id: str | None = None
            ) -> Booking:
    """The booking as the database has it now (fresh read)."""
    db.commit()
    db.expire_all()
    query = select(Booking)
    if session_id is not None:
        query = query.where(Booking.stripe_checkout_session_id == session_id)
    if booking_id is not None:
        query = query.where(Booking.id == booking_id)
    found = db.exec(query).one()
    db.commit()  # end the read: a later write in this db session must not meet a stale snapshot
    return found


def hold_of(db: Session, session_id: str) -> SlotHold:
    """The slot hold of a checkout session, read fresh (the read transaction is ended)."""
    db.commit()
    db.expire_all()
    hold = db.exec(select(SlotHold).where(SlotHold.checkout_session_id == session_id)).one()
    db.commit()
    return hold


def refunds_of(db: Session, booking_id: str) -> list[Refund]:
    db.commit()
    db.expire_all()
    rows = list(db.exec(select(Refund).where(Refund.booking_id == booking_id)))
    db.commit()
    return rows


def refund_requests(fake: FakeStripe) -> list[RecordedRequest]:
    """Every refund creation request that reached the fake Stripe API."""
    with fake.lock:
        return [r for r in fake.requests if r.method == "POST" and r.path == "/v1/refunds"]


def run_concurrently(count: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run fn(0..count-1) in `count` threads released at the same instant; results or the
    exception each raised, in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    return results

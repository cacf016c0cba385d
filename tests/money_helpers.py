"""Helpers for the money-and-time tests: fresh reads of bookings, holds and refunds, and
concurrent calls. Paid bookings are built by `tests.factories.paid_booking`.

SQLite in WAL mode refuses a write in a transaction whose read snapshot went stale (another
connection committed meanwhile, e.g. a booking's follow-ups in their thread pool), so every
read helper here ends its read transaction before returning.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlmodel import Session, select

from tutor_app.core.models import Booking, Refund, SlotHold
from tutor_app.core.settings import Settings

ConfigureFn = Callable[..., Settings]

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

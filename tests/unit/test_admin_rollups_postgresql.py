"""PostgreSQL: the roll-up triggers run at commit, so a booking write that is still open (a
webhook waiting on a lock, say) holds no other booking write of the same hour or tutor up."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlmodel import Session

from tests.factories import TUTOR, lesson_start, make_booking
from tutor_app.admin import overview

AT = datetime(2026, 6, 3, 10, 15, tzinfo=UTC)


def test_an_open_booking_write_does_not_block_another_of_the_same_tutor_and_hour(
    _engine: sa.Engine, session: Session
) -> None:
    assert _engine.dialect.name == "postgresql"
    with Session(_engine) as slow:
        slow.execute(sa.text("SET lock_timeout = '3s'"))
        first = make_booking(session, start=lesson_start(days=20), created_at=AT)
        # An open transaction that changed a booking of the same tutor and hour, not committed:
        slow.execute(sa.text("UPDATE bookings SET status = 'CANCELED' WHERE id = :id"),
                     {"id": first.id})

        def other_write() -> str:
            with Session(_engine) as db:
                db.execute(sa.text("SET lock_timeout = '3s'"))
                return make_booking(db, start=lesson_start(days=21), created_at=AT).id

        with ThreadPoolExecutor(1) as pool:
            second = pool.submit(other_write).result(timeout=10)  # no wait on `slow`
        slow.rollback()

    found = overview.overview(session, overview.DayRange(date(2026, 6, 3), date(2026, 6, 3),
                                                         "UTC"))
    assert second and found.lessons == 2
    assert [(t.tutor_id, t.lessons) for t in found.per_tutor] == [(TUTOR, 2)]

"""The load benchmark at a small N: ten simulated students over Reflex's websocket on one node
with one worker (PostgreSQL, state in Redis), each signing up, walking the wizard and paying in
the dev test checkout (`bench/load.py`). No student may see an error, and the database must
hold exactly one booking per paid checkout session, none overlapping; a planned race for one
slot must end as "taken".

Collected only in the PostgreSQL run (`TEST_DATABASE=postgresql`, see tests/conftest.py).
"""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from bench.load import REDIS_BASE, run_on
from tests.conftest import reset_database
from tests.pinned_time import TEST_CATALOG_FILE

pytestmark = pytest.mark.e2e

STUDENTS = 10
REDIS_URL = f"{REDIS_BASE}/6"  # not the bench's database: `make load` may run meanwhile


def test_ten_students_book_over_the_websocket(
    database_url: str, _engine: sa.Engine, artifacts_dir: Path, app_clock_shift: timedelta
) -> None:
    assert _engine.dialect.name == "postgresql", "the load runs on PostgreSQL"
    redis.Redis.from_url(REDIS_URL).ping()  # fail clearly when Redis is not running
    reset_database(_engine)
    env = {"CATALOG_FILE": str(TEST_CATALOG_FILE),
           "CLOCK_SHIFT_SECONDS": str(app_clock_shift.total_seconds())}
    # In a thread of its own: the bench runs its own event loops, and Playwright's (the other
    # browser tests') owns this thread's. With this thread's context: Reflex registers state
    # classes in a ContextVar, which a new thread would not see when it imports the first.
    with ThreadPoolExecutor(max_workers=1) as pool:
        [result] = pool.submit(
            contextvars.copy_context().run, run_on, "1x1", database_url, (STUDENTS,),
            redis_url=REDIS_URL, log_dir=artifacts_dir, warmup=0, env=env,
        ).result()
    tally = result.tally
    assert tally.errors == []
    paid = tally.outcomes["paid"]
    taken = sum(v for k, v in tally.outcomes.items() if k.startswith("taken"))
    assert paid + taken == STUDENTS, dict(tally.outcomes)
    assert taken >= 1, "the planned race for one slot left no student with 'taken'"
    assert len(set(tally.paid_sessions)) == paid
    assert (result.booked, result.doubled, result.overlaps) == (paid, 0, 0)
    with _engine.connect() as conn:
        bookings = conn.execute(sa.text("SELECT count(*) FROM bookings")).scalar_one()
    assert bookings == paid
    assert len(tally.round_trips["pay"]) == paid + tally.outcomes.get("taken at pay", 0)
    assert result.redis_keys > 0 and all(rss > 0 for rss in result.rss_loaded)

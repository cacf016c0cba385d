"""App nodes that die or are stopped while a Stripe webhook is in the middle of its transaction.

Two nodes of the real app (`reflex run --env prod --single-port`, Reflex state in Redis) serve
one PostgreSQL database, as in production. To hold a webhook provably inside its transaction,
the test locks the checkout's slot hold row (`SELECT ... FOR UPDATE` in its own connection):
the webhook claims its event, inserts the booking and its history, then waits on that row to
convert the hold, its writes uncommitted. PostgreSQL's own views (`pg_stat_activity`,
`pg_locks`) show it waiting there holding those writes; no test-only code runs in the app.

- SIGKILL: node A's whole process group is killed with the webhook stuck; once the lock is
  released nothing it wrote survives, and Stripe's redelivery of the same signed event to
  node B books exactly once.
- SIGTERM: a node asked to stop while webhooks are stuck finishes them with their real answer
  (200, booked), commits them and their follow-ups, hands back its job leases and exits in
  time.

Collected only in the PostgreSQL run (`TEST_DATABASE=postgresql`, see tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa
from sqlmodel import Session, col, select

from tests.conftest import reset_database
from tests.e2e.app_server import ReflexApp
from tests.e2e.conftest import dev_app
from tests.factories import event, hourly_rate, make_hold, make_user, session_object
from tests.stripe_helpers import WEBHOOK_PATH, signed_headers
from tutor_app.cluster import group_pids
from tutor_app.core.models import (
    Booking,
    BookingEvent,
    BookingStatus,
    HoldStatus,
    JobLease,
    Notification,
    SlotHold,
    StripeEvent,
)
from tutor_app.core.settings import DEV_WEBHOOK_SECRET
from tutor_app.scheduling import slots

pytestmark = pytest.mark.e2e

REDIS_URL = "redis://127.0.0.1:6379"
TUTOR = "daniel-kim"
# How long a stopping node may take once its last request is answered.
EXIT_LIMIT_SECONDS = 30.0


def _node(name: str, database_url: str, artifacts_dir: Path, shift: timedelta) -> ReflexApp:
    return dev_app(f"faults-node-{name}", artifacts_dir, shift, DATABASE_URL=database_url,
                   REDIS_URL=REDIS_URL)


NodeFactory = Callable[[str], ReflexApp]


@pytest.fixture(scope="module")
def start_node(
    database_url: str, _engine: sa.Engine, artifacts_dir: Path, app_clock_shift: timedelta
) -> Iterator[NodeFactory]:
    """Start nodes of the app on the test database (each named, for its build dir and log);
    every node still running at the end is stopped."""
    assert _engine.dialect.name == "postgresql"
    redis.Redis.from_url(REDIS_URL).ping()
    reset_database(_engine)
    started: list[ReflexApp] = []

    def start(name: str) -> ReflexApp:
        app = _node(name, database_url, artifacts_dir, app_clock_shift)
        app.start(timeout=300)
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()


@pytest.fixture(scope="module")
def node_b(start_node: NodeFactory) -> ReflexApp:
    return start_node("b")


@dataclass
class Checkout:
    """A student's slot hold with its checkout session, paid: the event Stripe sends."""

    hold_id: str
    session_id: str
    event: dict[str, Any]

    @property
    def payload(self) -> bytes:
        return json.dumps(self.event).encode()


def _paid_checkouts(engine: sa.Engine, count: int) -> list[Checkout]:
    with Session(engine, expire_on_commit=False) as db:
        starts = slots.free_slots_for(db, tutor_id=TUTOR, duration_minutes=60)
        taken = {h.start_time for h in db.exec(select(SlotHold))}
        starts = [s for s in starts[::2] if s not in taken][:count]
        made = []
        for start in starts:
            student = make_user(db)
            session = session_object(tutor_id=TUTOR, start=start, amount=hourly_rate(TUTOR),
                                     user_id=student.id, email=student.email)
            hold = make_hold(db, user=student, start=start, tutor_id=TUTOR,
                             session_id=session["id"], price_cents=hourly_rate(TUTOR),
                             expires_at=start - timedelta(hours=1))
            made.append(Checkout(hold.id, session["id"], event(session)))
    return made


def _deliver(base_url: str, checkout: Checkout) -> httpx.Response:
    """POST the event as Stripe does, signed afresh."""
    return httpx.post(base_url + WEBHOOK_PATH, content=checkout.payload,
                      headers=signed_headers(checkout.payload, DEV_WEBHOOK_SECRET), timeout=120)


class RowLocks:
    """The hold rows locked FOR UPDATE in a transaction of the test's own."""

    def __init__(self, engine: sa.Engine, hold_ids: list[str]) -> None:
        self._conn = engine.connect()
        self._tx = self._conn.begin()
        self._conn.execute(sa.text("SELECT id FROM slot_holds WHERE id = ANY(:ids) FOR UPDATE"),
                           {"ids": hold_ids})

    def release(self) -> None:
        self._tx.rollback()
        self._conn.close()


def _stuck_webhooks(engine: sa.Engine, count: int, timeout: float = 60) -> list[int]:
    """Wait until `count` webhook transactions wait on the test's row locks, each holding its
    uncommitted claim of the event and insert of the booking; their backend pids."""
    query = sa.text("""
        SELECT a.pid FROM pg_stat_activity a
        WHERE a.datname = current_database() AND a.wait_event_type = 'Lock'
          AND a.query LIKE 'UPDATE slot_holds%'
          AND EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                      WHERE l.pid = a.pid AND l.granted AND l.mode = 'RowExclusiveLock'
                        AND c.relname = 'stripe_events')
          AND EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                      WHERE l.pid = a.pid AND l.granted AND l.mode = 'RowExclusiveLock'
                        AND c.relname = 'bookings')
    """)
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            pids = [row[0] for row in conn.execute(query)]
        if len(pids) >= count:
            return pids
        assert time.monotonic() < deadline, f"only {len(pids)} of {count} webhooks got stuck"
        time.sleep(0.1)


def _wait_gone(engine: sa.Engine, pids: list[int], timeout: float = 30) -> float:
    """Wait until those database backends have ended; how long it took."""
    started = time.monotonic()
    while True:
        with engine.connect() as conn:
            alive = conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity "
                                         "WHERE pid = ANY(:pids)"), {"pids": pids}).scalar_one()
        if not alive:
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, f"backends {pids} still there"
        time.sleep(0.1)


def _rows(engine: sa.Engine, checkout: Checkout) -> tuple[list[Booking], int, int, str]:
    """(bookings of the session, its stripe_events rows, its booking_events rows, hold status)."""
    with Session(engine) as db:
        bookings = list(db.exec(select(Booking).where(
            Booking.stripe_checkout_session_id == checkout.session_id)))
        events = len(db.exec(select(StripeEvent).where(
            StripeEvent.id == checkout.event["id"])).all())
        history = len(db.exec(select(BookingEvent).where(
            col(BookingEvent.booking_id).in_([b.id for b in bookings] or [""]))).all())
        hold = db.get(SlotHold, checkout.hold_id)
        assert hold is not None
        return bookings, events, history, hold.status


def _group_pids(app: ReflexApp) -> set[int]:
    """The pids of the node's process group (the reflex process and its workers)."""
    return set(group_pids(app.process_group()))


def test_sigkill_mid_webhook_leaves_nothing_and_redelivery_books_once(
    start_node: NodeFactory, node_b: ReflexApp, _engine: sa.Engine
) -> None:
    node_a = start_node("a")
    [checkout] = _paid_checkouts(_engine, 1)
    locks = RowLocks(_engine, [checkout.hold_id])
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(_deliver, node_a.url, checkout)
        try:
            [pid] = _stuck_webhooks(_engine, 1)
            assert node_a._proc is not None
            os.killpg(node_a._proc.pid, signal.SIGKILL)
            node_a._proc.wait(10)
        finally:
            locks.release()
        with pytest.raises(httpx.HTTPError):
            in_flight.result(30)  # the node died: no answer, so Stripe will retry
    ended_in = _wait_gone(_engine, [pid])

    # The dead node's transaction rolled back as a whole: no booking, no claimed event, no
    # history, the hold still the student's.
    bookings, events, history, hold = _rows(_engine, checkout)
    assert (bookings, events, history, hold) == ([], 0, 0, HoldStatus.ACTIVE)

    # Stripe redelivers the same event (signed afresh) to the surviving node: booked once.
    response = _deliver(node_b.url, checkout)
    assert response.status_code == 200, response.text
    again = _deliver(node_b.url, checkout)
    assert again.status_code == 200, again.text
    bookings, events, history, hold = _rows(_engine, checkout)
    assert len(bookings) == 1 and bookings[0].status == BookingStatus.SCHEDULED
    assert (events, history, hold) == (1, 1, HoldStatus.CONVERTED)
    print(f"\nSIGKILL with the webhook stuck (backend {pid}): its transaction ended "
          f"{ended_in:.2f} s after the lock was released; redelivery: "
          f"{response.json()['result']}, then {again.json()['result']}")


def _leases_of(engine: sa.Engine, pids: set[int]) -> list[str]:
    """The job leases (names) held by processes among `pids` (holder is host:pid:random)."""
    with Session(engine) as db:
        return [lease.name for lease in db.exec(select(JobLease))
                if int(lease.holder.split(":")[-2]) in pids]


def test_sigterm_finishes_in_flight_webhooks_and_exits(
    start_node: NodeFactory, node_b: ReflexApp, _engine: sa.Engine
) -> None:
    # Node B stops first (SIGTERM to its group): it hands back the job leases it held.
    b_pids = _group_pids(node_b)
    assert _leases_of(_engine, b_pids), "node B, the first node up, should hold job leases"
    node_b.stop()
    assert _leases_of(_engine, b_pids) == []

    node = start_node("c")  # alone now: it takes the leases at its first ticks
    node_pids = _group_pids(node)
    deadline = time.monotonic() + 30
    while not (leases_before := _leases_of(_engine, node_pids)):
        assert time.monotonic() < deadline, "node C never took a job lease"
        time.sleep(0.5)
    checkouts = _paid_checkouts(_engine, 3)
    locks = RowLocks(_engine, [c.hold_id for c in checkouts])
    released = threading.Event()
    with ThreadPoolExecutor(len(checkouts)) as pool:
        in_flight = [pool.submit(_deliver, node.url, c) for c in checkouts]
        try:
            _stuck_webhooks(_engine, len(checkouts))
            assert node._proc is not None
            node._proc.send_signal(signal.SIGTERM)  # what a deploy's stop sends the node
            time.sleep(2)  # the node is stopping, its requests still in flight
            assert node._proc.poll() is None, "the node exited with requests in flight"
        finally:
            locks.release()
            released.set()
        released_at = time.monotonic()
        answers = [future.result(60) for future in in_flight]
    try:
        node._proc.wait(EXIT_LIMIT_SECONDS)
    except Exception:
        pytest.fail(f"the node did not exit within {EXIT_LIMIT_SECONDS} s\n{node.log_tail()}")
    exited_in = time.monotonic() - released_at

    assert [a.status_code for a in answers] == [200] * len(checkouts), [a.text for a in answers]
    assert all(a.json()["result"] == "booked" for a in answers), [a.json() for a in answers]
    with Session(_engine) as db:
        for checkout in checkouts:
            bookings, events, history, hold = _rows(_engine, checkout)
            assert len(bookings) == 1 and (events, history, hold) == (1, 1, HoldStatus.CONVERTED)
            # The confirmation email, queued after the commit, was sent before the exit.
            key = f"{bookings[0].id}:confirmation"
            note = db.exec(select(Notification).where(Notification.dedupe_key == key)).first()
            assert note is not None and note.sent_at is not None, key
    leases_after = _leases_of(_engine, node_pids)
    assert leases_after == [], f"leases left behind: {leases_after}"
    print(f"\nSIGTERM with {len(checkouts)} webhooks in flight: all answered 200 (booked); "
          f"the node exited {exited_in:.2f} s after they were released; "
          f"job leases it held: {len(leases_before)} before, none after")

"""Scale-out mode: PostgreSQL, Reflex state in Redis, and several backend workers.

The real app runs with `REDIS_URL` set and three Granian workers, so a student's websocket,
their page loads, the dev checkout's webhook delivery and Stripe's retries land on different
processes. Every guarantee must still hold, because it comes from the database: one booking
per checkout session (50 concurrent deliveries across workers), and the success page turning
"confirmed" even when the webhook ran in another worker than the page's websocket.

Collected only in the PostgreSQL run (`TEST_DATABASE=postgresql`, see tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import redis
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from tests.conftest import reset_database
from tests.e2e.app_server import ReflexApp
from tests.e2e.conftest import dev_app, serving, visitor_page
from tests.e2e.steps import (
    choose_lesson,
    local_time_label,
    pay_in_dev_checkout,
    signed_up,
)
from tests.factories import event, session_object
from tests.stripe_helpers import signed_headers
from tutor_app.core.models import Booking, StripeEvent, User
from tutor_app.core.settings import DEV_WEBHOOK_SECRET
from tutor_app.scheduling import slots

pytestmark = pytest.mark.e2e

WORKERS = 3
REDIS_URL = "redis://127.0.0.1:6379"


@pytest.fixture(scope="module")
def scaled_app(
    database_url: str, _engine: sa.Engine, artifacts_dir: Path, app_clock_shift: timedelta
) -> Iterator[ReflexApp]:
    """The app on PostgreSQL with its state in Redis and WORKERS backend processes."""
    assert _engine.dialect.name == "postgresql", "scale-out mode runs on PostgreSQL"
    redis.Redis.from_url(REDIS_URL).ping()  # fail clearly when Redis is not running
    reset_database(_engine)  # the catalog as the file has it, whatever tests ran before
    app = dev_app("scaleout", artifacts_dir, app_clock_shift, DATABASE_URL=database_url,
                  REDIS_URL=REDIS_URL, GRANIAN_WORKERS=str(WORKERS))
    with serving(app):
        yield app


def _backend_workers(app: ReflexApp) -> list[int]:
    """Pids of the backend worker processes: the app's process group members that were
    forked by another member (Granian's supervisor forks one process per worker)."""
    assert app._proc is not None
    group = os.getpgid(app._proc.pid)
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        if int(fields[2]) == group:  # field 5 of stat: the process group
            parents[int(entry.name)] = int(fields[1])  # field 4: the parent pid
    return sorted(pid for pid, parent in parents.items() if parent in parents)


@pytest.fixture
def scaled_page(browser: Browser, scaled_app: ReflexApp) -> Iterator[Page]:
    with visitor_page(browser, scaled_app.url) as page:
        yield page


def test_several_workers_serve_the_app(scaled_app: ReflexApp) -> None:
    workers = _backend_workers(scaled_app)
    assert len(workers) >= WORKERS, workers


def test_book_and_pay_with_state_in_redis(
    scaled_page: Page, scaled_app: ReflexApp, _engine: sa.Engine,
    new_email: Callable[[str], str],
) -> None:
    page = scaled_page
    email = new_email("scaled")
    signed_up(page, name="Scale Student", email=email)

    _day, start = choose_lesson(page, "liam-murphy", minutes=30, day_index=2)
    pay_in_dev_checkout(page)
    expect(page).to_have_url(re.compile(r"/payment/success/?\?session_id=cs_"))
    expect(page.locator("#lesson-when")).to_contain_text(local_time_label(start))

    page.click("#view-lessons")
    expect(page.locator("#upcoming .lesson-card")).to_have_count(1)
    with Session(_engine) as db:
        user = db.exec(select(User).where(User.email == email)).one()
        booked = db.exec(select(Booking).where(Booking.user_id == user.id)).all()
    assert len(booked) == 1 and booked[0].tutor_id == "liam-murphy"


def test_concurrent_deliveries_across_workers_book_once(
    scaled_app: ReflexApp, _engine: sa.Engine
) -> None:
    with Session(_engine) as db:
        start = slots.free_slots_for(db, tutor_id="daniel-kim", duration_minutes=60)[5]
        user = User(email=f"burst-{secrets.token_hex(4)}@example.test", name="Burst")
        db.add(user)
        db.commit()
        user_id = user.id
    session = session_object(tutor_id="daniel-kim", start=start, user_id=user_id,
                             email="burst@example.test", amount=5500)
    evt = event(session)
    payload = json.dumps(evt).encode()

    def deliver(_: int) -> int:
        # Each delivery is signed afresh, as Stripe does for every retry.
        headers = signed_headers(payload, DEV_WEBHOOK_SECRET)
        response = httpx.post(scaled_app.url + "/api/stripe/webhook", content=payload,
                              headers=headers, timeout=60)
        return response.status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(deliver, range(50)))

    assert codes == [200] * 50
    with Session(_engine) as db:
        rows = db.exec(
            select(Booking).where(Booking.stripe_checkout_session_id == session["id"])
        ).all()
        events = db.exec(select(StripeEvent).where(StripeEvent.id == evt["id"])).all()
    assert len(rows) == 1
    assert rows[0].start_time == start
    assert rows[0].end_time == start + timedelta(minutes=60)
    assert rows[0].price_cents == 5500
    assert len(events) == 1

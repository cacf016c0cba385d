"""Redis (Reflex's state store) killed under a running app, then started again.

The real app runs with `REDIS_URL` pointing at a redis-server of this test's own
(`tests.fakes.redis_server`), on the test's PostgreSQL database. With Redis gone no page event
can load its state: the page must say the service is briefly unavailable (a toast from
`state.unavailable`), not hang silently nor show a raw error. The Stripe webhook needs only
PostgreSQL, so it still books. Once Redis is back (empty, as after a crash) the same app
serves the page again, without a restart.

Collected only in the PostgreSQL run (`TEST_DATABASE=postgresql`, see tests/conftest.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from tests.conftest import reset_database
from tests.e2e.app_server import ReflexApp
from tests.e2e.conftest import app_page, dev_app, serving
from tests.factories import event, hourly_rate, make_user, session_object
from tests.fakes.redis_server import RedisServer
from tests.stripe_helpers import WEBHOOK_PATH, signed_headers
from tutor_app.core.models import Booking, BookingStatus
from tutor_app.core.settings import DEV_WEBHOOK_SECRET
from tutor_app.scheduling import slots
from tutor_app.state.unavailable import UNAVAILABLE_TITLE

pytestmark = pytest.mark.e2e

TUTOR = "liam-murphy"


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def app_on_redis(
    redis_server: RedisServer, database_url: str, _engine: sa.Engine, artifacts_dir: Path,
    app_clock_shift: timedelta,
) -> Iterator[ReflexApp]:
    assert _engine.dialect.name == "postgresql"
    reset_database(_engine)
    app = dev_app("faults-redis", artifacts_dir, app_clock_shift, DATABASE_URL=database_url,
                  REDIS_URL=redis_server.url)
    with serving(app):
        yield app


@pytest.fixture
def redis_page(browser: Browser, app_on_redis: ReflexApp, artifacts_dir: Path,
               request: pytest.FixtureRequest) -> Iterator[Page]:
    with app_page(browser, app_on_redis, artifacts_dir, request) as page:
        yield page


def _book_by_webhook(app: ReflexApp, engine: sa.Engine) -> tuple[int, str, list[Booking]]:
    """A paid checkout session delivered to the webhook: (status, result, its bookings)."""
    with Session(engine, expire_on_commit=False) as db:
        student = make_user(db)
        start = slots.free_slots_for(db, tutor_id=TUTOR, duration_minutes=60)[3]
    session = session_object(tutor_id=TUTOR, start=start, amount=hourly_rate(TUTOR),
                             user_id=student.id, email=student.email)
    payload = json.dumps(event(session)).encode()
    response = httpx.post(app.url + WEBHOOK_PATH, content=payload,
                          headers=signed_headers(payload, DEV_WEBHOOK_SECRET), timeout=60)
    with Session(engine) as db:
        booked = list(db.exec(select(Booking).where(
            Booking.stripe_checkout_session_id == session["id"])))
    result = response.json().get("result", "") if response.status_code == 200 else response.text
    return response.status_code, result, booked


def test_redis_down_page_says_unavailable_webhook_books_and_page_recovers(
    redis_page: Page, redis_server: RedisServer, app_on_redis: ReflexApp, _engine: sa.Engine
) -> None:
    page = redis_page
    page.goto("/")
    expect(page.locator("#tutor-grid")).to_be_visible()

    redis_server.kill()
    killed_at = time.monotonic()
    page.reload()  # a page load: static, but its on_load events need their state
    toast = page.get_by_text(UNAVAILABLE_TITLE)
    expect(toast).to_be_visible(timeout=30_000)
    told_in = time.monotonic() - killed_at
    expect(page.locator("#tutor-grid")).to_have_count(0)
    assert "Traceback" not in page.content() and "ConnectionError" not in page.content()

    # The webhook needs only PostgreSQL: a payment is booked while Redis is down.
    status, result, booked = _book_by_webhook(app_on_redis, _engine)
    assert (status, result) == (200, "booked")
    assert len(booked) == 1 and booked[0].status == BookingStatus.SCHEDULED

    redis_server.start()  # the same port, empty (as after a crash)
    back_at = time.monotonic()
    page.reload()
    expect(page.locator("#tutor-grid")).to_be_visible(timeout=30_000)
    recovered_in = time.monotonic() - back_at
    expect(toast).to_have_count(0)
    print(f"\nRedis down: the page said so {told_in:.1f} s after the kill; the webhook booked "
          f"({result}); Redis back: the page worked again in {recovered_in:.1f} s, no restart")

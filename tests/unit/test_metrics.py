"""The metrics domain code moves: refunds by outcome, periodic jobs' lag and results, the
event loop's lag, and several worker processes added up in multiprocess mode."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlmodel import Session

from tests.factories import TUTOR, first_free, make_booking, make_user
from tests.fakes.fake_stripe import FakeStripe
from tests.fakes.server import free_port
from tests.money_helpers import ConfigureFn, hold_of
from tutor_app.api import metrics as metrics_route
from tutor_app.booking import checkout, refunds
from tutor_app.core import jobs, metrics, request_context
from tutor_app.core.settings import PROJECT_ROOT
from tutor_app.payments import stripe_events


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _taken_slot_payment(session: Session, fake: FakeStripe) -> dict[str, object]:
    """A session paid at Stripe for a slot someone else's booking took meanwhile."""
    user = make_user(session)
    started = checkout.start_checkout(user=user, tutor_id=TUTOR,
                                      start=first_free(session, days_ahead=3),
                                      duration_minutes=60)
    paid = fake.complete_session(started.session_id)
    make_booking(session, start=hold_of(session, paid["id"]).start_time, user=make_user(session))
    return paid


def test_refunds_are_counted_by_outcome(
    fake: FakeStripe, session: Session, configure: ConfigureFn
) -> None:
    refunded, failed = value("tutorly_refunds_total", outcome="refunded"), \
        value("tutorly_refunds_total", outcome="failed")
    paid = _taken_slot_payment(session, fake)
    configure(STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}")  # Stripe unreachable
    assert stripe_events.handle_event(
        fake.build_event("checkout.session.completed", paid)) == "refund_needed"
    assert value("tutorly_refunds_total", outcome="failed") == failed + 1
    assert value("tutorly_refunds_total", outcome="refunded") == refunded

    configure(STRIPE_API_BASE=fake.url)
    assert refunds.retry_pending_refunds() == 1  # the retry job finishes it
    assert value("tutorly_refunds_total", outcome="refunded") == refunded + 1
    assert value("tutorly_paid_sessions_total", outcome="refund_needed") >= 1


def test_periodic_jobs_record_lag_success_and_failure(database: sa.Engine) -> None:
    def boom() -> None:
        raise RuntimeError("job broke")

    async def scenario() -> None:
        tasks = [asyncio.create_task(jobs.run_periodic("metrics-ok", 0.05, lambda: None,
                                                       ttl=30, holder="me")),
                 asyncio.create_task(jobs.run_periodic("metrics-boom", 0.05, boom,
                                                       ttl=30, holder="me"))]
        await asyncio.sleep(0.3)
        time.sleep(0.4)  # something blocks the event loop: the next ticks start late
        await asyncio.sleep(0.3)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    ok_runs = value("tutorly_job_lag_seconds_count", job="metrics-ok")
    late = value("tutorly_job_lag_seconds_sum", job="metrics-ok")
    asyncio.run(scenario())
    assert value("tutorly_job_lag_seconds_count", job="metrics-ok") >= ok_runs + 3
    assert value("tutorly_job_lag_seconds_sum", job="metrics-ok") - late >= 0.3
    assert value("tutorly_job_last_success_timestamp_seconds", job="metrics-ok") > \
        time.time() - 5
    assert value("tutorly_job_failures_total", job="metrics-boom") >= 3
    assert value("tutorly_job_last_success_timestamp_seconds", job="metrics-boom") == 0
    assert value("tutorly_job_failures_total", job="metrics-ok") == 0


def test_each_job_run_logs_under_an_id_of_its_own(database: sa.Engine) -> None:
    seen: list[str | None] = []

    async def scenario() -> None:
        task = asyncio.create_task(jobs.run_periodic(
            "metrics-ids", 0.02, lambda: seen.append(request_context.current_request_id()),
            ttl=30, holder="me"))
        await asyncio.sleep(0.3)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    assert len(seen) >= 2 and None not in seen
    assert len(set(seen)) == len(seen)


def test_the_event_loop_probe_sees_a_blocked_loop() -> None:
    async def scenario() -> None:
        probe = asyncio.create_task(metrics.watch_event_loop(0.02))
        await asyncio.sleep(0.1)
        time.sleep(0.3)  # a sync call on the loop, as a bug would make
        await asyncio.sleep(0.1)
        probe.cancel()
        await asyncio.gather(probe, return_exceptions=True)

    count = value("tutorly_event_loop_lag_seconds_count")
    total = value("tutorly_event_loop_lag_seconds_sum")
    asyncio.run(scenario())
    assert value("tutorly_event_loop_lag_seconds_count") >= count + 5
    assert value("tutorly_event_loop_lag_seconds_sum") - total >= 0.25
    assert value("tutorly_event_loop_lag_seconds_bucket", le="0.25") < \
        value("tutorly_event_loop_lag_seconds_bucket", le="0.5")


WORKER = """
from tutor_app.core import metrics
metrics.booking_created(kind="lesson", source="webhook")
metrics.webhook_answered(0.2, result="ok")
metrics.job_finished("reminders", ok=True)
"""


def test_multiprocess_mode_adds_up_every_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "ENV_FILE": ""}
    for _ in range(2):  # two workers, two processes
        subprocess.run([sys.executable, "-c", WORKER], env=env, cwd=PROJECT_ROOT, check=True,
                       timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = metrics_route._exposition().decode()
    assert 'tutorly_bookings_created_total{kind="lesson",source="webhook"} 2.0' in text
    assert 'tutorly_stripe_webhook_seconds_count{result="ok"} 2.0' in text
    assert 'tutorly_job_last_success_timestamp_seconds{job="reminders"}' in text

"""Job leases (one worker per job), the periodic runner and the run-job command."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from tests.factories import make_booking, make_user
from tests.pinned_time import run_cli
from tutor_app import cli
from tutor_app.core import clock, jobs
from tutor_app.core.models import Booking
from tutor_app.core.settings import Settings
from tutor_app.mail import notifications

ConfigureFn = Callable[..., Settings]
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_lease_is_exclusive_between_two_holders(database: sa.Engine) -> None:
    assert jobs.acquire_lease("reminders", "worker-a", 60, now=T0) is True
    assert jobs.acquire_lease("reminders", "worker-b", 60, now=T0 + timedelta(seconds=1)) is False
    assert jobs.lease_holder("reminders", now=T0 + timedelta(seconds=2)) == "worker-a"
    # Another job's lease is independent.
    assert jobs.acquire_lease("retries", "worker-b", 60, now=T0) is True


def test_expired_lease_is_taken_over(database: sa.Engine) -> None:
    assert jobs.acquire_lease("reminders", "worker-a", 60, now=T0)

    assert jobs.acquire_lease("reminders", "worker-b", 60, now=T0 + timedelta(seconds=61))
    assert not jobs.acquire_lease("reminders", "worker-a", 60, now=T0 + timedelta(seconds=62))
    assert jobs.lease_holder("reminders", now=T0 + timedelta(seconds=62)) == "worker-b"


def test_same_holder_renews_and_extends(database: sa.Engine) -> None:
    assert jobs.acquire_lease("reminders", "worker-a", 60, now=T0)
    assert jobs.acquire_lease("reminders", "worker-a", 60, now=T0 + timedelta(seconds=50))

    # Without the renewal this would have expired at T0+60.
    assert not jobs.acquire_lease("reminders", "worker-b", 60, now=T0 + timedelta(seconds=70))
    assert jobs.acquire_lease("reminders", "worker-b", 60, now=T0 + timedelta(seconds=111))


def test_release_frees_the_lease_only_for_its_holder(database: sa.Engine) -> None:
    assert jobs.acquire_lease("reminders", "worker-a", 600, now=T0)

    assert jobs.release_lease("reminders", "worker-b") is False
    assert not jobs.acquire_lease("reminders", "worker-b", 600, now=T0)
    assert jobs.release_lease("reminders", "worker-a") is True
    assert jobs.acquire_lease("reminders", "worker-b", 600, now=T0)


def test_one_of_many_simultaneous_contenders_gets_the_lease(database: sa.Engine) -> None:
    barrier = threading.Barrier(8)
    results: dict[str, bool] = {}

    def contend(holder: str) -> None:
        barrier.wait()
        results[holder] = jobs.acquire_lease("contested", holder, 60)

    threads = [threading.Thread(target=contend, args=(f"w{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(results) == 8
    assert sum(results.values()) == 1


def test_run_periodic_runs_the_job_in_one_worker_only(database: sa.Engine) -> None:
    runs: Counter[str] = Counter()

    def job_for(holder: str) -> Callable[[], None]:
        return lambda: runs.update([holder])

    async def scenario() -> None:
        tasks = [
            asyncio.create_task(jobs.run_periodic("tick", 0.02, job_for(h), ttl=30, holder=h))
            for h in ("worker-a", "worker-b", "worker-c")
        ]
        await asyncio.sleep(0.6)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(scenario())

    assert len(runs) == 1, runs
    assert next(iter(runs.values())) >= 2  # the holder keeps the lease from run to run
    # Stopping the workers hands the lease back at once (a restart need not wait out the ttl).
    assert jobs.lease_holder("tick") is None


def test_notification_jobs_are_registered_every_minute() -> None:
    registry = jobs.JOBS

    assert registry["reminders"].interval == 60
    assert registry["notification-retries"].interval == 60
    assert registry["notification-retries"].fn is notifications.run_retries
    assert registry["reminders"].ttl >= 60


def _due_booking(session: Session) -> Booking:
    user = make_user(session, email="ann@example.com", name="Ann", timezone="Europe/London")
    start = (clock.now() + timedelta(hours=5)).replace(microsecond=0)
    return make_booking(session, user=user, start=start, minutes=30, tutor_id="liam-murphy",
                        created_at=clock.now() - timedelta(days=3))


def test_run_job_command_runs_one_job_once(
    session: Session, configure: ConfigureFn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox = tmp_path / "outbox"
    configure(SMTP_URL=None, APP_ENV="dev", OUTBOX_DIR=str(outbox))
    _due_booking(session)

    assert cli.main(["run-job", "reminders"]) == 0
    assert capsys.readouterr().out.strip() == "reminders: 1"
    assert len(list(outbox.glob("*.eml"))) == 1
    assert cli.main(["run-job", "reminders"]) == 0
    assert len(list(outbox.glob("*.eml"))) == 1

    assert cli.main(["run-job", "no-such-job"]) == 2
    assert "unknown job 'no-such-job'" in capsys.readouterr().err


def test_run_job_from_the_command_line(
    session: Session, configure: ConfigureFn, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    configure(SMTP_URL=None, APP_ENV="dev", OUTBOX_DIR=str(outbox))
    _due_booking(session)

    done = run_cli("run-job", "reminders")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "reminders: 1"
    [mail] = list(outbox.glob("*.eml"))
    assert b"Reminder: lesson with Liam Murphy" in mail.read_bytes()

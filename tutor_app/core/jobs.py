"""Periodic background jobs, run by whichever worker holds the job's lease.

With several workers (and several machines) every process runs `periodic_jobs()`; a row in
`job_leases` per job decides which one actually does the work, so reminders are not scanned
N times a minute. The lease is taken and renewed in one atomic statement
(`INSERT ... ON CONFLICT DO UPDATE ... WHERE expired OR mine`, the same SQL on SQLite and
PostgreSQL) and renewed while a run lasts; a worker that dies loses it when it expires.

The lease saves work; it is not what makes the jobs correct. Every job must be safe to run
twice at once (the notification jobs are: each email is claimed by a unique row), which is
also why `python -m tutor_app.cli run-job <name>` runs a job directly, without the lease.

The jobs themselves live with their domains; `tutor_app.wiring.register_all()` registers
them here at start-up (the app, the CLI, the tests), so this module imports none of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tutor_app.core import clock, metrics, request_context
from tutor_app.core import db as app_db
from tutor_app.core.models import JobLease

log = logging.getLogger(__name__)


def _new_holder() -> str:
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# This process's name in `job_leases.holder`: host, pid and a random part (pids repeat).
HOLDER = _new_holder()


def _renew_holder_after_fork() -> None:
    global HOLDER
    HOLDER = _new_holder()


# Granian forks a node's workers from a process that has imported the app already: each
# worker needs a name of its own, or every worker of a node would hold the one lease at once.
os.register_at_fork(after_in_child=_renew_holder_after_fork)


@dataclass(frozen=True)
class Job:
    """A one-shot function run every `interval` seconds by one worker at a time."""

    name: str
    fn: Callable[[], object]
    interval: float
    # How long a lease lasts without renewal: how soon another worker takes over a dead one.
    ttl: float

    def run_once(self) -> object:
        """Run the job now in this thread (tests, CLI)."""
        return self.fn()


JOBS: dict[str, Job] = {}


def register_job(
    name: str, fn: Callable[[], object], *, interval: float, ttl: float | None = None
) -> Job:
    """Add (or replace, so registering twice is harmless) a periodic job. Names are lease
    keys."""
    if not name or len(name) > 64:
        raise ValueError("job names must have 1 to 64 characters")
    if interval <= 0:
        raise ValueError("interval must be positive")
    job = Job(name=name, fn=fn, interval=interval, ttl=ttl or max(3 * interval, 60.0))
    JOBS[name] = job
    return job


def run_job(name: str) -> object:
    """Run one registered job once, now, in this thread; KeyError names unknown jobs."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(sorted(JOBS)) or 'none'}")
    return JOBS[name].run_once()


def _ttl(ttl: timedelta | float) -> timedelta:
    return ttl if isinstance(ttl, timedelta) else timedelta(seconds=ttl)


def acquire_lease(
    name: str, holder: str, ttl: timedelta | float, *, now: datetime | None = None
) -> bool:
    """Take or renew the lease `name` for `ttl`; True when `holder` now holds it.

    One statement, so it is atomic on both databases: insert the lease, or take over the
    existing row when it has expired or already belongs to `holder` (a renewal).
    Owns its transaction.
    """
    now = now or clock.now()
    expires_at = now + _ttl(ttl)
    engine = app_db.engine()
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    table = JobLease.__table__  # type: ignore[attr-defined]
    insert = dialect.insert(table).values(name=name, holder=holder, expires_at=expires_at)
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.name],
        set_={"holder": insert.excluded.holder, "expires_at": insert.excluded.expires_at},
        where=sa.or_(table.c.expires_at <= now, table.c.holder == holder),
    ).returning(table.c.holder)  # no row back when the WHERE kept the other holder's lease
    with engine.begin() as conn:
        taken_by = conn.execute(statement).scalar_one_or_none()
    return taken_by == holder


def release_lease(name: str, holder: str) -> bool:
    """Give the lease up early (only `holder` can); True when it was held. Owns its transaction."""
    table = JobLease.__table__  # type: ignore[attr-defined]
    with app_db.engine().begin() as conn:
        result = conn.execute(
            sa.delete(table).where(table.c.name == name, table.c.holder == holder)
        )
    return result.rowcount == 1


def lease_holder(name: str, *, now: datetime | None = None) -> str | None:
    """Who holds the lease `name` now (None when free or expired): for status pages."""
    now = now or clock.now()
    with app_db.session() as db:
        row = db.get(JobLease, name)
        if row is None or row.expires_at <= now:
            return None
        return row.holder


async def run_periodic(
    name: str,
    interval: float,
    fn: Callable[[], object],
    *,
    ttl: float | None = None,
    holder: str | None = None,
) -> None:
    """Forever: every `interval` seconds, run `fn` in a thread if this process holds the lease.

    The lease is renewed every third of its ttl while `fn` runs, so a long run is not taken
    over. Errors are logged and the loop goes on; cancel the task to stop it. Each run records
    how late it started (`tutorly_job_lag_seconds`: a busy event loop or a slow lease
    statement) and whether it succeeded (core.metrics).
    """
    ttl = ttl or max(3 * interval, 60.0)
    holder = holder or HOLDER  # read now: this process's own name, also after a fork
    acquiring: asyncio.Future[bool] | None = None
    loop = asyncio.get_running_loop()
    running: asyncio.Future[object] | None = None
    try:
        # Spread the workers' first ticks so they do not all hit the database at once.
        first = random.uniform(0, min(interval, 5.0))
        due = loop.time() + first
        await asyncio.sleep(first)
        while True:
            try:
                acquiring = asyncio.ensure_future(
                    asyncio.to_thread(acquire_lease, name, holder, ttl)
                )
                if await asyncio.shield(acquiring):
                    metrics.job_started(name, loop.time() - due)
                    # Each run logs under an id of its own (core.request_context), as does
                    # what it sets off.
                    running = asyncio.ensure_future(
                        asyncio.to_thread(request_context.call_with_new_request_id, fn))
                    await _run_holding(name, running, ttl, holder)
                    metrics.job_finished(name, ok=True)
            except Exception:
                log.exception("job %s failed", name)
                metrics.job_finished(name, ok=False)
            due = loop.time() + interval
            await asyncio.sleep(interval)
    except asyncio.CancelledError:
        # Shutting down: hand the lease back so a restarted worker need not wait out the ttl
        # (after an acquire still running in its thread, or it would take the lease again;
        # after a run still going on in its thread, which cancelling does not stop, or another
        # worker would start the job while this one still runs it).
        for pending in (acquiring, running):
            with contextlib.suppress(BaseException):
                if pending is not None and not pending.done():
                    await pending
        with contextlib.suppress(Exception):
            release_lease(name, holder)
        raise


async def _run_holding(
    name: str, task: asyncio.Future[object], ttl: float, holder: str
) -> None:
    """Wait for a run, renewing the lease every third of its ttl."""
    while True:
        done, _ = await asyncio.wait({task}, timeout=ttl / 3)
        if done:
            result = task.result()
            if result:
                log.info("job %s: %s", name, result)
            return
        if not await asyncio.to_thread(acquire_lease, name, holder, ttl):
            log.warning("job %s: lost its lease during a long run", name)


async def periodic_jobs() -> None:
    """Run every registered job on its interval; give it to `app.register_lifespan_task`."""
    jobs = dict(JOBS)
    if not jobs:
        log.warning("no periodic jobs are registered (was tutor_app.wiring.register_all run?)")
        return
    log.info("periodic jobs: %s (holder %s)", ", ".join(sorted(jobs)), HOLDER)
    await asyncio.gather(
        *(run_periodic(job.name, job.interval, job.fn, ttl=job.ttl) for job in jobs.values())
    )

"""Periodic jobs across processes: forked like a node's Granian workers, one run at a time.

A node's workers are forked from a process that has imported the app; every one of them runs
`periodic_jobs`. Each must hold the job's lease under a name of its own, so across all the
workers (and nodes: they share the database) a job runs in one process at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from pathlib import Path

import sqlalchemy as sa

from tutor_app.core import db as app_db
from tutor_app.core import jobs

PROCESSES = 4
RUN_SECONDS = 0.1


def _now() -> float:
    """The machine's monotonic clock, the same in every process (never the test's clock)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def _worker(runs: Path, names: Path, seconds: float) -> None:
    """One forked worker: run the job on its lease for `seconds`, as `periodic_jobs` does."""
    app_db.engine().dispose(close=False)  # never share the parent's pooled connections
    with names.open("a") as out:
        out.write(f"{os.getpid()} {jobs.HOLDER}\n")

    def job() -> None:
        started = _now()
        time.sleep(RUN_SECONDS)
        with runs.open("a") as out:
            out.write(f"{os.getpid()} {started} {_now()}\n")

    async def for_a_while() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(jobs.run_periodic("across", 0.05, job, ttl=5), seconds)

    asyncio.run(for_a_while())


def test_forked_workers_each_have_a_holder_and_run_a_job_one_at_a_time(
    database: sa.Engine, tmp_path: Path
) -> None:
    runs, names = tmp_path / "runs", tmp_path / "names"
    runs.touch()
    children = []
    for _ in range(PROCESSES):
        pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            code = 1
            try:
                _worker(runs, names, seconds=3.0)
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]

    assert codes == [0] * PROCESSES
    holders = dict(line.split() for line in names.read_text().splitlines())
    assert sorted(int(pid) for pid in holders) == sorted(children)
    assert len(set(holders.values())) == PROCESSES  # a name of its own after the fork
    spans = sorted(
        (float(start), float(end), int(pid))
        for pid, start, end in (line.split() for line in runs.read_text().splitlines())
    )
    assert len(spans) >= 5, spans
    for (_, end, pid), (start, _, next_pid) in itertools.pairwise(spans):
        assert start >= end, f"{pid} and {next_pid} ran the job at the same time"
    # Every worker stopped and handed the lease back.
    assert jobs.lease_holder("across") is None

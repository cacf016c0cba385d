"""The time the tests run at (and the tutor catalog they use), and how processes of the app
they start share them.

Every test runs with the app's clock (tutor_app.core.clock) starting at TEST_NOW, never at the
machine's date. Two settings move it, so the suite can be run on any day it must pass on:

- `TEST_NOW=2028-02-29T06:30:00+00:00`: the app's clock starts there in every test;
- `MACHINE_DATE=...`: the machine's own clock (time.time, datetime.now) is moved for the whole
  test process with time-machine, so a test or a module that reads the machine's date instead
  of the app's clock fails on the days it would fail for real.

The tests load their own tutor catalog, TEST_CATALOG_FILE (a copy of the product's taken when
the tests were written), so editing the product's catalog cannot change their expectations;
a unit test checks the product's catalog on its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from time_machine import escape_hatch

from tutor_app.core import clock
from tutor_app.core.settings import PROJECT_ROOT

TEST_NOW = datetime.fromisoformat(os.environ.get("TEST_NOW", "2026-06-10T09:00:00+00:00"))
MACHINE_DATE = os.environ.get("MACHINE_DATE")
TEST_CATALOG_FILE = Path(__file__).resolve().parent / "data" / "tutors.json"


def real_now() -> datetime:
    """The machine's real time, even while MACHINE_DATE moves this process's."""
    if not escape_hatch.is_travelling():
        return datetime.now(UTC)
    return datetime.fromtimestamp(escape_hatch.time.time(), UTC)


def app_process_env(base: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    """`base` (default: this process's environment) plus `extra`, with this test's clock and
    catalog, so a process of the app (CLI, server) reads the same time and tutors as the test
    that arranged its data."""
    env = dict(os.environ if base is None else base)
    env["CATALOG_FILE"] = str(TEST_CATALOG_FILE)
    env["CLOCK_SHIFT_SECONDS"] = str((clock.now() - real_now()).total_seconds())
    env.pop("MACHINE_DATE", None)
    env.setdefault("ENV_FILE", "")  # never a developer's `.env` (tutor_app.core.settings)
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120
            ) -> subprocess.CompletedProcess[str]:
    """`python -m tutor_app.cli ARGS` as its own process, with `env` (default: this test's,
    clock included); its exit code and output are the caller's to check."""
    return subprocess.run(
        [sys.executable, "-m", "tutor_app.cli", *args], cwd=PROJECT_ROOT,
        env=app_process_env() if env is None else env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )

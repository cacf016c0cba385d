"""The time the tests run at, and how processes of the app they start share it.

Every test runs with the app's clock (tutor_app.core.clock) starting at TEST_NOW, never at the
machine's date. Two settings move it, so the suite can be run on any day it must pass on:

- `TEST_NOW=2028-02-29T06:30:00+00:00`: the app's clock starts there in every test;
- `MACHINE_DATE=...`: the machine's own clock (time.time, datetime.now) is moved for the whole
  test process with time-machine, so a test or a module that reads the machine's date instead
  of the app's clock fails on the days it would fail for real.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from time_machine import escape_hatch

from tutor_app.core import clock

TEST_NOW = datetime.fromisoformat(os.environ.get("TEST_NOW", "2026-06-10T09:00:00+00:00"))
MACHINE_DATE = os.environ.get("MACHINE_DATE")


def real_now() -> datetime:
    """The machine's real time, even while MACHINE_DATE moves this process's."""
    if not escape_hatch.is_travelling():
        return datetime.now(UTC)
    return datetime.fromtimestamp(escape_hatch.time.time(), UTC)


def app_process_env(base: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    """`base` (default: this process's environment) plus `extra`, with this test's clock, so
    a process of the app (CLI, server) reads the same time as the test that arranged its data."""
    env = dict(os.environ if base is None else base)
    env["CLOCK_SHIFT_SECONDS"] = str((clock.now() - real_now()).total_seconds())
    env.pop("MACHINE_DATE", None)
    env.setdefault("ENV_FILE", "")  # never a developer's `.env` (tutor_app.core.settings)
    env.update(extra)
    return env

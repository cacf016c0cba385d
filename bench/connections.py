"""Memory a backend worker holds per connected student, beside the blank Reflex app's per tab.

The load benchmark's "per connected student" is the workers' RSS growth over a whole walk, so
it also holds the heap's high-water mark of the events in flight at once. This one isolates
what a connection itself costs: tabs open a page and stay connected, ten at a time (few events
in flight), in three batches of `BENCH_CONNECTIONS_N` (default 100); the figure is the worker's
RSS growth divided by the tabs open, after each batch.

Both apps run as `reflex run --env prod --single-port` with one backend worker and Reflex's
Redis state manager (each on a Redis database of its own, flushed before and after):
- the tutor app on a fresh PostgreSQL database, each tab a signed-in student on
  `/book-now?tutor=…` until the wizard's first answer (length step) is on the tab;
- `bench/blank_app`, each tab on `/` until its first state arrives.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import Report, Row, fresh_database, load_nodes, verdict
from bench.load import KB_TARGET, LOG_DIR, REDIS_BASE, bookable_tutors, rss, worker_processes
from bench.load_client import Tab, Tally, sign_up_in_database, source_address, state_names
from tests.e2e.app_server import PROJECT_ROOT, ReflexApp
from tutor_app.cluster import group_pids

N = int(os.environ.get("BENCH_CONNECTIONS_N", "100"))
BATCHES = 3
AT_ONCE = 10
WARMUP = 5
TIMEOUT = 60.0
APP_REDIS_DB, BLANK_REDIS_DB = 7, 8
# What the app must not take from a developer's environment (as the load bench's nodes), and
# REDIS_URL: each app is given a Redis database of its own here.
DROPPED_ENV = (*load_nodes.DROPPED_ENV, "REDIS_URL")


@dataclass
class Growth:
    """RSS growth of one app's worker after each batch of tabs."""

    app: str
    tabs: list[int] = field(default_factory=list)
    grown: list[int] = field(default_factory=list)  # bytes over the RSS before the first batch
    errors: list[str] = field(default_factory=list)

    def kb_per_tab(self, batch: int) -> float:
        return self.grown[batch] / self.tabs[batch] / 1024


# How one tab of an app opens: (tab index) -> (path, predicate that the page's state arrived).
Opener = Callable[[Tab, int], tuple[str, Callable[[], bool]]]


async def _measure(app: ReflexApp, growth: Growth, cookies: list[str], opener: Opener) -> None:
    workers = worker_processes(group_pids(app.process_group()))
    tally = Tally()
    tabs: list[Tab] = []

    async def open_tab(index: int) -> None:
        tab = Tab(app.url, app.url, cookies[index] + "tz=America/New_York",
                  source_address(index), tally, TIMEOUT)
        tabs.append(tab)
        path, arrived = opener(tab, index)
        await tab.open(path, arrived)

    try:
        for index in range(WARMUP):  # first-use costs (imports, caches) are not per tab
            await open_tab(index)
        await asyncio.sleep(2.0)
        before = sum(rss(workers))
        index = WARMUP
        for _ in range(BATCHES):
            for _ in range(N // AT_ONCE):
                await asyncio.gather(*(open_tab(i) for i in range(index, index + AT_ONCE)))
                index += AT_ONCE
            await asyncio.sleep(2.0)  # the worker settles: no event in flight
            growth.tabs.append(index - WARMUP)
            growth.grown.append(sum(rss(workers)) - before)
            print(f"  {growth.app}: {index - WARMUP} tabs connected, worker RSS "
                  f"+{growth.grown[-1] / 2**20:.1f} MB = {growth.kb_per_tab(-1):.0f} KB a tab",
                  flush=True)
    finally:
        growth.errors = list(tally.errors)
        await asyncio.gather(*(tab.close() for tab in tabs), return_exceptions=True)


def _flush(redis_db: int) -> None:
    import redis

    client = redis.Redis.from_url(f"{REDIS_BASE}/{redis_db}")
    try:
        client.flushdb()
    finally:
        client.close()


def _tutor_app(database_url: str) -> tuple[Growth, ReflexApp, list[str], Opener]:
    app = ReflexApp(
        app_dir=PROJECT_ROOT, name="tutor-bench-connections",
        log_path=LOG_DIR / "bench-connections-app.log", ready_paths=("/api/health", "/"),
        drop_env=DROPPED_ENV,
        env={"DATABASE_URL": database_url, "APP_ENV": "dev", "ENV_FILE": "",
             "REDIS_URL": f"{REDIS_BASE}/{APP_REDIS_DB}", "GRANIAN_WORKERS": "1"},
    )
    app.extra_env["APP_URL"] = app.url
    tutors = [tutor_id for tutor_id, _ in bookable_tutors(database_url)]
    signed = sign_up_in_database(database_url, range(WARMUP + BATCHES * N), "connections")
    cookies = [cookie + "; " for cookie, _ in signed]
    wizard, _ = state_names()

    def opener(tab: Tab, index: int) -> tuple[str, Callable[[], bool]]:
        return (f"/book-now?tutor={tutors[index % len(tutors)]}",
                lambda: bool(tab.var(wizard, "loaded")) and tab.var(wizard, "step") == 2)

    return Growth("tutor app"), app, cookies, opener


def _blank_app() -> tuple[Growth, ReflexApp, list[str], Opener]:
    app = ReflexApp(
        app_dir=Path(__file__).resolve().parent / "blank_app", name="tutor-bench-blank-conn",
        log_path=LOG_DIR / "bench-connections-blank.log", drop_env=DROPPED_ENV,
        env={"REDIS_URL": f"{REDIS_BASE}/{BLANK_REDIS_DB}", "GRANIAN_WORKERS": "1"},
    )

    def opener(tab: Tab, index: int) -> tuple[str, Callable[[], bool]]:
        return "/", lambda: bool(tab.state)

    return Growth("blank app"), app, [""] * (WARMUP + BATCHES * N), opener


def run(report: Report, backends: tuple[str, ...] = ("postgresql",)) -> None:
    del backends  # the tutor app runs on PostgreSQL, as in production
    print(f"connections: {BATCHES} batches of {N} tabs, {AT_ONCE} opening at a time, one "
          f"worker per app", flush=True)
    LOG_DIR.mkdir(exist_ok=True)
    results: list[Growth] = []
    with fresh_database("postgresql") as database_url:
        for make, redis_db in ((lambda: _tutor_app(database_url), APP_REDIS_DB),
                               (_blank_app, BLANK_REDIS_DB)):
            growth, app, cookies, opener = make()
            _flush(redis_db)
            try:
                with app:  # one app at a time: they would share the CPUs
                    asyncio.run(_measure(app, growth, cookies, opener))
            finally:
                _flush(redis_db)
            results.append(growth)
    mine, blank = results
    last = len(mine.tabs) - 1
    report.add(Row(
        bench="connections",
        measure=f"worker memory per connected student ({mine.tabs[last]} tabs on /book-now)",
        value=f"{mine.kb_per_tab(last):.0f} KB; errors {len(mine.errors)}",
        reference=f"blank app {blank.kb_per_tab(last):.0f} KB a tab; errors {len(blank.errors)}",
        ratio=f"+{mine.kb_per_tab(last) - blank.kb_per_tab(last):.0f} KB",
        target=f"< {KB_TARGET:.0f} KB",
        verdict=verdict(mine.kb_per_tab(last) < KB_TARGET and not mine.errors),
    ))
    for growth in results:
        for error in growth.errors[:3]:
            print(f"  {growth.app}: {error}", flush=True)

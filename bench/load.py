"""Simulated students booking over Reflex's websocket, on three layouts of the real app.

Layouts (`bench/load_nodes.py`, all behind nginx): 1 node x 1 worker, 1 node x 3 workers,
2 nodes of 1 worker; each on a fresh PostgreSQL database and Redis database `REDIS_DB`
(flushed first), the app in local-dev mode without Stripe keys, so "pay" is the dev test
checkout, whose "Pay" posts the signed `checkout.session.completed` to the app's own webhook
route.

For each N (50, 100, 200 by default) N new students sign up through `POST /api/auth/signup`
(each from a loopback address of its own: the app rate-limits sign-ups and checkouts per
address), then all walk the wizard at once over Socket.IO (`bench/load_client.py`), starting
`RAMP_S` apart and thinking `THINK_S` between steps: open `/book-now?tutor=…`, length, day,
time, review, to payment, pay, the dev checkout's load and pay. Every tenth student aims at
the slot of the one before (a deliberate collision: it must end as "taken", never as a second
booking). Each event's round trip is emit -> the delta that answers it. With every student
still connected: RSS of each backend worker (psutil) and the Redis memory of their state keys.
Then the database must hold exactly one SCHEDULED booking per paid checkout session and no
two overlapping bookings of a tutor.

Targets: no error, no lost or doubled booking at any N; p95 at N = 100 < 250 ms; memory per
connected student < 200 KB. Writes `bench/output/load.png`.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench import PG_ADMIN_URL, Report, Row, fresh_database, percentile, verdict
from bench.load_client import (
    Plan,
    Tally,
    sign_up,
    sign_up_in_database,
    source_address,
    state_names,
    walk,
)
from bench.load_nodes import start_layout

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "test-artifacts"
OUTPUT = Path(__file__).resolve().parent / "output"
LAYOUTS = {"1x1": (1, 1), "1x3": (1, 3), "2x1": (2, 1)}
CHOSEN_LAYOUTS = tuple(os.environ.get("BENCH_LOAD_LAYOUTS", ",".join(LAYOUTS)).split(","))
SIZES = tuple(int(n) for n in os.environ.get("BENCH_LOAD_SIZES", "50,100,200").split(","))
REDIS_DB = int(os.environ.get("BENCH_LOAD_REDIS_DB", "5"))
REDIS_BASE = os.environ.get("BENCH_LOAD_REDIS_URL", "redis://127.0.0.1:6379")
THINK_S = float(os.environ.get("BENCH_LOAD_THINK_S", "0.5"))
RAMP_S = float(os.environ.get("BENCH_LOAD_RAMP_S", "0.02"))
SIGN_UP = os.environ.get("BENCH_LOAD_SIGN_UP", "api")  # api (the sign-up route) or db
WARMUP = int(os.environ.get("BENCH_LOAD_WARMUP", "5"))
EVENT_TIMEOUT = 60.0
RUN_TIMEOUT = 600.0
SIGN_UPS_AT_ONCE = 4
COLLIDE_EVERY = 10
P95_TARGET_MS, P95_AT = 250.0, 100
KB_TARGET = 200.0


@dataclass
class Result:
    """One (layout, N): the figures the table and the chart show."""

    layout: str
    students: int
    tally: Tally
    booked: int = 0
    doubled: int = 0
    overlaps: int = 0
    rss_idle: list[int] = field(default_factory=list)
    rss_loaded: list[int] = field(default_factory=list)
    rss_after: list[int] = field(default_factory=list)  # once every student has left
    cpu_seconds: float = 0.0  # the workers' CPU time (user + system) from sign-ups' end to all done
    redis_bytes: int = 0
    redis_keys: int = 0
    generator_cpu_seconds: float = 0.0  # this process's CPU: the simulated students
    machine_busy_seconds: float = 0.0  # every core's non-idle time over the run
    redis_per_state: dict[str, int] = field(default_factory=dict)  # bytes per state path
    seconds: float = 0.0

    @property
    def latencies_ms(self) -> list[float]:
        return [t * 1000 for t in self.tally.all_round_trips()]

    def p(self, pct: float) -> float:
        return percentile(self.latencies_ms, pct)

    @property
    def kb_per_student(self) -> float:
        return (sum(self.rss_loaded) - sum(self.rss_idle)) / self.students / 1024

    @property
    def cpu_ms_per_event(self) -> float:
        """Worker CPU per answered event: what the load costs whatever else the cores run."""
        return self.cpu_seconds * 1000 / max(1, len(self.latencies_ms))

    @property
    def redis_kb_per_student(self) -> float:
        return self.redis_bytes / self.students / 1024

    @property
    def expected(self) -> int:
        return self.tally.outcomes.get("paid", 0)

    @property
    def clean(self) -> bool:
        return (not self.tally.errors and self.booked == self.expected and not self.doubled
                and not self.overlaps)


# --- the database's word -------------------------------------------------------------------


def bookable_tutors(database_url: str) -> list[tuple[str, int]]:
    """(tutor id, first lesson length) of every tutor taking bookings."""
    from sqlmodel import Session

    from tutor_app.catalog import tutor_catalog
    from tutor_app.core import db as app_db

    engine = app_db.build_engine(database_url)
    try:
        with Session(engine) as db:
            return [(t.id, tutor_catalog.lesson_lengths(t)[0])
                    for t in tutor_catalog.list_tutors(db)
                    if tutor_catalog.taking_bookings(db, t) and tutor_catalog.lesson_lengths(t)]
    finally:
        engine.dispose()


def check_bookings(database_url: str, sessions: list[str], run_tag: str) -> tuple[int, int, int]:
    """(SCHEDULED bookings of this run's students, paid sessions without exactly one booking,
    pairs of overlapping SCHEDULED bookings of one tutor in the whole database)."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1)
                              if database_url.startswith("postgresql://") else database_url)
    try:
        with engine.connect() as conn:
            booked = conn.execute(sa.text(
                "SELECT count(*) FROM bookings b JOIN users u ON u.id = b.user_id "
                "WHERE u.email LIKE :pattern AND b.status = 'SCHEDULED'"),
                {"pattern": f"load-{run_tag}-%"}).scalar_one()
            per_session = dict(conn.execute(sa.text(
                "SELECT stripe_checkout_session_id, count(*) FROM bookings "
                "WHERE stripe_checkout_session_id = ANY(:ids) AND status = 'SCHEDULED' "
                "GROUP BY 1"), {"ids": sessions}).all())
            overlaps = conn.execute(sa.text(
                "SELECT count(*) FROM bookings a JOIN bookings b ON a.tutor_id = b.tutor_id "
                "AND a.id < b.id AND a.start_time < b.end_time AND b.start_time < a.end_time "
                "WHERE a.status = 'SCHEDULED' AND b.status = 'SCHEDULED'")).scalar_one()
    finally:
        engine.dispose()
    wrong = sum(1 for s in sessions if per_session.get(s, 0) != 1)
    return int(booked), wrong, int(overlaps)


# --- memory ----------------------------------------------------------------------------------


def rss(pids: list[int]) -> list[int]:
    """Resident memory of each process, in bytes (0 once it is gone)."""
    import psutil

    out = []
    for pid in pids:
        try:
            out.append(psutil.Process(pid).memory_info().rss)
        except psutil.NoSuchProcess:
            out.append(0)
    return out


def worker_processes(pids: list[int]) -> list[int]:
    """The backend workers among a layout's processes: those that are nobody's parent (a
    node's `reflex run` and Granian's supervisor are the workers' ancestors)."""
    import psutil

    parents = set()
    for pid in pids:
        try:
            parents.add(psutil.Process(pid).ppid())
        except psutil.NoSuchProcess:
            continue
    return [pid for pid in pids if pid not in parents]


def cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes have used so far."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _machine_busy() -> float:
    """CPU seconds all cores have spent busy so far (whatever ran: app, database, us)."""
    import psutil

    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def redis_state(redis_url: str, tokens: list[str]) -> tuple[int, int, dict[str, int]]:
    """(bytes, keys, bytes per state path) of the Redis keys that hold these tabs' states
    (MEMORY USAGE each)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        wanted = set(tokens)
        total = keys = 0
        per_state: dict[str, int] = {}
        for key in client.scan_iter(count=1000):
            token, _, path = key.decode(errors="replace").partition("_")
            if token in wanted:  # Reflex keys a state "<token>_<state path>"
                size = int(client.memory_usage(key) or 0)
                keys += 1
                total += size
                per_state[path] = per_state.get(path, 0) + size
        return total, keys, per_state
    finally:
        client.close()


# --- one run ---------------------------------------------------------------------------------


def plans(n: int, tutors: list[tuple[str, int]], seed: int) -> list[Plan]:
    """Students spread over tutors, then days; every COLLIDE_EVERY-th copies the previous
    student's tutor, day and time (a race for one slot)."""
    rng = random.Random(seed)
    out: list[Plan] = []
    for i in range(n):
        if i % COLLIDE_EVERY == COLLIDE_EVERY - 1 and out:
            prev = out[-1]
            out.append(Plan(i, prev.tutor_id, prev.minutes, prev.day_pick, prev.time_pick))
            continue
        tutor_id, minutes = tutors[i % len(tutors)]
        round_ = i // len(tutors)
        out.append(Plan(i, tutor_id, minutes, round_ * 3 + rng.randrange(3), rng.randrange(4)))
    return out


async def _run(n: int, urls: list[str], tutors: list[tuple[str, int]], run_tag: str,
               pids: list[int], redis_url: str, result: Result, *, database_url: str,
               sign_up_via_api: bool) -> None:
    tally = result.tally
    names = state_names()
    origins = list(urls)
    bases = [u.replace("//localhost:", "//127.0.0.1:") for u in urls]
    limit = asyncio.Semaphore(SIGN_UPS_AT_ONCE)

    async def one_sign_up(i: int) -> tuple[str, str]:
        async with limit:
            k = i % len(urls)
            return await sign_up(bases[k], origins[k], i, run_tag, EVENT_TIMEOUT * 3)

    if sign_up_via_api:
        signed = await asyncio.gather(*(one_sign_up(i) for i in range(n)))
    else:
        signed = await asyncio.to_thread(sign_up_in_database, database_url, range(n), run_tag)
    await asyncio.sleep(1.0)
    result.rss_idle = rss(pids)
    cpu_before = cpu(pids)
    generator_before, machine_before = time.process_time(), _machine_busy()
    done = asyncio.Event()
    arrived = [0]
    started = time.monotonic()
    rng = random.Random(n)

    async def student(plan: Plan) -> None:
        await asyncio.sleep(plan.index * RAMP_S)
        k = plan.index % len(urls)
        think = THINK_S * rng.uniform(0.5, 1.5)
        try:
            await walk(plan, base_url=bases[k], origin=origins[k], cookie=signed[plan.index][0],
                       names=names, tally=tally, timeout=EVENT_TIMEOUT, done=done,
                       think=think, arrived=arrived)
        except Exception as exc:  # one student's crash is an error of the run, not of the bench
            tally.errors.append(f"student {plan.index}: {type(exc).__name__}: {exc}")

    tasks = [asyncio.create_task(student(p)) for p in plans(n, tutors, seed=n)]
    while arrived[0] < n and time.monotonic() - started < RUN_TIMEOUT:
        await asyncio.sleep(0.2)
    result.seconds = time.monotonic() - started
    result.rss_loaded = rss(pids)
    result.cpu_seconds = cpu(pids) - cpu_before
    result.generator_cpu_seconds = time.process_time() - generator_before
    result.machine_busy_seconds = _machine_busy() - machine_before
    result.redis_bytes, result.redis_keys, result.redis_per_state = await asyncio.to_thread(
        redis_state, redis_url, tally.tokens)
    done.set()
    await asyncio.wait(tasks, timeout=EVENT_TIMEOUT)
    for task in tasks:
        task.cancel()
    await asyncio.sleep(2.0)  # the workers drop the closed sockets
    result.rss_after = rss(pids)


def run_layout(name: str, sizes: tuple[int, ...] = SIZES, *,
               log_dir: Path = LOG_DIR) -> list[Result]:
    """Start layout `name` on a fresh database and run each N in turn."""
    with fresh_database("postgresql") as database_url:
        return run_on(name, database_url, sizes, log_dir=log_dir)


def run_on(name: str, database_url: str, sizes: tuple[int, ...], *,
           redis_url: str = f"{REDIS_BASE}/{REDIS_DB}", env: Mapping[str, str] | None = None,
           log_dir: Path = LOG_DIR, warmup: int = WARMUP) -> list[Result]:
    """Layout `name` on `database_url` (migrated, tutors loaded) and Redis `redis_url`, which
    is flushed first; `warmup` students (not reported), then each N in turn, all students of
    a run new. `env` goes to the app."""
    import redis

    nodes, workers = LAYOUTS[name]
    log_dir.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    tutors = bookable_tutors(database_url)
    started = time.monotonic()
    layout = start_layout(nodes=nodes, workers=workers, database_url=database_url,
                          redis_url=redis_url, env=dict(env or {}), log_dir=log_dir)
    print(f"  {name}: up in {time.monotonic() - started:.0f} s at "
          f"{layout.url}", flush=True)
    try:
        urls = [layout.url]
        pids = worker_processes(layout.node_pids())
        via_api = SIGN_UP != "db"
        print(f"  {name}: workers {pids}; sign-up "
              f"{'through the API route' if via_api else 'in the database'}", flush=True)
        if warmup:  # first-use costs (imports, caches, pools) must not count as per-student
            warm = Result(layout=name, students=warmup, tally=Tally())
            asyncio.run(_run(warmup, urls, tutors, f"{name}-warmup-{os.getpid()}", pids,
                             redis_url, warm, database_url=database_url,
                             sign_up_via_api=via_api))
        for n in sizes:
            run_tag = f"{name}-{n}-{os.getpid()}"
            result = Result(layout=name, students=n, tally=Tally())
            asyncio.run(_run(n, urls, tutors, run_tag, pids, redis_url, result,
                             database_url=database_url, sign_up_via_api=via_api))
            result.booked, result.doubled, result.overlaps = check_bookings(
                database_url, result.tally.paid_sessions, run_tag)
            results.append(result)
            _print_result(result)
    finally:
        layout.stop()
        client = redis.Redis.from_url(redis_url)
        client.flushdb()  # the students' states were only there to be measured
        client.close()
    return results


def _print_result(r: Result) -> None:
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r.tally.outcomes.items()))
    print(f"  {r.layout} N={r.students}: p50/p95/p99 {r.p(50):.0f}/{r.p(95):.0f}/{r.p(99):.0f} ms"
          f" over {len(r.latencies_ms)} events; {len(r.tally.errors)} errors; {outcomes}; "
          f"booked {r.booked}/{r.expected}; {r.kb_per_student:.0f} KB/student RSS "
          f"(MB before/loaded/after: {sum(r.rss_idle) / 2**20:.0f}/"
          f"{sum(r.rss_loaded) / 2**20:.0f}/{sum(r.rss_after) / 2**20:.0f}); "
          f"Redis {r.redis_kb_per_student:.1f} KB/student ({r.redis_keys} keys); "
          f"{r.seconds:.0f} s", flush=True)
    print(f"    worker CPU {r.cpu_seconds:.1f} s = {r.cpu_ms_per_event:.1f} ms per event; "
          f"the load generator {r.generator_cpu_seconds:.1f} s; all cores busy "
          f"{r.machine_busy_seconds:.1f} s of {r.seconds * (os.cpu_count() or 1):.1f}",
          flush=True)
    largest = sorted(r.redis_per_state.items(), key=lambda item: -item[1])[:6]
    print("    Redis KB per student, largest states: " + ", ".join(
        f"{path.rsplit('.', 1)[-1]} {size / r.students / 1024:.1f}" for path, size in largest),
        flush=True)
    per_event = ", ".join(f"{label} {percentile([t * 1000 for t in times], 95):.0f}"
                          for label, times in r.tally.round_trips.items())
    print(f"    p95 per event (ms): {per_event}", flush=True)
    for error in r.tally.errors[:5]:
        print(f"    error: {error}", flush=True)


# --- the report and the chart ----------------------------------------------------------------


def add_rows(report: Report, results: list[Result]) -> None:
    for r in results:
        tag = f"{r.layout} N={r.students}"
        p95_ok = r.students != P95_AT or r.p(95) < P95_TARGET_MS
        report.add(Row(
            bench="load", measure=f"{tag}: round trip p50 / p95 / p99",
            value=f"{r.p(50):.0f} / {r.p(95):.0f} / {r.p(99):.0f} ms",
            target=f"p95 < {P95_TARGET_MS:.0f} ms at N={P95_AT}" if r.students == P95_AT else "",
            verdict=verdict(p95_ok) if r.students == P95_AT else "",
        ))
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r.tally.outcomes.items()))
        report.add(Row(
            bench="load", measure=f"{tag}: errors; bookings / paid sessions",
            value=f"{len(r.tally.errors)}; {r.booked} / {r.expected} ({outcomes})",
            reference=f"doubled {r.doubled}, overlaps {r.overlaps}",
            target="0 errors; equal; none doubled", verdict=verdict(r.clean),
        ))
        per_worker = " + ".join(f"{b / 2**20:.0f}" for b in r.rss_loaded)
        report.add(Row(
            bench="load", measure=f"{tag}: RSS per worker (MB); per connected student",
            value=f"{per_worker}; {r.kb_per_student:.0f} KB",
            reference=f"before {' + '.join(f'{b / 2**20:.0f}' for b in r.rss_idle)} MB, "
                      f"after they left {' + '.join(f'{b / 2**20:.0f}' for b in r.rss_after)}",
            target=f"< {KB_TARGET:.0f} KB", verdict=verdict(r.kb_per_student < KB_TARGET),
        ))
        report.add(Row(
            bench="load", measure=f"{tag}: worker CPU per event (whole run / events)",
            value=f"{r.cpu_ms_per_event:.1f} ms",
        ))
        report.add(Row(
            bench="load", measure=f"{tag}: Redis state per student",
            value=f"{r.redis_kb_per_student:.1f} KB ({r.redis_keys} keys)",
        ))


def chart(results: list[Result], path: Path) -> Path:
    """p95 vs N and memory per student vs N, one line per layout."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, mid, right) = plt.subplots(1, 3, figsize=(15, 4.5))
    for layout in LAYOUTS:
        rows = sorted((r for r in results if r.layout == layout), key=lambda r: r.students)
        if not rows:
            continue
        xs = [r.students for r in rows]
        left.plot(xs, [r.p(95) for r in rows], marker="o", label=layout)
        mid.plot(xs, [r.kb_per_student for r in rows], marker="o", label=layout)
        right.plot(xs, [r.redis_kb_per_student for r in rows], marker="o", label=layout)
    left.axhline(P95_TARGET_MS, color="red", linestyle="--", linewidth=1, label="target (N=100)")
    mid.axhline(KB_TARGET, color="red", linestyle="--", linewidth=1, label="target")
    for ax, title, unit in ((left, "event round trip p95", "ms"),
                            (mid, "worker RSS per connected student", "KB"),
                            (right, "Redis state per student", "KB")):
        ax.set_title(title)
        ax.set_xlabel("simulated students (N)")
        ax.set_ylabel(unit)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right" if ax is right else "best")
    left.set_yscale("log")  # a saturated layout's seconds and a healthy one's tens of ms
    for ax in (mid, right):
        ax.set_ylim(bottom=0)
    for ax in (left, mid, right):
        ax.set_xticks(sorted({r.students for r in results}))
    fig.suptitle("Load over Reflex's websocket (nodes x workers); 2 shared cores")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(report: Report, backends: tuple[str, ...] = ("postgresql",),
        layouts: tuple[str, ...] = CHOSEN_LAYOUTS) -> list[Result]:
    """Every layout x N; rows into `report`; the chart into bench/output/load.png."""
    print(f"load: layouts {', '.join(layouts)}; N = {', '.join(map(str, SIZES))}; "
          f"PostgreSQL from {PG_ADMIN_URL.rsplit('@', 1)[-1]}", flush=True)
    results: list[Result] = []
    for name in layouts:
        results += run_layout(name)
    add_rows(report, results)
    path = chart(results, OUTPUT / "load.png")
    report.note(f"load: chart at {path.relative_to(ROOT)}; each student from its own "
                f"loopback address ({source_address(0)} on), behind nginx; sign-up through "
                "the API route (BENCH_LOAD_SIGN_UP=db: in the database)")
    return results

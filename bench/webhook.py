"""Paid Checkout events per second through the real Stripe webhook route, against a ceiling.

The real route is `tutor_app.api.build_api()` (what the Reflex backend mounts), served by
uvicorn in a process of its own on a loopback port, on a fresh migrated database. Each event is
a distinct `checkout.session.completed` with `payment_status=paid`, shaped and signed the way
Stripe sends it (the metadata `tutor_app.booking.checkout` writes, a live slot hold per session, the
`Stripe-Signature` scheme), so every delivery books one lesson.

The ceiling is a bare Starlette route served the same way on the same kind of database that
parses the same body and does the one insert a booking needs, with plain SQLAlchemy: what
the hardware, the server and the database allow before any of the app's rules run.

Both servers run at once, each on its own fresh database, and are loaded alternately in rounds
(a warm-up, then `EVENTS` with `CONCURRENCY` always in flight, then `BURSTS` bursts of
`CONCURRENCY` simultaneous deliveries to an idle server), so that other work on the machine
weighs on both alike. httpx AsyncClient over loopback; the load generator shares the CPUs with
the servers. Targets: at least 0.7x the ceiling's events/s; a p99 within 1.3x the ceiling's.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import Report, Row, fresh_database, median, ms, percentile, verdict
from tests.fakes.fake_stripe import signature_header
from tests.fakes.server import free_port

EVENTS = int(os.environ.get("BENCH_WEBHOOK_EVENTS", "2000"))
WARMUP = 100
CONCURRENCY = 50
BURSTS = 20
ROUNDS = 4
TUTOR_ID = "liam-murphy"
LESSON = timedelta(minutes=30)
ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_PATH = "/api/stripe/webhook"
CEILING_PATH = "/bench/insert"
MIN_THROUGHPUT_RATIO = 0.7  # the webhook's events/s over the ceiling's
MAX_P99_RATIO = 1.3  # the webhook's p99 over the ceiling's, in the same load


# ---------------------------------------------------------------------------------------------
# The two servers (each runs as `python -m uvicorn bench.webhook:<factory> --factory`)


def real_app() -> Any:
    """The app's own API (every /api route), exactly as `rx.App(api_transformer=...)` mounts
    it."""
    from tutor_app.api import build_api

    return build_api()


def ceiling_app() -> Any:
    """A bare Starlette route: read the JSON body, insert one booking row, answer 200."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tutor_app.core import db as app_db
    from tutor_app.core.ids import new_id
    from tutor_app.core.models import Booking

    engine = app_db.engine()
    table = Booking.__table__  # type: ignore[attr-defined]

    def insert(session: dict[str, Any]) -> None:
        meta = session["metadata"]
        start = datetime.fromisoformat(meta["startDateTimeISO"].replace("Z", "+00:00"))
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(table.insert().values(
                id=new_id(), user_id=meta["userId"], tutor_id=meta["tutorId"],
                start_time=start, end_time=start + timedelta(minutes=int(meta["durationMinutes"])),
                status="SCHEDULED", price_cents=session["amount_total"],
                currency=session["currency"], stripe_checkout_session_id=session["id"],
                stripe_payment_intent_id=session["payment_intent"],
                stripe_customer_id=session["customer"], note="", refunded_cents=0, sequence=0,
                calendar_sync_status="none", calendar_sync_attempts=0,
                customer_email=meta["userEmail"], created_at=now, updated_at=now,
            ))

    async def endpoint(request: Request) -> JSONResponse:
        event = json.loads(await request.body())
        await run_in_threadpool(insert, event["data"]["object"])
        return JSONResponse({"received": True})

    return Starlette(routes=[Route(CEILING_PATH, endpoint, methods=["POST"])])


@contextmanager
def serve(factory: str, database_url: str, log_path: Path) -> Iterator[str]:
    """uvicorn serving `bench.webhook:<factory>` on a free loopback port; its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("STRIPE_", "REDIS_URL", "SECRET_KEY"))}
    # ENV_FILE="": a developer's .env must not change what is measured.
    env.update(DATABASE_URL=database_url, APP_ENV="dev", APP_URL=f"http://127.0.0.1:{port}",
               ENV_FILE="", PYTHONDONTWRITEBYTECODE="1")
    log = open(log_path, "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"bench.webhook:{factory}", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
         "--log-level", "warning", "--lifespan", "off",
         # A round of one server lasts several seconds while the other's 50 connections wait;
         # uvicorn's default 5 s keep-alive would close them under the client (ReadError).
         "--timeout-keep-alive", "300"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{factory} exited; see {log_path}:\n{log_path.read_text()}")
            try:
                httpx.get(url + "/", timeout=1.0)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{factory} did not start; see {log_path}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# ---------------------------------------------------------------------------------------------
# The events


@dataclass(frozen=True)
class Arranged:
    user_id: str
    user_email: str
    holds: list[tuple[str, datetime]]  # (hold id, start) per event, distinct and disjoint


def arrange(database_url: str, count: int) -> Arranged:
    """A student and `count` live holds on disjoint half-hours, as checkout leaves them."""
    from sqlmodel import Session

    from tutor_app.core import db as app_db
    from tutor_app.core.models import SlotHold, User

    engine = app_db.build_engine(database_url)
    first = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    try:
        with Session(engine) as db:
            user = User(email="bench-student@example.test", name="Bench Student")
            db.add(user)
            db.flush()
            holds = []
            for i in range(count):
                start = first + i * LESSON
                hold = SlotHold(
                    tutor_id=TUTOR_ID, user_id=user.id, start_time=start, end_time=start + LESSON,
                    expires_at=datetime.now(UTC) + timedelta(hours=2), price_cents=2500,
                    currency="gbp", checkout_session_id=f"cs_test_bench{i:06d}",
                )
                db.add(hold)
                holds.append(hold)
            db.commit()
            return Arranged(user.id, user.email, [(h.id, h.start_time) for h in holds])
    finally:
        engine.dispose()


def paid_event(arranged: Arranged, index: int) -> dict[str, Any]:
    """A `checkout.session.completed` event for hold `index`, as Stripe sends it."""
    from tutor_app.booking.checkout import metadata_start

    hold_id, start = arranged.holds[index]
    now = int(time.time())
    session_id = f"cs_test_bench{index:06d}"
    ids = {
        "tutorId": TUTOR_ID,
        "startDateTimeISO": metadata_start(start),
        "durationMinutes": "30",
        "userId": arranged.user_id,
        "userEmail": arranged.user_email,
    }
    return {
        "id": f"evt_bench{index:06d}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": now,
        "type": "checkout.session.completed",
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "complete",
            "payment_status": "paid",
            "amount_total": 2500,
            "amount_subtotal": 2500,
            "currency": "gbp",
            "client_reference_id": arranged.user_id,
            "customer": f"cus_bench{index:06d}",
            "customer_email": arranged.user_email,
            "customer_details": {"email": arranged.user_email, "name": None},
            "payment_intent": f"pi_bench{index:06d}",
            "created": now - 60,
            "expires_at": now + 1800,
            "livemode": False,
            "metadata": {
                **ids,
                "priceCents": "2500",
                "currency": "gbp",
                "hourlyRateCents": "5000",
                "endDateTimeISO": metadata_start(start + LESSON),
                "tutorName": "Liam Murphy",
                "holdId": hold_id,
            },
        }},
    }


def signed(event: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    payload = json.dumps(event, indent=2)  # Stripe pretty-prints its payloads
    return payload.encode(), {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": signature_header(payload, secret),
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }


# ---------------------------------------------------------------------------------------------
# The load


@dataclass
class Tally:
    """Deliveries to one server: how many, how long they kept it busy, each one's latency."""

    count: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def events_per_s(self) -> float:
        return self.count / self.elapsed if self.elapsed else math.nan

    @property
    def p50(self) -> float:
        return median(self.latencies)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)


@dataclass
class Target:
    """One server under load and the signed requests it still has to receive."""

    name: str
    url: str
    requests: list[tuple[bytes, dict[str, str]]]
    sustained: Tally = field(default_factory=Tally)
    bursts: Tally = field(default_factory=Tally)
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def take(self, n: int) -> list[tuple[bytes, dict[str, str]]]:
        batch, self.requests = self.requests[:n], self.requests[n:]
        return batch


async def _deliver(target: Target, requests: list[tuple[bytes, dict[str, str]]],
                   tally: Tally | None) -> None:
    """Keep one delivery in flight per client until `requests` are all sent."""
    queue = iter(requests)
    latencies: list[float] = []
    failures: list[str] = []

    async def worker(client: httpx.AsyncClient) -> None:
        for body, headers in queue:
            started = time.perf_counter()
            response = await client.post(target.url, content=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code >= 300:
                failures.append(f"{response.status_code} {response.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in target.clients[: len(requests)]))
    if tally is not None:
        tally.elapsed += time.perf_counter() - started
        tally.count += len(requests)
        tally.latencies += latencies
        tally.failures += failures


async def _compare(targets: list[Target]) -> None:
    """Load every target the same way, alternating between them in rounds, so that a change
    in the machine's load during the run (other work on its CPUs) hits both alike."""
    # One client with one keep-alive connection per delivery slot, made before any timing, like
    # Stripe's concurrent senders: a single httpx client shared by 50 connections spends more
    # time in its own pool than the server does answering (measured here: < 200 requests/s
    # even for a 404), and making a client costs milliseconds of CPU (its TLS context).
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    for target in targets:
        target.clients = [httpx.AsyncClient(limits=limits, timeout=60.0)
                          for _ in range(CONCURRENCY)]
    try:
        for target in targets:
            await _deliver(target, target.take(WARMUP), None)  # also opens every connection
        for round_ in range(ROUNDS):  # throughput: 50 always in flight
            for target in targets if round_ % 2 == 0 else reversed(targets):
                await _deliver(target, target.take(EVENTS // ROUNDS), target.sustained)
        for _ in range(BURSTS):  # latency: 50 arrive at once at an idle server
            for target in targets:
                await asyncio.sleep(0.05)
                await _deliver(target, target.take(CONCURRENCY), target.bursts)
    finally:
        for target in targets:
            await asyncio.gather(*(c.aclose() for c in target.clients))


def count_bookings(database_url: str) -> int:
    from sqlalchemy import func, select

    from tutor_app.core import db as app_db
    from tutor_app.core.models import Booking

    engine = app_db.build_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Booking)).scalar_one())
    finally:
        engine.dispose()


def measure(backend: str, log_dir: Path) -> tuple[Target, Target]:
    """(ceiling, webhook) on two fresh databases of `backend`, loaded alternately."""
    from tutor_app.core.settings import DEV_WEBHOOK_SECRET

    total = WARMUP + (EVENTS // ROUNDS) * ROUNDS + BURSTS * CONCURRENCY
    servers = (("ceiling", "ceiling_app", CEILING_PATH), ("webhook", "real_app", WEBHOOK_PATH))
    with ExitStack() as stack:
        targets, urls = [], []
        for name, factory, path in servers:
            url = stack.enter_context(fresh_database(backend))
            arranged = arrange(url, total)
            log_path = log_dir / f"bench-webhook-{name}-{backend}.log"
            base = stack.enter_context(serve(factory, url, log_path))
            # Signed just before sending: Stripe's tolerance is 5 minutes.
            requests = [signed(paid_event(arranged, i), DEV_WEBHOOK_SECRET)
                        for i in range(total)]
            targets.append(Target(name, base + path, requests))
            urls.append(url)
        asyncio.run(_compare(targets))
        for target, url in zip(targets, urls, strict=True):
            booked = count_bookings(url)
            if booked != total:
                target.bursts.failures.append(
                    f"{booked} bookings for {total} distinct paid events")
    return targets[0], targets[1]


def run(report: Report, backends: tuple[str, ...] = ("sqlite", "postgresql")) -> None:
    log_dir = ROOT / "test-artifacts"
    log_dir.mkdir(exist_ok=True)
    print(f"webhook: {EVENTS} distinct paid events (+{WARMUP} warm-up), "
          f"{CONCURRENCY} in flight", flush=True)
    for backend in backends:
        ceiling_target, real_target = measure(backend, log_dir)
        ceiling, ceiling_bursts = ceiling_target.sustained, ceiling_target.bursts
        real, real_bursts = real_target.sustained, real_target.bursts
        failures = {t.name: t.sustained.failures + t.bursts.failures
                    for t in (ceiling_target, real_target)}
        for name, failed in failures.items():
            if failed:
                report.note(f"{name} on {backend}: {len(failed)} failures, first: {failed[0]}")
        ok = not failures["webhook"]
        ratio = real.events_per_s / ceiling.events_per_s
        report.add(Row(
            bench="webhook", measure=f"{backend}: paid events/s ({CONCURRENCY} in flight)",
            value=f"{real.events_per_s:.0f}/s", reference=f"{ceiling.events_per_s:.0f}/s",
            ratio=f"{math.floor(ratio * 100) / 100:.2f}x", target=f">= {MIN_THROUGHPUT_RATIO}x",
            verdict=verdict(ratio >= MIN_THROUGHPUT_RATIO and ok),
        ))
        for label, app, floor in (
            (f"bursts of {CONCURRENCY}", real_bursts, ceiling_bursts),
            (f"sustained, {CONCURRENCY} in flight", real, ceiling),
        ):
            report.add(Row(
                bench="webhook", measure=f"{backend}: p50 / p99, {label}",
                value=f"{ms(app.p50)} / {ms(app.p99)}",
                reference=f"{ms(floor.p50)} / {ms(floor.p99)}",
                ratio=f"p99 {app.p99 / floor.p99:.2f}x", target=f"p99 <= {MAX_P99_RATIO}x",
                verdict=verdict(app.p99 <= MAX_P99_RATIO * floor.p99 and ok),
            ))

"""Several app nodes behind nginx (`tutor_app.cluster`), sharing one PostgreSQL and one Redis.

A student's page loads and websockets go round-robin over the nodes, through the proxy, and
everything still works: sign-up, the wizard, paying on the dev test-checkout page, the live
success page, the dashboard. When the webhook runs on another node than the one holding the
success page's websocket, the Redis "booked" signal turns the page to "confirmed" at once,
not after the 2-second database re-check. Each periodic job's lease is held by one of the
cluster's workers, and a rolling restart of the nodes answers every request meanwhile.

Collected only in the PostgreSQL run (`TEST_DATABASE=postgresql`, see tests/conftest.py).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import redis
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, Response, expect
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from tests.conftest import postgres_database
from tests.e2e.conftest import _DROPPED_ENV, visitor_page
from tests.e2e.steps import (
    choose_lesson,
    goto,
    local_time_label,
    pay_in_dev_checkout,
    signed_up,
)
from tests.pinned_time import TEST_CATALOG_FILE, app_process_env, run_cli
from tutor_app.cluster import NODE_HEADER, Cluster, start_cluster
from tutor_app.core import jobs, routes
from tutor_app.core.models import Booking, JobLease, SlotHold, User
from tutor_app.core.settings import DEV_WEBHOOK_SECRET
from tutor_app.payments import dev_gateway

pytestmark = pytest.mark.e2e

NODES = 2
WORKERS = 2
REDIS_URL = "redis://127.0.0.1:6379"
# The success page's fallback re-checks the database every 2 s: paid half a second into a
# wait, the re-check alone would confirm it about a second later. The signal must beat that.
SIGNAL_BOUND_SECONDS = 0.75
T = TypeVar("T")


@pytest.fixture(scope="module")
def cluster_url(_engine: sa.Engine) -> Iterator[str]:
    """A database of the cluster's own, migrated, with the test catalog: the run's other live
    apps (which share the run's database) must not take the cluster's job leases."""
    assert _engine.dialect.name == "postgresql", "several nodes share one PostgreSQL"
    with postgres_database("tutor_cluster") as url:
        done = run_cli("prestart", env=app_process_env(DATABASE_URL=url))
        assert done.returncode == 0, done.stdout + done.stderr
        yield url


@pytest.fixture(scope="module")
def cluster_engine(cluster_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(cluster_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def cluster(cluster_url: str, artifacts_dir: Path, app_clock_shift: timedelta
            ) -> Iterator[Cluster]:
    """NODES nodes of WORKERS workers behind nginx, on a database of their own and the real
    Redis."""
    redis.Redis.from_url(REDIS_URL).ping()  # fail clearly when Redis is not running
    database_url = cluster_url
    unset = {name: "" for name in _DROPPED_ENV if name != "REDIS_URL"}
    running = start_cluster(
        nodes=NODES, workers=WORKERS, database_url=database_url, redis_url=REDIS_URL,
        env={**unset, "CATALOG_FILE": str(TEST_CATALOG_FILE), "APP_ENV": "dev",
             "CLOCK_SHIFT_SECONDS": str(app_clock_shift.total_seconds())},
        log_dir=artifacts_dir / "e2e-cluster", timeout=600,
    )
    try:
        yield running
    finally:
        running.stop()


def _node_addresses(cluster: Cluster) -> set[str]:
    return {url.removeprefix("http://") for url in cluster.node_urls}


@dataclass
class NodesSeen:
    """Which node answered each response and each websocket handshake of one page."""

    responses: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)


def _track_nodes(page: Page) -> NodesSeen:
    seen = NodesSeen()

    def on_response(response: Response) -> None:
        node = response.headers.get(NODE_HEADER.lower())
        if node:
            seen.responses.append(node)

    def on_handshake(event: dict[str, dict[str, dict[str, str]]]) -> None:
        headers = {k.lower(): v for k, v in event["response"]["headers"].items()}
        if NODE_HEADER.lower() in headers:
            seen.websockets.append(headers[NODE_HEADER.lower()])

    page.on("response", on_response)
    # Playwright does not show a websocket's handshake; Chromium's DevTools protocol does.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.on("Network.webSocketHandshakeResponseReceived", on_handshake)
    return seen


@pytest.fixture
def cluster_page(browser: Browser, cluster: Cluster) -> Iterator[Page]:
    with visitor_page(browser, cluster.url) as page:
        yield page


def test_a_student_books_and_pays_with_requests_on_every_node(
    cluster_page: Page, cluster: Cluster, cluster_engine: sa.Engine,
    new_email: Callable[[str], str],
) -> None:
    page = cluster_page
    seen = _track_nodes(page)
    email = new_email("nodes")
    signed_up(page, name="Node Student", email=email)

    _day, start = choose_lesson(page, "liam-murphy", minutes=30, day_index=2)
    pay_in_dev_checkout(page)  # the live success page turns "confirmed"
    expect(page).to_have_url(re.compile(r"/payment/success/?\?session_id=cs_"))
    expect(page.locator("#lesson-when")).to_contain_text(local_time_label(start))
    page.click("#view-lessons")
    expect(page.locator("#upcoming .lesson-card")).to_have_count(1)

    with Session(cluster_engine) as db:
        user = db.exec(select(User).where(User.email == email)).one()
        booked = db.exec(select(Booking).where(Booking.user_id == user.id)).all()
    assert len(booked) == 1 and booked[0].tutor_id == "liam-murphy"
    nodes = _node_addresses(cluster)
    assert seen.websockets, "no websocket handshake went through the proxy"
    assert set(seen.websockets) <= nodes
    assert set(seen.responses) | set(seen.websockets) == nodes, (seen, nodes)
    print(f"\nresponses per node: { {n: seen.responses.count(n) for n in sorted(nodes)} }; "
          f"websockets per node: { {n: seen.websockets.count(n) for n in sorted(nodes)} }")


def test_a_webhook_on_the_other_node_confirms_the_success_page_at_once(
    cluster_page: Page, cluster: Cluster, cluster_engine: sa.Engine,
    new_email: Callable[[str], str],
) -> None:
    page = cluster_page
    seen = _track_nodes(page)
    signed_up(page, name="Signal Student", email=new_email("signal"))
    choose_lesson(page, "daniel-kim", minutes=60, day_index=3)
    page.click("#pay")
    expect(page).to_have_url(re.compile(r"/dev/checkout/?\?session_id=cs_"))
    session_id = page.url.split("session_id=", 1)[1].split("&", 1)[0]

    # Not paid yet: the success page says "processing" and its websocket's node waits.
    goto(page, f"{routes.PAYMENT_SUCCESS}?session_id={session_id}")
    status = page.locator("#payment-status")
    expect(status).to_have_text("processing")
    page_node = seen.websockets[-1]
    other = next(url for url in cluster.node_urls if not url.endswith(page_node))
    time.sleep(0.5)  # the page's watch is inside its wait now, not about to re-check

    # The dev checkout's webhook delivery (its event, signed as the dev checkout signs it),
    # sent straight to the other node.
    with Session(cluster_engine) as db:
        hold = db.exec(select(SlotHold).where(SlotHold.checkout_session_id == session_id)).one()
        student = db.get(User, hold.user_id)
        assert student is not None
        event = dev_gateway.build_completed_event(
            dev_gateway.build_session_object(hold, student))
    payload = json.dumps(event).encode()
    started = time.monotonic()
    delivered = httpx.post(other + dev_gateway.WEBHOOK_PATH, content=payload, timeout=30, headers={
        "Content-Type": "application/json",
        "Stripe-Signature": dev_gateway.sign_payload(payload, DEV_WEBHOOK_SECRET)})
    answered = time.monotonic()
    assert delivered.status_code == 200, delivered.text
    page.wait_for_function(
        "document.querySelector('#payment-status')?.textContent === 'confirmed'", polling=20
    )
    confirmed = time.monotonic()

    after_webhook = confirmed - answered
    print(f"\nwebhook on {other.removeprefix('http://')}, page on {page_node}: webhook answered "
          f"in {answered - started:.3f} s, page confirmed {after_webhook:.3f} s later")
    assert after_webhook < SIGNAL_BOUND_SECONDS
    page.click("#view-lessons")
    expect(page.locator("#upcoming .lesson-card")).to_have_count(1)


def test_the_nodes_metrics_count_every_booking_once(
    cluster: Cluster, cluster_engine: sa.Engine
) -> None:
    """Each node adds up its own workers' metrics (a multiprocess directory per node, set by
    the launcher); over both nodes, every booking the webhooks made is counted once."""
    counted = 0.0
    for node_url in cluster.node_urls:  # straight to each node, from loopback (dev)
        response = httpx.get(node_url + "/api/metrics", timeout=10)
        assert response.status_code == 200, response.text[:200]
        counted += sum(sample.value for family in text_string_to_metric_families(response.text)
                       for sample in family.samples
                       if sample.name == "tutorly_bookings_created_total")
    with Session(cluster_engine) as db:
        booked = len(db.exec(select(Booking)).all())
    assert booked >= 2 and counted == booked


def test_each_job_lease_is_held_by_one_worker_of_the_cluster(
    cluster: Cluster, cluster_engine: sa.Engine
) -> None:
    deadline = time.monotonic() + 60
    while True:
        with Session(cluster_engine) as db:
            leases = db.exec(select(JobLease)).all()
        if {lease.name for lease in leases} >= set(jobs.JOBS) or time.monotonic() > deadline:
            break
        time.sleep(1)

    assert {lease.name for lease in leases} >= set(jobs.JOBS)
    workers = set(cluster.node_pids())
    for lease in leases:
        pid = int(lease.holder.split(":")[1])  # "host:pid:random"
        assert pid in workers, (lease.name, lease.holder)


def test_a_rolling_restart_answers_every_request(cluster: Cluster) -> None:
    """Nodes restart one after the other (new processes) while a client keeps asking through
    the proxy: every GET is answered 200, by whichever node is up (nginx retries a GET that
    found its node gone on the other one)."""
    before = set(cluster.node_pids())
    codes: list[int] = []
    stop = threading.Event()

    def keep_asking() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                try:
                    codes.append(client.get(cluster.url + "/api/health").status_code)
                except httpx.HTTPError:
                    codes.append(0)
                time.sleep(0.02)

    asking = threading.Thread(target=keep_asking)
    asking.start()
    started = time.monotonic()
    try:
        cluster.rolling_restart()
    finally:
        stop.set()
        asking.join(60)
    print(f"\nrolling restart of {NODES} nodes: {time.monotonic() - started:.1f} s, "
          f"{len(codes)} requests meanwhile, answers {sorted(set(codes))}")

    assert len(codes) > 20
    assert set(codes) == {200}
    assert not before & set(cluster.node_pids())  # every process is a new one


def test_with_a_node_killed_gets_are_retried_and_the_webhook_never_is(cluster: Cluster) -> None:
    """A crashed node: a GET that finds it gone is answered by the other node; a webhook POST
    that finds it gone gets 502 and is not sent again (Stripe redelivers). Runs last: the node
    stays dead."""
    dead = cluster.node_urls[1].removeprefix("http://")
    cluster.kill_node(1)
    deadline = time.monotonic() + 30
    while cluster.node_group_pids(1):
        assert time.monotonic() < deadline, "the killed node is still running"
        time.sleep(0.1)

    # nginx leaves a refusing node out for 2 s: each try waits that out, so round-robin
    # offers the dead node every other try.
    gets: list[int] = []
    posts: list[tuple[int, str | None]] = []
    with httpx.Client(timeout=30) as client:
        for _ in range(4):
            time.sleep(2.2)
            answer = client.post(cluster.url + "/api/stripe/webhook", content=b"{}")
            posts.append((answer.status_code, answer.headers.get(NODE_HEADER)))
        for _ in range(4):
            time.sleep(2.2)
            gets.append(client.get(cluster.url + "/api/health").status_code)

    print(f"\nnode {dead} killed: webhook POSTs answered {posts}, GETs {gets}")
    assert gets == [200] * 4
    # Unsigned, a live node refuses it (400); the dead node's attempt is a 502, not retried.
    assert (502, dead) in posts, posts
    assert {code for code, _ in posts} <= {400, 502}
    assert all(node == dead for code, node in posts if code == 502)

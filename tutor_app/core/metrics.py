"""The app's Prometheus metrics, and the few calls domain code makes to move them.

Domain modules call the functions here (`booking_created`, `refund_outcome`, ...) and never
touch `prometheus_client` or anything web: `api.metrics` serves the numbers at `/api/metrics`.

Several Granian workers are several processes. With `PROMETHEUS_MULTIPROC_DIR` set in the
environment `reflex run` starts with (an empty directory, emptied before each start), every
worker writes its samples there and a scrape of any worker adds them all up
(prometheus-client's multiprocess mode; `api.metrics` reads that directory then). Without it
each process counts for itself, which is right for one worker. docs/operations.md lists every
metric.
"""

from __future__ import annotations

import asyncio
import logging
import time

from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger(__name__)

BOOKINGS = Counter(
    "tutorly_bookings_created",
    "Bookings written, by kind (lesson: paid; consultation: free) and by what wrote them "
    "(webhook, reconcile, ...; consultation).",
    ["kind", "source"],
)
PAID_SESSIONS = Counter(
    "tutorly_paid_sessions",
    "Paid checkout sessions handed to the booking writer, by outcome (created, duplicate, "
    "refund_needed, payment_mismatch, ...).",
    ["outcome"],
)
REFUNDS = Counter(
    "tutorly_refunds",
    "Refund attempts sent to Stripe (or recorded in dev), by outcome: refunded, failed (left "
    "pending for the retry job), dropped (no longer fits what is left), no_payment_intent.",
    ["outcome"],
)
WEBHOOK_SECONDS = Histogram(
    "tutorly_stripe_webhook_seconds",
    "Time to answer a Stripe webhook delivery (verify, handle, commit), by result "
    "(ok, refused, error).",
    ["result"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
JOB_LAG_SECONDS = Histogram(
    "tutorly_job_lag_seconds",
    "How late a periodic job's tick started after it was due (its interval after the "
    "previous tick), by job.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0),
)
JOB_LAST_SUCCESS = Gauge(
    "tutorly_job_last_success_timestamp_seconds",
    "Unix time a periodic job last finished without error (in the worker holding its lease).",
    ["job"],
    multiprocess_mode="max",
)
JOB_FAILURES = Counter("tutorly_job_failures", "Periodic job runs that raised, by job.", ["job"])
EVENT_LOOP_LAG_SECONDS = Histogram(
    "tutorly_event_loop_lag_seconds",
    "How much later than asked an asyncio sleep of the event-loop probe woke up: time the "
    "loop spent busy with something that should have run in a thread.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)

# How often the event-loop probe sleeps; its overshoot is the lag.
EVENT_LOOP_PROBE_INTERVAL = 0.5


def booking_created(*, kind: str, source: str) -> None:
    """A booking was committed (`kind` "lesson" or "consultation")."""
    BOOKINGS.labels(kind=kind, source=source).inc()


def paid_session(outcome: str) -> None:
    """`booking.recording.record_paid_session` returned `outcome`."""
    PAID_SESSIONS.labels(outcome=outcome).inc()


def refund_outcome(outcome: str) -> None:
    """One refund attempt ended with `outcome` (see REFUNDS)."""
    REFUNDS.labels(outcome=outcome).inc()


def webhook_answered(seconds: float, *, result: str) -> None:
    """The Stripe webhook answered after `seconds`."""
    WEBHOOK_SECONDS.labels(result=result).observe(seconds)


def job_started(job: str, lag_seconds: float) -> None:
    """A periodic job's tick began `lag_seconds` after it was due."""
    JOB_LAG_SECONDS.labels(job=job).observe(max(lag_seconds, 0.0))


def job_finished(job: str, *, ok: bool) -> None:
    """A periodic job's run ended (`ok`: without raising)."""
    if ok:
        JOB_LAST_SUCCESS.labels(job=job).set(time.time())
    else:
        JOB_FAILURES.labels(job=job).inc()


async def watch_event_loop(interval: float = EVENT_LOOP_PROBE_INTERVAL) -> None:
    """Forever: sleep `interval` and record how late the loop woke us (a lifespan task)."""
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time()
        await asyncio.sleep(interval)
        EVENT_LOOP_LAG_SECONDS.observe(max(loop.time() - asked - interval, 0.0))

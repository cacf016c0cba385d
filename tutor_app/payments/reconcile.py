"""Self-healing: book every paid checkout session that Stripe completed and we never recorded.

Stripe retries a webhook for about three days; an endpoint down longer than that (or an event
lost to a bug) would leave a student charged with no lesson. `reconcile` lists the sessions
Stripe completed in the last 72 hours (all pages) and hands each paid one the database lacks
to `recording.record_paid_session(source="reconcile")`, the webhook's own idempotent path: a
session already booked, or booked by a webhook racing this run, is a duplicate and nothing
more. A paid session whose slot was taken meanwhile becomes a CANCELED booking and is refunded
through the same hook as in the webhook.

It runs as a periodic job (every 10 minutes, one worker at a time through the `job_leases`
lease; see `tutor_app.core.jobs`; `tutor_app.wiring` registers it) and as `make reconcile`
(`python -m tutor_app.cli reconcile`). This module also carries the jobs of the other
money-and-time housekeeping: finishing refunds whose Stripe call failed, and completing
lessons whose end has passed.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import col, select

from tutor_app.booking import completion, recording, refunds
from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.models import Booking
from tutor_app.core.settings import get_settings
from tutor_app.integrations import stripe_gateway

log = logging.getLogger(__name__)

LOOKBACK = timedelta(hours=72)
RECONCILE_EVERY = 10 * 60.0
REFUND_RETRY_EVERY = 5 * 60.0
COMPLETION_EVERY = 5 * 60.0


@dataclass(frozen=True)
class ReconcileReport:
    """What one run saw and did; `outcomes` counts `record_paid_session` results by name."""

    listed: int = 0  # completed checkout sessions Stripe returned for the window
    unpaid: int = 0  # completed but not (yet) paid: nothing to book
    already_booked: int = 0  # the database had them
    outcomes: dict[str, int] = field(default_factory=dict)
    skipped: str = ""  # why nothing was listed (no Stripe configured), else ""

    @property
    def booked(self) -> int:
        """Sessions this run turned into bookings (a refunded taken slot counts too)."""
        return self.outcomes.get(recording.BookingOutcome.CREATED, 0) + self.outcomes.get(
            recording.BookingOutcome.REFUND_NEEDED, 0
        )

    def __str__(self) -> str:
        if self.skipped:
            return f"reconcile skipped: {self.skipped}"
        done = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())) or "nothing new"
        return (
            f"reconcile: {self.listed} completed sessions, {self.unpaid} unpaid, "
            f"{self.already_booked} already booked; {done}"
        )


def reconcile(now: datetime | None = None, lookback: timedelta = LOOKBACK) -> ReconcileReport:
    """List the checkout sessions Stripe completed since `now - lookback` and book the missing ones.

    Owns its transactions. Raises PaymentProviderError when Stripe cannot be listed (the job
    logs it and tries again next time). With dev payments there is no Stripe to ask.
    """
    if get_settings().dev_payments or not get_settings().stripe_secret_key:
        return ReconcileReport(skipped="no STRIPE_SECRET_KEY (dev payments)")
    now = now or clock.now()
    sessions = stripe_gateway.list_completed_sessions(now - lookback)
    paid = [s for s in sessions if s.get("payment_status") == "paid" and s.get("id")]
    ids = [str(s["id"]) for s in paid]
    known: set[str] = set()
    with app_db.session() as db:
        for start in range(0, len(ids), 500):  # bounded IN lists
            chunk = ids[start : start + 500]
            known.update(db.exec(
                select(Booking.stripe_checkout_session_id).where(
                    col(Booking.stripe_checkout_session_id).in_(chunk)
                )
            ).all())
    outcomes: Counter[str] = Counter()
    for session in paid:
        if session["id"] in known:
            continue
        outcome = recording.record_paid_session(session, source="reconcile")
        outcomes[str(outcome)] += 1
        if outcome in (recording.BookingOutcome.CREATED, recording.BookingOutcome.REFUND_NEEDED):
            log.warning("reconcile: booked session %s that no webhook had recorded (%s)",
                        session["id"], outcome)
    report = ReconcileReport(
        listed=len(sessions),
        unpaid=len(sessions) - len(paid),
        already_booked=len(known),
        outcomes=dict(outcomes),
    )
    log.info("%s", report)
    return report


def reconcile_command(*, hours: int = 72) -> tuple[int, str]:
    """`make reconcile`: run once now; (exit code, line to print). 1 when Stripe failed."""
    if hours <= 0:
        return 2, "error: --hours must be positive"
    try:
        report = reconcile(lookback=timedelta(hours=hours))
    except stripe_gateway.PaymentProviderError as exc:
        return 1, f"error: {exc}"
    sent = refunds.retry_pending_refunds()
    return 0, f"{report}; {sent} pending refunds sent"


def reconcile_job() -> str | None:
    """The "reconcile" job: a line for the log when it booked something."""
    report = reconcile()
    return str(report) if report.outcomes else None


def refund_retry_job() -> str | None:
    """The "refund_retry" job: send owed refunds whose last attempt failed or stalled."""
    sent = refunds.retry_pending_refunds()
    return f"{sent} pending refunds sent" if sent else None


def completion_job() -> str | None:
    """The "lesson_completion" job: lessons whose end has passed become COMPLETED."""
    done = completion.complete_past_lessons()
    return f"{done} lessons completed" if done else None


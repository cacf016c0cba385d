"""Payments health: what the admin sees of money and follow-ups going wrong, and the retries.

Reading: the Stripe events received (handled ones from `stripe_events`, failed attempts from
`stripe_event_failures`, with the error), refunds still owed (a pending `refunds` row: being
sent, or its last attempt failed), emails that failed (a `notifications` row with an error and
no `sent_at`; skipped ones are not failures) and calendar syncs that failed.

Acting: each action is the product's own path, never a second way: reconciliation is
`payments.reconcile.reconcile` (then `refunds.retry_pending_refunds`, as `make reconcile`),
a refund retry is `refunds.send_pending_refund` (its lease and idempotency key keep it to one
refund), an email retry is `notifications.retry_one`, a calendar retry is
`calendar_sync.retry_booking`. Each asks for a reason first and is recorded with
`audit.record`. These paths own their transactions (they call Stripe, SMTP or Google between
commits), so the entry is written right after the attempt, with its outcome, in its own
transaction; a refused reason stops the action before anything happens. No Reflex here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from tutor_app.admin import access, audit
from tutor_app.booking import refunds
from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.models import (
    Booking,
    Notification,
    Refund,
    StripeEvent,
    StripeEventFailure,
    SyncStatus,
    User,
)
from tutor_app.integrations import stripe_gateway
from tutor_app.mail import notifications
from tutor_app.payments import reconcile
from tutor_app.tutor_calendar import calendar_sync

LIST_LIMIT = 50
SKIPPED_PREFIX = "skipped:"
PROCESSED = "processed"
FAILED = "failed"
SENDING = "sending"


@dataclass(frozen=True)
class WebhookEvent:
    """One Stripe event as received: handled, or one failed attempt at it (with the error)."""

    event_id: str
    type: str
    object_id: str | None
    at: datetime
    status: str  # PROCESSED or FAILED
    error: str = ""
    handled_later: bool = False  # a failed attempt whose event has been handled since


@dataclass(frozen=True)
class OwedRefund:
    booking_id: str
    amount_cents: int
    currency: str
    reason: str
    since: datetime
    status: str  # SENDING (an attempt holds the lease) or FAILED (waiting for a retry)


@dataclass(frozen=True)
class FailedNotification:
    notification_id: str
    booking_id: str
    kind: str
    attempts: int
    error: str
    created_at: datetime


@dataclass(frozen=True)
class FailedSync:
    booking_id: str
    tutor_id: str
    start: datetime
    error: str


def webhook_events(db: Session, *, limit: int = LIST_LIMIT) -> list[WebhookEvent]:
    """The newest handled events and failed attempts, merged, newest first."""
    handled = db.exec(
        select(StripeEvent).order_by(col(StripeEvent.received_at).desc()).limit(limit)
    ).all()
    failures = db.exec(
        select(StripeEventFailure).order_by(col(StripeEventFailure.failed_at).desc()).limit(limit)
    ).all()
    failed_ids = [f.event_id for f in failures]
    handled_since = set(db.exec(
        select(StripeEvent.id).where(col(StripeEvent.id).in_(failed_ids))
    ).all()) if failed_ids else set()
    rows = [WebhookEvent(e.id, e.type, e.object_id, e.received_at, PROCESSED) for e in handled]
    rows += [WebhookEvent(f.event_id, f.type, f.object_id, f.failed_at, FAILED, f.error,
                          f.event_id in handled_since) for f in failures]
    return sorted(rows, key=lambda r: r.at, reverse=True)[:limit]


def owed_refunds(db: Session, *, now: datetime | None = None, limit: int = LIST_LIMIT
                 ) -> list[OwedRefund]:
    """Refunds owed and not yet confirmed by Stripe, oldest first."""
    lapsed = (now or clock.now()) - refunds.ATTEMPT_LEASE
    rows = db.exec(
        select(Refund)
        .where(col(Refund.stripe_refund_id).like(f"{refunds.PENDING_PREFIX}%"))
        .order_by(col(Refund.created_at))
        .limit(limit)
    ).all()
    return [OwedRefund(r.booking_id, r.amount_cents, r.currency, r.reason, r.created_at,
                       FAILED if r.created_at <= lapsed else SENDING) for r in rows]


def failed_notifications(db: Session, *, limit: int = LIST_LIMIT) -> list[FailedNotification]:
    """Emails whose sending failed (and were not sent since), newest first."""
    rows = db.exec(
        select(Notification)
        .where(col(Notification.sent_at).is_(None), col(Notification.last_error).is_not(None),
               col(Notification.last_error).not_like(f"{SKIPPED_PREFIX}%"))
        .order_by(col(Notification.created_at).desc())
        .limit(limit)
    ).all()
    return [FailedNotification(n.id, n.booking_id, n.kind, n.attempts, n.last_error or "",
                               n.created_at) for n in rows]


def failed_syncs(db: Session, *, limit: int = LIST_LIMIT) -> list[FailedSync]:
    """Bookings whose tutor's calendar event could not be written, soonest lesson first."""
    rows = db.exec(
        select(Booking)
        .where(col(Booking.calendar_sync_status) == SyncStatus.FAILED)
        .order_by(col(Booking.start_time))
        .limit(limit)
    ).all()
    return [FailedSync(b.id, b.tutor_id, b.start_time, b.calendar_sync_error or "")
            for b in rows]


# --- actions ---------------------------------------------------------------------------------


def _audit(admin: User, *, action: str, target_type: str, target_id: str, reason: str,
           after: dict[str, object]) -> None:
    with app_db.write_session() as db:
        audit.record(db, actor=admin, action=action, target_type=target_type,
                     target_id=target_id, reason=reason, after=after)
        db.commit()


def run_reconciliation(admin: User, *, reason: str) -> str:
    """Book paid sessions the webhook missed and send owed refunds, now; the result line."""
    access.admin_user(admin)
    reason = audit.clean_reason(reason)
    try:
        report = reconcile.reconcile()
        result = f"{report}; {refunds.retry_pending_refunds()} pending refunds sent"
    except stripe_gateway.PaymentProviderError as exc:
        result = f"reconcile failed: {exc}"
    _audit(admin, action="payments.reconcile", target_type="payments", target_id="reconcile",
           reason=reason, after={"result": result})
    return result


def retry_refund(admin: User, *, booking_id: str, reason: str) -> refunds.RefundAttempt:
    """Send the booking's owed refund again (the once-only refund path)."""
    access.admin_user(admin)
    reason = audit.clean_reason(reason)
    attempt = refunds.send_pending_refund(booking_id=booking_id)
    _audit(admin, action="refund.retry", target_type="booking", target_id=booking_id,
           reason=reason, after={"status": str(attempt.status),
                                 "amount_cents": attempt.amount_cents,
                                 "stripe_refund_id": attempt.stripe_refund_id})
    return attempt


def retry_notification(admin: User, *, notification_id: str, reason: str) -> bool:
    """Send a failed email again; True when it went out."""
    access.admin_user(admin)
    reason = audit.clean_reason(reason)
    sent = notifications.retry_one(notification_id)
    _audit(admin, action="notification.retry", target_type="notification",
           target_id=notification_id, reason=reason, after={"sent": sent})
    return sent


def retry_calendar_sync(admin: User, *, booking_id: str, reason: str) -> str:
    """Write the booking's calendar event again; the sync's status afterwards."""
    access.admin_user(admin)
    reason = audit.clean_reason(reason)
    result = calendar_sync.retry_booking(booking_id)
    _audit(admin, action="calendar.retry", target_type="booking", target_id=booking_id,
           reason=reason, after={"status": result.status, "error": result.error})
    return result.status

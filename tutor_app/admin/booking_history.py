"""One booking's whole life, for the admin's booking page: the facts and one timeline.

The timeline merges, oldest first: the slot hold (by the checkout session id), every Stripe
event received for the checkout session or its payment intent (`stripe_events.object_id`,
indexed by `ix_stripe_events_object`), the emails (`notifications`), the refunds, the
booking's own history (`booking_events`, written by `booking.transitions`) and the admin
actions on it (`audit_log`, with their reasons). Each source is one indexed query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from tutor_app.booking import refunds
from tutor_app.core.models import (
    AuditEntry,
    Booking,
    BookingEvent,
    Notification,
    Refund,
    SlotHold,
    StripeEvent,
    Tutor,
    User,
)

BOOKING_TARGET = "booking"  # AuditEntry.target_type of an action on a booking


@dataclass(frozen=True)
class TimelineEntry:
    """One step: when, what (a short title), the details, and who (a role, or an email)."""

    at: datetime
    source: str  # "hold", "stripe", "email", "refund", "event", "admin"
    title: str
    detail: str = ""
    actor: str = ""


@dataclass(frozen=True)
class BookingHistory:
    booking: Booking
    tutor_name: str
    student_email: str
    student_name: str
    refundable_cents: int
    pending_refund_cents: int
    timeline: list[TimelineEntry] = field(default_factory=list)


def _words(detail: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in detail.items() if v not in (None, ""))


def _hold(db: Session, booking: Booking) -> list[TimelineEntry]:
    hold = db.exec(select(SlotHold).where(
        col(SlotHold.checkout_session_id) == booking.stripe_checkout_session_id)).first()
    if hold is None:
        return []
    return [TimelineEntry(hold.created_at, "hold", "Slot held for checkout", _words({
        "hold": hold.id, "status": hold.status, "expires": hold.expires_at.isoformat(),
        "checkout session": hold.checkout_session_id,
    }), "student")]


def _stripe(db: Session, booking: Booking) -> list[TimelineEntry]:
    ids = [i for i in (booking.stripe_checkout_session_id, booking.stripe_payment_intent_id)
           if i]
    events = db.exec(select(StripeEvent).where(col(StripeEvent.object_id).in_(ids))).all()
    return [TimelineEntry(e.received_at, "stripe", f"Stripe event {e.type}",
                          _words({"event": e.id, "object": e.object_id}), "system")
            for e in events]


def _emails(db: Session, booking: Booking) -> list[TimelineEntry]:
    rows = db.exec(select(Notification).where(col(Notification.booking_id) == booking.id)).all()
    return [TimelineEntry(
        n.sent_at or n.created_at, "email",
        f"Email {n.kind} {'sent' if n.sent_at else 'not sent'}",
        _words({"key": n.dedupe_key, "attempts": n.attempts, "error": n.last_error}), "system",
    ) for n in rows]


def _refunds(db: Session, booking: Booking) -> list[TimelineEntry]:
    rows = db.exec(select(Refund).where(col(Refund.booking_id) == booking.id)).all()
    return [TimelineEntry(
        r.created_at, "refund",
        f"Refund {'owed' if r.stripe_refund_id.startswith(refunds.PENDING_PREFIX) else 'made'}"
        f" ({r.amount_cents} {r.currency})",
        _words({"id": r.stripe_refund_id, "reason": r.reason}), "",
    ) for r in rows]


def _events(db: Session, booking: Booking) -> list[TimelineEntry]:
    rows = db.exec(select(BookingEvent).where(col(BookingEvent.booking_id) == booking.id)).all()
    return [TimelineEntry(e.created_at, "event", e.kind.replace("_", " ").capitalize(),
                          _words(e.detail), e.actor_role) for e in rows]


def _audit(db: Session, booking: Booking) -> list[TimelineEntry]:
    rows = db.exec(select(AuditEntry).where(
        col(AuditEntry.target_type) == BOOKING_TARGET,
        col(AuditEntry.target_id) == booking.id,
    )).all()
    return [TimelineEntry(a.created_at, "admin", f"Admin: {a.action}",
                          f"Reason: {a.reason}" + (f" ({_words(a.after)})" if a.after else ""),
                          a.actor_email) for a in rows]


def booking_history(db: Session, *, booking_id: str) -> BookingHistory | None:
    """The booking, its facts and its timeline (oldest first); None when there is none."""
    booking = db.get(Booking, booking_id) if booking_id else None
    if booking is None:
        return None
    tutor = db.get(Tutor, booking.tutor_id)
    student = db.get(User, booking.user_id) if booking.user_id else None
    pending = refunds.pending_refund(db, booking_id=booking.id)
    timeline = [*_hold(db, booking), *_stripe(db, booking), *_emails(db, booking),
                *_refunds(db, booking), *_events(db, booking), *_audit(db, booking)]
    timeline.sort(key=lambda e: e.at)
    return BookingHistory(
        booking=booking,
        tutor_name=tutor.name if tutor else booking.tutor_id,
        student_email=(student.email if student else None) or booking.customer_email or "",
        student_name=student.name if student and student.name else "",
        refundable_cents=refunds.refundable_cents(db, booking=booking),
        pending_refund_cents=pending.amount_cents if pending else 0,
        timeline=timeline,
    )

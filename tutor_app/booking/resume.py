"""A student's own unfinished payment, found again so the wizard can offer to resume it.

A student who leaves Stripe Checkout half-way (back button, closed tab) still holds the slot
while the session is open: `slots.free_slots_for(for_user_id=...)` keeps showing that slot to
them, and `checkout.start_checkout` for the same slot returns the same session
(`resumed=True`) instead of making a second one. This module adds the explicit offer: the
wizard shows "You have a payment in progress ... Resume payment" for the newest such hold.

Only a hold that can still be paid counts: active, with a session attached, and at least
`checkout.MIN_RESUME_REMAINING` before it lapses. A lapsed hold is nobody's (the slot is free
for everyone again), and `checkout.session.expired` releases it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from tutor_app.booking import checkout
from tutor_app.catalog import tutor_catalog
from tutor_app.core import clock
from tutor_app.core.models import HoldStatus, SlotHold


@dataclass(frozen=True)
class OpenCheckout:
    """An unfinished payment of the student: where to resume it and what it is for."""

    session_id: str
    url: str
    tutor_id: str
    tutor_name: str
    start: datetime
    end: datetime
    expires_at: datetime


def open_checkout(
    db: Session, *, user_id: str, now: datetime | None = None
) -> OpenCheckout | None:
    """The user's newest hold whose checkout session can still be paid, or None."""
    if not user_id:
        return None
    now = now or clock.now()
    hold = db.exec(
        select(SlotHold)
        .where(
            SlotHold.user_id == user_id,
            SlotHold.status == HoldStatus.ACTIVE,
            col(SlotHold.expires_at) > now + checkout.MIN_RESUME_REMAINING,
            col(SlotHold.checkout_session_id).is_not(None),
            col(SlotHold.checkout_url).is_not(None),
        )
        .order_by(col(SlotHold.created_at).desc())
    ).first()
    if hold is None or not hold.checkout_session_id or not hold.checkout_url:
        return None
    tutor = tutor_catalog.get_tutor(db, hold.tutor_id)
    if tutor is None:
        return None  # the tutor left the catalog: checkout would refuse to resume anyway
    return OpenCheckout(
        session_id=hold.checkout_session_id,
        url=hold.checkout_url,
        tutor_id=hold.tutor_id,
        tutor_name=tutor.name,
        start=hold.start_time,
        end=hold.end_time,
        expires_at=hold.expires_at,
    )

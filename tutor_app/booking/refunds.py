"""Money going back to students: at most one app-made refund per booking, never sent twice.

How a refund is made (cancel, or a paid session whose slot was taken):

1. In the same transaction that decides it (the cancel that flips the booking to CANCELED), a
   *pending* `Refund` row is written: `stripe_refund_id = "pending:refund-<booking id>"`, with
   the amount decided. The unique `stripe_refund_id` makes "one app refund per booking" a
   database fact, and the row is the durable memory of money owed if the process dies next.
2. After the commit, one caller sends it to Stripe with the idempotency key
   `refund-<booking id>` and parameters derived from the row alone, so a retry (same key, same
   parameters) gets Stripe's first answer back instead of a second refund.
3. Stripe's answer replaces the pending row by the real one (`re_...`) and raises
   `bookings.refunded_cents`.

A booking may be refunded in parts (an admin's partial refund, then the rest at a cancel): each
app refund is its own pending row and its own Stripe request. The first one keeps the key
`refund-<booking id>`; a later one gets `refund-<booking id>-<n>` (n: the booking's refund rows
so far, plus one), written into its pending id, `pending:<key>`, so a retry reads its key from
the row alone. At most one refund is pending per booking at a time: the first by the unique
id, a later one because every path that owes it holds the booking's row lock and checks first.

Who may send: the pending row is also a short lease. While a row is pending its `created_at`
is the time the current attempt started; a caller other than the one that wrote the row must
first move that time forward with a compare-and-set `UPDATE ... WHERE created_at <= now - lease`,
which exactly one concurrent caller wins. So ten concurrent cancels produce one request to
Stripe (the idempotency key is the second guard, for a lease that lapsed mid-request). A failed
attempt hands the lease back at once, and `retry_pending_refunds` (a periodic job) or the next
cancel call picks the refund up again.

`bookings.refunded_cents` is what Stripe has confirmed, never what is merely owed: it is the
larger of the recorded refunds' sum and the charge's `amount_refunded` from `charge.refunded`.

`charge.refunded` (a refund made in the Stripe dashboard, or the echo of ours) brings the
booking to CANCELED with the refunded amount (`apply_charge_refund`), in any order relative to
`checkout.session.completed`: the Stripe event handler (`payments.stripe_events`) books a
payment that has no booking yet before it calls this module.

With dev payments (the app's own test-checkout page, never in prod) there is no Stripe: a
dev booking's refund is recorded at once as `re_dev_<booking id>`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import exists, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tutor_app.booking import lesson_events, transitions
from tutor_app.booking.transitions import REFUNDED_IN_STRIPE_REASON, SLOT_TAKEN_REASON
from tutor_app.core import clock, metrics
from tutor_app.core import db as app_db
from tutor_app.core.ids import DEV_CHECKOUT_SESSION_PREFIX, FREE_BOOKING_SESSION_PREFIX
from tutor_app.core.models import Booking, BookingKind, BookingStatus, Refund
from tutor_app.core.settings import get_settings
from tutor_app.integrations import stripe_gateway

log = logging.getLogger(__name__)

PENDING_PREFIX = "pending:"
DEV_REFUND_PREFIX = "re_dev_"
# How long one attempt may hold a pending refund before another caller may retry it.
ATTEMPT_LEASE = timedelta(minutes=2)


class RefundStatus(StrEnum):
    """Where a booking's app-made refund stands after an attempt."""

    NONE = "none"  # nothing owed
    REFUNDED = "refunded"  # Stripe confirmed it
    PENDING = "pending"  # owed; the attempt failed or is for a person to look at
    IN_PROGRESS = "in_progress"  # another caller is sending it right now


@dataclass(frozen=True)
class RefundAttempt:
    """The outcome of `send_pending_refund`."""

    booking_id: str
    status: RefundStatus
    amount_cents: int = 0
    stripe_refund_id: str | None = None


class ChargeRefundOutcome(StrEnum):
    """What `apply_charge_refund` did."""

    APPLIED = "applied"  # the booking now carries the refund (and is CANCELED)
    NOT_OURS = "not_ours"  # no checkout session of this app paid that charge
    ALREADY_HANDLED = "duplicate_event"  # `claim` refused (webhooks.DUPLICATE_EVENT)


def refund_key(booking_id: str, number: int = 1) -> str:
    """The Stripe idempotency key of a booking's `number`th app refund (one request each)."""
    return f"refund-{booking_id}" if number <= 1 else f"refund-{booking_id}-{number}"


def pending_refund_id(booking_id: str, number: int = 1) -> str:
    """The placeholder `stripe_refund_id` of a refund owed but not yet confirmed by Stripe."""
    return f"{PENDING_PREFIX}{refund_key(booking_id, number)}"


def key_of(pending: Refund) -> str:
    """The idempotency key a pending refund is sent with (carried by its own id)."""
    return pending.stripe_refund_id.removeprefix(PENDING_PREFIX)


def is_dev_booking(booking: Booking) -> bool:
    """A booking paid on the dev test-checkout page: there is no Stripe payment to refund."""
    return booking.stripe_checkout_session_id.startswith(DEV_CHECKOUT_SESSION_PREFIX) and (
        not get_settings().is_prod
    )


def is_free_booking(booking: Booking) -> bool:
    """A free consultation: nothing was paid, so no refund is ever owed and Stripe never hears
    of it."""
    return booking.kind == BookingKind.CONSULTATION or (
        booking.stripe_checkout_session_id.startswith(FREE_BOOKING_SESSION_PREFIX)
    )


# --- reading ---------------------------------------------------------------------------------


def pending_refund(db: Session, *, booking_id: str) -> Refund | None:
    """The booking's refund that is owed but not yet confirmed, if any."""
    return db.exec(
        select(Refund).where(
            Refund.booking_id == booking_id,
            col(Refund.stripe_refund_id).like(f"{PENDING_PREFIX}%"),
        )
    ).first()


def refundable_cents(db: Session, *, booking: Booking) -> int:
    """What may still be refunded: the price less what Stripe confirmed and what is owed."""
    pending = pending_refund(db, booking_id=booking.id)
    owed = pending.amount_cents if pending is not None else 0
    return max(0, booking.price_cents - booking.refunded_cents - owed)


def confirmed_cents(db: Session, *, booking_id: str) -> int:
    """The sum of the booking's refunds Stripe has confirmed (pending ones left out)."""
    total = db.exec(
        select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
            Refund.booking_id == booking_id,
            col(Refund.stripe_refund_id).not_like(f"{PENDING_PREFIX}%"),
        )
    ).one()
    return int(total or 0)


def refund_status(db: Session, *, booking: Booking) -> RefundStatus:
    """How the booking's money stands: pending when a refund is owed, else refunded or none."""
    if pending_refund(db, booking_id=booking.id) is not None:
        return RefundStatus.PENDING
    return RefundStatus.REFUNDED if booking.refunded_cents > 0 else RefundStatus.NONE


# --- owing and sending -----------------------------------------------------------------------


def owe_refund(
    db: Session, *, booking: Booking, amount_cents: int, reason: str, leased: bool = True
) -> bool:
    """Record, in the caller's transaction, that the app owes this booking a refund.

    Returns False (and writes nothing) for a zero amount, a free booking, or when a refund is
    already owed.
    The caller commits, then calls `send_pending_refund(..., claimed=True)`: the row's
    `created_at` is the start of that first attempt's lease (wall clock). With
    `leased=False` the lease starts lapsed, so any caller may send it.
    """
    if amount_cents <= 0 or is_free_booking(booking):
        return False
    if pending_refund(db, booking_id=booking.id) is not None:
        return False
    earlier = db.exec(
        select(func.count()).select_from(Refund).where(col(Refund.booking_id) == booking.id)
    ).one()
    db.add(
        Refund(
            booking_id=booking.id,
            stripe_refund_id=pending_refund_id(booking.id, int(earlier) + 1),
            amount_cents=amount_cents,
            currency=booking.currency,
            reason=reason[:255],
            created_at=clock.now() if leased else clock.now() - 2 * ATTEMPT_LEASE,
        )
    )
    db.flush()
    return True


class RefundRefused(ValueError):
    """A partial refund that cannot be made as asked; str() is for people."""


ADMIN_REFUND_REASON = "admin_refund"
NOTHING_TO_REFUND = "Nothing is left to refund on this booking."
REFUND_ON_ITS_WAY = "A refund of this booking is already on its way; wait for it to finish."
REFUNDS_CHANGED = "This booking's refunds changed meanwhile; reload the page and look again."
AMOUNT_OUT_OF_RANGE = "Choose an amount above zero and no more than what is left to refund."


def refund_part(
    *, booking_id: str, amount_cents: int, expected_refunded_cents: int,
    actor: transitions.Actor, in_transaction: transitions.InTransaction,
    now: datetime | None = None,
) -> RefundAttempt:
    """Refund part (or the rest) of a booking without touching its status: one more app refund
    through the once-only path (its own pending row and idempotency key). Owns its
    transactions.

    Never twice: under the booking's row lock it refuses while another refund is owed, and
    unless the confirmed refunded amount is still `expected_refunded_cents` (what the person
    saw when they asked), so a double click, or two admins at once, make one refund.
    `in_transaction` (the audit entry) commits with the refund owed. Raises NotFound-like
    LookupError for no such booking, RefundRefused otherwise.
    """
    now = now or clock.now()
    with app_db.write_session() as db:
        booking = db.get(Booking, booking_id, with_for_update=True) if booking_id else None
        if booking is None:
            raise LookupError(booking_id)
        if is_free_booking(booking) or booking.refunded_cents >= booking.price_cents:
            raise RefundRefused(NOTHING_TO_REFUND)
        if pending_refund(db, booking_id=booking.id) is not None:
            raise RefundRefused(REFUND_ON_ITS_WAY)
        if booking.refunded_cents != expected_refunded_cents:
            raise RefundRefused(REFUNDS_CHANGED)
        if not 0 < amount_cents <= refundable_cents(db, booking=booking):
            raise RefundRefused(AMOUNT_OUT_OF_RANGE)
        owe_refund(db, booking=booking, amount_cents=amount_cents, reason=ADMIN_REFUND_REASON)
        transitions.add_event(db, booking_id=booking.id, kind=transitions.REFUND_REQUESTED,
                              now=now, actor=actor, detail={"amount_cents": amount_cents})
        in_transaction(db, booking)
        db.commit()
    log.info("booking %s: refund of %d owed (by %s %s)", booking_id, amount_cents, actor.role,
             actor.user_id)
    return send_pending_refund(booking_id=booking_id, claimed=True, now=now)


def send_pending_refund(
    *, booking_id: str, claimed: bool = False, now: datetime | None = None
) -> RefundAttempt:
    """Send the booking's owed refund to Stripe, unless another caller is sending it; owns its
    transactions. Never raises for a Stripe failure: the refund stays pending for a retry.

    `claimed` is for the caller that has just written the pending row (it holds the lease).
    """
    lease_now = clock.now()  # the lease runs on the wall clock, whatever `now` the caller uses
    with app_db.write_session() as db:
        booking = db.get(Booking, booking_id)
        pending = pending_refund(db, booking_id=booking_id)
        if booking is None or pending is None:
            status = refund_status(db, booking=booking) if booking else RefundStatus.NONE
            return RefundAttempt(booking_id, status, booking.refunded_cents if booking else 0)
        if not claimed and not _take_lease(db, pending, lease_now):
            db.rollback()
            return RefundAttempt(booking_id, RefundStatus.IN_PROGRESS, pending.amount_cents)
        if booking.refunded_cents + pending.amount_cents > booking.price_cents:
            # Someone refunded (part of) the payment meanwhile, outside the app: what we
            # decided no longer fits in what is left. The money already back is on the booking.
            log.warning(
                "refund for booking %s dropped: %d owed but %d of %d already refunded",
                booking_id, pending.amount_cents, booking.refunded_cents, booking.price_cents,
            )
            metrics.refund_outcome("dropped")
            db.delete(pending)
            db.commit()
            return RefundAttempt(booking_id, refund_status(db, booking=booking),
                                 booking.refunded_cents)
        attempt_started = pending.created_at if claimed else lease_now
        db.commit()
        amount, reason, key = pending.amount_cents, pending.reason, key_of(pending)
        payment_intent, dev = booking.stripe_payment_intent_id, is_dev_booking(booking)

    if dev:
        refund: dict[str, Any] = {
            "id": f"{DEV_REFUND_PREFIX}{booking_id}", "amount": amount,
            "currency": booking.currency, "metadata": {"bookingId": booking_id},
        }
    elif not payment_intent:
        log.error("booking %s owes a refund but has no payment intent: a person must refund",
                  booking_id)
        metrics.refund_outcome("no_payment_intent")
        _hand_back_lease(booking_id, attempt_started)
        return RefundAttempt(booking_id, RefundStatus.PENDING, amount)
    else:
        try:
            refund = stripe_gateway.create_refund(
                payment_intent=payment_intent,
                amount=amount,
                idempotency_key=key,
                metadata={"bookingId": booking_id, "reason": reason},
            )
        except stripe_gateway.PaymentProviderError:
            log.warning("refund for booking %s not sent; it stays pending for a retry",
                        booking_id)
            metrics.refund_outcome("failed")
            _hand_back_lease(booking_id, attempt_started)
            return RefundAttempt(booking_id, RefundStatus.PENDING, amount)

    recorded = record_stripe_refund(refund, booking_id=booking_id, now=now)
    log.info("refund %s of %d for booking %s recorded", refund.get("id"), recorded, booking_id,
             extra={"booking_id": booking_id})
    metrics.refund_outcome("refunded")
    return RefundAttempt(booking_id, RefundStatus.REFUNDED, amount, str(refund.get("id")))


def _take_lease(db: Session, pending: Refund, now: datetime) -> bool:
    result = db.execute(
        update(Refund)
        .where(
            col(Refund.id) == pending.id,
            col(Refund.stripe_refund_id) == pending.stripe_refund_id,
            col(Refund.created_at) <= now - ATTEMPT_LEASE,
        )
        .values(created_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _hand_back_lease(booking_id: str, attempt_started: datetime) -> None:
    """Let the next caller retry at once (only if nobody took the lease over meanwhile)."""
    with app_db.write_session() as db:
        db.execute(
            update(Refund)
            .where(
                col(Refund.booking_id) == booking_id,
                col(Refund.stripe_refund_id).like(f"{PENDING_PREFIX}%"),
                col(Refund.created_at) == attempt_started,
            )
            .values(created_at=attempt_started - ATTEMPT_LEASE)
        )
        db.commit()


def record_stripe_refund(
    refund: Mapping[str, Any], *, booking_id: str, now: datetime | None = None
) -> int:
    """Store a refund Stripe reported for the booking (once, by its id) and raise the booking's
    `refunded_cents`; the pending row it answers is replaced. Owns its transaction; returns
    the booking's confirmed refunded total."""
    for attempt in range(2):
        try:
            with app_db.write_session() as db:
                booking = db.exec(
                    select(Booking).where(Booking.id == booking_id).with_for_update()
                ).one()
                _upsert_refund(db, booking, refund, now=now or clock.now())
                db.commit()
                return booking.refunded_cents
        except IntegrityError:
            # The webhook recorded the same refund id at the same moment; read it again.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _upsert_refund(db: Session, booking: Booking, refund: Mapping[str, Any], *, now: datetime
                   ) -> None:
    refund_id = str(refund.get("id") or "")
    if not refund_id or refund.get("status") in ("failed", "canceled"):
        return
    amount = int(refund.get("amount") or 0)
    pending = pending_refund(db, booking_id=booking.id)
    metadata = refund.get("metadata")
    ours = isinstance(metadata, Mapping) and metadata.get("bookingId") == booking.id
    existing = db.exec(select(Refund).where(Refund.stripe_refund_id == refund_id)).first()
    if existing is None:
        if pending is not None and ours:
            pending.stripe_refund_id, pending.amount_cents = refund_id, amount
            pending.created_at = now
            db.add(pending)
        else:
            db.add(Refund(
                booking_id=booking.id, stripe_refund_id=refund_id, amount_cents=amount,
                currency=str(refund.get("currency") or booking.currency),
                reason=str((metadata.get("reason") if isinstance(metadata, Mapping) else None)
                           or refund.get("reason") or "")[:255],
                created_at=now,
            ))
    elif pending is not None and ours:
        db.delete(pending)
    db.flush()
    transitions.record_refunded(
        booking, refunded_cents=confirmed_cents(db, booking_id=booking.id), now=now
    )
    db.add(booking)


# --- the slot-taken hook and the retry job ---------------------------------------------------


def refund_taken_slot(*, booking_id: str) -> RefundAttempt:
    """Refund in full a payment whose slot was taken (recording.record_paid_session's
    REFUND_NEEDED). Owns its transactions and never raises: whatever fails is finished by
    `retry_pending_refunds`, since the CANCELED `slot_taken` booking is the durable record."""
    try:
        with app_db.write_session() as db:
            booking = db.get(Booking, booking_id)
            if booking is None:
                return RefundAttempt(booking_id, RefundStatus.NONE)
            owed = booking.price_cents - booking.refunded_cents
            created = _has_no_refund(db, booking_id) and owe_refund(
                db, booking=booking, amount_cents=owed, reason=SLOT_TAKEN_REASON
            )
            db.commit()
        return send_pending_refund(booking_id=booking_id, claimed=created)
    except Exception:  # the booking is committed; the retry job owes the student the rest
        log.exception("refund for taken slot of booking %s failed; the retry job will finish",
                      booking_id)
        return RefundAttempt(booking_id, RefundStatus.PENDING)


def _has_no_refund(db: Session, booking_id: str) -> bool:
    return db.exec(select(Refund.id).where(Refund.booking_id == booking_id)).first() is None


def retry_pending_refunds(*, now: datetime | None = None) -> int:
    """The periodic job: send every owed refund whose last attempt failed or stalled.

    Also writes the owed refund of a `slot_taken` booking whose hook never ran (the process
    died between the booking's commit and the refund). Returns how many refunds went through.
    """
    stale = clock.now() - ATTEMPT_LEASE
    with app_db.write_session() as db:
        orphans = db.exec(
            select(Booking).where(
                Booking.status == BookingStatus.CANCELED,
                Booking.cancel_reason == SLOT_TAKEN_REASON,
                col(Booking.refunded_cents) < col(Booking.price_cents),
                ~exists().where(col(Refund.booking_id) == col(Booking.id)),
            )
        ).all()
        for booking in orphans:
            owe_refund(db, booking=booking, reason=SLOT_TAKEN_REASON, leased=False,
                       amount_cents=booking.price_cents - booking.refunded_cents)
        db.commit()
        due = db.exec(
            select(Refund.booking_id).where(
                col(Refund.stripe_refund_id).like(f"{PENDING_PREFIX}%"),
                col(Refund.created_at) <= stale,
            )
        ).all()
    sent = 0
    for booking_id in due:
        attempt = send_pending_refund(booking_id=booking_id, now=now)
        sent += attempt.status is RefundStatus.REFUNDED
    if due:
        log.info("refund retry: %d pending, %d sent", len(due), sent)
    return sent


# --- charge.refunded -------------------------------------------------------------------------


def apply_charge_refund(
    charge: Mapping[str, Any],
    *,
    booking_id: str | None,
    claim: Callable[[Session], bool] | None = None,
    now: datetime | None = None,
) -> ChargeRefundOutcome:
    """`charge.refunded` for the booking that charge paid (None: no booking of this app): the
    booking carries the amount Stripe refunded (the charge's cumulative `amount_refunded`)
    and becomes CANCELED. Idempotent; owns its transaction.

    A partial refund of a SCHEDULED lesson cancels it too (a refund made in the dashboard
    means the lesson is off); a COMPLETED lesson is canceled only by a full refund, else it
    just shows the amount. A charge refunded by no more than the app's own refunds (confirmed
    or pending: the echo of an admin's partial refund, "refund without canceling") changes no
    status. `claim` runs in the same transaction (the webhook records its event
    id there). Finding the booking, and booking a session no webhook recorded yet, is the
    caller's part (`payments.stripe_events.handle_charge_refunded`).
    """
    now = now or clock.now()
    amount_refunded = int(charge.get("amount_refunded") or 0)
    fully = bool(charge.get("refunded"))
    canceled = False
    with app_db.write_session() as db:
        if claim is not None and not claim(db):
            db.rollback()
            return ChargeRefundOutcome.ALREADY_HANDLED
        if booking_id is None:
            db.commit()  # the claim: the event is handled (nothing of ours to change)
            return ChargeRefundOutcome.NOT_OURS
        booking = db.exec(select(Booking).where(Booking.id == booking_id).with_for_update()).one()
        owed = pending_refund(db, booking_id=booking.id)
        ours_only = amount_refunded <= booking.refunded_cents + (owed.amount_cents if owed else 0)
        for refund in _listed_refunds(charge):
            _upsert_refund(db, booking, refund, now=now)
        transitions.record_refunded(booking, refunded_cents=amount_refunded, now=now)
        if not ours_only and (booking.status == BookingStatus.SCHEDULED or (
            booking.status == BookingStatus.COMPLETED and fully
        )):
            transitions.cancel(booking, reason=REFUNDED_IN_STRIPE_REASON, now=now)
            canceled = True
        pending = pending_refund(db, booking_id=booking.id)
        if pending is not None and booking.refunded_cents + pending.amount_cents > (
            booking.price_cents
        ):
            db.delete(pending)  # the money is already back: nothing more to send
        booking.updated_at = now
        db.add(booking)
        db.commit()
    log.info("charge.refunded: booking %s refunded %d%s", booking_id, amount_refunded,
             " and canceled" if canceled else "")
    if canceled:
        lesson_events.after_booking_canceled(booking_id)
    return ChargeRefundOutcome.APPLIED


def _listed_refunds(charge: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The refunds a charge event carries (older API versions embed them; newer ones don't)."""
    refunds = charge.get("refunds")
    data = refunds.get("data") if isinstance(refunds, Mapping) else None
    return [r for r in data if isinstance(r, Mapping)] if isinstance(data, list) else []

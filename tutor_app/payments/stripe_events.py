"""What each verified Stripe event does: one thing per event, each event id once.

No HTTP here: `api/stripe.py` verifies the signature on the raw body and calls `handle_event`
in a worker thread. Every event id is recorded in `stripe_events` in the same transaction as
its effect, so the effect and "this event was handled" commit together: a redelivery of a
handled event does nothing, and a failure leaves nothing recorded, so Stripe's retry redoes it.
A database error propagates (the route answers 5xx and Stripe retries).
`handle_or_record_failure` (what the webhook route calls) also writes each failure, with its
error, to `stripe_event_failures` in a separate transaction, for the admin's payments health
page: the failed transaction left nothing of the event behind.

| event                                         | effect                                   |
| --------------------------------------------- | ---------------------------------------- |
| checkout.session.completed, paid              | the booking (`recording.record_paid_session`) |
| checkout.session.completed, unpaid            | keep the hold until the delayed payment ends |
| checkout.session.async_payment_succeeded      | the booking                              |
| checkout.session.expired, async_payment_failed | release the hold                        |
| charge.refunded                               | the booking CANCELED with the amount (`refunds`) |
| anything else                                 | acknowledged                             |

A paid session is booked only as offered (mode, amount and currency: `recording`); anything
else is recorded with the event, logged at ERROR for a person, not refunded, and answered 2xx.

`charge.refunded` may arrive before `checkout.session.completed`: when the payment has no
booking yet, its Checkout Session is read from Stripe and booked first through the webhook's
own idempotent path (`recording.record_paid_session`), then canceled. A later
`checkout.session.completed` for it is then a duplicate, so the lesson can never come back as
SCHEDULED. This costs a Stripe call only in that rare order, and needs no extra table.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from tutor_app.booking import recording, refunds
from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.models import StripeEvent, StripeEventFailure
from tutor_app.integrations import stripe_gateway
from tutor_app.scheduling import holds

log = logging.getLogger(__name__)

COMPLETED = "checkout.session.completed"
ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
ASYNC_FAILED = "checkout.session.async_payment_failed"
EXPIRED = "checkout.session.expired"

DUPLICATE_EVENT = "duplicate_event"

_BOOKING_RESULTS = {
    recording.BookingOutcome.CREATED: "booked",
    recording.BookingOutcome.DUPLICATE: "already_booked",
    recording.BookingOutcome.REFUND_NEEDED: "refund_needed",
    recording.BookingOutcome.ALREADY_HANDLED: DUPLICATE_EVENT,
    # Recorded with the event, not booked, not refunded: recording logged it at ERROR.
    recording.BookingOutcome.MISMATCH: "not_booked_mismatch",
}


@functools.cache
def _claim_statement(dialect_name: str) -> Any:
    """`INSERT INTO stripe_events ... ON CONFLICT (id) DO NOTHING RETURNING id`, built once."""
    table = StripeEvent.__table__  # type: ignore[attr-defined]
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (
        dialect.insert(table)
        .values({name: sa.bindparam(name, type_=table.c[name].type)
                 for name in ("id", "type", "object_id", "received_at")})
        .on_conflict_do_nothing(index_elements=[table.c.id])
        .returning(table.c.id)
    )


def _claimer(event_id: str, event_type: str, object_id: str | None) -> Callable[[Session], bool]:
    """A function that records the event inside the caller's transaction; False if known.

    One `INSERT ... ON CONFLICT DO NOTHING RETURNING` on the primary key, which makes this
    hold under concurrent deliveries of one event: on PostgreSQL the second insert waits for
    the first transaction and then inserts nothing; on SQLite the write lock serializes them.
    A redelivery therefore needs no lookup of its own first: the claim is the lookup.
    """

    def claim(db: Session) -> bool:
        conn = db.connection()
        values = {"id": event_id, "type": event_type[:128], "object_id": object_id,
                  "received_at": clock.now()}
        return conn.execute(_claim_statement(conn.dialect.name), values).first() is not None

    return claim


def _already_handled(event_id: str) -> bool:
    with app_db.session() as db:
        return db.get(StripeEvent, event_id) is not None


def handle_or_record_failure(event: Mapping[str, Any]) -> str:
    """`handle_event`; when it raises, the failure is recorded (`record_failure`) and the
    exception goes on to the caller (which answers 5xx, so Stripe retries)."""
    try:
        return handle_event(event)
    except Exception as exc:
        record_failure(event, exc)
        raise


def record_failure(event: Mapping[str, Any], exc: BaseException) -> None:
    """Store that handling `event` failed, and why, in its own transaction. Never raises: the
    database may be what failed, and the original error is the one to report."""
    obj = event.get("data", {}).get("object", {}) if isinstance(event.get("data"), Mapping) else {}
    raw_id = obj.get("id") if isinstance(obj, Mapping) else None
    try:
        with app_db.write_session() as db:
            db.add(StripeEventFailure(
                event_id=str(event.get("id", ""))[:255], type=str(event.get("type", ""))[:128],
                object_id=raw_id[:255] if isinstance(raw_id, str) else None,
                error=f"{type(exc).__name__}: {exc}"[:1024], failed_at=clock.now(),
            ))
            db.commit()
    except Exception:
        log.exception("stripe event %s: cannot record its failure", event.get("id"))


def handle_event(event: Mapping[str, Any]) -> str:
    """Apply one verified event; returns a short result word for the response and the logs."""
    event_id = str(event["id"])
    event_type = str(event["type"])
    obj: Mapping[str, Any] = event["data"]["object"]
    raw_id = obj.get("id")
    object_id = raw_id[:255] if isinstance(raw_id, str) else None
    claim = _claimer(event_id, event_type, object_id)
    if event_type in (COMPLETED, ASYNC_SUCCEEDED) and obj.get("payment_status") == "paid":
        result = _book(obj, event_id, event_type, claim)
    elif event_type == COMPLETED:
        result = _with_claim(claim, object_id, _keep_hold, "awaiting_payment")
    elif event_type in (EXPIRED, ASYNC_FAILED):
        result = _with_claim(claim, object_id, _release_hold, "hold_released")
    elif event_type == "charge.refunded":  # a refund, e.g. made in Stripe's dashboard
        # Its handler may ask Stripe for the session before it claims: skip a known event.
        if _already_handled(event_id):
            result = DUPLICATE_EVENT
        else:
            result = str(handle_charge_refunded(obj, claim=claim))
    else:
        result = _with_claim(claim, object_id, None, "ignored")
    log.info("stripe event %s (%s) object %s: %s", event_id, event_type, object_id, result)
    return result


def _book(
    obj: Mapping[str, Any], event_id: str, event_type: str, claim: Callable[[Session], bool]
) -> str:
    source = f"webhook {event_type} event {event_id}"
    outcome = recording.record_paid_session(obj, source=source, claim=claim)
    if outcome in _BOOKING_RESULTS:
        return _BOOKING_RESULTS[outcome]
    # NOT_PAID or INVALID: nothing to write, but the event is handled: record it.
    return _with_claim(claim, None, None, str(outcome))


def handle_charge_refunded(
    charge: Mapping[str, Any],
    *,
    claim: Callable[[Session], bool] | None = None,
    now: datetime | None = None,
) -> refunds.ChargeRefundOutcome:
    """`charge.refunded`: the booking paid by this charge becomes CANCELED with the amount
    Stripe refunded (`refunds.apply_charge_refund`), booked first if no webhook has booked it
    yet (module doc). Idempotent; owns its transactions. A Stripe failure raises
    PaymentProviderError (answer 5xx, Stripe retries).
    """
    payment_intent = recording.stripe_id(charge.get("payment_intent"))
    booking_id = _booking_paid_by(payment_intent) if payment_intent else None
    outcome = refunds.apply_charge_refund(charge, booking_id=booking_id, claim=claim, now=now)
    if outcome is refunds.ChargeRefundOutcome.NOT_OURS:
        log.info("charge.refunded for payment %s: no booking of this app", payment_intent)
    return outcome


def _booking_paid_by(payment_intent: str) -> str | None:
    """The id of the booking this payment made, booking its Checkout Session first if needed."""
    with app_db.session() as db:
        found = recording.booking_for_payment_intent(db, payment_intent=payment_intent)
        if found is not None:
            return found.id
    session = stripe_gateway.checkout_session_for_payment_intent(payment_intent)
    if session is None:
        return None
    outcome = recording.record_paid_session(session, source="charge.refunded")
    with app_db.session() as db:
        booked = recording.booking_for_session(db, session_id=str(session["id"]))
    log.info("charge.refunded for %s booked its session first: %s", payment_intent, outcome)
    return booked.id if booked else None


def _keep_hold(db: Session, session_id: str) -> bool:
    return holds.keep_until_paid(db, session_id=session_id, now=clock.now())


def _release_hold(db: Session, session_id: str) -> bool:
    return holds.release_by_session(db, session_id=session_id, now=clock.now())


def _with_claim(
    claim: Callable[[Session], bool],
    session_id: str | None,
    effect: Callable[[Session, str], bool] | None,
    result: str,
) -> str:
    """Record the event and apply `effect` to its session in one write transaction."""
    with app_db.write_session() as db:
        if not claim(db):
            db.rollback()
            return DUPLICATE_EVENT
        changed = effect(db, session_id) if effect is not None and session_id else False
        db.commit()
    if effect is not None and not changed:
        return "no_active_hold"
    return result

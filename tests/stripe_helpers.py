"""Helpers shared by the payment tests: the app's Stripe settings pointed at the fake Stripe,
webhook deliveries signed like Stripe's, what reached the fake, and fresh reads of the rows
payments write. The Stripe objects themselves are built in `tests.factories`.

Signing goes through `dev_payments.sign_payload`, the app's own implementation of Stripe's
scheme; `test_stripe_webhook` proves separately that the stripe SDK accepts what it produces.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import Session, select

from tests.fakes.fake_stripe import FakeStripe, RecordedRequest
from tutor_app.core.models import Booking, Refund, SlotHold, StripeEvent
from tutor_app.payments.dev_gateway import sign_payload

WEBHOOK_SECRET = "whsec_test_payments_0123456789"
STRIPE_KEY = "sk_test_payments_fake"
WEBHOOK_PATH = "/api/stripe/webhook"



def signed_headers(payload: bytes, secret: str = WEBHOOK_SECRET,
                   timestamp: int | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": sign_payload(payload, secret, timestamp),
    }


def post_event(base_url: str, evt: dict[str, Any], *, secret: str = WEBHOOK_SECRET,
               timestamp: int | None = None) -> httpx.Response:
    """Deliver `evt` to the webhook over HTTP, signed like Stripe."""
    payload = json.dumps(evt).encode()
    return httpx.post(base_url + WEBHOOK_PATH, content=payload,
                      headers=signed_headers(payload, secret, timestamp), timeout=30)


def bookings_for(db: Session, session_id: str) -> list[Booking]:
    db.commit()  # end the read snapshot (SQLite WAL keeps one per transaction)
    db.expire_all()
    return list(db.exec(select(Booking).where(Booking.stripe_checkout_session_id == session_id)))


def paid_booking(engine: sa.Engine, session_id: str) -> Booking:
    """The one booking of a checkout session, read afresh and detached (the browser tests read
    what the live app wrote)."""
    with Session(engine, expire_on_commit=False) as db:
        [booking] = bookings_for(db, session_id)
        return booking


def refunds_of(engine: sa.Engine, booking_id: str) -> list[Refund]:
    """The refund rows of a booking, read afresh and detached."""
    with Session(engine, expire_on_commit=False) as db:
        return list(db.exec(select(Refund).where(Refund.booking_id == booking_id)))


def all_bookings(db: Session) -> list[Booking]:
    db.commit()  # end the read snapshot (SQLite WAL keeps one per transaction)
    db.expire_all()
    return list(db.exec(select(Booking)))


def event_ids(db: Session) -> list[str]:
    db.commit()  # end the read snapshot (SQLite WAL keeps one per transaction)
    db.expire_all()
    return list(db.exec(select(StripeEvent.id)))


def hold_by_id(db: Session, hold_id: str) -> SlotHold:
    db.commit()  # end the read snapshot (SQLite WAL keeps one per transaction)
    db.expire_all()
    hold = db.get(SlotHold, hold_id)
    assert hold is not None
    return hold


@contextmanager
def fake_stripe_configured(fake: FakeStripe, configure: Any) -> Iterator[FakeStripe]:
    """Point the app's Stripe client at `fake` (real keys mode: dev payments off)."""
    fake.reset()
    configure(STRIPE_SECRET_KEY=STRIPE_KEY, STRIPE_API_BASE=fake.url,
              STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, APP_ENV="dev")
    yield fake


def checkout_requests(fake: FakeStripe) -> list[Any]:
    return [r for r in fake.requests if r.method == "POST" and r.path == "/v1/checkout/sessions"]


def refund_requests(fake: FakeStripe) -> list[RecordedRequest]:
    """Every refund creation request that reached the fake Stripe API."""
    with fake.lock:
        return [r for r in fake.requests if r.method == "POST" and r.path == "/v1/refunds"]

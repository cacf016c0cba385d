"""Helpers shared by the payment tests: users, holds, Stripe-shaped sessions and signed events.

Signing goes through `dev_payments.sign_payload`, the app's own implementation of Stripe's
scheme; `test_stripe_webhook` proves separately that the stripe SDK accepts what it produces.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlmodel import Session, select

from tests.fakes.fake_stripe import FakeStripe
from tutor_app.booking import checkout
from tutor_app.core import clock
from tutor_app.core.models import Booking, HoldStatus, SlotHold, StripeEvent, User
from tutor_app.payments.dev_gateway import sign_payload
from tutor_app.scheduling import slots

WEBHOOK_SECRET = "whsec_test_payments_0123456789"
STRIPE_KEY = "sk_test_payments_fake"
WEBHOOK_PATH = "/api/stripe/webhook"
TUTOR = "james-okafor"  # America/New_York, $60/hour
TUTOR_NAME = "James Okafor"
TUTOR_RATE = 6000
# A Tuesday in December (EST, UTC-5): James teaches 16:00-21:00 local, i.e. 21:00-02:00 UTC.
FIXED_NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
FIRST_SLOT = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)  # 16:00 EST, the first after 12 h notice


def make_user(db: Session, email: str | None = None, name: str = "Student") -> User:
    """A committed student user."""
    user = User(email=email or f"student-{secrets.token_hex(4)}@example.com", name=name)
    db.add(user)
    db.commit()
    return user


def make_hold(
    db: Session,
    *,
    user: User,
    start: datetime,
    minutes: int = 60,
    tutor_id: str = TUTOR,
    expires_at: datetime | None = None,
    status: str = HoldStatus.ACTIVE,
    session_id: str | None = None,
    price_cents: int = TUTOR_RATE,
    note: str = "",
) -> SlotHold:
    """A committed slot hold (defaults: active, 30 minutes left)."""
    hold = SlotHold(
        tutor_id=tutor_id, user_id=user.id, start_time=start,
        end_time=start + timedelta(minutes=minutes),
        expires_at=expires_at or clock.now() + timedelta(minutes=30), status=status,
        checkout_session_id=session_id, checkout_url="https://example.test/pay" if session_id
        else None, price_cents=price_cents, currency="usd", note=note,
    )
    db.add(hold)
    db.commit()
    return hold


def make_booking(
    db: Session, *, start: datetime, minutes: int = 60, tutor_id: str = TUTOR,
    status: str = "SCHEDULED", user: User | None = None,
) -> Booking:
    """A committed booking, as if paid earlier."""
    booking = Booking(
        user_id=user.id if user else None, tutor_id=tutor_id, start_time=start,
        end_time=start + timedelta(minutes=minutes), status=status, price_cents=TUTOR_RATE,
        currency="usd", stripe_checkout_session_id="cs_test_" + secrets.token_hex(8),
    )
    db.add(booking)
    db.commit()
    return booking


def session_object(
    *,
    session_id: str | None = None,
    tutor_id: str = TUTOR,
    start: datetime = FIRST_SLOT,
    minutes: int = 60,
    amount: int = TUTOR_RATE,
    currency: str = "usd",
    user_id: str | None = None,
    email: str | None = None,
    paid: bool = True,
    customer_email: str | None = None,
) -> dict[str, Any]:
    """A completed checkout session as Stripe sends it, with the app's metadata."""
    metadata: dict[str, str] = {
        "tutorId": tutor_id,
        "startDateTimeISO": checkout.metadata_start(start),
        "durationMinutes": str(minutes),
        "priceCents": str(amount),
        "currency": currency,
    }
    if user_id:
        metadata["userId"] = user_id
    if email:
        metadata["userEmail"] = email
    sid = session_id or "cs_test_" + secrets.token_hex(12)
    return {
        "id": sid,
        "object": "checkout.session",
        "amount_total": amount,
        "currency": currency,
        "metadata": metadata,
        "client_reference_id": user_id,
        "customer": "cus_" + secrets.token_hex(6),
        "customer_email": customer_email or email,
        "customer_details": {"email": customer_email or email, "name": None},
        "payment_intent": "pi_" + secrets.token_hex(12),
        "payment_status": "paid" if paid else "unpaid",
        "status": "complete",
        "mode": "payment",
    }


def event(obj: dict[str, Any], type: str = "checkout.session.completed",
          event_id: str | None = None) -> dict[str, Any]:
    """A Stripe Event around `obj`."""
    return {
        "id": event_id or "evt_" + secrets.token_hex(12),
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(clock.now().timestamp()),
        "type": type,
        "data": {"object": obj},
        "livemode": False,
    }


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


def first_free(db: Session, *, tutor_id: str = TUTOR, minutes: int = 60,
               now: datetime | None = None) -> datetime:
    """The first start the picker offers right now."""
    start = slots.free_slots_for(db, tutor_id=tutor_id, duration_minutes=minutes, now=now)[0]
    db.commit()  # end the read transaction: a stale SQLite snapshot cannot write later
    return start


def first_free_overlapped(db: Session, *, tutor_id: str = TUTOR, minutes: int = 60,
                          by: timedelta = timedelta(minutes=30)) -> datetime:
    """The first offered start whose overlapping neighbour `by` later is offered too (the
    first start of all may be a day's last, with nothing after it)."""
    starts = slots.free_slots_for(db, tutor_id=tutor_id, duration_minutes=minutes)
    db.commit()
    offered = set(starts)
    return next(s for s in starts if s + by in offered)


@contextmanager
def fake_stripe_configured(fake: FakeStripe, configure: Any) -> Iterator[FakeStripe]:
    """Point the app's Stripe client at `fake` (real keys mode: dev payments off)."""
    fake.reset()
    configure(STRIPE_SECRET_KEY=STRIPE_KEY, STRIPE_API_BASE=fake.url,
              STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, APP_ENV="dev")
    yield fake


def checkout_requests(fake: FakeStripe) -> list[Any]:
    return [r for r in fake.requests if r.method == "POST" and r.path == "/v1/checkout/sessions"]

"""Builders of the domain objects tests arrange: users, bookings, holds, paid bookings, the
Checkout Sessions and events Stripe sends, and the slot starts the picker offers.

Every builder takes keyword arguments with defaults that make a valid, committed row, so a test
names only what it is about. Rows are committed, and helpers that read end their read
transaction before returning: SQLite in WAL mode refuses a write in a transaction whose read
snapshot went stale (another connection committed meanwhile, e.g. a booking's follow-ups).

The defaults describe the test catalog (tests/data/tutors.json): James Okafor teaches in
America/New_York at $60 an hour.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlmodel import Session, select

from tests.fakes.fake_stripe import FakeStripe
from tests.pinned_time import TEST_CATALOG_FILE
from tutor_app.accounts import pre_sign_in, sign_in_sessions
from tutor_app.booking import checkout, recording
from tutor_app.catalog.tutor_catalog import load_catalog
from tutor_app.core import clock
from tutor_app.core.models import Booking, BookingStatus, HoldStatus, Role, SlotHold, User
from tutor_app.scheduling import slots

TUTOR = "james-okafor"  # America/New_York, $60/hour
TUTOR_NAME = "James Okafor"
TUTOR_RATE = 6000
# A Tuesday in December (EST, UTC-5): James teaches 16:00-21:00 local, i.e. 21:00-02:00 UTC.
FIXED_NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
FIRST_SLOT = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)  # 16:00 EST, the first after 12 h notice


@cache
def hourly_rate(tutor_id: str) -> int:
    """The tutor's hourly rate in cents, from the test catalog (James's for a tutor no longer
    in it)."""
    rates = {t.id: t.hourly_rate_cents for t in load_catalog(TEST_CATALOG_FILE)}
    return rates.get(tutor_id, TUTOR_RATE)


# -- users -----------------------------------------------------------------------------------


def make_user(
    db: Session,
    *,
    email: str | None = None,
    name: str | None = None,
    role: str = Role.STUDENT,
    tutor_id: str | None = None,
    **fields: Any,
) -> User:
    """A committed user (default: a student with a unique email, named after the email)."""
    email = email or f"student-{secrets.token_hex(4)}@example.com"
    user = User(email=email, name=email.split("@")[0].title() if name is None else name, role=role,
                tutor_id=tutor_id, **fields)
    db.add(user)
    db.commit()
    return user


def make_tutor_user(db: Session, *, tutor_id: str = TUTOR, email: str | None = None,
                    name: str | None = None, **fields: Any) -> User:
    """A committed user account of a catalog tutor."""
    return make_user(db, email=email or f"{tutor_id}@example.com", name=name,
                     role=Role.TUTOR, tutor_id=tutor_id, **fields)


def session_cookie(db: Session, user: User) -> str:
    """A Cookie header value carrying a new sign-in session of `user`."""
    db.commit()  # end any read first: SQLite refuses a write on a stale snapshot
    token = sign_in_sessions.create_session(db, user_id=user.id)
    db.commit()
    return f"{sign_in_sessions.session_cookie_name()}={token}"


def browser_cookie(value: str | None = None) -> str:
    """A Cookie header value carrying a browser's pre-sign-in cookie, as every page load sets
    it (a fresh value unless given): what sign-in tickets and OpenID states are bound to."""
    return f"{pre_sign_in.pre_sign_in_cookie_name()}={value or pre_sign_in.new_value()}"


def signed_in_user(db: Session, **user_fields: Any) -> tuple[User, str]:
    """A committed user (see `make_user`) and the Cookie header value of a session of theirs."""
    user = make_user(db, **user_fields)
    return user, session_cookie(db, user)


# -- bookings and holds ----------------------------------------------------------------------


def make_booking(
    db: Session,
    *,
    start: datetime,
    user: User | None = None,
    minutes: int = 60,
    tutor_id: str = TUTOR,
    status: str = BookingStatus.SCHEDULED,
    price_cents: int | None = None,
    currency: str = "usd",
    session_id: str | None = None,
    **fields: Any,
) -> Booking:
    """A committed booking, as if paid earlier (default price: the tutor's rate for its
    length)."""
    booking = Booking(
        user_id=user.id if user else None, tutor_id=tutor_id, start_time=start,
        end_time=start + timedelta(minutes=minutes), status=status,
        price_cents=hourly_rate(tutor_id) * minutes // 60 if price_cents is None
        else price_cents,
        currency=currency,
        stripe_checkout_session_id=session_id or "cs_test_" + secrets.token_hex(8),
        **fields,
    )
    db.add(booking)
    db.commit()
    return booking


def lesson_start(*, days: float, hour: int | None = None) -> datetime:
    """A whole minute `days` from the app's now (at `hour` o'clock UTC when given)."""
    start = (clock.now() + timedelta(days=days)).replace(second=0, microsecond=0)
    return start if hour is None else start.replace(hour=hour, minute=0)


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
    currency: str = "usd",
    note: str = "",
) -> SlotHold:
    """A committed slot hold (defaults: active, 30 minutes left)."""
    hold = SlotHold(
        tutor_id=tutor_id, user_id=user.id, start_time=start,
        end_time=start + timedelta(minutes=minutes),
        expires_at=expires_at or clock.now() + timedelta(minutes=30), status=status,
        checkout_session_id=session_id, checkout_url="https://example.test/pay" if session_id
        else None, price_cents=price_cents, currency=currency, note=note,
    )
    db.add(hold)
    db.commit()
    return hold


def paid_booking(
    db: Session, fake: FakeStripe, *, user: User | None = None, start: datetime | None = None,
    minutes: int = 60, tutor_id: str = TUTOR,
) -> Booking:
    """A SCHEDULED booking made the way production makes one: `checkout.start_checkout`
    against the fake Stripe API (the real SDK), the customer paying on the fake's side, and the
    paid session handed to `recording.record_paid_session`; so it carries a real payment intent
    the fake can refund. `start` defaults to a free slot 3 days ahead (past the refund window).
    """
    user = user or make_user(db)
    start = start or first_free(db, days_ahead=3, minutes=minutes, tutor_id=tutor_id)
    started = checkout.start_checkout(
        user=user, tutor_id=tutor_id, start=start, duration_minutes=minutes
    )
    paid = fake.complete_session(started.session_id)
    outcome = recording.record_paid_session(paid, source="test")
    assert outcome is recording.BookingOutcome.CREATED, outcome
    db.commit()
    db.expire_all()
    query = select(Booking).where(Booking.stripe_checkout_session_id == started.session_id)
    found = db.exec(query).one()
    db.commit()  # end the read: a later write in this session must not meet a stale snapshot
    return found


# -- slots -----------------------------------------------------------------------------------


def first_free(db: Session, *, days_ahead: float = 0, tutor_id: str = TUTOR, minutes: int = 60,
               now: datetime | None = None) -> datetime:
    """The first start the picker offers at `now` (default: the app's now) that is at least
    `days_ahead` days away (3 days is past the cancellation policy's refund window)."""
    now = now or clock.now()
    starts = slots.free_slots_for(db, tutor_id=tutor_id, duration_minutes=minutes, now=now)
    db.commit()  # end the read transaction: a stale SQLite snapshot cannot write later
    after = now + timedelta(days=days_ahead)
    return next(s for s in starts if s >= after)


def first_free_overlapped(db: Session, *, tutor_id: str = TUTOR, minutes: int = 60,
                          by: timedelta = timedelta(minutes=30)) -> datetime:
    """The first offered start whose overlapping neighbour `by` later is offered too (the
    first start of all may be a day's last, with nothing after it)."""
    starts = slots.free_slots_for(db, tutor_id=tutor_id, duration_minutes=minutes)
    db.commit()
    offered = set(starts)
    return next(s for s in starts if s + by in offered)


# -- Stripe objects --------------------------------------------------------------------------


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
    """A completed Checkout Session as Stripe sends it, with the app's metadata."""
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
        "livemode": False,
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

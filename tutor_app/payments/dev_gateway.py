"""Dev payments: pay a lesson on the app's own test-checkout page, with no Stripe account.

With `settings.dev_payments` (APP_ENV=dev and no STRIPE_SECRET_KEY) checkout makes no Stripe
call: the "session" is the slot hold itself, with a `cs_dev_…` id, and its URL is the app's
`/dev/checkout?session_id=…` page. "Pay" there does what Stripe does after a payment: it builds
a `checkout.session.completed` event shaped like Stripe's, signs it with Stripe's real scheme
and POSTs it over HTTP to the app's own webhook route. The booking is therefore made by exactly
the code a real payment goes through, signature check included.

None of this runs in prod: `dev_payments` is False whenever APP_ENV=prod, and every entry
point here checks it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import certifi
import httpx

from tutor_app.booking import checkout
from tutor_app.catalog import tutor_catalog
from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.ids import DEV_CHECKOUT_SESSION_PREFIX
from tutor_app.core.models import HoldStatus, SlotHold, User
from tutor_app.core.settings import get_settings
from tutor_app.scheduling import holds

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/api/stripe/webhook"
EVENT_API_VERSION = "2024-06-20"

OPEN, EXPIRED, PAID = "open", "expired", "paid"


@cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every webhook post (the app's URL may be https behind its proxy):
    building one loads the CA bundle, which cost more CPU than the rest of the payment."""
    return ssl.create_default_context(cafile=certifi.where())  # what httpx loads by default


class DevPaymentError(Exception):
    """The test payment could not be made; `str()` is a message for the page."""


@dataclass(frozen=True)
class DevCheckout:
    """What the test-checkout page shows for one checkout session."""

    session_id: str
    status: str  # OPEN, EXPIRED or PAID
    tutor_name: str
    tutor_timezone: str
    start: datetime
    end: datetime
    duration_minutes: int
    price_cents: int
    currency: str
    cancel_url: str


def sign_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Stripe's `Stripe-Signature` header for `payload`: `t=<unix>,v1=<HMAC-SHA256 hex>`.

    The MAC covers `"<t>.<body>"` with the endpoint secret as key, exactly as Stripe signs,
    so `stripe.Webhook.construct_event` accepts it.
    """
    ts = int(time.time()) if timestamp is None else int(timestamp)
    signed = f"{ts}.".encode() + payload
    mac = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def is_dev_session(session_id: str) -> bool:
    return session_id.startswith(DEV_CHECKOUT_SESSION_PREFIX)


def _status(hold: SlotHold, now: datetime) -> str:
    if hold.status == HoldStatus.CONVERTED:
        return PAID
    if hold.status != HoldStatus.ACTIVE or hold.expires_at <= now:
        return EXPIRED
    return OPEN


def load_dev_checkout(session_id: str, *, now: datetime | None = None) -> DevCheckout | None:
    """The page's view of a dev checkout session; None when unknown or dev payments are off."""
    if not get_settings().dev_payments or not is_dev_session(session_id):
        return None
    now = now or clock.now()
    with app_db.session() as db:
        hold = holds.find_by_session(db, session_id=session_id)
        if hold is None:
            return None
        tutor = tutor_catalog.get_tutor(db, hold.tutor_id, include_inactive=True)
    minutes = int((hold.end_time - hold.start_time).total_seconds() // 60)
    return DevCheckout(
        session_id=session_id,
        status=_status(hold, now),
        tutor_name=tutor.name if tutor else hold.tutor_id,
        tutor_timezone=tutor.timezone if tutor else "UTC",
        start=hold.start_time,
        end=hold.end_time,
        duration_minutes=minutes,
        price_cents=hold.price_cents,
        currency=hold.currency,
        cancel_url=checkout.cancel_url(
            tutor_id=hold.tutor_id, duration_minutes=minutes, start=hold.start_time
        ),
    )


def build_session_object(hold: SlotHold, user: User) -> dict[str, Any]:
    """A paid, complete `checkout.session` as Stripe would send it for this dev hold."""
    if not hold.checkout_session_id:
        raise ValueError("the hold has no checkout session")
    session_id = hold.checkout_session_id
    minutes = int((hold.end_time - hold.start_time).total_seconds() // 60)
    metadata = {
        "tutorId": hold.tutor_id,
        "startDateTimeISO": checkout.metadata_start(hold.start_time),
        "durationMinutes": str(minutes),
        "userId": user.id,
        "userEmail": user.email,
        "priceCents": str(hold.price_cents),
        "currency": hold.currency,
        "endDateTimeISO": checkout.metadata_start(hold.end_time),
        "holdId": hold.id,
    }
    if hold.request_id:  # as the real session carries it: the webhook logs under it
        metadata[checkout.REQUEST_ID_KEY] = hold.request_id
    return {
        "id": session_id,
        "object": "checkout.session",
        "amount_subtotal": hold.price_cents,
        "amount_total": hold.price_cents,
        "currency": hold.currency,
        "metadata": metadata,
        "client_reference_id": user.id,
        "customer": None,
        "customer_email": user.email,
        "customer_details": {"email": user.email, "name": user.name or None},
        "created": int(hold.created_at.timestamp()),
        "expires_at": int(hold.expires_at.timestamp()),
        "livemode": False,
        "mode": "payment",
        "payment_intent": "pi_dev_" + session_id.removeprefix(DEV_CHECKOUT_SESSION_PREFIX),
        "payment_status": "paid",
        "status": "complete",
        "success_url": checkout.success_url(),
        "cancel_url": checkout.cancel_url(
            tutor_id=hold.tutor_id, duration_minutes=minutes, start=hold.start_time
        ),
        "url": None,
    }


def build_completed_event(session: dict[str, Any]) -> dict[str, Any]:
    """A `checkout.session.completed` Event around `session`, with a fresh event id."""
    return {
        "id": "evt_dev_" + secrets.token_hex(12),
        "object": "event",
        "api_version": EVENT_API_VERSION,
        "created": int(clock.now().timestamp()),
        "type": "checkout.session.completed",
        "data": {"object": session},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
    }


def _load_for_payment(session_id: str) -> tuple[SlotHold, User] | None:
    with app_db.session() as db:
        hold = holds.find_by_session(db, session_id=session_id)
        if hold is None:
            return None
        user = db.get(User, hold.user_id)
        if user is None:
            return None
        return hold, user


def success_redirect(session_id: str) -> str:
    """The success URL with the session id filled in, as Stripe redirects."""
    return checkout.success_url().replace("{CHECKOUT_SESSION_ID}", session_id)


async def pay_dev_session(
    session_id: str, *, app_url: str | None = None, timeout: float = 15.0
) -> str:
    """Pay a dev checkout session: POST a signed completed event to the webhook; the success URL.

    The event travels over HTTP to `{APP_URL}/api/stripe/webhook`, like Stripe's would, and
    the database read runs in a thread: the event loop that serves the page never blocks.
    Raises DevPaymentError when dev payments are off, the session is unknown or lapsed, or the
    webhook did not accept the event.
    """
    settings = get_settings()
    if not settings.dev_payments or not is_dev_session(session_id):
        raise DevPaymentError("Test checkout is not available.")
    loaded = await asyncio.to_thread(_load_for_payment, session_id)
    if loaded is None:
        raise DevPaymentError("This checkout session does not exist.")
    hold, user = loaded
    status = _status(hold, clock.now())
    if status == PAID:
        return success_redirect(session_id)  # paid before (a double click): nothing to do
    if status == EXPIRED:
        raise DevPaymentError("This checkout session has expired. Please book again.")
    secret = settings.webhook_secret
    if not secret:  # unreachable with dev payments on; kept for type narrowing
        raise DevPaymentError("Test checkout is not available.")
    event = build_completed_event(build_session_object(hold, user))
    payload = json.dumps(event).encode("utf-8")
    url = (app_url or settings.app_url).rstrip("/") + WEBHOOK_PATH
    try:
        async with httpx.AsyncClient(timeout=timeout, verify=_tls_context()) as client:
            response = await client.post(
                url,
                content=payload,
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": sign_payload(payload, secret),
                },
            )
    except httpx.HTTPError as exc:
        log.warning("dev checkout %s: webhook unreachable (%s)", session_id, type(exc).__name__)
        raise DevPaymentError("The payment could not be recorded. Please try again.") from exc
    if response.status_code != 200:
        log.warning("dev checkout %s: webhook answered %d", session_id, response.status_code)
        raise DevPaymentError("The payment could not be recorded. Please try again.")
    log.info("dev checkout %s paid (event %s)", session_id, event["id"])
    return success_redirect(session_id)

"""The only code that talks to Stripe, through the official `stripe` SDK.

Everything else in the app calls these functions with plain dicts and gets plain dicts back,
so no Stripe object type leaks into the services and a Stripe failure of any kind surfaces as
one exception, `PaymentProviderError`, that callers can map to "try again later".

`STRIPE_API_BASE` (tests only; prod refuses it) points the SDK at a local fake API.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import stripe

from tutor_app.core.settings import get_settings

log = logging.getLogger(__name__)

# Stripe's own default; a signature older than this is refused as a possible replay.
SIGNATURE_TOLERANCE_SECONDS = 300
# Network retries are safe because every mutating call carries an idempotency key.
MAX_NETWORK_RETRIES = 2


class PaymentProviderError(Exception):
    """Stripe could not be reached, refused the request, or is not configured."""


class InvalidWebhook(ValueError):
    """A webhook request whose signature or body cannot be trusted or read (answer 400)."""


def _client() -> stripe.StripeClient:
    settings = get_settings()
    if not settings.stripe_secret_key:
        raise PaymentProviderError("STRIPE_SECRET_KEY is not configured")
    base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
    return stripe.StripeClient(
        api_key=settings.stripe_secret_key,
        base_addresses=base,  # type: ignore[arg-type]
        max_network_retries=MAX_NETWORK_RETRIES,
    )


def live_mode() -> bool:
    """Whether the configured key takes real money: a live key (`sk_live_`, restricted
    `rk_live_`). A test key and the dev test checkout (no key) mean test mode. A checkout
    session books only when its own `livemode` matches.
    """
    key = get_settings().stripe_secret_key or ""
    return key.startswith(("sk_live_", "rk_live_"))


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _fail(action: str, exc: stripe.StripeError) -> PaymentProviderError:
    # The SDK's message can echo request parameters but never the secret key or card data;
    # still, only the class, status and request id go to the log.
    log.warning(
        "stripe %s failed: %s status=%s request_id=%s",
        action,
        type(exc).__name__,
        getattr(exc, "http_status", None),
        getattr(exc, "request_id", None),
    )
    return PaymentProviderError(f"Stripe {action} failed ({type(exc).__name__})")


def create_checkout_session(params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    """Create a checkout session. The key makes a retried request return the same session."""
    try:
        session = _client().v1.checkout.sessions.create(
            params,  # type: ignore[arg-type]
            {"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        raise _fail("checkout session create", exc) from exc
    return _plain(session)


def retrieve_checkout_session(session_id: str) -> dict[str, Any]:
    """The current state of one checkout session."""
    try:
        session = _client().v1.checkout.sessions.retrieve(session_id)
    except stripe.StripeError as exc:
        raise _fail("checkout session retrieve", exc) from exc
    return _plain(session)


def expire_checkout_session(session_id: str) -> dict[str, Any]:
    """Close an open checkout session so it can no longer be paid (e.g. a replaced hold's)."""
    try:
        session = _client().v1.checkout.sessions.expire(session_id)
    except stripe.StripeError as exc:
        raise _fail("checkout session expire", exc) from exc
    return _plain(session)


def list_completed_sessions(since: datetime, *, page_size: int = 100) -> list[dict[str, Any]]:
    """Every checkout session with status "complete" created at or after `since`.

    For reconciliation: it pages through the whole window, newest first, so a webhook outage
    longer than Stripe's retries can still be healed.
    """
    client = _client()
    params: dict[str, Any] = {
        "status": "complete",
        "created": {"gte": int(since.timestamp())},
        "limit": page_size,
    }
    sessions: list[dict[str, Any]] = []
    try:
        while True:
            page = client.v1.checkout.sessions.list(params)  # type: ignore[arg-type]
            data = [_plain(s) for s in page.data]
            sessions.extend(data)
            if not page.has_more or not data:
                return sessions
            params["starting_after"] = data[-1]["id"]
    except stripe.StripeError as exc:
        raise _fail("checkout session list", exc) from exc


def checkout_session_for_payment_intent(payment_intent: str) -> dict[str, Any] | None:
    """The checkout session whose payment created `payment_intent`, or None.

    For `charge.refunded` arriving before `checkout.session.completed` (refunds.py): the
    refund handler books the session first, so the completed event cannot revive it later.
    """
    try:
        page = _client().v1.checkout.sessions.list(
            {"payment_intent": payment_intent, "limit": 1}
        )
    except stripe.StripeError as exc:
        raise _fail("checkout session lookup", exc) from exc
    return _plain(page.data[0]) if page.data else None


def create_refund(
    *,
    payment_intent: str,
    amount: int | None,
    idempotency_key: str,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Refund (part of) a payment; the key, derived from the booking, makes retries safe."""
    params: dict[str, Any] = {"payment_intent": payment_intent}
    if amount is not None:
        params["amount"] = amount
    if metadata:
        params["metadata"] = metadata
    try:
        refund = _client().v1.refunds.create(
            params,  # type: ignore[arg-type]
            {"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        raise _fail("refund create", exc) from exc
    return _plain(refund)


def construct_event(payload: bytes, sig_header: str | None, secret: str) -> dict[str, Any]:
    """Verify a webhook delivery with Stripe's own code and return the event as a plain dict.

    The signature is checked on the raw bytes exactly as received (re-serialised JSON would
    not match), and a timestamp older than five minutes is refused. Raises InvalidWebhook.

    The SDK verifies (`WebhookSignature.verify_header`, what `Webhook.construct_event` calls
    first); the body is then parsed once, here, into plain dicts. `construct_event` would also
    build a tree of `StripeObject`s that the app never uses (we want plain dicts), which cost
    more than the verification and the parse together on every delivery.
    """
    try:
        stripe.WebhookSignature.verify_header(
            payload, sig_header, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook(_signature_reason(str(exc))) from exc
    except (ValueError, TypeError, AttributeError) as exc:  # undecodable bytes
        raise InvalidWebhook("body is not a JSON event") from exc
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise InvalidWebhook("body is not a JSON event") from exc
    if not (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and isinstance(event.get("type"), str)
        and isinstance(event.get("data"), dict)
        and isinstance(event["data"].get("object"), dict)
    ):
        raise InvalidWebhook("body is not a Stripe event (id, type, data.object)")
    return event


def _signature_reason(message: str) -> str:
    if message.startswith("No Stripe-Signature header"):
        return "missing Stripe-Signature header"
    if message.startswith("Timestamp outside the tolerance zone"):
        return "signature timestamp is too old"
    return "invalid signature"

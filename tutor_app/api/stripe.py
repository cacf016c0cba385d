"""Stripe's HTTP endpoints: the webhook, and checkout creation for non-browser clients.

Thin by design: parse, authenticate, call one service, map its errors to status codes. Both
services are synchronous (database, Stripe SDK), so they run in Starlette's thread pool and
the event loop never waits on them.

Webhook status codes are what Stripe acts on: 2xx only once the effect is committed (or the
event is known and needs nothing), 400 when the request cannot be trusted or read (Stripe
does not fix that by retrying), 5xx when we could not store it, so Stripe retries.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tutor_app.api import deps
from tutor_app.api.errors import MAPPED_ERRORS, error_json, error_response
from tutor_app.api.same_site import same_site_only
from tutor_app.booking import checkout
from tutor_app.catalog.pricing import ALLOWED_DURATIONS
from tutor_app.core import metrics, request_context
from tutor_app.core.settings import get_settings
from tutor_app.core.timefmt import parse_utc_iso
from tutor_app.integrations import stripe_gateway
from tutor_app.payments import stripe_events

log = logging.getLogger(__name__)


async def stripe_webhook(request: Request) -> JSONResponse:
    """POST /api/stripe/webhook: verify the signature on the raw body, then apply the event.

    Timed into `tutorly_stripe_webhook_seconds`.
    """
    started = time.perf_counter()
    response = await _handle_webhook(request)
    result = ("ok" if response.status_code < 400 else
              "refused" if response.status_code < 500 else "error")
    metrics.webhook_answered(time.perf_counter() - started, result=result)
    return response


def checkout_request_id(event: Mapping[str, Any]) -> str | None:
    """The request id a checkout wrote into its session's metadata (`requestId`), when the
    event's object carries a valid one."""
    obj = event.get("data", {}).get("object", {})
    metadata = obj.get("metadata") if isinstance(obj, Mapping) else None
    if not isinstance(metadata, Mapping):
        return None
    return request_context.valid_request_id(metadata.get(checkout.REQUEST_ID_KEY))


# How long an event waits for its turn before answering 503 (Stripe redelivers it later):
# well inside Stripe's own wait for an answer, so a backlog ends as retries, not timeouts.
WEBHOOK_TURN_SECONDS = 8.0
BUSY_RETRY_AFTER_SECONDS = 30

# Per event loop (one per worker; tests run several): the semaphore and the size it was made
# for, so a changed setting takes effect.
_webhook_semaphores: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[int, asyncio.Semaphore]
] = weakref.WeakKeyDictionary()


def _webhook_slots() -> asyncio.Semaphore:
    """At most `settings.webhook_concurrency` events of this worker in their transaction at
    once; the others wait here, on the event loop, for their turn (at most
    WEBHOOK_TURN_SECONDS, then 503 and Stripe redelivers).

    Stripe sends bursts (dozens of events at once after an outage). Given all at once to the
    thread pool, they contended for the GIL, the connection pool and the database's cores, and
    the whole burst finished later than taking a few at a time: the webhook benchmark went from
    0.6x to 0.8-0.9x the bare insert's throughput, and its p99 from 1.4-1.9x to 0.8-1.2x.
    """
    loop = asyncio.get_running_loop()
    size = get_settings().webhook_concurrency
    known = _webhook_semaphores.get(loop)
    if known is None or known[0] != size:
        known = _webhook_semaphores[loop] = (size, asyncio.Semaphore(size))
    return known[1]


async def _handle_webhook(request: Request) -> JSONResponse:
    secret = get_settings().webhook_secret
    if not secret:
        log.error("stripe webhook: STRIPE_WEBHOOK_SECRET is not configured; refusing events")
        return error_json(503, "webhook secret not configured")
    payload = await request.body()  # the exact bytes Stripe signed (size capped: api.body_limit)
    try:
        event = stripe_gateway.construct_event(
            payload, request.headers.get("stripe-signature"), secret
        )
    except stripe_gateway.InvalidWebhook as exc:
        return error_response(exc, context="stripe webhook refused")
    delivery_id = request_context.current_request_id()
    # The event is handled under the id of the checkout that made its session (when it names
    # one), so the click, the webhook and the follow-ups share one id in the logs.
    with request_context.bound_request_id(checkout_request_id(event) or delivery_id):
        log.info("stripe webhook: event %s (%s), delivery %s", event["id"], event["type"],
                 delivery_id, extra={"event_id": event["id"], "delivery_id": delivery_id})
        slots = _webhook_slots()
        try:
            await asyncio.wait_for(slots.acquire(), WEBHOOK_TURN_SECONDS)
        except TimeoutError:  # a backlog (the database slow or down): Stripe retries later
            log.warning("stripe webhook event %s: no turn in %.0f s, Stripe will retry",
                        event["id"], WEBHOOK_TURN_SECONDS)
            busy = error_json(503, "busy")
            busy.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
            return busy
        try:
            result = await run_in_threadpool(stripe_events.handle_or_record_failure, event)
        except SQLAlchemyError as exc:  # only the database: a 503 makes Stripe retry later
            return error_response(
                exc,
                context=f"stripe webhook event {event['id']} ({event['type']}), "
                        "Stripe will retry",
            )
        finally:
            slots.release()
    return JSONResponse({"received": True, "result": result})


def _parse_checkout_body(body: Any) -> tuple[str, Any, int, str]:
    """(tutorId, start, durationMinutes, note) from the JSON body; ValueError names the field."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    tutor_id = body.get("tutorId")
    if not isinstance(tutor_id, str) or not tutor_id.strip():
        raise ValueError("tutorId is required")
    start = parse_utc_iso(body.get("startDateTimeISO"))
    if start is None:
        raise ValueError("startDateTimeISO must be an ISO-8601 time with a zone, e.g. "
                         "2026-12-01T15:00:00Z")
    duration = body.get("durationMinutes")
    if isinstance(duration, str) and duration.isdigit():
        duration = int(duration)
    if isinstance(duration, bool) or not isinstance(duration, int):
        allowed = ", ".join(map(str, ALLOWED_DURATIONS))
        raise ValueError(f"durationMinutes must be one of {allowed}")
    note = body.get("note", "")
    if note is None:
        note = ""
    if not isinstance(note, str):
        raise ValueError("note must be text")
    return tutor_id.strip(), start, duration, note


@same_site_only
async def stripe_checkout(request: Request) -> JSONResponse:
    """POST /api/stripe/checkout: {tutorId, startDateTimeISO, durationMinutes, note?} -> {url, id}.

    JSON only: a cross-site HTML form cannot send `application/json` without a CORS
    preflight, so the session cookie cannot be ridden from another site; a cross-site
    `Origin` is refused anyway. Rate limited per address and per account (429 with
    Retry-After); a student with too many checkouts in progress gets 409.
    """
    user = await run_in_threadpool(deps.current_user, request)
    if user is None:
        return error_json(401, "sign in to book a lesson")
    if not request.headers.get("content-type", "").startswith("application/json"):
        return error_json(415, "send the lesson as application/json")
    try:
        body = await request.json()
    except ValueError:  # undecodable bytes or malformed JSON
        return error_json(400, "the body is not valid JSON")
    try:
        tutor_id, start, duration, note = _parse_checkout_body(body)
    except ValueError as exc:
        return error_json(400, str(exc))
    ip = deps.client_ip(request)
    try:
        started = await run_in_threadpool(
            lambda: checkout.start_client_checkout(
                user=user, ip=ip, tutor_id=tutor_id, start=start, duration_minutes=duration,
                note=note,
            )
        )
    except MAPPED_ERRORS as exc:
        return error_response(exc, context=f"checkout for user {user.id}")
    return JSONResponse(
        {"url": started.url, "id": started.session_id, "resumed": started.resumed}
    )


routes = [
    Route("/api/stripe/webhook", stripe_webhook, methods=["POST"]),
    Route("/api/stripe/checkout", stripe_checkout, methods=["POST"]),
]

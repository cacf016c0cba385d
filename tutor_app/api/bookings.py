"""A student's own lessons over HTTP: cancel and reschedule.

Thin like every route here: authenticate, parse, call one service, map its errors. The status
codes are the contract for non-browser clients:

- 401 signed out; 404 for a booking that is not the caller's, whether it exists or not (the
  body never carries anything of someone else's lesson);
- 400 for a bad body, or a move the policy refuses (too late, not upcoming, not a time the
  tutor offers); 409 when the new slot is taken (with `alternatives`) or the lesson can no
  longer be canceled; 415 for a body that is not JSON;
- 200 with the lesson's new state. Repeating a cancel answers 200 with the same state.

Cross-site requests cannot ride the session cookie: it is SameSite=Lax (not sent on
cross-site POSTs), a JSON body needs a CORS preflight we never grant, and a request whose
`Origin` is another site is refused outright (`same_site.same_site_only`).
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tutor_app.api import deps
from tutor_app.api.errors import MAPPED_ERRORS, error_json, error_response
from tutor_app.api.same_site import same_site_only
from tutor_app.booking import cancellation, reschedule
from tutor_app.core.models import User
from tutor_app.core.timefmt import parse_utc_iso, to_utc_iso

log = logging.getLogger(__name__)


async def _caller(request: Request) -> User | JSONResponse:
    user = await run_in_threadpool(deps.current_user, request)
    if user is None:
        return error_json(401, "sign in to manage your lessons")
    return user


@same_site_only
async def cancel_booking(request: Request) -> JSONResponse:
    """POST /api/bookings/{id}/cancel -> {id, status, refundCents, refundStatus, message}."""
    caller = await _caller(request)
    if isinstance(caller, JSONResponse):
        return caller
    booking_id = request.path_params["booking_id"]
    try:
        result = await run_in_threadpool(
            lambda: cancellation.cancel_lesson(booking_id=booking_id, user_id=caller.id)
        )
    except MAPPED_ERRORS as exc:
        return error_response(exc, context=f"cancel booking {booking_id}")
    return JSONResponse(
        {
            "id": result.booking_id,
            "status": result.status,
            "refundCents": result.refund_cents,
            "currency": result.currency,
            "refundStatus": result.refund_status,
            "alreadyCanceled": result.already_canceled,
            "message": result.message,
        }
    )


@same_site_only
async def reschedule_booking(request: Request) -> JSONResponse:
    """POST /api/bookings/{id}/reschedule {startDateTimeISO} -> {id, startDateTimeISO, ...}."""
    caller = await _caller(request)
    if isinstance(caller, JSONResponse):
        return caller
    booking_id = request.path_params["booking_id"]
    if not request.headers.get("content-type", "").startswith("application/json"):
        return error_json(415, "send the new time as application/json")
    try:
        body = await request.json()
    except ValueError:
        return error_json(400, "the body is not valid JSON")
    raw = body.get("startDateTimeISO") if isinstance(body, dict) else None
    new_start = parse_utc_iso(raw if isinstance(raw, str) else None)
    if new_start is None:
        return error_json(400, "startDateTimeISO must be an ISO-8601 time with a zone, e.g. "
                               "2026-12-01T15:00:00Z")
    try:
        moved = await run_in_threadpool(
            lambda: reschedule.reschedule_lesson(
                booking_id=booking_id, user_id=caller.id, new_start=new_start
            )
        )
    except MAPPED_ERRORS as exc:
        return error_response(exc, context=f"reschedule booking {booking_id}")
    return JSONResponse(
        {
            "id": moved.booking_id,
            "status": "SCHEDULED",
            "startDateTimeISO": to_utc_iso(moved.start),
            "endDateTimeISO": to_utc_iso(moved.end),
            "sequence": moved.sequence,
        }
    )


routes = [
    Route("/api/bookings/{booking_id}/cancel", cancel_booking, methods=["POST"]),
    Route("/api/bookings/{booking_id}/reschedule", reschedule_booking, methods=["POST"]),
]

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
`Origin` is another site is refused outright.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tutor_app.api import deps
from tutor_app.booking import cancellation, reschedule
from tutor_app.booking.access import NotFound
from tutor_app.core.models import User
from tutor_app.core.settings import get_settings
from tutor_app.core.timefmt import parse_utc_iso, to_utc_iso
from tutor_app.scheduling.slots import SlotTaken

log = logging.getLogger(__name__)

NOT_FOUND = "no such booking"


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _foreign_origin(request: Request) -> bool:
    """True when the browser says the request comes from another site."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return bool(origin)
    allowed = {urlsplit(get_settings().app_url).netloc, request.headers.get("host", "")}
    return urlsplit(origin).netloc not in allowed


async def _caller(request: Request) -> User | JSONResponse:
    if _foreign_origin(request):
        return _error(403, "cross-site request refused")
    user = await run_in_threadpool(deps.current_user, request)
    if user is None:
        return _error(401, "sign in to manage your lessons")
    return user


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
    except NotFound:
        return _error(404, NOT_FOUND)
    except cancellation.CannotCancel as exc:
        return _error(409, str(exc))
    except SQLAlchemyError as exc:
        log.error("cancel: database error for booking %s: %s", booking_id, type(exc).__name__)
        return _error(503, "temporarily unavailable")
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


async def reschedule_booking(request: Request) -> JSONResponse:
    """POST /api/bookings/{id}/reschedule {startDateTimeISO} -> {id, startDateTimeISO, ...}."""
    caller = await _caller(request)
    if isinstance(caller, JSONResponse):
        return caller
    booking_id = request.path_params["booking_id"]
    if not request.headers.get("content-type", "").startswith("application/json"):
        return _error(415, "send the new time as application/json")
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "the body is not valid JSON")
    raw = body.get("startDateTimeISO") if isinstance(body, dict) else None
    new_start = parse_utc_iso(raw if isinstance(raw, str) else None)
    if new_start is None:
        return _error(400, "startDateTimeISO must be an ISO-8601 time with a zone, e.g. "
                           "2026-12-01T15:00:00Z")
    try:
        moved = await run_in_threadpool(
            lambda: reschedule.reschedule_lesson(
                booking_id=booking_id, user_id=caller.id, new_start=new_start
            )
        )
    except NotFound:
        return _error(404, NOT_FOUND)
    except SlotTaken as exc:
        return _error(409, str(exc), alternatives=[to_utc_iso(a) for a in exc.alternatives])
    except reschedule.InvalidReschedule as exc:
        return _error(400, str(exc))
    except SQLAlchemyError as exc:
        log.error("reschedule: database error for booking %s: %s", booking_id,
                  type(exc).__name__)
        return _error(503, "temporarily unavailable")
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

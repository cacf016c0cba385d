"""The one mapping from domain errors to HTTP answers, for every JSON route of the API.

Routes stay four steps: parse, authenticate, call one service, and on an error listed in
`ERROR_RESPONSES` answer `error_response(exc)`. Anything not listed is a bug and propagates
(a 500, with its traceback in the log). Lookup follows the class hierarchy, so a subclass is
answered like its nearest listed ancestor unless it has a row of its own.

The bodies never carry anything the caller does not own: a booking that is not theirs is the
same 404 as one that does not exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse

from tutor_app.accounts.email_verification import ConfirmationPending
from tutor_app.accounts.passwords import HashingBusy
from tutor_app.accounts.users import AuthError, ThrottledError
from tutor_app.booking import cancellation, checkout, reschedule
from tutor_app.booking.access import NotFound
from tutor_app.core.outages import RETRY_AFTER_SECONDS
from tutor_app.core.rate_limits import RateLimited
from tutor_app.core.timefmt import to_utc_iso
from tutor_app.integrations.stripe_gateway import InvalidWebhook, PaymentProviderError
from tutor_app.scheduling.slots import SlotNotOffered, SlotTaken

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store"}
NOT_FOUND = "no such booking"
UNAVAILABLE = "temporarily unavailable"


def error_json(status: int, message: str, **extra: Any) -> JSONResponse:
    """`{"error": message, ...}` with `status`; never cached."""
    return JSONResponse({"error": message, **extra}, status_code=status, headers=NO_STORE)


def _not_found(_exc: Exception) -> JSONResponse:
    return error_json(404, NOT_FOUND)


def _bad_request(exc: Exception) -> JSONResponse:
    return error_json(400, str(exc))


def _conflict(exc: Exception) -> JSONResponse:
    return error_json(409, str(exc))


def _slot_taken(exc: Exception) -> JSONResponse:
    alternatives: list[datetime] = getattr(exc, "alternatives", [])
    return error_json(409, str(exc), alternatives=[to_utc_iso(a) for a in alternatives])


def _payment_provider_down(exc: Exception) -> JSONResponse:
    return error_json(502, str(exc))


def _database_unavailable(exc: Exception) -> JSONResponse:
    response = error_json(503, UNAVAILABLE)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _form_errors(exc: Exception) -> JSONResponse:
    errors = exc.errors if isinstance(exc, AuthError) else {"form": str(exc)}
    return JSONResponse({"errors": errors}, 400, headers=NO_STORE)


def _accepted(exc: Exception) -> JSONResponse:
    """Taken, but waiting on something else (a mailed link): nothing more to give yet."""
    return JSONResponse({"message": str(exc)}, 202, headers=NO_STORE)


def _throttled(exc: Exception) -> JSONResponse:
    retry_after = exc.retry_after if isinstance(exc, ThrottledError) else 60
    body = {"errors": exc.errors if isinstance(exc, AuthError) else {}}
    return JSONResponse(body, 429, headers={**NO_STORE, "Retry-After": str(retry_after)})


def _retry_later(status: int) -> Callable[[Exception], JSONResponse]:
    """`{"error": message}` with `status` and the error's `retry_after` as Retry-After."""

    def answer(exc: Exception) -> JSONResponse:
        response = error_json(status, str(exc))
        response.headers["Retry-After"] = str(getattr(exc, "retry_after", 60))
        return response

    return answer


# One row per domain error class; a subclass answers as its nearest listed base.
ERROR_RESPONSES: dict[type[Exception], Callable[[Exception], JSONResponse]] = {
    NotFound: _not_found,
    SlotTaken: _slot_taken,
    SlotNotOffered: _bad_request,
    cancellation.CannotCancel: _conflict,
    checkout.UnknownTutor: _bad_request,
    checkout.InvalidLesson: _bad_request,
    checkout.TooManyHolds: _conflict,
    reschedule.InvalidReschedule: _bad_request,
    InvalidWebhook: _bad_request,
    ThrottledError: _throttled,
    AuthError: _form_errors,
    RateLimited: _retry_later(429),
    HashingBusy: _retry_later(503),
    ConfirmationPending: _accepted,
    PaymentProviderError: _payment_provider_down,
    SQLAlchemyError: _database_unavailable,
}

MAPPED_ERRORS: tuple[type[Exception], ...] = tuple(ERROR_RESPONSES)


def error_response(exc: Exception, *, context: str = "") -> JSONResponse:
    """The answer for a domain error (one of MAPPED_ERRORS); `context` names it in the log."""
    for cls in type(exc).__mro__:
        answer = ERROR_RESPONSES.get(cls)
        if answer is not None:
            break
    else:
        raise exc
    response = answer(exc)
    where = f"{context}: " if context else ""
    if response.status_code >= 500:
        log.error("%s%s (%s)", where, type(exc).__name__, response.status_code)
    elif response.status_code != 404:
        log.info("%s%s: %s", where, type(exc).__name__, exc)
    return response

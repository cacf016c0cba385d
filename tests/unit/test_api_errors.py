"""The API's one table from domain errors to HTTP answers (`tutor_app.api.errors`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import OperationalError

from tutor_app.accounts.passwords import HashingBusy
from tutor_app.accounts.users import AuthError, ThrottledError
from tutor_app.api.errors import MAPPED_ERRORS, NOT_FOUND, error_response
from tutor_app.booking import cancellation, checkout, reschedule
from tutor_app.booking.access import NotFound
from tutor_app.core.rate_limits import RateLimited
from tutor_app.integrations.stripe_gateway import InvalidWebhook
from tutor_app.scheduling.slots import SlotNotOffered, SlotTaken

ALTERNATIVE = datetime(2026, 12, 1, 15, tzinfo=UTC)


def _body(exc: Exception) -> tuple[int, dict[str, object]]:
    response = error_response(exc)
    return response.status_code, json.loads(bytes(response.body))


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        pytest.param(checkout.UnknownTutor("no such tutor"), 400, id="unknown-tutor"),
        pytest.param(checkout.InvalidLesson("bad length"), 400, id="invalid-lesson"),
        pytest.param(reschedule.InvalidReschedule("too late"), 400, id="invalid-reschedule"),
        pytest.param(InvalidWebhook("bad signature"), 400, id="invalid-webhook"),
        pytest.param(cancellation.CannotCancel("already started"), 409, id="cannot-cancel"),
        pytest.param(checkout.TooManyHolds(checkout.TOO_MANY_HOLDS), 409, id="too-many-holds"),
        pytest.param(checkout.PaymentProviderError("stripe down"), 502, id="payment-provider"),
        pytest.param(SlotNotOffered("not a time this tutor offers", []), 400, id="not-offered"),
    ],
)
def test_each_error_has_its_status_and_says_why(exc: Exception, status: int) -> None:
    assert _body(exc) == (status, {"error": str(exc)})


def test_a_taken_slot_is_409_with_the_alternatives() -> None:
    status, body = _body(SlotTaken("that time was just taken", [ALTERNATIVE]))

    assert status == 409
    assert body == {"error": "that time was just taken", "alternatives": ["2026-12-01T15:00:00Z"]}


def test_not_found_says_nothing_about_the_booking() -> None:
    assert _body(NotFound("cmine0000000000000000000")) == (404, {"error": NOT_FOUND})


def test_database_trouble_is_503_without_details() -> None:
    exc = OperationalError("SELECT secret", {}, Exception("connection refused"))

    response = error_response(exc)

    assert response.status_code == 503
    assert b"secret" not in bytes(response.body) and b"refused" not in bytes(response.body)


def test_sign_in_errors_keep_their_field_messages_and_throttling_its_retry_after() -> None:
    assert _body(AuthError("email", "Enter an email")) == (
        400, {"errors": {"email": "Enter an email"}}
    )
    throttled = error_response(ThrottledError(30))
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "30"


@pytest.mark.parametrize(
    ("exc", "status", "retry_after"),
    [
        pytest.param(RateLimited(125), 429, "125", id="rate-limited"),
        pytest.param(HashingBusy(), 503, "5", id="hashing-busy"),
    ],
)
def test_try_again_later_answers_say_when(exc: Exception, status: int, retry_after: str) -> None:
    response = error_response(exc)

    assert _body(exc) == (status, {"error": str(exc)})
    assert response.headers["retry-after"] == retry_after
    assert response.headers["cache-control"] == "no-store"


def test_every_answer_is_uncacheable() -> None:
    assert error_response(NotFound("x")).headers["cache-control"] == "no-store"


def test_errors_outside_the_table_are_not_swallowed() -> None:
    assert not issubclass(KeyError, MAPPED_ERRORS)
    with pytest.raises(KeyError):
        error_response(KeyError("bug"))

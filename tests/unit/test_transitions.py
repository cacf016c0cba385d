"""The booking's status changes: what each one writes, and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tutor_app.booking import transitions
from tutor_app.core.models import Booking, BookingStatus

START = datetime(2030, 3, 4, 15, 0, tzinfo=UTC)
NOW = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


def _booking(**fields: object) -> Booking:
    values: dict[str, object] = {
        "user_id": "u1", "tutor_id": "aiko-tanaka", "start_time": START,
        "end_time": START + timedelta(minutes=90), "price_cents": 6000,
        "stripe_checkout_session_id": "cs_test_1", **fields,
    }
    return Booking(**values)


def test_cancel_records_why_and_when_and_withdraws_the_calendar_entry() -> None:
    booking = _booking(sequence=2)
    transitions.cancel(booking, reason=transitions.STUDENT_CANCELED_REASON, now=NOW)
    assert booking.status == BookingStatus.CANCELED
    assert (booking.canceled_at, booking.updated_at) == (NOW, NOW)
    assert booking.cancel_reason == "student_canceled"
    assert booking.sequence == 3
    with pytest.raises(transitions.InvalidTransition):
        transitions.cancel(booking, reason=transitions.REFUNDED_IN_STRIPE_REASON, now=NOW)


def test_a_completed_lesson_can_still_be_canceled() -> None:
    booking = _booking(status=BookingStatus.COMPLETED)
    transitions.cancel(booking, reason=transitions.REFUNDED_IN_STRIPE_REASON, now=NOW)
    assert booking.status == BookingStatus.CANCELED and booking.sequence == 1


def test_move_keeps_the_length_and_bumps_the_sequence() -> None:
    booking = _booking()
    later = START + timedelta(days=2, minutes=30)
    transitions.move(booking, start=later, now=NOW)
    assert (booking.start_time, booking.end_time) == (later, later + timedelta(minutes=90))
    assert booking.sequence == 1 and booking.updated_at == NOW
    canceled = _booking(status=BookingStatus.CANCELED)
    with pytest.raises(transitions.InvalidTransition):
        transitions.move(canceled, start=later, now=NOW)


def test_the_refunded_amount_never_goes_down() -> None:
    booking = _booking(refunded_cents=3000)
    transitions.record_refunded(booking, refunded_cents=1000, now=NOW)
    assert booking.refunded_cents == 3000
    transitions.record_refunded(booking, refunded_cents=6000, now=NOW)
    assert booking.refunded_cents == 6000 and booking.status == BookingStatus.SCHEDULED


def test_a_new_booking_is_scheduled_or_canceled_at_once() -> None:
    scheduled = transitions.new_booking_values(canceled_reason=None, now=NOW)
    assert scheduled == {"status": BookingStatus.SCHEDULED, "canceled_at": None,
                         "cancel_reason": None, "sequence": 0}
    taken = transitions.new_booking_values(canceled_reason=transitions.SLOT_TAKEN_REASON,
                                           now=NOW)
    assert taken["status"] == BookingStatus.CANCELED and taken["canceled_at"] == NOW
    assert taken["cancel_reason"] == "slot_taken" and taken["sequence"] == 0

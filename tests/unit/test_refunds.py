"""Refunds: the automatic refund of a taken slot, the retry job, and `charge.refunded` in any
order relative to `checkout.session.completed`.

Events go through `stripe_events.handle_event` (the webhook route's service, HTTP is covered in
tests/api/test_races.py); payments, refunds and sessions live in the local fake Stripe API.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from tests.factories import TUTOR, first_free, make_booking, make_user, paid_booking
from tests.fakes.fake_stripe import FakeStripe
from tests.fakes.server import free_port
from tests.money_helpers import ConfigureFn, booking, hold_of, refunds_of
from tests.stripe_helpers import event_ids, refund_requests
from tutor_app.booking import cancellation, checkout, recording, refunds
from tutor_app.core.models import Booking, BookingStatus, Refund
from tutor_app.integrations import stripe_gateway
from tutor_app.payments import stripe_events
from tutor_app.scheduling import slots

COMPLETED = "checkout.session.completed"
REFUNDED = "charge.refunded"


def _paid_session(session: Session, fake: FakeStripe, **kw: Any) -> dict[str, Any]:
    """A session the student paid at Stripe; no event delivered yet."""
    user = make_user(session)
    start = kw.pop("start", None) or first_free(session, days_ahead=3)
    started = checkout.start_checkout(user=user, tutor_id=TUTOR, start=start,
                                      duration_minutes=60)
    return fake.complete_session(started.session_id)


def _dashboard_refund(fake: FakeStripe, paid: dict[str, Any], amount: int | None = None
                      ) -> dict[str, Any]:
    """A refund made by a person in the Stripe dashboard (not by the app)."""
    return stripe_gateway.create_refund(payment_intent=paid["payment_intent"], amount=amount,
                                        idempotency_key=f"dashboard-{len(fake.refunds)}")


def _charge(fake: FakeStripe, paid: dict[str, Any], *, listed: bool = True) -> dict[str, Any]:
    """The Charge object of `charge.refunded`, as Stripe has it now."""
    pi = fake.payment_intents[paid["payment_intent"]]
    mine = [r for r in fake.refunds if r["payment_intent"] == pi["id"]]
    refunded = sum(r["amount"] for r in mine)
    charge: dict[str, Any] = {
        "id": pi["latest_charge"], "object": "charge", "amount": pi["amount"],
        "amount_refunded": refunded, "refunded": refunded >= pi["amount"],
        "currency": pi["currency"], "payment_intent": pi["id"], "status": "succeeded",
    }
    if listed:  # API versions before 2022-11-15 embed the refunds
        charge["refunds"] = {"object": "list", "data": list(reversed(mine)), "has_more": False}
    return charge


def _deliver(fake: FakeStripe, type: str, obj: dict[str, Any],
             event_id: str | None = None) -> tuple[str, str]:
    evt = fake.build_event(type, obj, event_id=event_id)
    return evt["id"], stripe_events.handle_event(evt)


def test_a_refund_made_in_stripe_cancels_the_lesson_with_the_amount(
    fake: FakeStripe, session: Session
) -> None:
    paid = _paid_session(session, fake)
    _, booked = _deliver(fake, COMPLETED, paid)
    assert booked == "booked"
    lesson = booking(session, session_id=paid["id"])
    sequence = lesson.sequence
    stripe_refund = _dashboard_refund(fake, paid)

    event_id, result = _deliver(fake, REFUNDED, _charge(fake, paid))

    assert result == "applied"
    after = booking(session, booking_id=lesson.id)
    assert (after.status, after.refunded_cents) == (BookingStatus.CANCELED, 6000)
    assert after.cancel_reason == refunds.REFUNDED_IN_STRIPE_REASON
    assert after.sequence == sequence + 1
    (row,) = refunds_of(session, lesson.id)
    assert (row.stripe_refund_id, row.amount_cents) == (stripe_refund["id"], 6000)
    assert event_id in event_ids(session)
    # The freed slot can be booked again.
    assert lesson.start_time in slots.free_slots_for(session, tutor_id=TUTOR,
                                                     duration_minutes=60)
    # Redelivery of the same event, and a new event for the same charge: nothing changes.
    assert _deliver(fake, REFUNDED, _charge(fake, paid), event_id=event_id)[1] == (
        stripe_events.DUPLICATE_EVENT)
    assert _deliver(fake, REFUNDED, _charge(fake, paid))[1] == "applied"
    assert len(refunds_of(session, lesson.id)) == 1
    assert booking(session, booking_id=lesson.id).sequence == sequence + 1
    assert refund_requests(fake)[0].idempotency_key.startswith("dashboard-")
    assert len(refund_requests(fake)) == 1  # the app itself sent nothing


@pytest.mark.parametrize("listed", [True, False], ids=["refunds-embedded", "amount-only"])
def test_charge_refunded_before_checkout_completed_never_leaves_a_scheduled_lesson(
    fake: FakeStripe, session: Session, listed: bool
) -> None:
    paid = _paid_session(session, fake)
    _dashboard_refund(fake, paid)
    charge = _charge(fake, paid, listed=listed)

    refunded_id, first = _deliver(fake, REFUNDED, charge)  # Stripe delivered out of order
    assert first == "applied"
    lesson = booking(session, session_id=paid["id"])
    assert (lesson.status, lesson.refunded_cents) == (BookingStatus.CANCELED, 6000)

    completed_id, second = _deliver(fake, COMPLETED, paid)  # the late completed event
    assert second == "already_booked"
    after = booking(session, booking_id=lesson.id)
    assert (after.status, after.refunded_cents) == (BookingStatus.CANCELED, 6000)

    # Replays of both, in either order, change nothing.
    for event_id, kind, obj in ((completed_id, COMPLETED, paid),
                                (refunded_id, REFUNDED, charge)):
        assert _deliver(fake, kind, obj, event_id=event_id)[1] == stripe_events.DUPLICATE_EVENT
    assert _deliver(fake, COMPLETED, paid)[1] == "already_booked"
    final = booking(session, booking_id=lesson.id)
    assert (final.status, final.refunded_cents) == (BookingStatus.CANCELED, 6000)
    session.commit()
    assert len(list(session.exec(select(Booking)))) == 1
    assert len(refunds_of(session, lesson.id)) == (1 if listed else 0)
    assert len(refund_requests(fake)) == 1  # only the dashboard's
    hold = hold_of(session, paid["id"])
    assert hold.status != "active"  # the slot is not kept for a refunded payment


def test_out_of_order_refund_of_a_taken_slot_is_not_refunded_twice(
    fake: FakeStripe, session: Session
) -> None:
    paid = _paid_session(session, fake)
    hold = hold_of(session, paid["id"])
    make_booking(session, start=hold.start_time, user=make_user(session))  # slot taken
    _dashboard_refund(fake, paid)

    assert _deliver(fake, REFUNDED, _charge(fake, paid))[1] == "applied"

    lesson = booking(session, session_id=paid["id"])
    assert lesson.status == BookingStatus.CANCELED
    assert lesson.refunded_cents == 6000
    assert len(fake.refunds) == 1  # Stripe refused the app's second refund of the charge
    assert refunds.pending_refund(session, booking_id=lesson.id) is None
    assert refunds.retry_pending_refunds() == 0


def test_the_echo_of_the_apps_own_refund_changes_nothing(
    fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    cancellation.cancel_lesson(booking_id=lesson.id, user_id=lesson.user_id or "",
                               now=lesson.start_time - timedelta(days=2))
    paid = fake.sessions[lesson.stripe_checkout_session_id]

    assert _deliver(fake, REFUNDED, _charge(fake, paid))[1] == "applied"

    after = booking(session, booking_id=lesson.id)
    assert after.cancel_reason == cancellation.STUDENT_CANCELED_REASON
    assert after.refunded_cents == 6000
    assert len(refunds_of(session, lesson.id)) == 1


def test_a_partial_refund_in_stripe_cancels_and_shows_the_amount(
    fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    paid = fake.sessions[lesson.stripe_checkout_session_id]
    _dashboard_refund(fake, paid, amount=2000)
    _deliver(fake, REFUNDED, _charge(fake, paid))
    after = booking(session, booking_id=lesson.id)
    assert (after.status, after.refunded_cents) == (BookingStatus.CANCELED, 2000)


def test_a_refund_of_a_completed_lesson_cancels_it_only_when_full(
    fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    lesson.status = BookingStatus.COMPLETED
    session.add(lesson)
    session.commit()
    paid = fake.sessions[lesson.stripe_checkout_session_id]
    _dashboard_refund(fake, paid, amount=1000)  # a goodwill partial refund
    _deliver(fake, REFUNDED, _charge(fake, paid))
    after = booking(session, booking_id=lesson.id)
    assert (after.status, after.refunded_cents) == (BookingStatus.COMPLETED, 1000)
    _dashboard_refund(fake, paid)  # the rest
    _deliver(fake, REFUNDED, _charge(fake, paid))
    after = booking(session, booking_id=lesson.id)
    assert (after.status, after.refunded_cents) == (BookingStatus.CANCELED, 6000)


def test_a_charge_this_app_did_not_sell_is_acknowledged(
    fake: FakeStripe, session: Session
) -> None:
    charge = {"id": "ch_other", "object": "charge", "amount": 500, "amount_refunded": 500,
              "refunded": True, "payment_intent": "pi_not_from_checkout", "currency": "usd"}
    event_id, result = _deliver(fake, REFUNDED, charge)
    assert result == "not_ours"
    assert event_id in event_ids(session)


def test_stripe_down_during_an_out_of_order_refund_records_nothing(
    fake: FakeStripe, session: Session, configure: ConfigureFn
) -> None:
    paid = _paid_session(session, fake)
    _dashboard_refund(fake, paid)
    evt = fake.build_event(REFUNDED, _charge(fake, paid))
    configure(STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(stripe_gateway.PaymentProviderError):
        stripe_events.handle_event(evt)  # the route answers 5xx: Stripe retries
    assert evt["id"] not in event_ids(session)
    configure(STRIPE_API_BASE=fake.url)
    assert stripe_events.handle_event(evt) == "applied"  # the retry
    assert booking(session, session_id=paid["id"]).status == BookingStatus.CANCELED


def test_a_paid_session_for_a_taken_slot_is_refunded_automatically_once(
    fake: FakeStripe, session: Session
) -> None:
    paid = _paid_session(session, fake)
    hold = hold_of(session, paid["id"])
    winner = make_booking(session, start=hold.start_time, user=make_user(session))

    assert _deliver(fake, COMPLETED, paid)[1] == "refund_needed"
    assert _deliver(fake, COMPLETED, paid)[1] == "already_booked"  # a redelivery

    lesson = booking(session, session_id=paid["id"])
    assert lesson.status == BookingStatus.CANCELED
    assert lesson.cancel_reason == recording.SLOT_TAKEN_REASON
    assert lesson.refunded_cents == 6000
    (request,) = refund_requests(fake)
    assert request.idempotency_key == f"refund-{lesson.id}"
    assert request.params["amount"] == "6000"
    (row,) = refunds_of(session, lesson.id)
    assert row.stripe_refund_id == fake.refunds[0]["id"]
    assert booking(session, booking_id=winner.id).status == BookingStatus.SCHEDULED


def test_a_failed_automatic_refund_is_finished_by_the_retry_job(
    fake: FakeStripe, session: Session, configure: ConfigureFn
) -> None:
    paid = _paid_session(session, fake)
    hold = hold_of(session, paid["id"])
    make_booking(session, start=hold.start_time, user=make_user(session))
    configure(STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}")

    assert _deliver(fake, COMPLETED, paid)[1] == "refund_needed"  # still a 2xx: booked
    lesson = booking(session, session_id=paid["id"])
    assert lesson.refunded_cents == 0
    assert refunds.pending_refund(session, booking_id=lesson.id) is not None

    configure(STRIPE_API_BASE=fake.url)
    assert refunds.retry_pending_refunds() == 1
    assert booking(session, booking_id=lesson.id).refunded_cents == 6000
    assert refunds.retry_pending_refunds() == 0
    assert len(refund_requests(fake)) == 1


def test_the_retry_job_owes_a_slot_taken_refund_whose_hook_never_ran(
    fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    # As if the process died right after committing a slot-taken booking.
    lesson.status, lesson.cancel_reason = BookingStatus.CANCELED, recording.SLOT_TAKEN_REASON
    session.add(lesson)
    session.commit()
    assert refunds_of(session, lesson.id) == []

    assert refunds.retry_pending_refunds() == 1
    assert booking(session, booking_id=lesson.id).refunded_cents == 6000
    assert [r.stripe_refund_id for r in refunds_of(session, lesson.id)] == [
        fake.refunds[0]["id"]]
    assert refunds.retry_pending_refunds() == 0


def test_one_pending_refund_per_booking_is_a_database_fact(
    fake: FakeStripe, session: Session
) -> None:
    lesson = make_booking(session, start=first_free(session, days_ahead=3), user=make_user(session))
    session.add(Refund(booking_id=lesson.id, stripe_refund_id=refunds.pending_refund_id(
        lesson.id), amount_cents=100))
    session.commit()
    session.add(Refund(booking_id=lesson.id, stripe_refund_id=refunds.pending_refund_id(
        lesson.id), amount_cents=100))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()

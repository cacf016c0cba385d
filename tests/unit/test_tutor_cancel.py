"""A tutor cancels a lesson: the student is refunded in full through the once-only refund path
(whatever the policy window says), the booking carries the tutor's code and reason, and the
student's card says so. Never two refunds, however often or at once it is clicked.

Lessons are paid at the local fake Stripe API through the real checkout path; what reached
"Stripe" (refund requests, their idempotency keys and amounts) is what the tests assert.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from tests.factories import TUTOR, make_tutor_user, make_user, paid_booking
from tests.fakes.fake_stripe import FakeStripe
from tests.money_helpers import booking, refunds_of, run_concurrently
from tests.stripe_helpers import refund_requests
from tutor_app.booking import cancellation, lesson_events, transitions
from tutor_app.booking.cancellation import CannotCancel, NotFound, ReasonRequired
from tutor_app.core.models import Booking, BookingStatus, Role, User

REASON = "I have the flu, sorry!"


@pytest.fixture
def canceled_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The booking ids `lesson_events.after_booking_canceled` was called with."""
    calls: list[str] = []
    monkeypatch.setattr(lesson_events, "after_booking_canceled",
                        lambda booking_id, **_: calls.append(booking_id))
    return calls


def _paid(session: Session, fake: FakeStripe) -> Booking:
    """A paid lesson of the tutor's, once its booking follow-ups (emails: the tutor's too) have
    written: on SQLite a test write meeting theirs mid-transaction would fail as locked."""
    lesson = paid_booking(session, fake)
    lesson_events.wait_idle()
    return lesson


@pytest.fixture
def tutor(session: Session) -> User:
    return make_tutor_user(session, tutor_id=TUTOR)


def test_inside_the_policy_window_the_student_still_gets_everything_back(
    fake: FakeStripe, session: Session, tutor: User, canceled_calls: list[str]
) -> None:
    lesson = _paid(session, fake)
    sequence = lesson.sequence
    now = lesson.start_time - timedelta(hours=2)  # a student's cancel would refund nothing
    assert cancellation.policy_refund_cents(lesson, now) == 0

    result = cancellation.cancel_by_tutor(booking_id=lesson.id, user=tutor, reason=f"  {REASON} ",
                                          now=now)

    assert (result.status, result.refund_cents, result.refund_status) == (
        BookingStatus.CANCELED, 6000, "refunded")
    assert not result.already_canceled
    assert result.message == "The lesson is canceled and the student has been refunded $60.00."
    (request,) = refund_requests(fake)
    assert request.idempotency_key == f"refund-{lesson.id}"
    assert request.params["amount"] == "6000"
    assert request.params["payment_intent"] == lesson.stripe_payment_intent_id
    after = booking(session, booking_id=lesson.id)
    assert after.status == BookingStatus.CANCELED and after.refunded_cents == 6000
    assert after.cancel_reason == transitions.TUTOR_CANCELED_REASON
    assert after.cancel_note == REASON  # trimmed
    assert after.canceled_at == now and after.sequence == sequence + 1
    assert [r.amount_cents for r in refunds_of(session, lesson.id)] == [6000]
    assert canceled_calls == [lesson.id]
    assert cancellation.cancel_line_for_student(
        reason=after.cancel_reason, refunded_cents=after.refunded_cents,
        price_cents=after.price_cents, currency=after.currency,
    ) == "Canceled by your tutor \u2014 refunded in full"


def test_clicked_twice_it_refunds_once(
    fake: FakeStripe, session: Session, tutor: User, canceled_calls: list[str]
) -> None:
    lesson = _paid(session, fake)

    first = cancellation.cancel_by_tutor(booking_id=lesson.id, user=tutor, reason=REASON)
    again = cancellation.cancel_by_tutor(booking_id=lesson.id, user=tutor, reason=REASON)

    assert not first.already_canceled and again.already_canceled
    assert again.refund_cents == 6000 and again.refund_status == "refunded"
    assert again.message == "This lesson was already canceled."
    assert len(refund_requests(fake)) == 1 and len(fake.refunds) == 1
    assert canceled_calls == [lesson.id]


def test_ten_concurrent_cancels_send_one_refund_request(
    fake: FakeStripe, session: Session, tutor: User, canceled_calls: list[str]
) -> None:
    lesson = _paid(session, fake)

    results = run_concurrently(
        10, lambda _: cancellation.cancel_by_tutor(booking_id=lesson.id, user=tutor,
                                                   reason=REASON)
    )

    assert all(isinstance(r, cancellation.CancelResult) for r in results), results
    assert sum(not r.already_canceled for r in results) == 1
    assert {r.status for r in results} == {BookingStatus.CANCELED}
    assert len(refund_requests(fake)) == 1 and len(fake.refunds) == 1
    assert booking(session, booking_id=lesson.id).refunded_cents == 6000
    assert [r.amount_cents for r in refunds_of(session, lesson.id)] == [6000]
    assert canceled_calls == [lesson.id]


def test_a_tutor_cancel_racing_the_students_refunds_once(
    fake: FakeStripe, session: Session, tutor: User, canceled_calls: list[str]
) -> None:
    lesson = _paid(session, fake)
    student_id = lesson.user_id or ""

    def either(i: int) -> object:
        if i % 2:
            return cancellation.cancel_lesson(booking_id=lesson.id, user_id=student_id)
        return cancellation.cancel_by_tutor(booking_id=lesson.id, user=tutor, reason=REASON)

    results = run_concurrently(6, either)

    assert all(isinstance(r, cancellation.CancelResult) for r in results), results
    assert sum(not r.already_canceled for r in results) == 1
    assert len(refund_requests(fake)) == 1 and len(fake.refunds) == 1
    assert booking(session, booking_id=lesson.id).refunded_cents == 6000
    assert canceled_calls == [lesson.id]


@pytest.mark.parametrize("reason", ["", "   \n ", "x" * 501])
def test_a_reason_is_required_and_nothing_changes_without_one(
    fake: FakeStripe, session: Session, tutor: User, canceled_calls: list[str], reason: str
) -> None:
    lesson = _paid(session, fake)

    with pytest.raises(ReasonRequired):
        cancellation.cancel_by_tutor(booking_id=lesson.id, user=tutor, reason=reason)

    assert booking(session, booking_id=lesson.id).status == BookingStatus.SCHEDULED
    assert refund_requests(fake) == [] and canceled_calls == []


def test_a_started_lesson_cannot_be_canceled_by_its_tutor(
    fake: FakeStripe, session: Session, tutor: User
) -> None:
    lesson = _paid(session, fake)

    with pytest.raises(CannotCancel, match="already started"):
        cancellation.cancel_by_tutor(booking_id=lesson.id, user=tutor, reason=REASON,
                                     now=lesson.start_time + timedelta(minutes=1))

    assert booking(session, booking_id=lesson.id).status == BookingStatus.SCHEDULED
    assert refund_requests(fake) == []


def test_nobody_else_can_cancel_as_the_tutor(
    fake: FakeStripe, session: Session, canceled_calls: list[str]
) -> None:
    lesson = _paid(session, fake)
    owner = session.get(User, lesson.user_id)
    assert owner is not None
    session.commit()  # end the read: the writes below must not meet a stale snapshot
    strangers = [make_tutor_user(session, tutor_id="liam-murphy"), owner, make_user(session)]

    for user in strangers:
        with pytest.raises(NotFound):
            cancellation.cancel_by_tutor(booking_id=lesson.id, user=user, reason=REASON)

    assert booking(session, booking_id=lesson.id).status == BookingStatus.SCHEDULED
    assert refund_requests(fake) == [] and canceled_calls == []
    admin = make_user(session, email="admin@example.com", role=Role.ADMIN)
    result = cancellation.cancel_by_tutor(booking_id=lesson.id, user=admin, reason=REASON)
    assert result.refund_cents == 6000 and len(refund_requests(fake)) == 1


def test_the_students_card_while_the_refund_is_pending_and_for_other_reasons() -> None:
    line = cancellation.cancel_line_for_student
    assert line(reason=transitions.TUTOR_CANCELED_REASON, refunded_cents=0, price_cents=6000,
                currency="usd") == "Canceled by your tutor \u2014 your full refund is on its way"
    assert line(reason=transitions.STUDENT_CANCELED_REASON, refunded_cents=6000,
                price_cents=6000, currency="usd") == "Refunded $60.00 \u00b7 Canceled by you"
    assert line(reason=None, refunded_cents=1500, price_cents=6000,
                currency="usd") == "Refunded $15.00 of $60.00"
    assert line(reason=None, refunded_cents=0, price_cents=6000, currency="usd") == ""

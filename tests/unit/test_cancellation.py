"""Cancelling a lesson: the refund policy, ownership, and never refunding twice.

Lessons are paid at the local fake Stripe API through the real checkout path; what the tests
assert is what reached "Stripe" (the refund requests, their idempotency keys and amounts) and
what the database says afterwards (status, refunded amount, refund rows).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from tests.factories import make_booking, make_user, paid_booking
from tests.fakes.fake_stripe import FakeStripe
from tests.fakes.server import free_port
from tests.money_helpers import ConfigureFn, booking, refunds_of, run_concurrently
from tests.stripe_helpers import refund_requests
from tutor_app.booking import cancellation, lesson_events, refunds
from tutor_app.booking.cancellation import CannotCancel, NotFound
from tutor_app.core import clock
from tutor_app.core.models import BookingStatus


@pytest.fixture
def canceled_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The booking ids `lesson_events.after_booking_canceled` was called with."""
    calls: list[str] = []
    monkeypatch.setattr(lesson_events, "after_booking_canceled",
                        lambda booking_id, **_: calls.append(booking_id))
    return calls


def test_cancel_inside_the_window_refunds_in_full_once(
    fake: FakeStripe, session: Session, canceled_calls: list[str]
) -> None:
    lesson = paid_booking(session, fake)
    sequence = lesson.sequence
    now = lesson.start_time - timedelta(hours=25)

    preview = cancellation.cancel_preview(
        session, booking_id=lesson.id, user_id=lesson.user_id or "", now=now
    )
    assert preview.refund_cents == 6000 and preview.can_cancel
    assert preview.message == "You'll get a full refund of $60.00."

    result = cancellation.cancel_lesson(booking_id=lesson.id, user_id=lesson.user_id or "",
                                        now=now)
    assert result.status == BookingStatus.CANCELED
    assert (result.refund_cents, result.refund_status) == (6000, "refunded")
    assert result.already_canceled is False
    assert "$60.00 has been refunded" in result.message

    (request,) = refund_requests(fake)
    assert request.idempotency_key == f"refund-{lesson.id}"
    assert request.params["payment_intent"] == lesson.stripe_payment_intent_id
    assert request.params["amount"] == "6000"
    assert request.params["metadata"]["bookingId"] == lesson.id
    (stripe_refund,) = fake.refunds
    after = booking(session, booking_id=lesson.id)
    assert after.status == BookingStatus.CANCELED and after.refunded_cents == 6000
    assert after.cancel_reason == cancellation.STUDENT_CANCELED_REASON
    assert after.canceled_at == now
    assert after.sequence == sequence + 1  # calendar copies are withdrawn
    (row,) = refunds_of(session, lesson.id)
    assert (row.stripe_refund_id, row.amount_cents) == (stripe_refund["id"], 6000)
    assert canceled_calls == [lesson.id]

    # A retry later (double click, client retry) changes nothing and sends nothing.
    again = cancellation.cancel_lesson(booking_id=lesson.id, user_id=lesson.user_id or "")
    assert again.already_canceled and again.refund_status == "refunded"
    assert again.refund_cents == 6000
    assert len(refund_requests(fake)) == 1
    assert canceled_calls == [lesson.id]


def test_cancel_at_exactly_the_window_is_still_refunded(
    fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    now = lesson.start_time - timedelta(hours=24)
    result = cancellation.cancel_lesson(booking_id=lesson.id, user_id=lesson.user_id or "",
                                        now=now)
    assert result.refund_cents == 6000


def test_cancel_outside_the_window_refunds_nothing_but_cancels(
    fake: FakeStripe, session: Session, canceled_calls: list[str]
) -> None:
    lesson = paid_booking(session, fake)
    now = lesson.start_time - timedelta(hours=23, minutes=59)

    preview = cancellation.cancel_preview(
        session, booking_id=lesson.id, user_id=lesson.user_id or "", now=now
    )
    assert preview.refund_cents == 0 and preview.can_cancel
    assert "no refund is due" in preview.message

    result = cancellation.cancel_lesson(booking_id=lesson.id, user_id=lesson.user_id or "",
                                        now=now)
    assert (result.status, result.refund_cents, result.refund_status) == (
        BookingStatus.CANCELED, 0, "none")
    assert "No refund is due" in result.message
    assert refund_requests(fake) == []
    assert refunds_of(session, lesson.id) == []
    after = booking(session, booking_id=lesson.id)
    assert after.status == BookingStatus.CANCELED and after.refunded_cents == 0
    assert canceled_calls == [lesson.id]


def test_policy_comes_from_settings(
    fake: FakeStripe, session: Session, configure: ConfigureFn
) -> None:
    configure(REFUND_WINDOW_HOURS="48", REFUND_SHARE_PERCENT="50")
    lesson = paid_booking(session, fake)
    user_id = lesson.user_id or ""
    inside = cancellation.cancel_preview(session, booking_id=lesson.id, user_id=user_id,
                                         now=lesson.start_time - timedelta(hours=48))
    assert inside.refund_cents == 3000
    assert inside.message == "You'll get a refund of $30.00 (of $60.00 paid)."
    outside = cancellation.cancel_preview(session, booking_id=lesson.id, user_id=user_id,
                                          now=lesson.start_time - timedelta(hours=47))
    assert outside.refund_cents == 0 and "less than 48 hours" in outside.message

    result = cancellation.cancel_lesson(booking_id=lesson.id, user_id=user_id,
                                        now=lesson.start_time - timedelta(days=3))
    assert result.refund_cents == 3000
    (request,) = refund_requests(fake)
    assert request.params["amount"] == "3000"
    assert booking(session, booking_id=lesson.id).refunded_cents == 3000


def test_only_the_owner_can_see_or_cancel(
    fake: FakeStripe, session: Session, canceled_calls: list[str]
) -> None:
    lesson = paid_booking(session, fake)
    stranger = make_user(session)
    for booking_id, user_id in ((lesson.id, stranger.id), ("no-such-booking", stranger.id),
                                (lesson.id, "")):
        with pytest.raises(NotFound):
            cancellation.cancel_preview(session, booking_id=booking_id, user_id=user_id)
        with pytest.raises(NotFound):
            cancellation.cancel_lesson(booking_id=booking_id, user_id=user_id)
    assert booking(session, booking_id=lesson.id).status == BookingStatus.SCHEDULED
    assert refund_requests(fake) == [] and canceled_calls == []


def test_an_unclaimed_booking_belongs_to_nobody(session: Session) -> None:
    lesson = make_booking(session, start=clock.now() + timedelta(days=3))  # user_id None
    with pytest.raises(NotFound):
        cancellation.cancel_lesson(booking_id=lesson.id, user_id="")


def test_a_started_or_completed_lesson_cannot_be_canceled(
    fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    user_id = lesson.user_id or ""
    during = lesson.start_time + timedelta(minutes=5)
    preview = cancellation.cancel_preview(session, booking_id=lesson.id, user_id=user_id,
                                          now=during)
    assert not preview.can_cancel and "already started" in preview.message
    with pytest.raises(CannotCancel):
        cancellation.cancel_lesson(booking_id=lesson.id, user_id=user_id, now=during)
    assert booking(session, booking_id=lesson.id).status == BookingStatus.SCHEDULED
    assert refund_requests(fake) == []


def test_ten_concurrent_cancels_send_one_refund_request(
    fake: FakeStripe, session: Session, canceled_calls: list[str]
) -> None:
    lesson = paid_booking(session, fake)
    user_id = lesson.user_id or ""

    results = run_concurrently(
        10, lambda _: cancellation.cancel_lesson(booking_id=lesson.id, user_id=user_id)
    )

    assert all(isinstance(r, cancellation.CancelResult) for r in results), results
    assert sum(not r.already_canceled for r in results) == 1  # one request flipped the row
    assert {r.refund_cents for r in results} == {6000}
    assert {r.status for r in results} == {BookingStatus.CANCELED}
    requests = refund_requests(fake)
    print(f"\nconcurrent cancel: attempts=10 refund_requests={len(requests)} "
          f"stripe_refunds={len(fake.refunds)}")
    assert len(requests) == 1
    assert len(fake.refunds) == 1
    after = booking(session, booking_id=lesson.id)
    assert after.refunded_cents == 6000
    assert [r.amount_cents for r in refunds_of(session, lesson.id)] == [6000]
    assert canceled_calls == [lesson.id]


def test_stripe_failure_after_the_flip_leaves_the_refund_pending_for_the_next_call(
    fake: FakeStripe, session: Session, configure: ConfigureFn, canceled_calls: list[str]
) -> None:
    lesson = paid_booking(session, fake)
    user_id = lesson.user_id or ""
    configure(STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}")  # Stripe unreachable

    result = cancellation.cancel_lesson(booking_id=lesson.id, user_id=user_id)
    assert result.status == BookingStatus.CANCELED
    assert (result.refund_cents, result.refund_status) == (6000, "pending")
    assert "being processed" in result.message
    after = booking(session, booking_id=lesson.id)
    assert after.status == BookingStatus.CANCELED and after.refunded_cents == 0
    (pending,) = refunds_of(session, lesson.id)
    assert pending.stripe_refund_id == refunds.pending_refund_id(lesson.id)
    assert canceled_calls == [lesson.id]  # the cancel itself is done and announced

    configure(STRIPE_API_BASE=fake.url)  # Stripe back: the student clicks again
    again = cancellation.cancel_lesson(booking_id=lesson.id, user_id=user_id)
    assert again.already_canceled and again.refund_status == "refunded"
    assert len(refund_requests(fake)) == 1 and len(fake.refunds) == 1
    assert booking(session, booking_id=lesson.id).refunded_cents == 6000
    (row,) = refunds_of(session, lesson.id)
    assert row.stripe_refund_id == fake.refunds[0]["id"]
    assert canceled_calls == [lesson.id]


def test_stripe_refusal_then_retry_job_finishes_the_refund(
    fake: FakeStripe, session: Session, configure: ConfigureFn
) -> None:
    lesson = paid_booking(session, fake)
    configure(STRIPE_SECRET_KEY="pk_test_not_a_secret_key")  # the fake answers 401
    result = cancellation.cancel_lesson(booking_id=lesson.id, user_id=lesson.user_id or "")
    assert result.refund_status == "pending"
    assert fake.refunds == []

    configure(STRIPE_SECRET_KEY="sk_test_payments_fake")
    assert refunds.retry_pending_refunds() == 1
    assert refunds.retry_pending_refunds() == 0  # nothing left: idempotent
    assert len(fake.refunds) == 1
    assert booking(session, booking_id=lesson.id).refunded_cents == 6000


def test_a_dev_payment_is_refunded_without_stripe(
    session: Session, configure: ConfigureFn
) -> None:
    configure(STRIPE_SECRET_KEY=None, STRIPE_API_BASE=None, APP_ENV="dev")
    user = make_user(session)
    lesson = make_booking(session, start=clock.now() + timedelta(days=3), user=user)
    lesson.stripe_checkout_session_id = "cs_dev_" + lesson.id
    session.add(lesson)
    session.commit()

    result = cancellation.cancel_lesson(booking_id=lesson.id, user_id=user.id)
    assert (result.refund_cents, result.refund_status) == (6000, "refunded")
    (row,) = refunds_of(session, lesson.id)
    assert row.stripe_refund_id == f"re_dev_{lesson.id}"
    assert booking(session, booking_id=lesson.id).refunded_cents == 6000

"""An admin's actions on a booking: each through the students' and tutors' own services, each
with its reason in the audit log (in the same transaction), each a step of the booking's
history. Money goes through the once-only refund path: a partial refund is one request to
Stripe with its own key, never made twice, however it is clicked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from tests.factories import TUTOR, make_booking, make_tutor_user, make_user, paid_booking
from tests.fakes.fake_stripe import FakeStripe
from tests.money_helpers import booking, refunds_of, run_concurrently
from tests.stripe_helpers import refund_requests
from tutor_app.admin import audit, booking_actions, booking_history
from tutor_app.admin.booking_actions import ActionRefused
from tutor_app.booking import cancellation, lesson_events, refunds, transitions
from tutor_app.core import clock
from tutor_app.core.models import (
    AuditEntry,
    Booking,
    BookingEvent,
    BookingStatus,
    Notification,
    Role,
    User,
)

REASON = "Student wrote to support: the tutor was 20 minutes late"


@pytest.fixture
def admin(session: Session) -> User:
    return make_user(session, email="owner@example.com", role=Role.ADMIN)


def _paid(session: Session, fake: FakeStripe) -> Booking:
    lesson = paid_booking(session, fake)
    lesson_events.wait_idle()
    return lesson


def _audit(session: Session, booking_id: str) -> list[AuditEntry]:
    session.commit()
    return list(session.exec(select(AuditEntry).where(AuditEntry.target_id == booking_id)))


def _events(session: Session, booking_id: str) -> list[BookingEvent]:
    session.commit()
    return list(session.exec(select(BookingEvent).where(BookingEvent.booking_id == booking_id)
                             .order_by(col(BookingEvent.created_at))))


def test_refund_half_is_one_stripe_request_recorded_with_its_reason(
    fake: FakeStripe, session: Session, admin: User
) -> None:
    lesson = _paid(session, fake)
    half = lesson.price_cents // 2

    attempt = booking_actions.refund(booking_id=lesson.id, admin=admin, reason=REASON,
                                     amount_cents=half, expected_refunded_cents=0)

    assert attempt.status is refunds.RefundStatus.REFUNDED
    [request] = refund_requests(fake)
    assert (int(request.params["amount"]), request.idempotency_key) == (
        half, refunds.refund_key(lesson.id))
    stored = booking(session, booking_id=lesson.id)
    assert (stored.status, stored.refunded_cents) == (BookingStatus.SCHEDULED, half)
    [entry] = _audit(session, lesson.id)
    assert (entry.action, entry.reason, entry.actor_email) == (
        booking_actions.REFUND, REASON, admin.email)
    assert entry.before["refunded_cents"] == 0 and entry.after["refund_cents"] == half
    kinds = [(e.kind, e.actor_role) for e in _events(session, lesson.id)]
    assert (transitions.CREATED, "system") in kinds
    assert (transitions.REFUND_REQUESTED, "admin") in kinds
    assert (transitions.REFUNDED, "system") in kinds
    assert cancellation.cancel_line_for_student(
        reason=stored.cancel_reason, refunded_cents=stored.refunded_cents,
        price_cents=stored.price_cents, currency=stored.currency,
    ) == "Refunded $30.00 of $60.00"


def test_the_same_refund_clicked_again_is_refused_and_the_rest_is_a_new_key(
    fake: FakeStripe, session: Session, admin: User
) -> None:
    lesson = _paid(session, fake)
    half = lesson.price_cents // 2
    booking_actions.refund(booking_id=lesson.id, admin=admin, reason=REASON,
                           amount_cents=half, expected_refunded_cents=0)

    with pytest.raises(ActionRefused, match="changed meanwhile"):  # the second click
        booking_actions.refund(booking_id=lesson.id, admin=admin, reason=REASON,
                               amount_cents=half, expected_refunded_cents=0)
    with pytest.raises(ActionRefused, match="no more than what is left"):
        booking_actions.refund(booking_id=lesson.id, admin=admin, reason=REASON,
                               amount_cents=half + 1, expected_refunded_cents=half)
    booking_actions.refund(booking_id=lesson.id, admin=admin, reason="the rest, as agreed",
                           amount_cents=half, expected_refunded_cents=half)

    keys = [r.idempotency_key for r in refund_requests(fake)]
    assert keys == [refunds.refund_key(lesson.id), refunds.refund_key(lesson.id, 2)]
    assert booking(session, booking_id=lesson.id).refunded_cents == lesson.price_cents
    assert len(refunds_of(session, lesson.id)) == 2
    with pytest.raises(ActionRefused, match="Nothing is left"):
        booking_actions.refund(booking_id=lesson.id, admin=admin, reason=REASON,
                               amount_cents=1, expected_refunded_cents=lesson.price_cents)


def test_ten_refunds_at_once_make_one(fake: FakeStripe, session: Session, admin: User) -> None:
    lesson = _paid(session, fake)
    session.refresh(admin)
    session.expunge(admin)  # the threads read the admin, not the test's db session

    def click(_: int) -> object:
        return booking_actions.refund(booking_id=lesson.id, admin=admin, reason=REASON,
                                      amount_cents=1000, expected_refunded_cents=0)

    results = run_concurrently(10, click)

    assert sum(isinstance(r, refunds.RefundAttempt) for r in results) == 1
    assert all(isinstance(r, (refunds.RefundAttempt, ActionRefused)) for r in results), results
    assert len(refund_requests(fake)) == 1
    assert booking(session, booking_id=lesson.id).refunded_cents == 1000
    assert len(_audit(session, lesson.id)) == 1


def test_no_reason_no_action(fake: FakeStripe, session: Session, admin: User) -> None:
    lesson = _paid(session, fake)
    with pytest.raises(audit.ReasonRequired):
        booking_actions.refund(booking_id=lesson.id, admin=admin, reason="  ",
                               amount_cents=1000, expected_refunded_cents=0)
    with pytest.raises(audit.ReasonRequired):
        booking_actions.cancel(booking_id=lesson.id, admin=admin, reason="", refund_cents=0)
    assert refund_requests(fake) == []
    assert booking(session, booking_id=lesson.id).status == BookingStatus.SCHEDULED


def test_cancel_with_a_partial_refund(fake: FakeStripe, session: Session, admin: User) -> None:
    lesson = _paid(session, fake)

    result = booking_actions.cancel(booking_id=lesson.id, admin=admin, reason=REASON,
                                    refund_cents=2000)
    again = booking_actions.cancel(booking_id=lesson.id, admin=admin, reason=REASON,
                                   refund_cents=2000)

    assert (result.status, result.refund_cents, again.already_canceled) == (
        BookingStatus.CANCELED, 2000, True)
    assert [int(r.params["amount"]) for r in refund_requests(fake)] == [2000]
    stored = booking(session, booking_id=lesson.id)
    assert (stored.cancel_reason, stored.cancel_note) == (
        transitions.ADMIN_CANCELED_REASON, REASON)
    assert [e.action for e in _audit(session, lesson.id)] == [booking_actions.CANCEL]
    canceled = [e for e in _events(session, lesson.id) if e.kind == transitions.CANCELED]
    assert [(e.actor_role, e.actor_id) for e in canceled] == [("admin", admin.id)]


def test_cancel_refuses_more_than_was_paid(fake: FakeStripe, session: Session,
                                          admin: User) -> None:
    lesson = _paid(session, fake)
    with pytest.raises(ActionRefused):
        booking_actions.cancel(booking_id=lesson.id, admin=admin, reason=REASON,
                               refund_cents=lesson.price_cents + 1)
    assert booking(session, booking_id=lesson.id).status == BookingStatus.SCHEDULED
    assert _audit(session, lesson.id) == []


def test_stripe_echo_of_an_admin_partial_refund_does_not_cancel_the_lesson(
    fake: FakeStripe, session: Session, admin: User
) -> None:
    lesson = _paid(session, fake)
    booking_actions.refund(booking_id=lesson.id, admin=admin, reason=REASON,
                           amount_cents=1500, expected_refunded_cents=0)

    refunds.apply_charge_refund({"amount_refunded": 1500, "refunded": False},
                                booking_id=lesson.id)
    assert booking(session, booking_id=lesson.id).status == BookingStatus.SCHEDULED
    refunds.apply_charge_refund({"amount_refunded": 2500, "refunded": False},
                                booking_id=lesson.id)  # more than the app made: a dashboard one
    assert booking(session, booking_id=lesson.id).status == BookingStatus.CANCELED


def test_attendance_and_reschedule_by_the_students_and_tutors_rules(
    session: Session, admin: User
) -> None:
    student = make_user(session)
    past = make_booking(session, user=student, start=clock.now() - timedelta(hours=3))
    assert booking_actions.mark_attendance(booking_id=past.id, admin=admin, reason=REASON,
                                           value="no_show") == "no_show"
    future = make_booking(session, user=student, start=clock.now() + timedelta(days=1))
    with pytest.raises(ActionRefused):
        booking_actions.mark_attendance(booking_id=future.id, admin=admin, reason=REASON,
                                        value="attended")
    assert [e.action for e in _audit(session, past.id)] == [booking_actions.ATTENDANCE]
    assert _audit(session, future.id) == []
    [marked] = [e for e in _events(session, past.id) if e.kind == transitions.ATTENDANCE_MARKED]
    assert (marked.actor_role, marked.detail["to"]) == ("admin", "no_show")


def test_resend_confirmation_uses_a_new_key_each_time(
    session: Session, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    monkeypatch.setattr(booking_actions.notifications, "send_once",
                        lambda **kw: sent.append(kw["key"]) or True)
    lesson = make_booking(session, user=make_user(session), start=clock.now() + timedelta(days=2))
    session.add(Notification(dedupe_key=booking_actions.resend_key(lesson.id, 1),
                             booking_id=lesson.id, kind="confirmation"))
    session.commit()

    booking_actions.resend_confirmation(booking_id=lesson.id, admin=admin, reason=REASON)

    assert sent == [f"{lesson.id}:confirmation:resend:2"]
    assert [e.action for e in _audit(session, lesson.id)] == [
        booking_actions.RESEND_CONFIRMATION]


def test_the_booking_history_merges_every_source(
    fake: FakeStripe, session: Session, admin: User
) -> None:
    lesson = _paid(session, fake)
    booking_actions.refund(booking_id=lesson.id, admin=admin, reason=REASON,
                           amount_cents=1000, expected_refunded_cents=0)
    session.commit()
    session.expire_all()

    history = booking_history.booking_history(session, booking_id=lesson.id)

    assert history is not None
    sources = {e.source for e in history.timeline}
    assert {"hold", "refund", "event", "admin"} <= sources
    assert any(REASON in e.detail for e in history.timeline if e.source == "admin")
    assert history.refundable_cents == lesson.price_cents - 1000
    assert [e.at for e in history.timeline] == sorted(e.at for e in history.timeline)
    assert booking_history.booking_history(session, booking_id="nope") is None


def test_a_tutor_cancel_and_a_student_cancel_name_their_actor(
    fake: FakeStripe, session: Session
) -> None:
    tutor = make_tutor_user(session, tutor_id=TUTOR)
    lesson = _paid(session, fake)
    other = _paid(session, fake)
    assert other.user_id is not None
    cancellation.cancel_by_tutor(booking_id=lesson.id, user=tutor, reason="flu")
    lesson_events.wait_idle()
    cancellation.cancel_lesson(booking_id=other.id, user_id=other.user_id)
    lesson_events.wait_idle()

    [by_tutor] = [e for e in _events(session, lesson.id) if e.kind == transitions.CANCELED]
    [by_student] = [e for e in _events(session, other.id) if e.kind == transitions.CANCELED]
    assert (by_tutor.actor_role, by_tutor.actor_id) == ("tutor", tutor.id)
    assert (by_student.actor_role, by_student.actor_id) == ("student", other.user_id)

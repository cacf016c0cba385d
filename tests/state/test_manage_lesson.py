"""The dashboard's cancel and reschedule dialogs, driven without a browser.

Handlers are called on a real state tree whose router carries the student's session cookie;
lessons are paid at the local fake Stripe API.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from tests.factories import TUTOR, make_booking, make_user, paid_booking, session_cookie
from tests.fakes.fake_stripe import FakeStripe
from tests.money_helpers import booking
from tests.state.handlers import ORIGIN, run, state_on
from tests.stripe_helpers import refund_requests
from tutor_app.core import clock, timefmt
from tutor_app.core.models import BookingStatus, User
from tutor_app.scheduling import slots
from tutor_app.state.dashboard import DashboardState
from tutor_app.state.manage_lesson import NOT_FOUND_MESSAGE, ManageLessonState

NY = "America/New_York"


def _state(session: Session, user: User | None) -> ManageLessonState:
    state = state_on(ManageLessonState, f"{ORIGIN}/dashboard",
                     cookie=session_cookie(session, user) if user else "")
    state.viewer_tz = NY
    return state


def _owner(session: Session, lesson: Any) -> User:
    user = session.get(User, lesson.user_id)
    assert user is not None
    return user


def _run(events: Any) -> list[Any]:
    result = run(events)
    return list(result) if result is not None else []


def test_cancel_dialog_shows_the_refund_and_cancels(
    fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    state = _state(session, _owner(session, lesson))

    run(state.open_cancel(lesson.id))
    assert state.cancel_open and state.cancel_allowed
    assert state.cancel_message == "You'll get a full refund of $60.00."
    assert state.cancel_lesson_label.startswith("James Okafor · ")
    assert "(America/New_York)" in state.cancel_lesson_label

    events = _run(state.confirm_cancel())

    assert not state.cancel_open and not state.canceling
    assert state.notice == "Your lesson is canceled and $60.00 has been refunded."
    assert DashboardState.load in events  # the cards are re-read
    after = booking(session, booking_id=lesson.id)
    assert (after.status, after.refunded_cents) == (BookingStatus.CANCELED, 6000)
    assert len(refund_requests(fake)) == 1


def test_cancel_dialog_late_says_no_refund_is_due(session: Session, database: Any) -> None:
    user = make_user(session)
    start = clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=20)
    lesson = make_booking(session, start=start, user=user)
    state = _state(session, user)
    run(state.open_cancel(lesson.id))
    assert state.cancel_allowed
    assert "no refund is due" in state.cancel_message
    _run(state.confirm_cancel())
    assert booking(session, booking_id=lesson.id).status == BookingStatus.CANCELED
    assert state.notice == "Your lesson is canceled. No refund is due."


def test_someone_elses_booking_reads_as_not_found(fake: FakeStripe, session: Session) -> None:
    lesson = paid_booking(session, fake)
    state = _state(session, make_user(session))

    run(state.open_cancel(lesson.id))
    assert state.cancel_message == NOT_FOUND_MESSAGE and not state.cancel_allowed
    assert state.cancel_lesson_label == ""  # nothing of the other student's lesson
    _run(state.confirm_cancel())
    run(state.open_reschedule(lesson.id))
    assert state.reschedule_error == NOT_FOUND_MESSAGE and state.reschedule_slots == []
    after = booking(session, booking_id=lesson.id)
    assert (after.status, after.start_time) == (BookingStatus.SCHEDULED, lesson.start_time)


def test_signed_out_is_sent_to_sign_in(fake: FakeStripe, session: Session) -> None:
    lesson = paid_booking(session, fake)
    state = _state(session, None)
    event = run(state.open_cancel(lesson.id))
    assert event is not None and not state.cancel_open


def test_reschedule_picker_moves_the_lesson(fake: FakeStripe, session: Session) -> None:
    lesson = paid_booking(session, fake)
    state = _state(session, _owner(session, lesson))

    run(state.open_reschedule(lesson.id))
    assert state.reschedule_open and state.reschedule_allowed and not state.reschedule_error
    assert timefmt.to_utc_iso(lesson.start_time) not in state.reschedule_slots
    later = [s for s in state.reschedule_slots
             if timefmt.parse_utc_iso(s) >= lesson.start_time + timedelta(days=2)]  # type: ignore[operator]
    target = later[0]
    state.choose_reschedule_day(timefmt.day_key(timefmt.parse_utc_iso(target), NY))  # type: ignore[arg-type]
    assert target in [t["start"] for t in state.reschedule_times]
    assert any(c["enabled"] for c in state.reschedule_calendar)
    state.choose_reschedule_start(target)
    assert state.reschedule_choice_label

    _run(state.confirm_reschedule())

    assert not state.reschedule_open
    assert state.notice.startswith("Your lesson is moved to ")
    assert timefmt.to_utc_iso(booking(session, booking_id=lesson.id).start_time) == target


def test_reschedule_to_a_slot_taken_meanwhile_says_so(fake: FakeStripe, session: Session
                                                       ) -> None:
    lesson = paid_booking(session, fake)
    state = _state(session, _owner(session, lesson))
    run(state.open_reschedule(lesson.id))
    target = next(s for s in state.reschedule_slots
                  if timefmt.parse_utc_iso(s) >= lesson.start_time + timedelta(days=2))  # type: ignore[operator]
    state.choose_reschedule_start(target)
    make_booking(session, start=timefmt.parse_utc_iso(target), user=make_user(session))  # type: ignore[arg-type]

    _run(state.confirm_reschedule())

    assert state.reschedule_open
    assert "already taken" in state.reschedule_error
    assert "Nearest free times:" in state.reschedule_error
    assert target not in state.reschedule_slots and state.reschedule_start == ""
    assert booking(session, booking_id=lesson.id).start_time == lesson.start_time
    assert slots.free_slots_for(session, tutor_id=TUTOR, duration_minutes=60)

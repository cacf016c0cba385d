"""`/tutor`'s lesson lists and the tutor's actions, driven without a browser: the student's
details, filters applied on the server, attendance, a cancel with a required reason (refunded
in full, at the local fake Stripe), and nothing for anyone but the tutor or an admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from tests.factories import (
    TUTOR,
    lesson_start,
    make_booking,
    make_tutor_user,
    make_user,
    paid_booking,
    session_cookie,
)
from tests.fakes.fake_stripe import FakeStripe
from tests.money_helpers import booking
from tests.state.handlers import run, state_on
from tests.stripe_helpers import refund_requests
from tutor_app.booking import attendance, lesson_events
from tutor_app.core import clock, timefmt
from tutor_app.core.models import Booking, BookingStatus, Role, User
from tutor_app.state.tutor_lessons import BAD_DAY, NOT_FOUND_MESSAGE, TutorLessonsState

NY = "America/New_York"  # James Okafor's zone


def _state(session: Session, user: User | None, url: str = "/tutor") -> TutorLessonsState:
    cookie = session_cookie(session, user) if user else ""
    return state_on(TutorLessonsState, url, cookie=cookie, route="/tutor")


def _loaded(session: Session, user: User | None, url: str = "/tutor") -> TutorLessonsState:
    state = _state(session, user, url)
    run(state.load_page())
    return state


def _lesson(session: Session, *, days: float, **fields: Any) -> Booking:
    student = make_user(session, email=f"s-{abs(days)}-{fields.get('status', 's')}@example.com",
                        name="Sam Student")
    return make_booking(session, start=lesson_start(days=days), user=student, **fields)


def test_the_tutor_sees_both_lists_with_each_students_details_in_their_zone(
    session: Session, database: Any
) -> None:
    tutor = make_tutor_user(session)
    ahead = _lesson(session, days=2, note="Vectors")
    done = _lesson(session, days=-3, status=BookingStatus.COMPLETED, attendance="attended")
    refunded = _lesson(session, days=4, status=BookingStatus.CANCELED, refunded_cents=6000,
                       cancel_reason="student_canceled")

    state = _loaded(session, tutor)

    assert state.portal_found and state.own_portal and state.viewer_tz == NY
    [row] = state.upcoming
    assert row["id"] == ahead.id
    assert row["when"] == timefmt.format_range(ahead.start_time, ahead.end_time, NY)
    assert (row["student_name"], row["note"], row["length"], row["price"]) == (
        "Sam Student", "Vectors", "1 hour", "$60.00")
    assert row["student_email"].endswith("@example.com")
    assert row["can_cancel"] and not row["can_mark"]
    assert [r["id"] for r in state.past] == [refunded.id, done.id]
    canceled, completed = state.past
    assert (canceled["status"], canceled["refund"], canceled["cancel_line"]) == (
        "Canceled", "Refunded $60.00", "Canceled by the student")
    assert not canceled["can_mark"] and not canceled["can_cancel"]
    assert (completed["status"], completed["attendance_label"], completed["can_mark"]) == (
        "Completed", "Attended", True)


def test_filters_run_on_the_server(session: Session, database: Any) -> None:
    tutor = make_tutor_user(session)
    ahead = _lesson(session, days=2)
    done = _lesson(session, days=-3, status=BookingStatus.COMPLETED)
    state = _loaded(session, tutor)

    run(state.apply_filters({"status": "completed", "from": "", "to": ""}))
    assert (state.upcoming, [r["id"] for r in state.past]) == ([], [done.id])

    day = timefmt.day_key(ahead.start_time, NY)
    run(state.apply_filters({"status": "", "from": day, "to": day}))
    assert ([r["id"] for r in state.upcoming], state.past) == ([ahead.id], [])
    assert (state.filter_from, state.filter_to) == (day, day)

    run(state.apply_filters({"status": "", "from": "12/06/2026", "to": ""}))
    assert state.filter_error == BAD_DAY
    assert state.filter_from == day  # the lists stay as they were
    run(state.apply_filters({"from": day, "to": "2000-01-01"}))
    assert "must not come after" in state.filter_error

    run(state.clear_filters())
    assert state.filter_error == "" and len(state.upcoming) == len(state.past) == 1


def test_attendance_after_the_start_only(session: Session, database: Any) -> None:
    tutor = make_tutor_user(session)
    begun = _lesson(session, days=-0.02)  # began half an hour ago
    ahead = _lesson(session, days=1)
    state = _loaded(session, tutor)
    assert [r["id"] for r in state.past] == [begun.id] and state.past[0]["can_mark"]

    run(state.mark(begun.id, attendance.NO_SHOW))
    assert state.lessons_error == ""
    assert state.past[0]["attendance"] == "no_show"
    assert booking(session, booking_id=begun.id).attendance == "no_show"

    run(state.mark(ahead.id, attendance.ATTENDED))
    assert "once the lesson has started" in state.lessons_error
    assert booking(session, booking_id=ahead.id).attendance is None


def test_a_booking_id_of_another_tutor_reaches_nothing(session: Session, database: Any) -> None:
    tutor = make_tutor_user(session)
    theirs = make_booking(session, start=lesson_start(days=-0.02), tutor_id="liam-murphy",
                          user=make_user(session))
    state = _loaded(session, tutor)

    run(state.mark(theirs.id, attendance.ATTENDED))
    state.open_cancel(theirs.id)

    assert state.lessons_error == NOT_FOUND_MESSAGE and not state.cancel_open
    assert booking(session, booking_id=theirs.id).attendance is None


def test_cancel_asks_a_reason_then_refunds_in_full(
    fake: FakeStripe, session: Session
) -> None:
    tutor = make_tutor_user(session)
    lesson = paid_booking(session, fake)
    lesson_events.wait_idle()  # its follow-ups (the tutor's email) write too: SQLite, one at once
    state = _loaded(session, tutor)

    state.open_cancel(lesson.id)
    assert state.cancel_open
    assert state.cancel_lesson_label == f"{state.upcoming[0]['student_name']} · " + (
        timefmt.format_range(lesson.start_time, lesson.end_time, NY))

    run(state.confirm_cancel({"reason": "  "}))
    assert state.cancel_reason_error == "Please tell the student why you are canceling."
    assert state.cancel_open and refund_requests(fake) == []

    run(state.confirm_cancel({"reason": "Sick today"}))
    assert not state.cancel_open and not state.canceling
    assert state.lessons_notice == (
        "The lesson is canceled and the student has been refunded $60.00.")
    assert state.upcoming == [] and state.past[0]["id"] == lesson.id
    assert state.past[0]["cancel_line"] == "Canceled by the tutor"
    after = booking(session, booking_id=lesson.id)
    assert (after.status, after.refunded_cents, after.cancel_note) == (
        BookingStatus.CANCELED, 6000, "Sick today")
    assert len(refund_requests(fake)) == 1


def test_anyone_else_gets_the_not_found_page(session: Session, database: Any) -> None:
    _lesson(session, days=2)
    student = make_user(session)
    other_tutor = make_tutor_user(session, tutor_id="liam-murphy")

    for user, url in ((student, "/tutor"), (student, f"/tutor?tutor={TUTOR}"),
                      (other_tutor, f"/tutor?tutor={TUTOR}")):
        state = _loaded(session, user, url)
        assert state.loaded and not state.portal_found, (user.email, url)
        assert state.upcoming == state.past == []
        assert state.portal_tutor_name == ""

    signed_out = _state(session, None)
    event = run(signed_out.load_page())
    assert "/login?next=%2Ftutor" in str(event) and not signed_out.loaded


def test_an_admin_opens_a_tutors_portal_by_its_id(session: Session, database: Any) -> None:
    lesson = _lesson(session, days=2)
    admin = make_user(session, email="admin@example.com", role=Role.ADMIN)

    state = _loaded(session, admin, f"/tutor?tutor={TUTOR}")

    assert state.portal_found and not state.own_portal
    assert state.portal_tutor_name == "James Okafor"
    assert [r["id"] for r in state.upcoming] == [lesson.id]
    assert state.calendar_status == ""  # the calendar is the tutor's own, not shown
    assert not _loaded(session, admin).portal_found  # no tutor chosen


def test_past_lessons_become_markable_as_time_passes(session: Session, database: Any) -> None:
    tutor = make_tutor_user(session)
    lesson = make_booking(session, start=clock.now() + timedelta(minutes=30),
                          user=make_user(session))
    state = _loaded(session, tutor)
    assert state.upcoming[0]["can_cancel"]

    clock.shift_to(lesson.start_time + timedelta(minutes=1))
    run(state.clear_filters())

    assert state.upcoming == [] and state.past[0]["can_mark"]
    assert not state.past[0]["can_cancel"]

"""Attendance: only the lesson's tutor (or an admin), only once it has begun, never for a
canceled lesson; it can be corrected."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session

from tests.factories import make_booking, make_tutor_user, make_user
from tests.money_helpers import booking
from tutor_app.booking import attendance
from tutor_app.booking.attendance import CannotMarkAttendance, NotFound
from tutor_app.core import clock
from tutor_app.core.models import Booking, BookingStatus, Role

TUTOR = "aiko-tanaka"


def _lesson(session: Session, *, hours_from_now: float, **fields: Any) -> Booking:
    """A one-hour lesson of the tutor's, starting `hours_from_now` (negative: begun)."""
    start = (clock.now() + timedelta(hours=hours_from_now)).replace(second=0, microsecond=0)
    return make_booking(session, start=start, user=make_user(session), tutor_id=TUTOR,
                        **fields)


def test_the_tutor_marks_a_begun_lesson_and_may_correct_it(session: Session) -> None:
    tutor = make_tutor_user(session, tutor_id=TUTOR)
    lesson = _lesson(session, hours_from_now=-0.5)  # began half an hour ago
    sequence = lesson.sequence

    assert attendance.mark_attendance(booking_id=lesson.id, user=tutor,
                                      attendance=attendance.ATTENDED) == "attended"
    assert booking(session, booking_id=lesson.id).attendance == "attended"

    attendance.mark_attendance(booking_id=lesson.id, user=tutor, attendance=attendance.NO_SHOW)
    after = booking(session, booking_id=lesson.id)
    assert after.attendance == "no_show"
    assert after.status == BookingStatus.SCHEDULED and after.sequence == sequence


def test_not_before_the_lesson_begins(session: Session) -> None:
    tutor = make_tutor_user(session, tutor_id=TUTOR)
    lesson = _lesson(session, hours_from_now=1)

    with pytest.raises(CannotMarkAttendance, match="once the lesson has started"):
        attendance.mark_attendance(booking_id=lesson.id, user=tutor,
                                   attendance=attendance.ATTENDED)
    assert booking(session, booking_id=lesson.id).attendance is None

    # At its start it can be marked.
    attendance.mark_attendance(booking_id=lesson.id, user=tutor, attendance=attendance.ATTENDED,
                               now=lesson.start_time)
    assert booking(session, booking_id=lesson.id).attendance == "attended"


def test_never_for_a_canceled_lesson(session: Session) -> None:
    tutor = make_tutor_user(session, tutor_id=TUTOR)
    lesson = _lesson(session, hours_from_now=-2, status=BookingStatus.CANCELED)

    with pytest.raises(CannotMarkAttendance, match="canceled"):
        attendance.mark_attendance(booking_id=lesson.id, user=tutor,
                                   attendance=attendance.NO_SHOW)
    assert booking(session, booking_id=lesson.id).attendance is None


def test_a_completed_lesson_can_be_marked_and_an_unknown_mark_is_refused(
    session: Session
) -> None:
    tutor = make_tutor_user(session, tutor_id=TUTOR)
    lesson = _lesson(session, hours_from_now=-30, status=BookingStatus.COMPLETED)

    with pytest.raises(CannotMarkAttendance):
        attendance.mark_attendance(booking_id=lesson.id, user=tutor, attendance="late")
    attendance.mark_attendance(booking_id=lesson.id, user=tutor, attendance=attendance.NO_SHOW)
    assert booking(session, booking_id=lesson.id).attendance == "no_show"


def test_only_the_lessons_tutor_or_an_admin(session: Session) -> None:
    lesson = _lesson(session, hours_from_now=-1)
    other_tutor = make_tutor_user(session, tutor_id="liam-murphy")
    student = make_user(session)
    owner = make_user(session, email="owner@example.com")
    lesson.user_id = owner.id
    session.add(lesson)
    session.commit()
    admin = make_user(session, email="admin@example.com", role=Role.ADMIN)

    for user in (other_tutor, student, owner):
        with pytest.raises(NotFound):
            attendance.mark_attendance(booking_id=lesson.id, user=user,
                                       attendance=attendance.ATTENDED)
    assert booking(session, booking_id=lesson.id).attendance is None

    attendance.mark_attendance(booking_id=lesson.id, user=admin, attendance=attendance.ATTENDED)
    assert booking(session, booking_id=lesson.id).attendance == "attended"

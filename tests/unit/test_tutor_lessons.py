"""A tutor's lesson lists: upcoming and past by the dashboard's rule, the student's details,
and the filters (status, days on the viewer's wall clock) applied in the query."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from tests.factories import make_booking, make_user
from tutor_app.booking.tutor_lessons import LessonFilter, TutorLessonView, tutor_lessons
from tutor_app.core.models import Booking, BookingStatus

TUTOR_ID = "aiko-tanaka"
NOW = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)


def _ids(lessons: list[TutorLessonView]) -> list[str]:
    return [lesson.id for lesson in lessons]


def _lesson(session: Session, start: datetime, status: str = BookingStatus.SCHEDULED,
            **fields: Any) -> Booking:
    student = make_user(session, email=f"s{start:%d%H%M}@example.com", name="Sam")
    return make_booking(session, start=start, user=student, tutor_id=TUTOR_ID, status=status,
                        **fields)


@pytest.mark.clock_at(NOW)
def test_upcoming_soonest_first_past_latest_first_with_the_students_details(
    session: Session
) -> None:
    later = _lesson(session, NOW + timedelta(days=3), note="Kanji")
    soon = _lesson(session, NOW + timedelta(hours=2))
    under_way = _lesson(session, NOW - timedelta(minutes=10))
    done = _lesson(session, NOW - timedelta(days=2), BookingStatus.COMPLETED)
    canceled_ahead = _lesson(session, NOW + timedelta(days=1), BookingStatus.CANCELED)
    make_booking(session, start=NOW + timedelta(days=4), tutor_id="liam-murphy")  # not hers
    guest = make_booking(session, start=NOW + timedelta(days=5), tutor_id=TUTOR_ID,
                         customer_email="guest@example.com")

    upcoming, past = tutor_lessons(session, tutor_id=TUTOR_ID, now=NOW)

    assert _ids(upcoming) == [soon.id, later.id, guest.id]
    assert _ids(past) == [canceled_ahead.id, under_way.id, done.id]
    view = upcoming[1]
    assert (view.student_name, view.student_email, view.note) == (
        "Sam", "s130900@example.com", "Kanji")
    assert (view.duration_minutes, view.price_cents, view.currency) == (60, 4000, "usd")
    assert (upcoming[2].student_name, upcoming[2].student_email) == (
        "guest@example.com", "guest@example.com")


@pytest.mark.clock_at(NOW)
def test_status_and_days_filter_in_the_query(session: Session) -> None:
    # 23:30 UTC on 11 June is 08:30 on 12 June in Tokyo.
    tokyo_12th = _lesson(session, datetime(2026, 6, 11, 23, 30, tzinfo=UTC))
    on_11th = _lesson(session, datetime(2026, 6, 11, 3, 0, tzinfo=UTC))
    done = _lesson(session, datetime(2026, 6, 1, 3, 0, tzinfo=UTC), BookingStatus.COMPLETED)
    canceled = _lesson(session, datetime(2026, 6, 12, 3, 0, tzinfo=UTC), BookingStatus.CANCELED)

    def find(**wanted: Any) -> tuple[list[str], list[str]]:
        upcoming, past = tutor_lessons(session, tutor_id=TUTOR_ID, now=NOW,
                                       wanted=LessonFilter(**wanted))
        return _ids(upcoming), _ids(past)

    assert find(status="completed") == ([], [done.id])
    assert find(status="canceled") == ([], [canceled.id])
    assert find(status="scheduled") == ([on_11th.id, tokyo_12th.id], [])
    assert find(status="nonsense") == find()  # an unknown status filters nothing
    in_tokyo = find(first_day=date(2026, 6, 12), last_day=date(2026, 6, 12), zone="Asia/Tokyo")
    assert in_tokyo == ([tokyo_12th.id], [canceled.id])
    in_utc = find(first_day=date(2026, 6, 12), last_day=date(2026, 6, 12), zone="UTC")
    assert in_utc == ([], [canceled.id])
    assert find(last_day=date(2026, 6, 5), zone="UTC") == ([], [done.id])
    assert find(first_day=date(2026, 6, 11), zone="UTC", status="scheduled") == (
        [on_11th.id, tokyo_12th.id], [])

"""The dashboard's split of a student's bookings, and the success page's lookup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from tests.factories import make_booking, make_user
from tutor_app.booking.lessons import (
    UNKNOWN_TUTOR_NAME,
    dashboard_lessons,
    lesson_for_checkout_session,
)
from tutor_app.catalog.tutor_catalog import FALLBACK_PHOTO, get_tutor
from tutor_app.core.models import BookingStatus, Tutor

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def ids(lessons: list) -> list[str]:
    return [lesson.id for lesson in lessons]


def test_a_lesson_starting_exactly_now_is_still_upcoming(session: Session) -> None:
    user = make_user(session, email="a@example.com")
    at_now = make_booking(session, user=user, start=NOW)
    a_minute_ago = make_booking(session, user=user, start=NOW - timedelta(minutes=1),
                                tutor_id="aiko-tanaka")

    upcoming, past = dashboard_lessons(session, user_id=user.id, now=NOW)

    assert ids(upcoming) == [at_now.id]
    assert ids(past) == [a_minute_ago.id]


def test_completed_and_canceled_lessons_are_past_even_when_their_slot_lies_ahead(
    session: Session,
) -> None:
    user = make_user(session, email="a@example.com")
    scheduled = make_booking(session, user=user, start=NOW + timedelta(days=3))
    completed = make_booking(
        session, user=user, start=NOW + timedelta(days=1), status=BookingStatus.COMPLETED
    )
    canceled = make_booking(
        session, user=user, start=NOW + timedelta(days=2), status=BookingStatus.CANCELED,
        refunded_cents=6000, cancel_reason="Tutor ill",
    )

    upcoming, past = dashboard_lessons(session, user_id=user.id, now=NOW)

    assert ids(upcoming) == [scheduled.id]
    assert set(ids(past)) == {completed.id, canceled.id}
    refunded = next(lesson for lesson in past if lesson.id == canceled.id)
    assert (refunded.status, refunded.refunded_cents, refunded.cancel_reason) == (
        "CANCELED", 6000, "Tutor ill"
    )


def test_upcoming_soonest_first_and_past_most_recent_first(session: Session) -> None:
    user = make_user(session, email="a@example.com")
    starts = [NOW + timedelta(days=d) for d in (5, -3, 1, -10, 20, -1)]
    by_start = {start: make_booking(session, user=user, start=start) for start in starts}

    upcoming, past = dashboard_lessons(session, user_id=user.id, now=NOW)

    assert [lesson.start for lesson in upcoming] == sorted(s for s in starts if s >= NOW)
    assert [lesson.start for lesson in past] == sorted(
        (s for s in starts if s < NOW), reverse=True
    )
    assert set(ids(upcoming) + ids(past)) == {b.id for b in by_start.values()}


def test_only_the_users_own_bookings(session: Session) -> None:
    me = make_user(session, email="me@example.com")
    other = make_user(session, email="other@example.com")
    mine = make_booking(session, user=me, start=NOW + timedelta(days=1))
    make_booking(session, user=other, start=NOW + timedelta(days=2))
    make_booking(session, user=None, start=NOW + timedelta(days=3))  # unclaimed

    upcoming, past = dashboard_lessons(session, user_id=me.id, now=NOW)

    assert ids(upcoming) == [mine.id] and past == []
    assert dashboard_lessons(session, user_id="", now=NOW) == ([], [])


def test_view_carries_catalog_details_and_the_bookings_own_price(session: Session) -> None:
    user = make_user(session, email="a@example.com")
    booking = make_booking(session, user=user, start=NOW + timedelta(days=1), minutes=90)
    tutor = get_tutor(session, "james-okafor")
    assert tutor is not None

    (lesson,), _ = dashboard_lessons(session, user_id=user.id, now=NOW)

    assert lesson.tutor_name == tutor.name
    assert lesson.tutor_photo_url == tutor.photo_url != FALLBACK_PHOTO
    assert lesson.tutor_timezone == tutor.timezone
    assert lesson.duration_minutes == 90
    assert lesson.price_cents == booking.price_cents == 9000
    assert lesson.start == booking.start_time and lesson.start.tzinfo is not None
    assert lesson.tutor_bookable is True


def test_a_tutor_gone_from_the_catalog_gets_the_fallback_photo(session: Session) -> None:
    user = make_user(session, email="a@example.com")
    gone = make_booking(session, user=user, start=NOW + timedelta(days=1),
                        tutor_id="no-longer-here")
    hidden_tutor = session.get(Tutor, "aiko-tanaka")
    assert hidden_tutor is not None
    hidden_tutor.active = False
    session.add(hidden_tutor)
    session.commit()
    hidden = make_booking(session, user=user, start=NOW + timedelta(days=2), tutor_id="aiko-tanaka")

    upcoming, _ = dashboard_lessons(session, user_id=user.id, now=NOW)
    by_id = {lesson.id: lesson for lesson in upcoming}

    assert by_id[gone.id].tutor_name == UNKNOWN_TUTOR_NAME
    assert by_id[gone.id].tutor_photo_url == FALLBACK_PHOTO
    assert by_id[gone.id].tutor_timezone == "UTC"
    assert by_id[gone.id].tutor_bookable is False
    assert by_id[hidden.id].tutor_name == hidden_tutor.name
    assert by_id[hidden.id].tutor_photo_url == FALLBACK_PHOTO
    assert by_id[hidden.id].tutor_bookable is False


def test_lesson_for_checkout_session_only_for_its_owner(session: Session) -> None:
    me = make_user(session, email="me@example.com")
    other = make_user(session, email="other@example.com")
    assert lesson_for_checkout_session(session, session_id="cs_test_1", user_id=me.id) is None

    booking = make_booking(session, user=me, start=NOW + timedelta(days=1), session_id="cs_test_1")

    lesson = lesson_for_checkout_session(session, session_id="cs_test_1", user_id=me.id)
    assert lesson is not None and lesson.id == booking.id
    assert lesson_for_checkout_session(session, session_id="cs_test_1", user_id=other.id) is None
    assert lesson_for_checkout_session(session, session_id="cs_test_2", user_id=me.id) is None
    assert lesson_for_checkout_session(session, session_id="", user_id=me.id) is None

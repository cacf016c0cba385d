"""Lessons whose end has passed become COMPLETED, once, and nothing else changes."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from tests.factories import make_booking, make_user
from tests.money_helpers import booking, run_concurrently
from tutor_app.booking import completion
from tutor_app.core import clock, jobs
from tutor_app.core.models import BookingStatus


def test_ended_scheduled_lessons_complete_and_others_do_not(session: Session) -> None:
    now = clock.now()
    user = make_user(session)
    ended = make_booking(session, start=now - timedelta(hours=2), user=user)
    ends_now = make_booking(session, start=now - timedelta(hours=1), user=user,
                            tutor_id="maria-garcia")
    running = make_booking(session, start=now - timedelta(minutes=30), user=user,
                           tutor_id="aiko-tanaka")
    upcoming = make_booking(session, start=now + timedelta(days=1), user=user)
    canceled = make_booking(session, start=now - timedelta(days=1), user=user,
                            status=BookingStatus.CANCELED)

    assert completion.complete_past_lessons(now=now) == 2

    status = {b.id: booking(session, booking_id=b.id).status
              for b in (ended, ends_now, running, upcoming, canceled)}
    assert status == {
        ended.id: BookingStatus.COMPLETED,
        ends_now.id: BookingStatus.COMPLETED,  # the end is exclusive: it has passed
        running.id: BookingStatus.SCHEDULED,  # still going on
        upcoming.id: BookingStatus.SCHEDULED,
        canceled.id: BookingStatus.CANCELED,  # a canceled lesson never "completes"
    }
    assert booking(session, booking_id=ended.id).updated_at == now


def test_running_it_again_or_concurrently_changes_nothing_more(session: Session) -> None:
    now = clock.now()
    user = make_user(session)
    for days in range(1, 6):
        make_booking(session, start=now - timedelta(days=days), user=user)

    counts = run_concurrently(4, lambda _: completion.complete_past_lessons(now=now))
    assert sum(counts) == 5  # each lesson completed by exactly one run
    assert completion.complete_past_lessons(now=now) == 0


def test_it_is_a_registered_periodic_job(session: Session) -> None:
    user = make_user(session)
    make_booking(session, start=clock.now() - timedelta(hours=3), user=user)
    registry = jobs.JOBS
    assert "lesson_completion" in registry
    assert registry["lesson_completion"].run_once() == "1 lessons completed"

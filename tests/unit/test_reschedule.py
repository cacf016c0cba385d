"""Moving a lesson: same tutor and length, a free slot, in time, by its owner only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from tests.factories import TUTOR, first_free, make_booking, make_hold, make_user, paid_booking
from tests.fakes.fake_stripe import FakeStripe
from tests.money_helpers import booking, run_concurrently
from tests.schedule_helpers import add_override, local_date, set_rules
from tutor_app.booking import lesson_events, reschedule
from tutor_app.booking.reschedule import InvalidReschedule, NotFound
from tutor_app.core import clock
from tutor_app.core.models import BookingStatus
from tutor_app.scheduling import slots


@pytest.fixture
def moved_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(lesson_events, "after_booking_rescheduled",
                        lambda booking_id, **_: calls.append(booking_id))
    return calls


def _later_start(session: Session, lesson_start, *, days: int = 2):  # type: ignore[no-untyped-def]
    starts = slots.free_slots_for(session, tutor_id=TUTOR, duration_minutes=60)
    session.commit()
    return next(s for s in starts if s >= lesson_start + timedelta(days=days))


def test_reschedule_to_a_free_slot_moves_the_booking_and_keeps_its_payment(
    fake: FakeStripe, session: Session, moved_calls: list[str]
) -> None:
    lesson = paid_booking(session, fake)
    before = (lesson.id, lesson.price_cents, lesson.stripe_payment_intent_id,
              lesson.stripe_checkout_session_id, lesson.sequence, lesson.start_time)
    target = _later_start(session, lesson.start_time)

    result = reschedule.reschedule_lesson(
        booking_id=lesson.id, user_id=lesson.user_id or "", new_start=target
    )

    assert (result.booking_id, result.start, result.end) == (
        lesson.id, target, target + timedelta(hours=1))
    after = booking(session, booking_id=lesson.id)
    assert (after.start_time, after.end_time) == (target, target + timedelta(hours=1))
    assert after.status == BookingStatus.SCHEDULED
    assert (after.id, after.price_cents, after.stripe_payment_intent_id,
            after.stripe_checkout_session_id) == before[:4]
    assert after.sequence == before[4] + 1 == result.sequence
    assert moved_calls == [lesson.id]
    # The old slot is free again; the new one is not.
    free = slots.free_slots_for(session, tutor_id=TUTOR, duration_minutes=60)
    assert before[5] in free and target not in free
    assert fake.refunds == []  # no money moved


def test_shifting_by_half_an_hour_overlapping_itself_is_allowed(
    fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    options = reschedule.free_starts_for_booking(
        session, booking_id=lesson.id, user_id=lesson.user_id or ""
    )
    shifted = next(
        (s for s in (lesson.start_time + timedelta(minutes=30),
                     lesson.start_time - timedelta(minutes=30)) if s in options), None
    )
    assert shifted is not None, "the tutor's hours leave no half-hour shift"
    assert lesson.start_time not in options
    reschedule.reschedule_lesson(booking_id=lesson.id, user_id=lesson.user_id or "",
                                 new_start=shifted)
    assert booking(session, booking_id=lesson.id).start_time == shifted


def test_reschedule_to_a_booked_slot_is_refused_with_alternatives(
    fake: FakeStripe, session: Session, moved_calls: list[str]
) -> None:
    lesson = paid_booking(session, fake)
    taken = _later_start(session, lesson.start_time)
    make_booking(session, start=taken, user=make_user(session))

    with pytest.raises(slots.SlotTaken) as caught:
        reschedule.reschedule_lesson(booking_id=lesson.id, user_id=lesson.user_id or "",
                                     new_start=taken)
    assert "already taken" in str(caught.value)
    alternatives = caught.value.alternatives
    assert alternatives and taken not in alternatives and lesson.start_time not in alternatives
    options = reschedule.free_starts_for_booking(session, booking_id=lesson.id,
                                                 user_id=lesson.user_id or "")
    assert set(alternatives) <= set(options)  # each one really is bookable for this lesson
    assert booking(session, booking_id=lesson.id).start_time == lesson.start_time
    assert moved_calls == []


def test_reschedule_onto_someone_elses_live_hold_is_refused(
    fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    held = _later_start(session, lesson.start_time)
    make_hold(session, user=make_user(session), start=held)
    with pytest.raises(slots.SlotTaken):
        reschedule.reschedule_lesson(booking_id=lesson.id, user_id=lesson.user_id or "",
                                     new_start=held)
    # A lapsed hold no longer blocks.
    lapsed = _later_start(session, held, days=1)
    make_hold(session, user=make_user(session), start=lapsed,
              expires_at=clock.now() - timedelta(minutes=1))
    reschedule.reschedule_lesson(booking_id=lesson.id, user_id=lesson.user_id or "",
                                 new_start=lapsed)


def test_reschedule_is_refused_inside_the_policy_window(
    fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    target = _later_start(session, lesson.start_time)
    with pytest.raises(InvalidReschedule) as caught:
        reschedule.reschedule_lesson(
            booking_id=lesson.id, user_id=lesson.user_id or "", new_start=target,
            now=lesson.start_time - timedelta(hours=23),
        )
    assert not isinstance(caught.value, slots.SlotTaken)
    assert "24 hours before" in str(caught.value)
    assert booking(session, booking_id=lesson.id).start_time == lesson.start_time


@pytest.mark.parametrize("status", [BookingStatus.CANCELED, BookingStatus.COMPLETED])
def test_only_scheduled_lessons_move(
    fake: FakeStripe, session: Session, status: BookingStatus
) -> None:
    lesson = paid_booking(session, fake)
    target = _later_start(session, lesson.start_time)
    lesson.status = status
    session.add(lesson)
    session.commit()
    with pytest.raises(InvalidReschedule, match="Only upcoming lessons"):
        reschedule.reschedule_lesson(booking_id=lesson.id, user_id=lesson.user_id or "",
                                     new_start=target)


def test_a_time_the_tutor_does_not_offer_is_bad_input(
    fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    for bad in (lesson.start_time + timedelta(days=2, minutes=10),  # off the half-hour grid
                lesson.start_time + timedelta(days=90)):  # beyond the horizon
        with pytest.raises(InvalidReschedule) as caught:
            reschedule.reschedule_lesson(booking_id=lesson.id, user_id=lesson.user_id or "",
                                         new_start=bad)
        assert not isinstance(caught.value, slots.SlotTaken)
    with pytest.raises(InvalidReschedule, match="already at that time"):
        reschedule.reschedule_lesson(booking_id=lesson.id, user_id=lesson.user_id or "",
                                     new_start=lesson.start_time)


def test_only_the_owner_can_reschedule(fake: FakeStripe, session: Session) -> None:
    lesson = paid_booking(session, fake)
    target = _later_start(session, lesson.start_time)
    stranger = make_user(session)
    for booking_id in (lesson.id, "no-such-booking"):
        with pytest.raises(NotFound):
            reschedule.reschedule_lesson(booking_id=booking_id, user_id=stranger.id,
                                         new_start=target)
        with pytest.raises(NotFound):
            reschedule.free_starts_for_booking(session, booking_id=booking_id,
                                               user_id=stranger.id)
    assert booking(session, booking_id=lesson.id).start_time == lesson.start_time


def test_same_length_is_kept(fake: FakeStripe, session: Session) -> None:
    lesson = paid_booking(session, fake, minutes=90)
    options = reschedule.free_starts_for_booking(session, booking_id=lesson.id,
                                                 user_id=lesson.user_id or "")
    target = next(s for s in options if s > lesson.start_time + timedelta(days=1))
    moved = reschedule.reschedule_lesson(booking_id=lesson.id, user_id=lesson.user_id or "",
                                         new_start=target)
    assert moved.end - moved.start == timedelta(minutes=90)


def test_two_lessons_racing_for_one_slot_end_with_one_there(
    fake: FakeStripe, session: Session
) -> None:
    first = paid_booking(session, fake)
    second = paid_booking(session, fake, start=first_free(session, days_ahead=4))
    target = _later_start(session, max(first.start_time, second.start_time))
    lessons = [first, second]

    results = run_concurrently(2, lambda i: reschedule.reschedule_lesson(
        booking_id=lessons[i].id, user_id=lessons[i].user_id or "", new_start=target))

    assert sorted(type(r).__name__ for r in results) == ["RescheduleResult", "SlotTaken"]
    there = [booking(session, booking_id=b.id).start_time == target for b in lessons]
    assert sum(there) == 1


# -- the tutor's own rules -------------------------------------------------------------------


def test_a_day_the_tutor_took_off_is_not_offered_and_refused(
    fake: FakeStripe, session: Session, moved_calls: list[str]
) -> None:
    lesson = paid_booking(session, fake)
    target = _later_start(session, lesson.start_time)
    day_off = local_date(target, db=session)
    add_override(session, day_off, [])

    options = reschedule.free_starts_for_booking(session, booking_id=lesson.id,
                                                 user_id=lesson.user_id or "")
    assert options and target not in options
    assert all(local_date(s, db=session) != day_off for s in options)
    with pytest.raises(InvalidReschedule, match="not one this tutor offers") as caught:
        reschedule.reschedule_lesson(booking_id=lesson.id, user_id=lesson.user_id or "",
                                     new_start=target)
    assert not isinstance(caught.value, slots.SlotTaken)
    assert booking(session, booking_id=lesson.id).start_time == lesson.start_time
    assert moved_calls == []


def test_the_buffer_counts_around_other_lessons_not_around_the_moving_one(
    fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    other = _later_start(session, lesson.start_time)
    make_booking(session, start=other, user=make_user(session))
    set_rules(session, buffer_minutes=30)
    options = reschedule.free_starts_for_booking(session, booking_id=lesson.id,
                                                 user_id=lesson.user_id or "")

    assert other + timedelta(hours=1) not in options  # starts as the other lesson ends
    with pytest.raises(slots.SlotTaken):
        reschedule.reschedule_lesson(booking_id=lesson.id, user_id=lesson.user_id or "",
                                     new_start=other + timedelta(hours=1))
    # Half an hour away moves: its own old time is no obstacle, buffered or not.
    shifted = next(s for s in (lesson.start_time + timedelta(minutes=30),
                               lesson.start_time - timedelta(minutes=30)) if s in options)
    reschedule.reschedule_lesson(booking_id=lesson.id, user_id=lesson.user_id or "",
                                 new_start=shifted)
    assert booking(session, booking_id=lesson.id).start_time == shifted


def test_a_paid_length_the_tutor_no_longer_offers_can_still_be_moved(
    fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake, minutes=90)
    set_rules(session, lesson_durations=[30, 60])
    target = next(s for s in reschedule.free_starts_for_booking(
        session, booking_id=lesson.id, user_id=lesson.user_id or "")
        if s > lesson.start_time + timedelta(days=1))

    moved = reschedule.reschedule_lesson(booking_id=lesson.id, user_id=lesson.user_id or "",
                                         new_start=target)

    assert moved.end - moved.start == timedelta(minutes=90)

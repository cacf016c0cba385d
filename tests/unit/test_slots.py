"""slots: free starts from the database (scheduled bookings and live holds are busy)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from tests.factories import FIRST_SLOT, FIXED_NOW, TUTOR, make_booking, make_hold, make_user
from tutor_app.catalog import tutor_catalog
from tutor_app.core.models import BookingStatus, HoldStatus, Tutor
from tutor_app.scheduling import slots

NOW = FIXED_NOW
HOUR = timedelta(hours=1)


def _free(session: Session, minutes: int = 60, for_user_id: str | None = None) -> list:
    return slots.free_slots_for(
        session, tutor_id=TUTOR, duration_minutes=minutes, now=NOW, for_user_id=for_user_id
    )


def test_weekly_hours_in_the_tutors_zone_with_notice(session: Session) -> None:
    free = _free(session)
    # 16:00-21:00 New York (EST) on Tuesday 1 Dec: 60-minute starts 16:00 .. 20:00 local.
    first_day = [s for s in free if s < FIRST_SLOT + timedelta(hours=6)]
    assert first_day == [FIRST_SLOT + i * timedelta(minutes=30) for i in range(9)]
    assert all(s >= NOW + timedelta(hours=12) for s in free)
    assert max(free) < NOW + timedelta(days=60)


def test_scheduled_booking_blocks_overlapping_starts_only(session: Session) -> None:
    make_booking(session, start=FIRST_SLOT + HOUR)  # 17:00-18:00 local
    free = set(_free(session))
    for blocked in (FIRST_SLOT + timedelta(minutes=30), FIRST_SLOT + HOUR,
                    FIRST_SLOT + timedelta(minutes=90)):
        assert blocked not in free
    assert FIRST_SLOT in free  # ends exactly when the booking starts
    assert FIRST_SLOT + 2 * HOUR in free  # starts exactly when it ends


def test_canceled_booking_and_other_tutors_do_not_block(session: Session) -> None:
    make_booking(session, start=FIRST_SLOT, status=BookingStatus.CANCELED)
    make_booking(session, start=FIRST_SLOT, tutor_id="maria-garcia")
    assert FIRST_SLOT in _free(session)


def test_live_hold_of_another_student_blocks(session: Session) -> None:
    other = make_user(session)
    make_hold(session, user=other, start=FIRST_SLOT, expires_at=NOW + timedelta(minutes=10))
    me = make_user(session)
    assert FIRST_SLOT not in _free(session, for_user_id=me.id)
    assert FIRST_SLOT not in _free(session)


def test_own_hold_does_not_hide_the_slot_from_its_student(session: Session) -> None:
    me = make_user(session)
    make_hold(session, user=me, start=FIRST_SLOT, expires_at=NOW + timedelta(minutes=10))
    assert FIRST_SLOT in _free(session, for_user_id=me.id)


@pytest.mark.parametrize(
    ("expires_in", "status"),
    [
        (timedelta(0), HoldStatus.ACTIVE),  # lapsed exactly now
        (-timedelta(minutes=1), HoldStatus.ACTIVE),  # lapsed, not yet marked released
        (timedelta(minutes=10), HoldStatus.RELEASED),
        (timedelta(minutes=10), HoldStatus.CONVERTED),
    ],
)
def test_lapsed_released_and_converted_holds_do_not_block(
    session: Session, expires_in: timedelta, status: str
) -> None:
    other = make_user(session)
    make_hold(session, user=other, start=FIRST_SLOT, expires_at=NOW + expires_in, status=status)
    assert FIRST_SLOT in _free(session)


def test_unknown_tutor_has_no_slots(session: Session) -> None:
    assert slots.free_slots_for(session, tutor_id="nobody", duration_minutes=60, now=NOW) == []


def test_check_slot_passes_for_a_free_start(session: Session) -> None:
    me = make_user(session)
    slots.check_slot(session, tutor_id=TUTOR, start=FIRST_SLOT, duration_minutes=60,
                     user_id=me.id, now=NOW)


def test_check_slot_taken_offers_nearest_alternatives(session: Session) -> None:
    make_booking(session, start=FIRST_SLOT + HOUR)
    me = make_user(session)
    with pytest.raises(slots.SlotTaken) as caught:
        slots.check_slot(session, tutor_id=TUTOR, start=FIRST_SLOT + HOUR, duration_minutes=60,
                         user_id=me.id, now=NOW)
    alternatives = caught.value.alternatives
    assert len(alternatives) == slots.ALTERNATIVES
    assert FIRST_SLOT + HOUR not in alternatives
    assert set(alternatives) <= set(_free(session))
    # Nearest first: 16:00 (one hour before) and 18:00 (one hour after) are the closest.
    assert set(alternatives[:2]) == {FIRST_SLOT, FIRST_SLOT + 2 * HOUR}


def test_check_slot_refuses_a_time_the_tutor_does_not_offer(session: Session) -> None:
    me = make_user(session)
    for start in (FIRST_SLOT + timedelta(minutes=10), FIRST_SLOT - HOUR, NOW + HOUR):
        with pytest.raises(slots.SlotNotOffered, match="not one this tutor offers"):
            slots.check_slot(session, tutor_id=TUTOR, start=start, duration_minutes=60,
                             user_id=me.id, now=NOW)
        assert not slots.on_schedule(
            session, tutor=_tutor(session), start=start, duration_minutes=60, now=NOW
        )


def _tutor(session: Session) -> Tutor:
    tutor = tutor_catalog.get_tutor(session, TUTOR)
    assert tutor is not None
    return tutor

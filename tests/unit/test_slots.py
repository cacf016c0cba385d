"""slots: free starts from the database (scheduled bookings and live holds are busy), with the
tutor's own rules: date overrides, the buffer, notice, horizon and lesson lengths."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session

from tests.factories import FIRST_SLOT, FIXED_NOW, TUTOR, make_booking, make_hold, make_user
from tests.schedule_helpers import add_override, set_rules
from tutor_app.catalog import tutor_catalog
from tutor_app.core.models import BookingStatus, HoldStatus, Tutor
from tutor_app.scheduling import slots
from tutor_app.scheduling.availability import epoch_us, group_by_local_day

NOW = FIXED_NOW
HOUR = timedelta(hours=1)


def _free(session: Session, minutes: int = 60, for_user_id: str | None = None
          ) -> list[datetime]:
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


# -- the tutor's own rules -------------------------------------------------------------------

DEC_1 = date(2026, 12, 1)  # FIRST_SLOT's date in New York
DEC_2 = date(2026, 12, 2)


def _local_days(free: list[datetime]) -> dict[date, list[datetime]]:
    return group_by_local_day(free, "America/New_York")


def test_a_day_off_hides_that_date_and_keeps_the_others(session: Session) -> None:
    before = _local_days(_free(session))
    add_override(session, DEC_1, [])
    add_override(session, DEC_2, [], tutor_id="maria-garcia")  # another tutor's day off

    after = _local_days(_free(session))

    assert DEC_1 in before and DEC_1 not in after
    assert after[DEC_2] == before[DEC_2]
    assert {d: v for d, v in before.items() if d != DEC_1} == after


def test_override_hours_replace_the_weekly_ones_for_that_date(session: Session) -> None:
    add_override(session, DEC_1, [["10:00", "12:00"]])  # 15:00-17:00 UTC

    assert _local_days(_free(session))[DEC_1] == [
        FIRST_SLOT - 6 * HOUR, FIRST_SLOT - 5.5 * HOUR, FIRST_SLOT - 5 * HOUR]


def test_the_schedule_reads_the_overrides_of_its_window_in_one_query(session: Session) -> None:
    add_override(session, DEC_1, [])
    add_override(session, date(2027, 6, 1), [])  # far past the 60-day horizon
    tutor = _tutor(session)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        schedule = slots.schedule_for(session, tutor, now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert [s for s in statements if "tutor_date_overrides" in s] == statements
    assert len(statements) == 1
    assert schedule.overrides == {DEC_1: []}
    assert (schedule.notice, schedule.horizon, schedule.buffer) == (
        timedelta(hours=12), timedelta(days=60), timedelta(0))


def test_the_buffer_keeps_time_around_bookings_and_holds_but_not_own_holds(
    session: Session,
) -> None:
    set_rules(session, buffer_minutes=30)
    make_booking(session, start=FIRST_SLOT + HOUR)  # 17:00-18:00 New York
    student, other = make_user(session), make_user(session)
    next_day = FIRST_SLOT + timedelta(days=1)
    live = NOW + timedelta(minutes=10)
    make_hold(session, user=other, start=next_day + HOUR, expires_at=live)
    make_hold(session, user=student, start=next_day + 3 * HOUR, expires_at=live)  # 19:00-20:00

    free = set(_free(session, for_user_id=student.id))

    for day in (FIRST_SLOT, next_day):
        assert day not in free  # 16:00-17:00 ends as the lesson starts
        assert day + 2 * HOUR not in free  # 18:00 starts as it ends
        assert day + 2.5 * HOUR in free  # 18:30: half an hour after
    assert next_day + 3 * HOUR in free  # the student's own hold is theirs to resume


def test_the_tutors_notice_and_horizon(session: Session) -> None:
    set_rules(session, min_notice_minutes=0, horizon_days=7)

    free = _free(session)

    # NOW is 19:00 on Monday 30 November in New York: that evening's 19:00 and 20:00 fit.
    assert free[:3] == [NOW, NOW + HOUR / 2, NOW + HOUR]
    assert max(free) < NOW + timedelta(days=7) <= max(free) + timedelta(days=1)


def test_only_the_lengths_the_tutor_offers_have_slots(session: Session) -> None:
    assert _free(session, 45) == [] and _free(session, 120) == []
    set_rules(session, lesson_durations=[45, 120])

    assert _free(session, 45) and _free(session, 120)
    assert _free(session, 60) == []


@pytest.mark.parametrize("fields", [{"hourly_rate_cents": 0}, {"weekly_hours": {}},
                                    {"lesson_durations": []}])
def test_a_tutor_not_taking_bookings_has_no_slots_and_refuses_every_start(
    session: Session, fields: dict[str, object]
) -> None:
    set_rules(session, **fields)
    me = make_user(session)

    assert _free(session) == []
    with pytest.raises(slots.SlotNotOffered, match="not taking bookings"):
        slots.check_slot(session, tutor_id=TUTOR, start=FIRST_SLOT, duration_minutes=60,
                         user_id=me.id, now=NOW)


def _refusal(session: Session, start: datetime, minutes: int = 60) -> Exception:
    me = make_user(session)
    with pytest.raises((slots.SlotNotOffered, slots.SlotTaken)) as caught:
        slots.check_slot(session, tutor_id=TUTOR, start=start, duration_minutes=minutes,
                         user_id=me.id, now=NOW)
    return caught.value


def test_check_slot_refuses_a_day_off_as_not_offered(session: Session) -> None:
    add_override(session, DEC_1, [])

    refused = _refusal(session, FIRST_SLOT)

    assert isinstance(refused, slots.SlotNotOffered)
    assert str(refused) == slots.NOT_OFFERED
    assert refused.alternatives
    assert DEC_1 not in _local_days(refused.alternatives)


def test_check_slot_refuses_a_start_inside_the_buffer_as_taken(session: Session) -> None:
    set_rules(session, buffer_minutes=15)
    make_booking(session, start=FIRST_SLOT + HOUR)

    refused = _refusal(session, FIRST_SLOT + 2 * HOUR)  # starts as the lesson ends

    assert isinstance(refused, slots.SlotTaken)
    assert FIRST_SLOT + 2.5 * HOUR in refused.alternatives
    assert not {FIRST_SLOT, FIRST_SLOT + 2 * HOUR} & set(refused.alternatives)


@pytest.mark.parametrize(
    ("fields", "start"),
    [
        ({"min_notice_minutes": 48 * 60}, FIRST_SLOT + timedelta(days=1)),  # 45 h ahead
        ({"horizon_days": 7}, FIRST_SLOT + timedelta(days=7)),
    ],
)
def test_check_slot_refuses_under_the_notice_and_past_the_horizon(
    session: Session, fields: dict[str, int], start: datetime
) -> None:
    me = make_user(session)
    slots.check_slot(session, tutor_id=TUTOR, start=start, duration_minutes=60,
                     user_id=me.id, now=NOW)  # fine with the default rules
    set_rules(session, **fields)

    refused = _refusal(session, start)

    assert isinstance(refused, slots.SlotNotOffered)
    assert str(refused) == slots.NOT_OFFERED


def test_check_slot_refuses_a_length_the_tutor_does_not_offer(session: Session) -> None:
    refused = _refusal(session, FIRST_SLOT, minutes=45)

    assert isinstance(refused, slots.SlotNotOffered)
    assert str(refused) == "This tutor offers lessons of 30, 60, 90 minutes."


def test_busy_times_keep_their_microseconds_on_every_database(session: Session) -> None:
    start = FIRST_SLOT + timedelta(minutes=7, seconds=3, microseconds=123456)
    make_booking(session, start=start, minutes=45)

    spans = slots.busy_for(session, tutor_id=TUTOR, start=NOW, end=NOW + timedelta(days=2),
                           now=NOW)

    assert spans == [(epoch_us(start), epoch_us(start + timedelta(minutes=45)), True)]

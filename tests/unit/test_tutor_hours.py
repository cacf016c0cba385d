"""A tutor's hours: the week's ranges, the booking rules, date overrides, and the upcoming
lessons the hours no longer cover (which saving never touches)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.factories import make_booking, make_user
from tutor_app.core.models import Booking, BookingStatus, Tutor, TutorDateOverride
from tutor_app.tutors import hours
from tutor_app.tutors.hours import HoursInvalid, RangesInvalid
from tutor_app.tutors.profile import ProfileGone

TUTOR_ID = "sofia-rossi"  # Europe/Rome (UTC+2 in June), Mon-Fri 10:00-18:00
NOW = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)  # Wednesday 11:00 in Rome
THURSDAY = date(2026, 6, 11)
FRIDAY = date(2026, 6, 12)
RULES = {"buffer_minutes": 10, "min_notice_minutes": 1440, "horizon_days": 30}

pytestmark = pytest.mark.clock_at(NOW)


def _tutor(session: Session, tutor_id: str = TUTOR_ID) -> Tutor:
    session.expire_all()
    tutor = session.get(Tutor, tutor_id)
    assert tutor is not None
    session.commit()  # end the read: SQLite refuses a later write on a stale snapshot
    return tutor


def _rome(day: date, hhmm: str) -> datetime:
    """A wall-clock time in Rome in June (UTC+2) as UTC."""
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=2)


def _week(**days: list[list[str]]) -> dict[str, list[list[str]]]:
    return {day: days.get(day, []) for day in hours.DAYS}


def _overrides(session: Session) -> dict[date, TutorDateOverride]:
    session.expire_all()
    rows = session.exec(
        select(TutorDateOverride).where(TutorDateOverride.tutor_id == TUTOR_ID)
    ).all()
    session.commit()
    return {row.on_date: row for row in rows}


# -- ranges ----------------------------------------------------------------------------------


def test_ranges_are_sorted_and_may_touch() -> None:
    assert hours.check_ranges([["14:00", "18:00"], ["09:00", "14:00"], ["22:00", "24:00"]]) == [
        ["09:00", "14:00"], ["14:00", "18:00"], ["22:00", "24:00"]
    ]
    assert hours.check_ranges([]) == []


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        ([["9:00", "12:00"]], hours.BAD_TIME),
        ([["09:00", "25:00"]], hours.BAD_TIME),
        ([["09:60", "12:00"]], hours.BAD_TIME),
        ([["09:00"]], hours.BAD_TIME),
        (["09:00-12:00"], hours.BAD_TIME),
        ([["09:10", "12:00"]], hours.OFF_GRID),
        ([["12:00", "09:00"]], "A range must end after it starts (12:00\u201309:00)"),
        ([["09:00", "09:00"]], "A range must end after it starts (09:00\u201309:00)"),
        ([["24:00", "24:00"]], "A range must end after it starts (24:00\u201324:00)"),
        ([["13:00", "17:00"], ["09:00", "13:30"]],
         "These ranges overlap: 09:00\u201313:30 and 13:00\u201317:00"),
        ([["09:00", "17:00"], ["10:00", "11:00"]],
         "These ranges overlap: 09:00\u201317:00 and 10:00\u201311:00"),
        ([[f"{h:02d}:00", f"{h:02d}:30"] for h in range(7)], hours.TOO_MANY_RANGES),
    ],
)
def test_wrong_ranges_are_named(ranges: Any, message: str) -> None:
    with pytest.raises(RangesInvalid) as invalid:
        hours.check_ranges(ranges)

    assert str(invalid.value) == message


def test_the_week_is_checked_day_by_day() -> None:
    clean, errors = hours.check_week(
        {"mon": [["09:00", "12:00"]], "tue": [["12:00", "09:00"]], "wed": [],
         "fri": [["09:00", "11:00"], ["10:00", "12:00"]]}
    )

    assert clean == {"mon": [["09:00", "12:00"]]}
    assert set(errors) == {"tue", "fri"}
    assert hours.check_week({"funday": [["09:00", "10:00"]]})[1] == {
        hours.WEEK_FIELD: hours.UNKNOWN_DAY
    }


# -- saving the week and the rules -----------------------------------------------------------


def test_the_week_and_the_rules_are_saved(session: Session) -> None:
    hours.save_hours(session, tutor_id=TUTOR_ID,
                     week=_week(mon=[["14:00", "16:00"], ["09:00", "12:00"]]), **RULES)
    session.commit()

    tutor = _tutor(session)
    assert tutor.weekly_hours == {"mon": [["09:00", "12:00"], ["14:00", "16:00"]]}
    assert (tutor.buffer_minutes, tutor.min_notice_minutes, tutor.horizon_days) == (10, 1440, 30)


@pytest.mark.parametrize(
    ("rules", "field", "message"),
    [
        ({"buffer_minutes": 7}, hours.BUFFER_FIELD, hours.UNKNOWN_BUFFER),
        ({"min_notice_minutes": 30}, hours.NOTICE_FIELD, hours.UNKNOWN_NOTICE),
        ({"min_notice_minutes": 20_160}, hours.NOTICE_FIELD, hours.UNKNOWN_NOTICE),
        ({"horizon_days": 365}, hours.HORIZON_FIELD, hours.UNKNOWN_HORIZON),
        ({"horizon_days": 0}, hours.HORIZON_FIELD, hours.UNKNOWN_HORIZON),
    ],
)
def test_a_rule_off_its_list_is_refused(
    session: Session, rules: dict[str, int], field: str, message: str
) -> None:
    with pytest.raises(HoursInvalid) as invalid:
        hours.save_hours(session, tutor_id=TUTOR_ID, week=_week(), **{**RULES, **rules})

    assert invalid.value.errors == {field: message}


def test_nothing_is_saved_while_any_day_or_rule_is_wrong(session: Session) -> None:
    before = _tutor(session).model_dump()

    with pytest.raises(HoursInvalid) as invalid:
        hours.save_hours(
            session, tutor_id=TUTOR_ID,
            week=_week(mon=[["08:00", "12:00"]], wed=[["10:00", "09:00"]],
                       sat=[["09:00", "11:00"], ["10:30", "12:00"]]),
            **{**RULES, "horizon_days": 999},
        )
    session.commit()  # even committed after the refusal, nothing was changed

    assert set(invalid.value.errors) == {"wed", "sat", hours.HORIZON_FIELD}
    assert _tutor(session).model_dump() == before


def test_hours_of_a_profile_that_is_gone_cannot_be_saved(session: Session) -> None:
    with pytest.raises(ProfileGone):
        hours.save_hours(session, tutor_id="nobody", week=_week(), **RULES)


# -- date overrides --------------------------------------------------------------------------


def test_today_is_the_tutor_s_today(session: Session) -> None:
    late = datetime(2026, 6, 10, 23, 30, tzinfo=UTC)

    assert hours.local_today(_tutor(session), late) == date(2026, 6, 11)  # 01:30 in Rome
    assert hours.local_today(_tutor(session, "daniel-kim"), late) == date(2026, 6, 10)


def test_a_day_off_is_one_override_without_hours(session: Session) -> None:
    hours.add_time_off(session, tutor_id=TUTOR_ID, first="2026-06-11", note=" Dentist ")
    session.commit()

    rows = _overrides(session)
    assert list(rows) == [THURSDAY]
    assert (rows[THURSDAY].windows, rows[THURSDAY].note) == ([], "Dentist")


def test_time_off_is_one_override_per_date_and_replaces_what_those_dates_had(
    session: Session,
) -> None:
    hours.add_custom_hours(session, tutor_id=TUTOR_ID, on_date="2026-06-12",
                           ranges=[["08:00", "09:00"]])
    session.commit()

    hours.add_time_off(session, tutor_id=TUTOR_ID, first="2026-06-11", last="2026-06-15",
                       note="Holiday")
    session.commit()

    rows = _overrides(session)
    assert sorted(rows) == [date(2026, 6, d) for d in range(11, 16)]
    assert all(row.windows == [] and row.note == "Holiday" for row in rows.values())


@pytest.mark.parametrize(
    ("first", "last", "errors"),
    [
        (None, None, {hours.OVERRIDE_DATE_FIELD: hours.DATE_MISSING}),
        ("11/06/2026", None, {hours.OVERRIDE_DATE_FIELD: hours.DATE_MISSING}),
        ("2026-06-09", None, {hours.OVERRIDE_DATE_FIELD: hours.DATE_PAST}),
        ("2027-06-11", None, {hours.OVERRIDE_DATE_FIELD: hours.DATE_TOO_FAR}),
        ("2026-06-15", "2026-06-14", {hours.OVERRIDE_END_FIELD: hours.END_BEFORE_START}),
        ("2026-06-11", "2026-08-10", {hours.OVERRIDE_END_FIELD: hours.TIME_OFF_TOO_LONG}),
        ("2026-06-11", "someday", {hours.OVERRIDE_END_FIELD: hours.DATE_MISSING}),
    ],
)
def test_wrong_dates_are_refused_and_nothing_is_added(
    session: Session, first: str | None, last: str | None, errors: dict[str, str]
) -> None:
    with pytest.raises(HoursInvalid) as invalid:
        hours.add_time_off(session, tutor_id=TUTOR_ID, first=first, last=last)
    session.commit()

    assert invalid.value.errors == errors
    assert _overrides(session) == {}


def test_today_may_be_taken_off_and_so_may_sixty_days(session: Session) -> None:
    hours.add_time_off(session, tutor_id=TUTOR_ID, first="2026-06-10", last="2026-08-08")
    session.commit()

    assert len(_overrides(session)) == hours.MAX_TIME_OFF_DAYS


def test_a_long_note_is_refused(session: Session) -> None:
    with pytest.raises(HoursInvalid) as invalid:
        hours.add_time_off(session, tutor_id=TUTOR_ID, first="2026-06-11", note="x" * 121)

    assert invalid.value.errors == {hours.OVERRIDE_NOTE_FIELD: hours.NOTE_TOO_LONG}


def test_other_hours_replace_the_week_on_that_date(session: Session) -> None:
    hours.add_time_off(session, tutor_id=TUTOR_ID, first="2026-06-11")
    session.commit()

    hours.add_custom_hours(session, tutor_id=TUTOR_ID, on_date=THURSDAY,
                           ranges=[["19:00", "21:00"], ["07:00", "08:00"]], note="Late shift")
    session.commit()

    row = _overrides(session)[THURSDAY]
    assert (row.windows, row.note) == ([["07:00", "08:00"], ["19:00", "21:00"]], "Late shift")


def test_extra_hours_keep_the_week_s_and_must_not_overlap_them(session: Session) -> None:
    hours.add_custom_hours(session, tutor_id=TUTOR_ID, on_date=THURSDAY,
                           ranges=[["19:00", "21:00"]], keep_weekly=True)
    session.commit()

    assert _overrides(session)[THURSDAY].windows == [["10:00", "18:00"], ["19:00", "21:00"]]
    with pytest.raises(HoursInvalid) as invalid:
        hours.add_custom_hours(session, tutor_id=TUTOR_ID, on_date=FRIDAY,
                               ranges=[["17:00", "19:00"]], keep_weekly=True)
    assert invalid.value.errors == {
        hours.OVERRIDE_HOURS_FIELD: "These ranges overlap: 10:00\u201318:00 and 17:00\u201319:00"
    }


@pytest.mark.parametrize(
    ("ranges", "message"),
    [([], hours.HOURS_MISSING), ([["10:00", "09:00"]],
                                 "A range must end after it starts (10:00\u201309:00)")],
)
def test_other_hours_need_right_ranges(session: Session, ranges: Any, message: str) -> None:
    with pytest.raises(HoursInvalid) as invalid:
        hours.add_custom_hours(session, tutor_id=TUTOR_ID, on_date=THURSDAY, ranges=ranges)

    assert invalid.value.errors == {hours.OVERRIDE_HOURS_FIELD: message}


def test_a_tutor_removes_their_own_overrides_only(session: Session) -> None:
    mine = hours.add_time_off(session, tutor_id=TUTOR_ID, first=THURSDAY)[0]
    theirs = hours.add_time_off(session, tutor_id="james-okafor", first=THURSDAY)[0]
    session.commit()

    assert not hours.remove_override(session, tutor_id=TUTOR_ID, override_id=theirs.id)
    assert hours.remove_override(session, tutor_id=TUTOR_ID, override_id=mine.id)
    session.commit()

    assert _overrides(session) == {}
    assert session.get(TutorDateOverride, theirs.id) is not None


def test_upcoming_overrides_start_at_the_tutor_s_today(session: Session) -> None:
    for day in (date(2026, 6, 9), FRIDAY, THURSDAY, date(2026, 6, 10)):
        session.add(TutorDateOverride(tutor_id=TUTOR_ID, on_date=day, windows=[]))
    session.commit()

    listed = hours.upcoming_overrides(session, tutor=_tutor(session))

    assert [row.on_date for row in listed] == [date(2026, 6, 10), THURSDAY, FRIDAY]


# -- lessons the hours no longer cover --------------------------------------------------------


def _lesson(session: Session, start: datetime, minutes: int = 60, **fields: Any) -> Booking:
    student = make_user(session, email=f"student-{start:%d%H%M}@example.com", name="Ann Lee")
    return make_booking(session, user=student, start=start, minutes=minutes, tutor_id=TUTOR_ID,
                        **fields)


def _outside(session: Session) -> list[str]:
    return [lesson.booking_id
            for lesson in hours.lessons_outside_hours(session, tutor=_tutor(session))]


def test_lessons_inside_the_hours_are_not_listed(session: Session) -> None:
    _lesson(session, _rome(THURSDAY, "10:00"))
    _lesson(session, _rome(FRIDAY, "17:00"))

    assert _outside(session) == []


def test_new_hours_list_the_lessons_they_leave_out_and_leave_every_lesson_booked(
    session: Session,
) -> None:
    morning = _lesson(session, _rome(THURSDAY, "10:00"))
    evening = _lesson(session, _rome(THURSDAY, "16:30"), minutes=90)  # ends 18:00
    _lesson(session, _rome(FRIDAY, "12:00"))
    _lesson(session, _rome(THURSDAY, "15:00"), status=BookingStatus.CANCELED)
    _lesson(session, _rome(date(2026, 6, 9), "10:00"))  # over already
    before = {b.id: b.model_dump() for b in session.exec(select(Booking)).all()}
    session.commit()

    hours.save_hours(session, tutor_id=TUTOR_ID,
                     week=_week(thu=[["11:00", "17:00"]], fri=[["10:00", "18:00"]]), **RULES)
    session.commit()

    listed = hours.lessons_outside_hours(session, tutor=_tutor(session))
    assert [lesson.booking_id for lesson in listed] == [morning.id, evening.id]
    assert listed[0].student == f"Ann Lee (student-{morning.start_time:%d%H%M}@example.com)"
    session.expire_all()
    assert {b.id: b.model_dump() for b in session.exec(select(Booking)).all()} == before


def test_a_day_off_lists_that_day_s_lessons_and_other_hours_that_cover_them_do_not(
    session: Session,
) -> None:
    lesson = _lesson(session, _rome(THURSDAY, "19:00"))  # after the week's 18:00
    assert _outside(session) == [lesson.id]

    hours.add_custom_hours(session, tutor_id=TUTOR_ID, on_date=THURSDAY,
                           ranges=[["18:00", "20:00"]], keep_weekly=True)
    session.commit()
    assert _outside(session) == []

    hours.add_time_off(session, tutor_id=TUTOR_ID, first=THURSDAY)
    session.commit()
    assert _outside(session) == [lesson.id]


def test_a_lesson_across_midnight_fits_ranges_that_meet_at_midnight(session: Session) -> None:
    lesson = _lesson(session, _rome(THURSDAY, "23:30"))
    hours.save_hours(session, tutor_id=TUTOR_ID,
                     week=_week(thu=[["22:00", "24:00"]], fri=[["00:00", "02:00"]]), **RULES)
    session.commit()
    assert _outside(session) == []

    hours.add_time_off(session, tutor_id=TUTOR_ID, first=FRIDAY)  # the half after midnight
    session.commit()
    assert _outside(session) == [lesson.id]

"""Free slots from weekly hours: the grid, the limits, busy overlaps and both DST changes,
date overrides, the buffer around lessons, and the tutor's own notice and horizon.

Expected values are written out as exact UTC datetimes, and the DST cases are also checked
against a deliberately naive minute-by-minute model of the rules, written independently of
the module, for zones whose changes are unusual (30-minute shifts, changes at midnight); so
are randomized tutors (hours, overrides, buffer, notice, horizon, step) from fixed seeds.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tutor_app.scheduling.availability import (
    DAYS,
    HORIZON,
    MIN_NOTICE,
    SLOT_STEP,
    Busy,
    Overrides,
    WeeklyHours,
    epoch_us,
    free_slots,
    from_epoch_us,
    group_by_local_day,
    is_slot_free,
    nearest_free,
    outside_hours,
)

NY = "America/New_York"
LONDON = "Europe/London"
TOKYO = "Asia/Tokyo"
MIN = timedelta(minutes=1)
HALF_DAY = timedelta(hours=12)  # keeps the next day's window out of single-day cases


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def every_day(*windows: tuple[str, str]) -> dict[str, list[tuple[str, str]]]:
    return {day: list(windows) for day in DAYS}


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def slots(
    hours: WeeklyHours,
    tz: str,
    duration: int,
    now: datetime,
    *,
    busy: list[Busy] | None = None,
    notice: timedelta = timedelta(0),
    horizon: timedelta = timedelta(days=1),
    step: timedelta = SLOT_STEP,
    overrides: Overrides | None = None,
    buffer: int = 0,
) -> list[datetime]:
    return free_slots(
        weekly_hours=hours,
        tutor_tz=tz,
        duration=minutes(duration),
        busy=busy or [],
        now=now,
        notice=notice,
        horizon=horizon,
        step=step,
        overrides=overrides,
        buffer=minutes(buffer),
    )


def run(first: datetime, last: datetime, every: int = 30) -> list[datetime]:
    """UTC datetimes from `first` to `last` inclusive, `every` minutes apart."""
    count = (last - first) // minutes(every)
    return [first + minutes(every) * i for i in range(count + 1)]


# --- working hours, notice, horizon, grid -------------------------------------------------


def test_defaults_are_the_documented_ones() -> None:
    assert minutes(30) == SLOT_STEP
    assert timedelta(hours=12) == MIN_NOTICE
    assert timedelta(days=60) == HORIZON


def test_new_york_nine_to_five_is_1300_utc_in_summer_and_1400_in_winter() -> None:
    hours = {"mon": [("09:00", "17:00")]}
    summer = slots(hours, NY, 60, utc(2025, 6, 2))  # Monday
    winter = slots(hours, NY, 60, utc(2025, 1, 6))  # Monday
    assert summer == run(utc(2025, 6, 2, 13), utc(2025, 6, 2, 20))
    assert winter == run(utc(2025, 1, 6, 14), utc(2025, 1, 6, 21))


def test_only_the_listed_weekdays_are_worked() -> None:
    hours = {"tue": [("10:00", "11:00")], "thu": [("10:00", "11:00")]}
    found = slots(hours, TOKYO, 60, utc(2025, 6, 1), horizon=timedelta(days=7))
    # Tokyo is UTC+9: 10:00 local is 01:00 UTC on the same date.
    assert found == [utc(2025, 6, 3, 1), utc(2025, 6, 5, 1)]


def test_no_dst_zone_keeps_the_same_utc_hours_through_us_and_eu_changes() -> None:
    hours = every_day(("09:00", "17:00"))
    found = slots(hours, TOKYO, 30, utc(2025, 3, 7), horizon=timedelta(days=28))
    by_day = group_by_local_day(found, TOKYO)
    assert len(by_day) == 28
    for day, day_slots in by_day.items():
        first = datetime.combine(day, time(0), UTC)  # 09:00 in Tokyo is 00:00 UTC
        assert day_slots == run(first, first + timedelta(hours=7, minutes=30))


def test_notice_is_inclusive_and_rounds_up_to_the_grid() -> None:
    hours = {"mon": [("09:00", "17:00")]}
    # now + 12 h = 13:00 UTC = 09:00 New York exactly: that start is allowed.
    exact = slots(hours, NY, 60, utc(2025, 6, 2, 1), notice=MIN_NOTICE)
    assert exact[0] == utc(2025, 6, 2, 13)
    # now + 12 h = 14:10 UTC: the first start is the next :00/:30 of the wall clock.
    later = slots(hours, NY, 60, utc(2025, 6, 2, 2, 10), notice=MIN_NOTICE)
    assert later[0] == utc(2025, 6, 2, 14, 30)


def test_horizon_is_exclusive() -> None:
    hours = {"mon": [("09:00", "17:00")]}
    now = utc(2025, 6, 2, 0)
    found = slots(hours, NY, 30, now, horizon=timedelta(hours=15))  # ends at 15:00 UTC
    assert found == run(utc(2025, 6, 2, 13), utc(2025, 6, 2, 14, 30))  # 15:00 itself is out


def test_default_horizon_offers_sixty_days() -> None:
    hours = every_day(("09:00", "10:00"))
    found = free_slots(
        weekly_hours=hours,
        tutor_tz=TOKYO,
        duration=minutes(60),
        busy=[],
        now=utc(2025, 6, 1, 12),
    )
    # now + 12 h notice is 00:00 UTC on 2 June (09:00 Tokyo); now + 60 days is 31 July 12:00.
    assert found[0] == utc(2025, 6, 2, 0)
    assert found[-1] == utc(2025, 7, 31, 0)
    assert len(found) == 60


def test_window_starting_off_grid_starts_at_the_next_half_hour() -> None:
    hours = {"mon": [("09:15", "11:00")]}
    found = slots(hours, TOKYO, 30, utc(2025, 6, 1, 12))
    assert found == [utc(2025, 6, 2, 0, 30), utc(2025, 6, 2, 1), utc(2025, 6, 2, 1, 30)]


def test_grid_follows_the_tutors_wall_clock_not_utc() -> None:
    # Kathmandu is UTC+05:45: 09:00 local is 03:15 UTC.
    hours = {"mon": [("09:00", "11:00")]}
    found = slots(hours, "Asia/Kathmandu", 60, utc(2025, 6, 1, 12))
    assert found == [utc(2025, 6, 2, 3, 15), utc(2025, 6, 2, 3, 45), utc(2025, 6, 2, 4, 15)]


def test_custom_step() -> None:
    hours = {"mon": [("09:00", "12:00")]}
    found = slots(hours, TOKYO, 60, utc(2025, 6, 1, 12), step=minutes(60))
    assert found == [utc(2025, 6, 2, 0), utc(2025, 6, 2, 1), utc(2025, 6, 2, 2)]


@pytest.mark.parametrize(
    ("duration", "last_local"),
    [(30, time(16, 30)), (60, time(16, 0)), (90, time(15, 30))],
)
def test_durations_must_end_by_the_window_end(duration: int, last_local: time) -> None:
    hours = {"mon": [("09:00", "17:00")]}
    found = slots(hours, TOKYO, duration, utc(2025, 6, 1, 12))
    last = datetime.combine(date(2025, 6, 2), last_local, ZoneInfo(TOKYO)).astimezone(UTC)
    assert found[0] == utc(2025, 6, 2, 0)
    assert found[-1] == last
    assert all(s + minutes(duration) <= utc(2025, 6, 2, 8) for s in found)


def test_lesson_longer_than_a_window_does_not_fit_but_fits_the_longer_one() -> None:
    hours = {"mon": [("09:00", "10:00"), ("13:00", "15:00")]}
    found = slots(hours, TOKYO, 90, utc(2025, 6, 1, 12))
    assert found == [utc(2025, 6, 2, 4), utc(2025, 6, 2, 4, 30)]


def test_lesson_may_not_span_the_gap_between_two_windows() -> None:
    hours = {"mon": [("09:00", "10:00"), ("10:30", "12:00")]}
    found = slots(hours, TOKYO, 60, utc(2025, 6, 1, 12))
    assert found == [utc(2025, 6, 2, 0), utc(2025, 6, 2, 1, 30), utc(2025, 6, 2, 2)]


def test_overnight_hours_split_at_midnight_are_one_stretch() -> None:
    hours = {"fri": [("22:00", "24:00")], "sat": [("00:00", "02:00")]}
    found = slots(hours, TOKYO, 60, utc(2025, 6, 6))  # Friday
    # 22:00 Friday Tokyo is 13:00 UTC; 02:00 Saturday is 17:00 UTC.
    assert found == run(utc(2025, 6, 6, 13), utc(2025, 6, 6, 16))
    assert utc(2025, 6, 6, 14, 30) in found  # 23:30-00:30 local runs across midnight


def test_overlapping_windows_give_no_duplicates() -> None:
    hours = {"mon": [("09:00", "12:00"), ("11:00", "13:00")]}
    found = slots(hours, TOKYO, 60, utc(2025, 6, 1, 12))
    assert found == run(utc(2025, 6, 2, 0), utc(2025, 6, 2, 3))


# --- busy intervals -----------------------------------------------------------------------


def test_busy_overlap_is_half_open() -> None:
    hours = {"mon": [("09:00", "13:00")]}
    busy = [Busy(utc(2025, 6, 2, 1), utc(2025, 6, 2, 2))]  # 10:00-11:00 Tokyo
    found = slots(hours, TOKYO, 60, utc(2025, 6, 1, 12), busy=busy)
    # 09:00-10:00 ends as the busy one starts; 11:00-12:00 starts as it ends.
    assert found == [
        utc(2025, 6, 2, 0),
        utc(2025, 6, 2, 2),
        utc(2025, 6, 2, 2, 30),
        utc(2025, 6, 2, 3),
    ]


def test_short_busy_interval_off_the_grid_blocks_every_lesson_touching_it() -> None:
    hours = {"mon": [("09:00", "12:00")]}
    busy = [Busy(utc(2025, 6, 2, 1, 10), utc(2025, 6, 2, 1, 20))]  # 10:10-10:20 Tokyo
    assert slots(hours, TOKYO, 30, utc(2025, 6, 1, 12), busy=busy) == [
        utc(2025, 6, 2, 0),
        utc(2025, 6, 2, 0, 30),
        utc(2025, 6, 2, 1, 30),
        utc(2025, 6, 2, 2),
        utc(2025, 6, 2, 2, 30),
    ]
    assert slots(hours, TOKYO, 90, utc(2025, 6, 1, 12), busy=busy) == [utc(2025, 6, 2, 1, 30)]


def test_unsorted_overlapping_and_empty_busy_intervals() -> None:
    hours = {"mon": [("09:00", "14:00")]}
    busy = [
        Busy(utc(2025, 6, 2, 3), utc(2025, 6, 2, 3, 30)),
        Busy(utc(2025, 6, 2, 0, 30), utc(2025, 6, 2, 1, 30)),
        Busy(utc(2025, 6, 2, 1), utc(2025, 6, 2, 1, 45)),  # overlaps the one before
        Busy(utc(2025, 6, 2, 2, 30), utc(2025, 6, 2, 2, 30)),  # empty: blocks nothing
    ]
    found = slots(hours, TOKYO, 30, utc(2025, 6, 1, 12), busy=busy)
    assert found == [
        utc(2025, 6, 2, 0),
        utc(2025, 6, 2, 2),
        utc(2025, 6, 2, 2, 30),
        utc(2025, 6, 2, 3, 30),
        utc(2025, 6, 2, 4),
        utc(2025, 6, 2, 4, 30),
    ]


def test_busy_in_another_zone_is_compared_as_an_instant() -> None:
    hours = {"mon": [("09:00", "11:00")]}
    paris = ZoneInfo("Europe/Paris")
    busy = [Busy(datetime(2025, 6, 2, 2, 30, tzinfo=paris), datetime(2025, 6, 2, 3, tzinfo=paris))]
    # 02:30-03:00 Paris (CEST) is 00:30-01:00 UTC, 09:30-10:00 Tokyo.
    found = slots(hours, TOKYO, 30, utc(2025, 6, 1, 12), busy=busy)
    assert found == [utc(2025, 6, 2, 0), utc(2025, 6, 2, 1), utc(2025, 6, 2, 1, 30)]


# --- daylight saving ----------------------------------------------------------------------


def test_new_york_spring_forward_skips_the_missing_hour() -> None:
    hours = every_day(("00:00", "04:00"))
    found = slots(hours, NY, 30, utc(2025, 3, 9, 5), horizon=HALF_DAY)
    # 00:00 EST = 05:00 UTC; 02:00-03:00 does not exist; 04:00 EDT = 08:00 UTC.
    assert found == run(utc(2025, 3, 9, 5), utc(2025, 3, 9, 7, 30))
    local = [s.astimezone(ZoneInfo(NY)).strftime("%H:%M") for s in found]
    assert local == ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30"]


def test_new_york_spring_forward_lessons_are_real_length() -> None:
    hours = every_day(("00:00", "04:00"))
    found = slots(hours, NY, 90, utc(2025, 3, 9, 5), horizon=HALF_DAY)
    # The window is 3 real hours (05:00-08:00 UTC), so the last 90-minute start is 06:30 UTC
    # (01:30 EST) and ends 08:00 UTC (04:00 EDT): a wall-clock reading would call it 150 min.
    assert found == run(utc(2025, 3, 9, 5), utc(2025, 3, 9, 6, 30))


def test_new_york_window_starting_inside_the_gap_starts_when_clocks_jump() -> None:
    hours = {"sun": [("02:30", "05:00")]}
    found = slots(hours, NY, 60, utc(2025, 3, 9, 5), horizon=HALF_DAY)
    # 02:30 does not exist on 9 March; the tutor's clock first reads later than it at 03:00 EDT.
    assert found == [utc(2025, 3, 9, 7), utc(2025, 3, 9, 7, 30), utc(2025, 3, 9, 8)]
    assert slots({"sun": [("02:00", "03:00")]}, NY, 30, utc(2025, 3, 9, 5), horizon=HALF_DAY) == []


def test_new_york_fall_back_offers_both_real_hours_without_duplicates() -> None:
    hours = every_day(("00:00", "03:00"))
    found = slots(hours, NY, 60, utc(2025, 11, 2, 4), horizon=HALF_DAY)
    # 00:00 EDT = 04:00 UTC; 03:00 EST = 08:00 UTC: the window is 4 real hours.
    assert found == run(utc(2025, 11, 2, 4), utc(2025, 11, 2, 7))
    assert len(set(found)) == len(found)
    assert found == sorted(found)
    local = [s.astimezone(ZoneInfo(NY)).strftime("%H:%M%z") for s in found]
    assert local == [
        "00:00-0400",
        "00:30-0400",
        "01:00-0400",
        "01:30-0400",
        "01:00-0500",
        "01:30-0500",
        "02:00-0500",
    ]


def test_new_york_fall_back_lesson_across_the_change_is_real_length() -> None:
    hours = every_day(("00:00", "02:00"))
    found = slots(hours, NY, 90, utc(2025, 11, 2, 4), horizon=HALF_DAY)
    # Window 04:00-07:00 UTC (3 real hours); 90 min from 05:30 UTC (01:30 EDT) ends at 07:00
    # UTC (02:00 EST), on the wall clock only 30 minutes later.
    assert found == run(utc(2025, 11, 2, 4), utc(2025, 11, 2, 5, 30))


def test_new_york_nine_to_five_on_the_days_of_the_changes() -> None:
    hours = {"sat": [("09:00", "17:00")], "sun": [("09:00", "17:00")]}
    spring = slots(hours, NY, 60, utc(2025, 3, 8), horizon=timedelta(days=2))
    assert spring[0] == utc(2025, 3, 8, 14) and spring[14] == utc(2025, 3, 8, 21)
    assert spring[15] == utc(2025, 3, 9, 13) and spring[-1] == utc(2025, 3, 9, 20)
    fall = slots(hours, NY, 60, utc(2025, 11, 1), horizon=timedelta(days=2))
    assert fall[0] == utc(2025, 11, 1, 13) and fall[14] == utc(2025, 11, 1, 20)
    assert fall[15] == utc(2025, 11, 2, 14) and fall[-1] == utc(2025, 11, 2, 21)


def test_london_spring_forward() -> None:
    hours = every_day(("00:00", "03:00"))
    found = slots(hours, LONDON, 30, utc(2025, 3, 30), horizon=HALF_DAY)
    # 00:00 GMT = 00:00 UTC; at 01:00 UTC clocks jump to 02:00 BST; 03:00 BST = 02:00 UTC.
    assert found == run(utc(2025, 3, 30, 0), utc(2025, 3, 30, 1, 30))
    local = [s.astimezone(ZoneInfo(LONDON)).strftime("%H:%M") for s in found]
    assert local == ["00:00", "00:30", "02:00", "02:30"]
    sixty = slots(hours, LONDON, 60, utc(2025, 3, 30), horizon=HALF_DAY)
    assert sixty == [utc(2025, 3, 30, 0), utc(2025, 3, 30, 0, 30), utc(2025, 3, 30, 1)]


def test_london_fall_back() -> None:
    hours = every_day(("00:00", "03:00"))
    found = slots(hours, LONDON, 30, utc(2025, 10, 25, 23), horizon=HALF_DAY)
    # 00:00 BST = 23:00 UTC the day before; 03:00 GMT = 03:00 UTC: four real hours.
    assert found == run(utc(2025, 10, 25, 23), utc(2025, 10, 26, 2, 30))
    assert len(set(found)) == len(found)
    local = [s.astimezone(ZoneInfo(LONDON)).strftime("%H:%M") for s in found]
    assert local == ["00:00", "00:30", "01:00", "01:30", "01:00", "01:30", "02:00", "02:30"]


def test_london_nine_to_five_moves_by_an_hour_across_a_week() -> None:
    hours = {"fri": [("09:00", "17:00")], "mon": [("09:00", "17:00")]}
    found = slots(hours, LONDON, 60, utc(2025, 3, 28), horizon=timedelta(days=4))
    assert found[0] == utc(2025, 3, 28, 9)  # GMT
    assert found[-1] == utc(2025, 3, 31, 15)  # BST: 16:00 local


def test_grid_realigns_when_the_offset_changes_by_less_than_the_step() -> None:
    # Lord Howe Island falls back by 30 minutes: 02:00 (+11:00) becomes 01:30 (+10:30) at
    # 15:00 UTC on 5 April. With an hourly grid the starts before the change are :00 UTC,
    # the ones after it :30 UTC, each on a whole hour of the island's clock.
    hours = {"sun": [("00:00", "04:00")]}
    found = slots(hours, "Australia/Lord_Howe", 60, utc(2025, 4, 5, 12), step=minutes(60))
    assert found == [
        utc(2025, 4, 5, 13),
        utc(2025, 4, 5, 14),
        utc(2025, 4, 5, 15, 30),
        utc(2025, 4, 5, 16, 30),
    ]
    local = [s.astimezone(ZoneInfo("Australia/Lord_Howe")).strftime("%H:%M") for s in found]
    assert local == ["00:00", "01:00", "02:00", "03:00"]


def _model_free_starts(
    hours: dict[str, list[tuple[str, str]]],
    tz: str,
    duration: int,
    busy: list[Busy],
    lo: datetime,
    hi: datetime,
    *,
    overrides: dict[date, list[tuple[str, str]]] | None = None,
    buffer: int = 0,
    step: int = 30,
) -> list[datetime]:
    """The rules, read literally, one UTC minute at a time (whole-minute inputs only).

    A window on local date d covers the minutes from the first one whose wall clock reads its
    start or later to the first one that reads its end or later; touching windows join up. A
    date with an override takes its windows from there instead of from its weekday. A lesson
    must end `buffer` minutes before a buffered busy interval starts, or start `buffer`
    minutes after it ends; an interval that is not buffered only must not overlap it.
    """
    zone = ZoneInfo(tz)
    origin = lo - timedelta(days=3)
    count = (hi - origin) // MIN + duration + 3 * 24 * 60
    instants = [origin + MIN * i for i in range(count)]
    walls = [t.astimezone(zone).replace(tzinfo=None) for t in instants]
    working = [False] * count
    day = walls[0].date()
    while day <= walls[-1].date():
        windows = (overrides or {}).get(day, hours.get(DAYS[day.weekday()], []))
        for start, end in windows:
            midnight = datetime.combine(day, time(0))
            first = midnight + timedelta(hours=int(start[:2]), minutes=int(start[3:]))
            last = midnight + timedelta(hours=int(end[:2]), minutes=int(end[3:]))
            i = next((k for k, w in enumerate(walls) if w >= first), count)
            j = next((k for k, w in enumerate(walls) if w >= last), count)
            for k in range(i, j):
                working[k] = True
        day += timedelta(days=1)
    found = []
    for k, t in enumerate(instants):
        wall = walls[k]
        on_grid = (wall.hour * 60 + wall.minute) % step == 0
        if not (lo <= t < hi and on_grid and all(working[m] for m in range(k, k + duration))):
            continue
        end = t + minutes(duration)
        pads = [minutes(buffer) if b.buffered else timedelta(0) for b in busy]
        if all(end <= b.start - pad or t >= b.end + pad
               for b, pad in zip(busy, pads, strict=True) if b.end > b.start):
            found.append(t)
    return found


@pytest.mark.parametrize(
    ("tz", "around"),
    [
        (NY, utc(2025, 3, 8)),
        (NY, utc(2025, 11, 1)),
        (LONDON, utc(2025, 3, 29)),
        (LONDON, utc(2025, 10, 25)),
        ("America/Santiago", utc(2025, 4, 5)),  # falls back at midnight
        ("America/Santiago", utc(2025, 9, 6)),  # springs forward at midnight
        ("Australia/Lord_Howe", utc(2025, 4, 4, 12)),  # 30-minute change
        ("Australia/Lord_Howe", utc(2025, 10, 3, 12)),
        ("Asia/Kathmandu", utc(2025, 6, 1)),
    ],
)
@pytest.mark.parametrize("duration", [30, 60, 90])
def test_matches_a_minute_by_minute_model_around_dst_changes(
    tz: str, around: datetime, duration: int
) -> None:
    rng = random.Random(f"{tz}{around}{duration}")
    hours = {
        "mon": [("09:00", "17:00")],
        "fri": [("22:00", "24:00")],
        "sat": [("00:00", "02:30"), ("10:15", "12:00"), ("22:00", "24:00")],
        "sun": [("00:00", "03:00"), ("09:00", "10:00"), ("23:00", "24:00")],
    }
    lo, hi = around, around + timedelta(days=3)
    busy = []
    for _ in range(6):
        start = lo + minutes(5 * rng.randrange(0, 3 * 24 * 12))
        busy.append(Busy(start, start + minutes(rng.choice((10, 30, 45, 60)))))
    found = slots(hours, tz, duration, lo, busy=busy, horizon=hi - lo)
    assert found == _model_free_starts(hours, tz, duration, busy, lo, hi)
    assert found  # the scenario is not vacuous


# --- is_slot_free, nearest_free -----------------------------------------------------------


def _random_case(seed: int) -> tuple[dict[str, list[tuple[str, str]]], list[Busy], datetime]:
    rng = random.Random(seed)
    hours = {
        "mon": [("08:00", "12:00"), ("13:00", "18:00")],
        "tue": [("09:30", "17:00")],
        "wed": [("00:00", "03:00"), ("20:00", "24:00")],
        "thu": [("00:00", "02:00"), ("10:00", "11:00")],
        "sat": [("07:00", "21:00")],
        "sun": [("01:00", "04:00")],
    }
    now = utc(2025, 10, 1) + minutes(rng.randrange(0, 24 * 60))
    busy = []
    for _ in range(300):
        start = now + minutes(15 * rng.randrange(0, 60 * 24 * 4))
        busy.append(Busy(start, start + minutes(rng.choice((15, 30, 60, 90)))))
    return hours, busy, now


@pytest.mark.parametrize("tz", [NY, LONDON, TOKYO, "Asia/Kathmandu"])
@pytest.mark.parametrize("duration", [30, 60, 90])
def test_is_slot_free_agrees_with_free_slots(tz: str, duration: int) -> None:
    hours, busy, now = _random_case(seed=duration)
    args: dict[str, Any] = {
        "weekly_hours": hours,
        "tutor_tz": tz,
        "duration": minutes(duration),
        "busy": busy,
        "now": now,
    }
    free = free_slots(**args)
    assert free
    free_set = set(free)
    rng = random.Random(1234 + duration)
    sample = rng.sample(free, 100)
    # Random instants on a 15-minute UTC grid, from before `now` to past the horizon.
    sample += [
        now - timedelta(days=1) + minutes(15 * rng.randrange(0, 62 * 96)) for _ in range(400)
    ]
    sample += [s + minutes(rng.choice((1, 10, 15))) for s in sample[:50]]  # off-grid neighbours
    for start in sample:
        assert is_slot_free(start=start, **args) == (start in free_set), start


def test_is_slot_free_examples() -> None:
    hours = {"mon": [("09:00", "17:00")]}
    busy = [Busy(utc(2025, 6, 2, 15), utc(2025, 6, 2, 16))]  # 11:00-12:00 New York
    now = utc(2025, 6, 1)
    args: dict[str, Any] = {"weekly_hours": hours, "tutor_tz": NY, "busy": busy, "now": now}
    assert is_slot_free(start=utc(2025, 6, 2, 14), duration=minutes(60), **args)
    assert not is_slot_free(start=utc(2025, 6, 2, 14), duration=minutes(90), **args)
    assert not is_slot_free(start=utc(2025, 6, 2, 14, 10), duration=minutes(30), **args)
    assert not is_slot_free(start=utc(2025, 6, 2, 20, 30), duration=minutes(60), **args)
    assert not is_slot_free(  # inside the notice period
        start=utc(2025, 6, 2, 13), duration=minutes(60), **{**args, "now": utc(2025, 6, 2, 2)}
    )


def test_nearest_free_returns_the_closest_starts_closest_first() -> None:
    hours = {"mon": [("09:00", "17:00")]}
    # 10:00-11:00 and 12:00-13:30 New York are taken.
    busy = [
        Busy(utc(2025, 6, 2, 14), utc(2025, 6, 2, 15)),
        Busy(utc(2025, 6, 2, 16), utc(2025, 6, 2, 17, 30)),
    ]
    args: dict[str, Any] = {
        "weekly_hours": hours,
        "tutor_tz": NY,
        "duration": minutes(60),
        "busy": busy,
    }
    wanted = utc(2025, 6, 2, 14)  # 10:00, just taken
    found = nearest_free(start=wanted, now=utc(2025, 6, 1), limit=4, **args)
    # Free 60-min starts nearby: 13:00 UTC (-60), 15:00 (+60), 17:30 (+210), 18:00 (+240).
    # 13:00 and 15:00 tie; the earlier comes first.
    assert found == [
        utc(2025, 6, 2, 13),
        utc(2025, 6, 2, 15),
        utc(2025, 6, 2, 17, 30),
        utc(2025, 6, 2, 18),
    ]
    assert nearest_free(start=wanted, now=utc(2025, 6, 1), limit=1, **args) == [utc(2025, 6, 2, 13)]
    assert nearest_free(start=wanted, now=utc(2025, 6, 1), limit=0, **args) == []


def test_nearest_free_includes_the_start_itself_when_free_and_respects_notice() -> None:
    hours = {"mon": [("09:00", "17:00")]}
    args: dict[str, Any] = {
        "weekly_hours": hours,
        "tutor_tz": NY,
        "duration": minutes(30),
        "busy": [],
    }
    free_start = utc(2025, 6, 2, 16)
    assert nearest_free(start=free_start, now=utc(2025, 6, 1), **args) == [
        utc(2025, 6, 2, 16),
        utc(2025, 6, 2, 15, 30),
        utc(2025, 6, 2, 16, 30),
    ]
    # Asked for a time already inside the notice period: only later starts are offered.
    found = nearest_free(start=utc(2025, 6, 2, 13), now=utc(2025, 6, 2, 3), **args)
    assert found == [utc(2025, 6, 2, 15), utc(2025, 6, 2, 15, 30), utc(2025, 6, 2, 16)]


# --- grouping for the picker --------------------------------------------------------------


def test_group_by_local_day_crosses_the_day_boundary_for_the_viewer() -> None:
    found = [
        utc(2025, 6, 2, 2),
        utc(2025, 6, 2, 3, 30),
        utc(2025, 6, 2, 13),
        utc(2025, 6, 3, 6, 30),
    ]
    # Los Angeles is UTC-7 in June: the two early-UTC slots are the evening before.
    la = group_by_local_day(found, "America/Los_Angeles")
    assert la == {
        date(2025, 6, 1): [utc(2025, 6, 2, 2), utc(2025, 6, 2, 3, 30)],
        date(2025, 6, 2): [utc(2025, 6, 2, 13), utc(2025, 6, 3, 6, 30)],
    }
    # Tokyo is UTC+9: 13:00 UTC is 22:00 the same day, 06:30 UTC next day is 15:30 there.
    tokyo = group_by_local_day(found, TOKYO)
    assert tokyo == {
        date(2025, 6, 2): [utc(2025, 6, 2, 2), utc(2025, 6, 2, 3, 30), utc(2025, 6, 2, 13)],
        date(2025, 6, 3): [utc(2025, 6, 3, 6, 30)],
    }
    assert list(la) == [date(2025, 6, 1), date(2025, 6, 2)]
    assert all(s.tzinfo is UTC for day in la.values() for s in day)


def test_group_by_local_day_keeps_the_given_order() -> None:
    found = [utc(2025, 6, 2, 13), utc(2025, 6, 2, 2), utc(2025, 6, 3, 6, 30)]
    assert group_by_local_day(found, TOKYO) == {
        date(2025, 6, 2): [utc(2025, 6, 2, 13), utc(2025, 6, 2, 2)],
        date(2025, 6, 3): [utc(2025, 6, 3, 6, 30)],
    }
    with pytest.raises(ValueError):
        group_by_local_day(found, "Not/A_Zone")


# --- validation ---------------------------------------------------------------------------


def _call(**overrides: Any) -> list[datetime]:
    args: dict[str, Any] = {
        "weekly_hours": {"mon": [("09:00", "17:00")]},
        "tutor_tz": NY,
        "duration": minutes(60),
        "busy": [],
        "now": utc(2025, 6, 1),
    }
    args.update(overrides)
    return free_slots(**args)


def test_outputs_are_utc_aware() -> None:
    found = _call()
    assert found and all(s.tzinfo is UTC for s in found)


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2025, 6, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        _call(now=naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        Busy(naive, naive + timedelta(hours=1))
    with pytest.raises(ValueError, match="timezone-aware"):
        is_slot_free(
            start=naive,
            weekly_hours={},
            tutor_tz=NY,
            duration=minutes(30),
            busy=[],
            now=utc(2025, 6, 1),
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        group_by_local_day([naive], NY)


@pytest.mark.parametrize(
    "overrides",
    [
        {"tutor_tz": "Mars/Olympus_Mons"},
        {"tutor_tz": ""},
        {"duration": timedelta(0)},
        {"duration": minutes(-30)},
        {"step": minutes(7)},
        {"notice": timedelta(hours=-1)},
        {"weekly_hours": {"mon": [("9:00", "17:00")]}},
        {"weekly_hours": {"mon": [("09:00", "25:00")]}},
        {"weekly_hours": {"mon": [("17:00", "09:00")]}},
        {"weekly_hours": {"mon": [("09:00", "09:00")]}},
        {"weekly_hours": {"mon": [("24:00", "24:00")]}},
        {"weekly_hours": {"mon": [("09:00",)]}},
        {"weekly_hours": {"mon": ["09:00-17:00"]}},
        {"weekly_hours": {"monday": [("09:00", "17:00")]}},
        {"weekly_hours": {"mon": "09:00-17:00"}},
    ],
)
def test_bad_arguments_raise_value_error(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        _call(**overrides)


def test_busy_must_not_end_before_it_starts() -> None:
    with pytest.raises(ValueError):
        Busy(utc(2025, 6, 2, 10), utc(2025, 6, 2, 9))


def test_hours_as_json_lists_are_accepted() -> None:
    assert _call(weekly_hours={"mon": [["09:00", "17:00"]]}) == _call()


# --- date overrides -------------------------------------------------------------------------

WEEKDAYS_9_TO_17 = {day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")}


def test_a_day_off_removes_that_date_only() -> None:
    week = slots(WEEKDAYS_9_TO_17, TOKYO, 60, utc(2025, 6, 1, 12), horizon=timedelta(days=3))
    off = slots(WEEKDAYS_9_TO_17, TOKYO, 60, utc(2025, 6, 1, 12), horizon=timedelta(days=3),
                overrides={date(2025, 6, 3): []})  # Tuesday off
    days = group_by_local_day(week, TOKYO)
    assert list(days) == [date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4)]
    assert group_by_local_day(off, TOKYO) == {
        date(2025, 6, 2): days[date(2025, 6, 2)], date(2025, 6, 4): days[date(2025, 6, 4)],
    }


def test_an_override_replaces_the_hours_of_its_date() -> None:
    found = slots(WEEKDAYS_9_TO_17, TOKYO, 60, utc(2025, 6, 1, 12),
                  overrides={date(2025, 6, 2): [("13:00", "15:00")]})
    # 13:00-15:00 Tokyo is 04:00-06:00 UTC; the weekly 09:00-13:00 is gone that day.
    assert found == run(utc(2025, 6, 2, 4), utc(2025, 6, 2, 5))


def test_extra_hours_on_one_date_and_on_a_day_without_weekly_hours() -> None:
    overrides = {
        date(2025, 6, 2): [("09:00", "17:00"), ("19:00", "21:00")],  # Monday: weekly + evening
        date(2025, 6, 7): [("10:00", "12:00")],  # a Saturday
    }
    found = slots(WEEKDAYS_9_TO_17, TOKYO, 60, utc(2025, 6, 1, 12), horizon=timedelta(days=6),
                  overrides=overrides)
    by_day = group_by_local_day(found, TOKYO)
    assert by_day[date(2025, 6, 2)][-3:] == [utc(2025, 6, 2, 10), utc(2025, 6, 2, 10, 30),
                                            utc(2025, 6, 2, 11)]  # 19:00 .. 20:00 Tokyo
    assert by_day[date(2025, 6, 7)] == run(utc(2025, 6, 7, 1), utc(2025, 6, 7, 2))
    assert date(2025, 6, 8) not in by_day  # Sunday keeps its (empty) weekly hours


def test_override_dates_are_the_tutors_local_dates() -> None:
    # 09:00-17:00 in New York on Monday 2 June is 13:00-21:00 UTC; 1 June there is a Sunday.
    hours = every_day(("18:00", "23:00"))
    found = slots(hours, NY, 60, utc(2025, 6, 2, 12), horizon=timedelta(hours=24),
                  overrides={date(2025, 6, 2): []})
    # 2 June is off; 18:00-23:00 on 1 June ran 22:00-03:00 UTC and is past; 3 June's starts
    # from 22:00 UTC on 3 June are beyond the horizon (12:00 UTC on 3 June).
    assert found == []
    kept = slots(hours, NY, 60, utc(2025, 6, 2, 12), horizon=timedelta(hours=24),
                 overrides={date(2025, 6, 3): []})
    assert kept == run(utc(2025, 6, 2, 22), utc(2025, 6, 3, 2))


def test_a_day_off_after_overnight_hours_ends_them_at_midnight() -> None:
    hours = {"fri": [("22:00", "24:00")], "sat": [("00:00", "02:00")]}
    now = utc(2025, 6, 6)  # Friday; 22:00 Tokyo is 13:00 UTC
    off = slots(hours, TOKYO, 60, now, overrides={date(2025, 6, 7): []})
    assert off == [utc(2025, 6, 6, 13), utc(2025, 6, 6, 13, 30), utc(2025, 6, 6, 14)]
    # An override with its own 00:00 window still joins the evening before.
    short = slots(hours, TOKYO, 60, now, overrides={date(2025, 6, 7): [("00:00", "00:30")]})
    assert short == run(utc(2025, 6, 6, 13), utc(2025, 6, 6, 14, 30))
    assert utc(2025, 6, 6, 14, 30) in short  # 23:30-00:30 across midnight


def test_an_override_on_the_spring_forward_day_keeps_real_lengths() -> None:
    # New York, 9 March 2025: 01:00-04:00 on the wall clock is two real hours (06:00-08:00 UTC).
    found = slots({}, NY, 60, utc(2025, 3, 9, 5), horizon=HALF_DAY,
                  overrides={date(2025, 3, 9): [("01:00", "04:00")]})
    assert found == [utc(2025, 3, 9, 6), utc(2025, 3, 9, 6, 30), utc(2025, 3, 9, 7)]
    local = [s.astimezone(ZoneInfo(NY)).strftime("%H:%M") for s in found]
    assert local == ["01:00", "01:30", "03:00"]


# --- buffer ---------------------------------------------------------------------------------

LESSON_10_TO_11_TOKYO = Busy(utc(2025, 6, 2, 1), utc(2025, 6, 2, 2))


def test_the_buffer_keeps_time_free_before_and_after_a_lesson() -> None:
    hours = {"mon": [("08:00", "14:00")]}
    found = slots(hours, TOKYO, 60, utc(2025, 6, 1, 12), busy=[LESSON_10_TO_11_TOKYO],
                  buffer=15)
    local = [s.astimezone(ZoneInfo(TOKYO)).strftime("%H:%M") for s in found]
    # 08:30-09:30 leaves 30 minutes; 09:00-10:00 none; 11:00 starts as it ends; 11:30 is next.
    assert local == ["08:00", "08:30", "11:30", "12:00", "12:30", "13:00"]
    unbuffered = slots(hours, TOKYO, 60, utc(2025, 6, 1, 12), busy=[LESSON_10_TO_11_TOKYO])
    assert utc(2025, 6, 2, 0) in unbuffered and utc(2025, 6, 2, 2) in unbuffered


def test_the_buffer_off_the_grid_rounds_to_the_next_start() -> None:
    hours = {"mon": [("08:00", "14:00")]}
    found = slots(hours, TOKYO, 30, utc(2025, 6, 1, 12), busy=[LESSON_10_TO_11_TOKYO],
                  buffer=40)
    local = [s.astimezone(ZoneInfo(TOKYO)).strftime("%H:%M") for s in found]
    # A 30-minute lesson must end by 09:20 and start from 11:40: 08:30 and 12:00 are the edges.
    assert local == ["08:00", "08:30", "12:00", "12:30", "13:00", "13:30"]


def test_the_buffer_does_not_apply_to_calendar_events_nor_trim_working_hours() -> None:
    hours = {"mon": [("10:00", "13:00")]}
    event = Busy(LESSON_10_TO_11_TOKYO.start, LESSON_10_TO_11_TOKYO.end, buffered=False)
    found = slots(hours, TOKYO, 60, utc(2025, 6, 1, 12), busy=[event], buffer=30)
    # 11:00 starts as the event ends; 12:00-13:00 ends as the window closes.
    assert found == [utc(2025, 6, 2, 2), utc(2025, 6, 2, 2, 30), utc(2025, 6, 2, 3)]
    assert event == LESSON_10_TO_11_TOKYO  # the flag is no part of a span's identity


def test_buffers_of_neighbouring_lessons_can_close_a_gap() -> None:
    hours = {"mon": [("09:00", "12:00")]}
    busy = [Busy(utc(2025, 6, 2, 0), utc(2025, 6, 2, 1)),  # 09:00-10:00 Tokyo
            Busy(utc(2025, 6, 2, 2), utc(2025, 6, 2, 3))]  # 11:00-12:00
    now = utc(2025, 6, 1, 12)
    assert slots(hours, TOKYO, 60, now, busy=busy) == [utc(2025, 6, 2, 1)]
    assert slots(hours, TOKYO, 60, now, busy=busy, buffer=5) == []
    assert slots(hours, TOKYO, 30, now, busy=busy) == [utc(2025, 6, 2, 1), utc(2025, 6, 2, 1, 30)]
    assert slots(hours, TOKYO, 30, now, busy=busy, buffer=15) == []  # 10:15-10:45 is off-grid


def test_is_slot_free_and_nearest_free_honour_the_buffer_and_overrides() -> None:
    hours = {"mon": [("08:00", "14:00")], "tue": [("08:00", "14:00")]}
    args: dict[str, Any] = {
        "weekly_hours": hours, "tutor_tz": TOKYO, "duration": minutes(60),
        "busy": [LESSON_10_TO_11_TOKYO], "now": utc(2025, 6, 1, 12),
        "buffer": minutes(15), "overrides": {date(2025, 6, 3): []},
    }
    assert not is_slot_free(start=utc(2025, 6, 2, 0), **args)  # 09:00, ends at the lesson
    assert is_slot_free(start=utc(2025, 6, 2, 2, 30), **args)  # 11:30
    assert not is_slot_free(start=utc(2025, 6, 3, 0), **args)  # Tuesday is off
    assert nearest_free(start=utc(2025, 6, 2, 1), limit=2, **args) == [
        utc(2025, 6, 2, 2, 30), utc(2025, 6, 2, 3)]  # 08:30 is under the 12-hour notice


# --- the tutor's own notice and horizon -----------------------------------------------------


def test_no_notice_offers_the_next_grid_start_and_a_short_horizon_ends_early() -> None:
    hours = every_day(("09:00", "17:00"))
    now = utc(2025, 6, 2, 2, 10)  # 11:10 Tokyo
    found = slots(hours, TOKYO, 60, now, notice=timedelta(0), horizon=timedelta(days=2))
    assert found[0] == utc(2025, 6, 2, 2, 30)  # 11:30 Tokyo
    assert found[-1] == utc(2025, 6, 4, 2)  # 11:00 on 4 June: the horizon ends at 11:10
    week = slots(hours, TOKYO, 60, now, notice=timedelta(days=2), horizon=timedelta(days=9))
    assert week[0] == utc(2025, 6, 4, 2, 30)
    assert week[-1] == utc(2025, 6, 11, 2)
    assert len(group_by_local_day(week, TOKYO)) == 8


# --- the model, on randomized tutors --------------------------------------------------------

DST_CASES = [
    (NY, utc(2025, 3, 8)), (NY, utc(2025, 11, 1)), (LONDON, utc(2025, 3, 29)),
    (LONDON, utc(2025, 10, 25)), ("America/Santiago", utc(2025, 4, 5)),
    ("America/Santiago", utc(2025, 9, 6)), ("Australia/Lord_Howe", utc(2025, 4, 4, 12)),
    ("Australia/Lord_Howe", utc(2025, 10, 3, 12)), ("Asia/Kathmandu", utc(2025, 6, 1)),
    (TOKYO, utc(2025, 6, 1)),
]
WINDOW_POOL = [
    ("00:00", "02:30"), ("00:00", "01:00"), ("01:30", "04:00"), ("02:00", "03:00"),
    ("08:00", "12:00"), ("09:15", "11:45"), ("10:00", "17:00"), ("13:00", "14:00"),
    ("18:30", "21:00"), ("20:00", "24:00"), ("22:00", "24:00"), ("23:00", "24:00"),
]


def _random_tutor(rng: random.Random, around: datetime) -> tuple[
    dict[str, list[tuple[str, str]]], dict[date, list[tuple[str, str]]]
]:
    hours = {day: rng.sample(WINDOW_POOL, rng.choice((0, 1, 1, 2, 3))) for day in DAYS}
    overrides = {
        around.date() + timedelta(days=rng.randrange(-1, 5)):
            rng.sample(WINDOW_POOL, rng.choice((0, 0, 1, 2)))
        for _ in range(rng.randrange(0, 4))
    }
    return hours, overrides


@pytest.mark.parametrize("seed", range(60))
def test_overrides_buffer_notice_and_horizon_match_the_model(seed: int) -> None:
    rng = random.Random(seed)
    tz, around = rng.choice(DST_CASES)
    hours, overrides = _random_tutor(rng, around)
    now = around + minutes(rng.randrange(0, 24 * 60, 5))
    notice = minutes(rng.choice((0, 45, 12 * 60, 25 * 60)))
    horizon = timedelta(days=rng.choice((2, 3)))
    duration = rng.choice((30, 45, 60, 90, 120))
    step = rng.choice((15, 30, 60))
    buffer = rng.choice((0, 5, 10, 15, 30, 45))
    busy = []
    for _ in range(rng.randrange(4, 10)):
        start = now + minutes(5 * rng.randrange(0, 4 * 24 * 12))
        busy.append(Busy(start, start + minutes(rng.choice((10, 30, 45, 60, 90))),
                         buffered=rng.random() < 0.7))
    found = slots(hours, tz, duration, now, busy=busy, notice=notice, horizon=horizon,
                  step=minutes(step), overrides=overrides, buffer=buffer)
    expected = _model_free_starts(hours, tz, duration, busy, now + notice, now + horizon,
                                  overrides=overrides, buffer=buffer, step=step)
    assert found == expected
    # The check before payment agrees with the list, start by start.
    free = set(found)
    args: dict[str, Any] = {
        "weekly_hours": hours, "tutor_tz": tz, "duration": minutes(duration), "busy": busy,
        "now": now, "notice": notice, "horizon": horizon, "step": minutes(step),
        "overrides": overrides, "buffer": minutes(buffer),
    }
    for candidate in [now + minutes(15 * k) for k in range(0, 4 * 96, 7)]:
        assert is_slot_free(start=candidate, **args) == (candidate in free), candidate


def test_the_random_tutors_are_not_vacuous() -> None:
    offered = 0
    for seed in range(60):
        rng = random.Random(seed)
        tz, around = rng.choice(DST_CASES)
        hours, overrides = _random_tutor(rng, around)
        offered += bool(overrides) and bool(slots(hours, tz, 30, around,
                                                  horizon=timedelta(days=3),
                                                  overrides=overrides))
    assert offered >= 20


# --- spans, and lessons outside the hours ---------------------------------------------------


def test_spans_of_epoch_microseconds_are_the_same_busy_times() -> None:
    hours, busy, now = _random_case(seed=5)
    args: dict[str, Any] = {"weekly_hours": hours, "tutor_tz": LONDON, "duration": minutes(60),
                            "now": now, "buffer": minutes(10)}
    mixed = [b.span() if i % 2 else b for i, b in enumerate(busy)]
    assert free_slots(busy=mixed, **args) == free_slots(busy=busy, **args)
    assert from_epoch_us(epoch_us(now)) == now
    assert busy[0].span() == (epoch_us(busy[0].start), epoch_us(busy[0].end), True)


def test_outside_hours_names_the_lessons_a_change_of_hours_left_out() -> None:
    hours = {"mon": [("09:00", "12:00")], "fri": [("22:00", "24:00")],
             "sat": [("00:00", "02:00")]}
    inside = Busy(utc(2025, 6, 2, 0), utc(2025, 6, 2, 1))  # Mon 09:00-10:00 Tokyo
    late = Busy(utc(2025, 6, 2, 2, 30), utc(2025, 6, 2, 3, 30))  # Mon 11:30-12:30
    overnight = Busy(utc(2025, 6, 6, 14, 30), utc(2025, 6, 6, 15, 30))  # Fri 23:30-00:30
    tuesday = Busy(utc(2025, 6, 3, 0), utc(2025, 6, 3, 1))
    lessons = [tuesday, overnight, late, inside]

    assert outside_hours(lessons, weekly_hours=hours, tutor_tz=TOKYO) == [late, tuesday]
    off = outside_hours(lessons, weekly_hours=hours, tutor_tz=TOKYO,
                        overrides={date(2025, 6, 7): [], date(2025, 6, 3): [("09:00", "10:00")]})
    assert off == [late, overnight]
    assert outside_hours([], weekly_hours=hours, tutor_tz=TOKYO) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"2025-06-02": []},
        {datetime(2025, 6, 2): []},
        {date(2025, 6, 2): [("9:00", "10:00")]},
        {date(2025, 6, 2): [("10:00", "09:00")]},
        {date(2025, 6, 2): "09:00-10:00"},
        [(date(2025, 6, 2), [])],
    ],
)
def test_bad_overrides_raise_value_error(overrides: Any) -> None:
    with pytest.raises(ValueError):
        _call(overrides=overrides)


def test_a_negative_buffer_raises_value_error() -> None:
    with pytest.raises(ValueError, match="buffer"):
        _call(buffer=minutes(-5))

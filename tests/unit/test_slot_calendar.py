"""The day/time picker's layout of free starts: days in the viewer's zone, whole weeks, labels.

One derivation for the wizard's step 3 and the reschedule dialog
(`tutor_app.scheduling.slot_calendar`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tutor_app.scheduling.availability import HORIZON
from tutor_app.scheduling.slot_calendar import calendar, day_counts, day_times

NY = "America/New_York"
# 03:00 UTC on Wednesday 2 Dec 2026 is still Tuesday 1 Dec, 22:00, in New York.
LATE = "2026-12-02T03:00:00Z"
STARTS = ["2026-12-01T15:00:00Z", "2026-12-01T16:00:00Z", LATE, "2026-12-03T15:00:00Z"]


def test_starts_are_counted_per_day_of_the_viewers_zone_in_order() -> None:
    assert day_counts(STARTS, "UTC") == {"2026-12-01": 2, "2026-12-02": 1, "2026-12-03": 1}
    assert day_counts(STARTS, NY) == {"2026-12-01": 3, "2026-12-03": 1}
    assert list(day_counts(reversed(STARTS), NY)) == ["2026-12-03", "2026-12-01"]  # as given
    assert day_counts(["not a time", ""], NY) == {}


def test_the_calendar_is_whole_weeks_from_today_to_the_horizon() -> None:
    now = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # "today" is 1 Dec in New York, 2 Dec in UTC

    cells = calendar(STARTS, NY, now=now)

    assert len(cells) % 7 == 0
    first, last = date.fromisoformat(cells[0]["key"]), date.fromisoformat(cells[-1]["key"])
    assert first == date(2026, 11, 30) and first.weekday() == 0  # Monday of today's week
    horizon = date(2026, 12, 1) + HORIZON  # Saturday 30 Jan 2027
    assert last == horizon + timedelta(days=1) and last.weekday() == 6  # its week's Sunday
    by_key = {c["key"]: c for c in cells}
    assert not by_key["2026-11-30"]["in_range"]  # before today
    assert by_key["2026-12-01"] == {"key": "2026-12-01", "label": "1", "month": "Dec",
                                   "enabled": True, "in_range": True, "count": 3}
    assert by_key[horizon.isoformat()]["in_range"]
    assert not by_key[last.isoformat()]["in_range"]  # past the horizon
    assert by_key["2026-12-02"]["in_range"] and not by_key["2026-12-02"]["enabled"]
    assert by_key["2026-12-03"]["count"] == 1
    assert cells[0]["month"] == "Nov"  # the first cell names its month, as does each 1st
    assert [c["month"] for c in cells if c["month"]] == ["Nov", "Dec", "Jan"]
    # The same instants seen from UTC: "today" is 2 Dec, and the late start sits on it.
    utc = {c["key"]: c for c in calendar(STARTS, "UTC", now=now)}
    assert not utc["2026-12-01"]["in_range"] and utc["2026-12-02"]["count"] == 1


def test_the_calendar_runs_to_the_tutors_own_horizon() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # Tuesday 1 Dec in New York

    week = calendar(STARTS, NY, now=now, horizon_days=7)
    in_range = [c["key"] for c in week if c["in_range"]]
    assert in_range[0] == "2026-12-01" and in_range[-1] == "2026-12-08"
    assert week[-1]["key"] == "2026-12-13"  # that week's Sunday

    # A start past the horizon the caller gave (it did not know the tutor's) still shows.
    late = "2027-03-03T15:00:00Z"  # 92 days on
    cells = {c["key"]: c for c in calendar([*STARTS, late], NY, now=now)}
    assert cells["2027-03-03"]["enabled"] and cells["2027-03-03"]["in_range"]


def test_a_days_times_are_wall_clock_labels_of_its_own_starts() -> None:
    assert day_times(STARTS, "2026-12-01", NY) == [
        {"start": "2026-12-01T15:00:00Z", "label": "10:00"},
        {"start": "2026-12-01T16:00:00Z", "label": "11:00"},
        {"start": LATE, "label": "22:00"},
    ]
    assert day_times(STARTS, "2026-12-02", NY) == []
    assert day_times(STARTS, "2026-12-02", "UTC") == [{"start": LATE, "label": "03:00"}]


def test_the_repeated_hour_of_a_fall_back_is_told_apart() -> None:
    # 1 Nov 2026 in New York: 01:30 happens twice, first in EDT (05:30Z), then in EST (06:30Z).
    starts = ["2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-01T15:00:00Z"]
    assert [o["label"] for o in day_times(starts, "2026-11-01", NY)] == [
        "01:30 EDT", "01:30 EST", "10:00",
    ]


def test_answers_follow_the_list_and_zone_asked_about_not_an_earlier_one() -> None:
    # The grouping is kept between calls (an event asks several times about one list): a
    # caller changing what it got back, or a list that changed since, must not leak through.
    counts = day_counts(STARTS, NY)
    counts["2026-12-01"] = 99
    times = day_times(STARTS, "2026-12-01", NY)
    times.clear()
    assert day_counts(STARTS, NY) == {"2026-12-01": 3, "2026-12-03": 1}
    assert len(day_times(STARTS, "2026-12-01", NY)) == 3

    fewer = [s for s in STARTS if s != LATE]
    assert day_counts(fewer, NY) == {"2026-12-01": 2, "2026-12-03": 1}
    assert day_counts(iter(STARTS), "UTC") == {"2026-12-01": 2, "2026-12-02": 1,
                                               "2026-12-03": 1}
    assert [o["start"] for o in day_times(fewer, "2026-12-01", NY)] == STARTS[:2]

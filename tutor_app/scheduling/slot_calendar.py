"""Free starts laid out for a day/time picker: calendar cells and one day's times.

The booking wizard (step 3) and the dashboard's reschedule dialog show the same picker; both
derive it here from their list of free starts (UTC ISO strings, as kept in state) and the
viewer's zone, so a day is grouped, and a time labelled, the same way in both. Plain Python:
the states call these from their cached vars.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TypedDict

from tutor_app.core import timefmt
from tutor_app.scheduling.availability import HORIZON


class CalendarCell(TypedDict):
    key: str  # "2026-12-01" in the viewer's zone
    label: str  # the day of the month, "1"
    month: str  # "Dec" on the first of a month and on the first cell, else ""
    enabled: bool  # has free starts
    in_range: bool  # between today and the horizon
    count: int  # free starts that day


class TimeOption(TypedDict):
    start: str  # UTC ISO, "2026-12-01T15:00:00Z"
    label: str  # "10:00" in the viewer's zone


def day_counts(starts: Iterable[str], tz: str) -> dict[str, int]:
    """Free starts per day (`YYYY-MM-DD` in `tz`), in the order of `starts` (sorted: by day)."""
    return {key: len(day) for key, day in _by_day(tuple(starts), tz).items()}


# A wizard event asks for the days of one slot list several times (the calendar, its day
# count, the chosen day's times, the handler's own checks); grouping them once per list and
# zone turns those scans into lookups. Lists are per tutor and length, so a few dozen cover
# every student a worker serves at once.
@lru_cache(maxsize=32)
def _by_day(starts: tuple[str, ...], tz: str) -> dict[str, list[datetime]]:
    """The parsable starts of `starts` grouped by their day in `tz`, both in given order."""
    days: dict[str, list[datetime]] = {}
    for iso in starts:
        parsed = timefmt.parse_utc_iso(iso)
        if parsed is not None:
            days.setdefault(timefmt.day_key(parsed, tz), []).append(parsed)
    return days


def calendar_cells(slot_days: Mapping[str, int], today: date,
                   horizon_days: int = HORIZON.days) -> list[CalendarCell]:
    """Whole weeks (Monday first) from today's week to the horizon's, for a 7-column grid.

    The horizon is the tutor's (`Tutor.horizon_days`); a day with free starts past it (a
    caller that did not know the tutor's horizon) stretches the grid to that day.
    """
    last = today + timedelta(days=horizon_days)
    for key in slot_days:
        last = max(last, date.fromisoformat(key))
    first = today - timedelta(days=today.weekday())
    end = last + timedelta(days=6 - last.weekday())
    cells: list[CalendarCell] = []
    day = first
    while day <= end:
        key = day.isoformat()
        count = slot_days.get(key, 0)
        cells.append(
            {
                "key": key,
                "label": str(day.day),
                "month": f"{day:%b}" if day.day == 1 or day == first else "",
                "enabled": count > 0,
                "in_range": today <= day <= last,
                "count": count,
            }
        )
        day += timedelta(days=1)
    return cells


def calendar(starts: Iterable[str], tz: str, *, now: datetime,
             horizon_days: int = HORIZON.days) -> list[CalendarCell]:
    """The picker's calendar: today (in `tz`) to the horizon, days with free starts enabled."""
    return calendar_cells(day_counts(starts, tz), timefmt.local(now, tz).date(), horizon_days)


def day_times(starts: Iterable[str], day: str, tz: str) -> list[TimeOption]:
    """The free starts of `day` (`YYYY-MM-DD` in `tz`) as wall-clock times in `tz`.

    In the repeated hour of a fall-back two starts read the same; those get the zone's
    abbreviation so the viewer can tell them apart.
    """
    picked = _by_day(tuple(starts), tz).get(day, [])
    labels = [timefmt.format_time(p, tz) for p in picked]
    options: list[TimeOption] = []
    for parsed, label in zip(picked, labels, strict=True):
        if labels.count(label) > 1:
            label = f"{label} {timefmt.local(parsed, tz):%Z}"
        options.append({"start": timefmt.to_utc_iso(parsed), "label": label})
    return options

"""When a tutor can be booked: weekly hours in the tutor's zone, minus what is already busy.

Everything crosses this module's boundary as UTC-aware datetimes; the tutor's zone is used only
to read the weekly hours, through `zoneinfo`, so daylight-saving changes are handled by the time
zone database rather than by fixed offsets. Inside, instants are whole microseconds since the
Unix epoch: integer arithmetic is exact, cheap, and has no notion of a wall clock to get wrong.

How wall-clock hours become real time:

- A window `("09:00", "17:00")` on a local date runs from the first instant that date's wall clock
  reads 09:00 or later to the first instant it reads 17:00 or later. On the spring-forward day a
  boundary that does not exist (02:30 in New York) therefore lands on the moment the clocks
  jump, and on the fall-back day an ambiguous boundary means its first occurrence. A window
  that straddles a change keeps its real length (00:00-03:00 is 3 h in spring, 4 h in autumn).
- Windows that touch or overlap in real time are one stretch of work. That is what lets a
  tutor write overnight hours as `"22:00"-"24:00"` plus the next day's `"00:00"-"02:00"` and
  still be booked for an hour at 23:30.
- A start must fall on the step grid of the tutor's own wall clock (:00 and :30 for the default
  step), counted from local midnight, so a tutor in Kathmandu (+05:45) is offered 09:00 local
  rather than 09:15. In the repeated hour of a fall-back both 01:30s are offered: they are
  different instants, so neither is a duplicate.
- A date override replaces the weekly windows of that one local date: an empty list is a day
  off, a list of windows is that date's hours (a holiday afternoon, extra hours). It changes
  nothing else: a window of the day before that runs to "24:00" still ends at that midnight,
  and still joins the overridden date's own "00:00" window if it has one.
- A lesson is `duration` of real time: its end is computed in UTC, never on the wall clock.
- Busy intervals are half-open: a lesson ending 10:00 does not block one starting 10:00.
- The buffer is free time the tutor keeps around every other lesson: a start must leave
  `buffer` before and after each busy interval marked `buffered` (bookings and held checkouts),
  so those intervals are widened by it on both sides. Intervals that are not buffered (events
  in the tutor's own calendar) block exactly their own span: the tutor sets that span in their
  calendar, and the setting is a break between lessons. The buffer never trims working hours:
  a lesson may still start as a window opens.

`free_slots` sorts and merges the busy intervals once and checks each candidate start with a
binary search, so 60 days against a thousand busy intervals costs about a millisecond. Busy
intervals come as `Busy` (datetimes, checked) or, from a caller that reads thousands of rows
from a database, as `Span` tuples of epoch microseconds, which skip two datetimes per row.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WeeklyHours = Mapping[str, Sequence[Sequence[str]]]
"""Working windows per weekday ("mon".."sun") as ("HH:MM", "HH:MM") in the tutor's zone.

The end may be "24:00" (midnight at the end of that day). Lists of two strings, as they come
out of JSON, are accepted too.
"""

Overrides = Mapping[date, Sequence[Sequence[str]]]
"""Windows for single local dates of the tutor's zone, replacing that weekday's hours.

An empty list is a day off. Same window syntax as `WeeklyHours`.
"""

Span = tuple[int, int, bool]
"""A busy interval as the generator works with it: `(start, end, buffered)`, start and end in
whole microseconds since the Unix epoch (`epoch_us`), half-open; see `Busy` for `buffered`."""

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SLOT_STEP = timedelta(minutes=30)
MIN_NOTICE = timedelta(hours=12)
HORIZON = timedelta(days=60)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DATE = date(1970, 1, 1)
_US = timedelta(microseconds=1)
_MINUTE_US = 60_000_000
_DAY_US = 86_400 * 1_000_000
# Every valid "HH:MM" (and "24:00") to its minutes since midnight: one lookup both checks and
# reads a window boundary, for the weekly hours and every override on each call.
_MINUTES_OF: dict[str, int] = {
    **{f"{h:02d}:{m:02d}": h * 60 + m for h in range(24) for m in range(60)}, "24:00": 1440,
}


@dataclass(frozen=True)
class Busy:
    """A span in which the tutor cannot teach (a booking, a held checkout, a calendar event).

    UTC-aware datetimes, half-open `[start, end)`. Checked on construction so that a naive
    datetime read from a database without time zones fails here, loudly, instead of being
    silently compared as if it were UTC or local time. `buffered`: the tutor's buffer applies
    around it (a lesson or a hold); False for an event of the tutor's own calendar. It takes
    no part in equality, so a calendar event that mirrors a booking is the same span.
    """

    start: datetime
    end: datetime
    buffered: bool = field(default=True, compare=False)

    def __post_init__(self) -> None:
        _require_aware(self.start, "Busy.start")
        _require_aware(self.end, "Busy.end")
        if self.end < self.start:
            raise ValueError(f"Busy interval ends before it starts: {self.start} > {self.end}")

    def span(self) -> Span:
        """This interval as a `Span`."""
        return (self.start - _EPOCH) // _US, (self.end - _EPOCH) // _US, self.buffered


def epoch_us(value: datetime) -> int:
    """Whole microseconds since the Unix epoch of an aware datetime (a `Span`'s unit)."""
    return _to_us(value, "instant")


def from_epoch_us(us: int) -> datetime:
    """The UTC-aware datetime `us` microseconds after the Unix epoch."""
    return _from_us(us)


def free_slots(
    *,
    weekly_hours: WeeklyHours,
    tutor_tz: str,
    duration: timedelta,
    busy: Iterable[Busy | Span],
    now: datetime,
    notice: timedelta = MIN_NOTICE,
    horizon: timedelta = HORIZON,
    step: timedelta = SLOT_STEP,
    overrides: Overrides | None = None,
    buffer: timedelta = timedelta(0),
) -> list[datetime]:
    """Every bookable start for a lesson of `duration`, sorted, as UTC-aware datetimes.

    A start `s` is bookable when `[s, s + duration)` lies inside the tutor's working hours
    (the weekly ones, or a date's override), `now + notice <= s < now + horizon`, `s` is on the
    step grid of the tutor's wall clock, and the lesson overlaps no busy interval (widened by
    `buffer` when it is buffered). The notice gives the tutor time to prepare; the horizon
    keeps the picker, and this computation, bounded.
    """
    now_us = _to_us(now, "now")
    lo, hi = _bounds(now_us, notice, horizon)
    return [
        _from_us(s)
        for s in _free_starts(
            weekly_hours=weekly_hours,
            tutor_tz=tutor_tz,
            duration=duration,
            busy=busy,
            lo=lo,
            hi=hi,
            step=step,
            overrides=overrides,
            buffer=buffer,
        )
    ]


def is_slot_free(
    *,
    start: datetime,
    weekly_hours: WeeklyHours,
    tutor_tz: str,
    duration: timedelta,
    busy: Iterable[Busy | Span],
    now: datetime,
    notice: timedelta = MIN_NOTICE,
    horizon: timedelta = HORIZON,
    step: timedelta = SLOT_STEP,
    overrides: Overrides | None = None,
    buffer: timedelta = timedelta(0),
) -> bool:
    """Whether `start` is one of the starts `free_slots` would offer with the same arguments.

    Called right before checkout and on reschedule, when the picker's list may be stale. It
    runs the same generator as `free_slots`, narrowed to this one instant, so the two cannot
    disagree.
    """
    start_us = _to_us(start, "start")
    now_us = _to_us(now, "now")
    lo, hi = _bounds(now_us, notice, horizon)
    if not lo <= start_us < hi:
        # Still validate the rest, so a bad argument is not hidden by an early False.
        _validate(weekly_hours, tutor_tz, duration, step, overrides, buffer)
        return False
    found = _free_starts(
        weekly_hours=weekly_hours,
        tutor_tz=tutor_tz,
        duration=duration,
        busy=busy,
        lo=start_us,
        hi=start_us + 1,
        step=step,
        overrides=overrides,
        buffer=buffer,
    )
    return start_us in found


def nearest_free(
    *,
    start: datetime,
    weekly_hours: WeeklyHours,
    tutor_tz: str,
    duration: timedelta,
    busy: Iterable[Busy | Span],
    now: datetime,
    limit: int = 3,
    notice: timedelta = MIN_NOTICE,
    horizon: timedelta = HORIZON,
    step: timedelta = SLOT_STEP,
    overrides: Overrides | None = None,
    buffer: timedelta = timedelta(0),
) -> list[datetime]:
    """The `limit` free starts closest in time to `start`, closest first (earlier on a tie).

    For "that slot was just taken, here are alternatives": the student wanted `start`, so the
    useful offers are the ones nearest to it on either side. `start` itself is included when
    it is free.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a non-negative integer, not {limit!r}")
    start_us = _to_us(start, "start")
    now_us = _to_us(now, "now")
    lo, hi = _bounds(now_us, notice, horizon)
    slots = _free_starts(
        weekly_hours=weekly_hours,
        tutor_tz=tutor_tz,
        duration=duration,
        busy=busy,
        lo=lo,
        hi=hi,
        step=step,
        overrides=overrides,
        buffer=buffer,
    )
    # Walk outwards from where `start` would sit: the answer is a contiguous run of the list.
    right = bisect_right(slots, start_us - 1)  # first slot >= start
    left = right - 1
    picked: list[int] = []
    while len(picked) < limit and (left >= 0 or right < len(slots)):
        take_left = right >= len(slots) or (
            left >= 0 and start_us - slots[left] <= slots[right] - start_us
        )
        if take_left:
            picked.append(slots[left])
            left -= 1
        else:
            picked.append(slots[right])
            right += 1
    return [_from_us(s) for s in picked]


def outside_hours(
    lessons: Iterable[Busy],
    *,
    weekly_hours: WeeklyHours,
    tutor_tz: str,
    overrides: Overrides | None = None,
) -> list[Busy]:
    """The lessons that do not lie wholly inside working hours (weekly ones or overrides).

    For telling a tutor which upcoming lessons a change of hours left outside them (the lessons
    themselves never move). Only hours count here: not the grid, notice, horizon or buffer.
    """
    windows_by_day = _parse_hours(weekly_hours)
    zone = _zone(tutor_tz)
    by_date = _parse_overrides(overrides)
    spans = sorted(((b.start - _EPOCH) // _US, (b.end - _EPOCH) // _US, b) for b in lessons)
    if not spans:
        return []
    lo = spans[0][0]
    hi = max(end for _, end, _ in spans)
    stretches = _working_stretches(windows_by_day, by_date, zone, lo, hi + 1)
    stretch_starts = [s for s, _ in stretches]
    outside: list[Busy] = []
    for start, end, lesson in spans:
        i = bisect_right(stretch_starts, start) - 1
        if i < 0 or stretches[i][1] < end:
            outside.append(lesson)
    return outside


def group_by_local_day(slots: Iterable[datetime], tz: str) -> dict[date, list[datetime]]:
    """Slots keyed by their date in the viewer's zone `tz`, keeping the given order.

    The picker shows days as the student lives them: an 01:00 UTC slot belongs to the previous
    evening in New York. The slots themselves stay UTC; only the grouping key is local.
    """
    zone = _zone(tz)
    grouped: dict[date, list[datetime]] = {}
    for slot in slots:
        _require_aware(slot, "slot")
        grouped.setdefault(slot.astimezone(zone).date(), []).append(slot)
    return grouped


# --- the generator ------------------------------------------------------------------------


def _free_starts(
    *,
    weekly_hours: WeeklyHours,
    tutor_tz: str,
    duration: timedelta,
    busy: Iterable[Busy | Span],
    lo: int,
    hi: int,
    step: timedelta,
    overrides: Overrides | None,
    buffer: timedelta,
) -> list[int]:
    """Free starts `s` (epoch microseconds) with `lo <= s < hi`, sorted and unique."""
    windows_by_day, by_date, zone, dur, step_us, buffer_us = _validate(
        weekly_hours, tutor_tz, duration, step, overrides, buffer
    )
    if lo >= hi:
        return []
    busy_starts, busy_ends = _merged_busy(busy, buffer_us)
    n_busy = len(busy_starts)
    out: list[int] = []
    for w_start, w_end in _working_stretches(windows_by_day, by_date, zone, lo, hi + dur):
        last = min(hi - 1, w_end - dur)  # latest start allowed by window and horizon
        for seg_start, seg_end, offset in _constant_offset_segments(zone, w_start, w_end):
            first = max(seg_start, lo)
            # First instant >= first whose wall clock (utc + offset) is a multiple of the step.
            s = -((-(first + offset)) // step_us) * step_us - offset
            stop = min(seg_end - 1, last)
            if s > stop:
                continue
            i = bisect_right(busy_ends, s)  # first busy interval ending after s
            while s <= stop:
                while i < n_busy and busy_ends[i] <= s:
                    i += 1
                if i < n_busy and busy_starts[i] < s + dur:
                    # Overlap: jump to the first grid start at or after this busy end.
                    s += -((s - busy_ends[i]) // step_us) * step_us
                    continue
                out.append(s)
                s += step_us
    # Stretches are disjoint and sorted, and segments within one are too, so `out` already is.
    return out


def _validate(
    weekly_hours: WeeklyHours,
    tutor_tz: str,
    duration: timedelta,
    step: timedelta,
    overrides: Overrides | None,
    buffer: timedelta,
) -> tuple[list[list[tuple[int, int]]], dict[date, list[tuple[int, int]]], ZoneInfo, int, int,
           int]:
    """Check the arguments once and turn them into integers the generator can use."""
    zone = _zone(tutor_tz)
    if not isinstance(duration, timedelta) or duration <= timedelta(0):
        raise ValueError(f"duration must be a positive timedelta, not {duration!r}")
    if not isinstance(step, timedelta) or step <= timedelta(0) or _DAY_US % (step // _US):
        raise ValueError(f"step must be a positive timedelta that divides a day, not {step!r}")
    if not isinstance(buffer, timedelta) or buffer < timedelta(0):
        raise ValueError(f"buffer must be a non-negative timedelta, not {buffer!r}")
    return (_parse_hours(weekly_hours), _parse_overrides(overrides), zone, duration // _US,
            step // _US, buffer // _US)


def _parse_hours(weekly_hours: WeeklyHours) -> list[list[tuple[int, int]]]:
    """Minutes since local midnight per weekday (Monday first); end may be 1440."""
    if not isinstance(weekly_hours, Mapping):
        raise ValueError("weekly_hours must map day names to lists of (start, end) windows")
    unknown = set(weekly_hours) - set(DAYS)
    if unknown:
        raise ValueError(f"unknown day(s) in weekly_hours: {sorted(map(str, unknown))}")
    return [_parse_windows(weekly_hours.get(day, ()), f"weekly_hours[{day!r}]") for day in DAYS]


def _parse_overrides(overrides: Overrides | None) -> dict[date, list[tuple[int, int]]]:
    """Minutes since local midnight per overridden date; an empty list is a day off."""
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise ValueError("overrides must map dates to lists of (start, end) windows")
    parsed: dict[date, list[tuple[int, int]]] = {}
    for day, windows in overrides.items():
        if not isinstance(day, date) or isinstance(day, datetime):
            raise ValueError(f"override keys must be dates, not {day!r}")
        parsed[day] = _parse_windows(windows, f"overrides[{day.isoformat()}]")
    return parsed


def _parse_windows(windows: object, where: str) -> list[tuple[int, int]]:
    if isinstance(windows, str | bytes) or not isinstance(windows, Sequence):
        raise ValueError(f"{where} must be a list of (start, end) windows")
    parsed: list[tuple[int, int]] = []
    for window in windows:
        if (
            isinstance(window, str | bytes)
            or not isinstance(window, Sequence)
            or len(window) != 2
            or not all(isinstance(t, str) and t in _MINUTES_OF for t in window)
        ):
            raise ValueError(f"{where} has a malformed window {window!r}")
        start, end = _MINUTES_OF[window[0]], _MINUTES_OF[window[1]]
        if not start < end:
            raise ValueError(f"{where} window {window!r} must end after start")
        parsed.append((start, end))
    return parsed


def _working_stretches(
    windows_by_day: list[list[tuple[int, int]]],
    by_date: Mapping[date, list[tuple[int, int]]],
    zone: ZoneInfo,
    lo: int,
    hi: int,
) -> list[tuple[int, int]]:
    """Working time as sorted, disjoint `[start, end)` real intervals that reach `[lo, hi)`.

    Local dates one either side of the range are read too: a window belongs to the date it is
    written on, and near midnight or a DST change that date can differ from the UTC one. A
    date in `by_date` takes its windows from there instead of from its weekday.
    """
    first_day = _local_date(lo, zone) - timedelta(days=1)
    last_day = _local_date(hi, zone) + timedelta(days=1)
    spans: list[tuple[int, int]] = []
    day = first_day
    midnight = _wall_to_us(day, 0, zone)
    while day <= last_day:
        next_day = day + timedelta(days=1)
        next_midnight = _wall_to_us(next_day, 0, zone)
        # Most days have one offset throughout; then every wall time is midnight + minutes, and
        # only days with a change pay for a zone lookup per window boundary.
        uniform = _naive_us(day) - midnight == _naive_us(next_day) - next_midnight
        windows = by_date.get(day)
        if windows is None:
            windows = windows_by_day[day.weekday()]
        for start_min, end_min in windows:
            if uniform:
                start = midnight + start_min * _MINUTE_US
                end = midnight + end_min * _MINUTE_US
            else:
                start = _wall_to_us(day, start_min, zone)
                end = _wall_to_us(day, end_min, zone)
            if start < end:  # a window wholly inside a spring-forward gap is empty
                spans.append((start, end))
        day, midnight = next_day, next_midnight
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return [(s, e) for s, e in merged if e > lo and s < hi]


def _constant_offset_segments(
    zone: ZoneInfo, start: int, end: int
) -> Iterator[tuple[int, int, int]]:
    """Split `[start, end)` where the zone's UTC offset changes; yield (start, end, offset).

    Within one segment the wall-clock grid is a plain arithmetic progression in UTC. Real zones
    change offset at most once in the few hours of a working window; the recursion handles more.
    """
    offset_start = _offset_us(start, zone)
    offset_end = _offset_us(end - 1, zone)
    if offset_start == offset_end:
        yield start, end, offset_start
        return
    change = _first_instant_with_offset(zone, start, end - 1, offset_end)
    yield start, change, offset_start
    yield from _constant_offset_segments(zone, change, end)


def _wall_to_us(day: date, minute: int, zone: ZoneInfo) -> int:
    """The first instant at which the wall clock on `day` reads `minute` past midnight or later.

    For an ordinary time that is simply its instant; for an ambiguous one (fall-back) it is
    the first occurrence, which is what `fold=0` gives; for one skipped by a spring-forward it
    is the moment of the jump, found by bisection between the two readings of the gap.
    """
    naive = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
    first = _to_us(naive.replace(tzinfo=zone), "wall time")
    if _local_naive(first, zone) == naive:
        return first
    # Nonexistent: fold=0 reads it with the offset from before the jump, which lands after the
    # gap; fold=1 uses the offset from after the jump, which lands before it.
    early = _to_us(naive.replace(tzinfo=zone, fold=1), "wall time")
    late = first
    if early > late:
        early, late = late, early
    return _first_instant_with_offset(zone, early, late, _offset_us(late, zone))


def _first_instant_with_offset(zone: ZoneInfo, lo: int, hi: int, offset: int) -> int:
    """Smallest t in `(lo, hi]` whose UTC offset is `offset`, given one change in between.

    A bisection over microseconds: under 40 lookups even for a skipped day, and only the rare
    window that contains a change ever needs it.
    """
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset_us(mid, zone) == offset:
            hi = mid
        else:
            lo = mid
    return hi


def _merged_busy(busy: Iterable[Busy | Span], buffer_us: int) -> tuple[list[int], list[int]]:
    """Busy intervals widened by the buffer where it applies, sorted and merged, as parallel
    start/end lists with both ascending.

    Merging makes the ends ascending too, so one binary search on them finds the only interval
    that can overlap a candidate.
    """
    try:
        raw = [b.span() if isinstance(b, Busy) else b for b in busy]
    except TypeError as exc:  # a naive datetime smuggled past Busy's own check
        raise ValueError(f"busy intervals must hold UTC-aware datetimes: {exc}") from exc
    if buffer_us:
        spans = sorted([(s - buffer_us, e + buffer_us) if buffered and e > s else (s, e)
                        for s, e, buffered in raw])
    else:
        spans = sorted([(s, e) for s, e, _ in raw])
    starts: list[int] = []
    ends: list[int] = []
    for start, end in spans:
        if end <= start:
            continue  # empty: blocks nothing under half-open overlap (it was not widened)
        if ends and start <= ends[-1]:
            if end > ends[-1]:
                ends[-1] = end
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


# --- small conversions ----------------------------------------------------------------------


def _bounds(now_us: int, notice: timedelta, horizon: timedelta) -> tuple[int, int]:
    if not isinstance(notice, timedelta) or notice < timedelta(0):
        raise ValueError(f"notice must be a non-negative timedelta, not {notice!r}")
    if not isinstance(horizon, timedelta) or horizon < timedelta(0):
        raise ValueError(f"horizon must be a non-negative timedelta, not {horizon!r}")
    return now_us + notice // _US, now_us + horizon // _US


def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise ValueError(f"time zone must be an IANA name like 'Europe/Paris', not {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _require_aware(value: datetime, what: str) -> None:
    if not isinstance(value, datetime):
        raise ValueError(f"{what} must be a datetime, not {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {value.isoformat()}")


def _to_us(value: datetime, what: str) -> int:
    _require_aware(value, what)
    return (value - _EPOCH) // _US


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _offset_us(us: int, zone: ZoneInfo) -> int:
    offset = _from_us(us).astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always answers for an aware instant
    return offset // _US


def _local_naive(us: int, zone: ZoneInfo) -> datetime:
    return _from_us(us).astimezone(zone).replace(tzinfo=None)


def _naive_us(day: date) -> int:
    """Microseconds from 1970-01-01 to local midnight of `day`, as if the zone were UTC."""
    return (day - _EPOCH_DATE).days * _DAY_US


def _local_date(us: int, zone: ZoneInfo) -> date:
    return _from_us(us).astimezone(zone).date()

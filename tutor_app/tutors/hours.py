"""A tutor's hours as they edit them on `/tutor/availability`: the week, dates that differ,
and the booking rules (buffer, notice, horizon).

Everything is in the tutor's own zone (`Tutor.timezone`): weekly ranges are wall-clock
"HH:MM" pairs, and a date override's `on_date` is a date on the tutor's calendar. An override
replaces that date's weekly hours: no ranges is a day off, time off over several days is one
row per date, and extra hours on a date are the weekly ranges plus the extra ones (saved as
one list, so the engine reads one rule: the override wins).

The rules, each with a message shown beside its field; a save with any wrong field changes
nothing (`HoursInvalid`):

- a range is two "HH:MM" times on the quarter hour, ending after it starts ("24:00" is the
  end of the day); ranges of one day (or date) may touch but not overlap; at most six a day;
- buffer, minimum notice and horizon are one of their choices (`BUFFER_CHOICES`, ...);
- an override's dates run from the tutor's today to a year ahead, at most 60 days at once,
  with a note of at most 120 characters.

Saving never touches a lesson: `lessons_outside_hours` lists the upcoming scheduled lessons
the hours no longer cover, so the tutor can decide what to do with each. No Reflex here:
`state/tutor_availability.py` calls these with plain values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tutor_app.catalog import tutor_catalog
from tutor_app.core import clock, timefmt
from tutor_app.core.models import (
    Booking,
    BookingStatus,
    Tutor,
    TutorDateOverride,
    User,
    WeeklyHours,
)
from tutor_app.core.timefmt import EN_DASH
from tutor_app.scheduling import availability
from tutor_app.tutors.profile import ProfileGone

DAYS: tuple[str, ...] = availability.DAYS
DAY_NAMES: dict[str, str] = {
    "mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
    "fri": "Friday", "sat": "Saturday", "sun": "Sunday",
}
WEEKDAYS: tuple[str, ...] = DAYS[:5]
TIME_STEP_MINUTES = 15
# Every time a range may start or end at: "00:00", "00:15", ... "24:00".
TIME_CHOICES: tuple[str, ...] = tuple(
    f"{m // 60:02d}:{m % 60:02d}" for m in range(0, 24 * 60 + 1, TIME_STEP_MINUTES)
)
MAX_RANGES = 6
BUFFER_CHOICES: tuple[int, ...] = (0, 5, 10, 15, 30)  # minutes between two lessons
NOTICE_CHOICES: tuple[int, ...] = (60, 120, 240, 480, 720, 1440, 2880, 4320, 10080)  # minutes
HORIZON_CHOICES: tuple[int, ...] = (7, 14, 30, 60, 90, 120, 180)  # days
MAX_NOTE_LENGTH = 120  # the column's length
OVERRIDE_MAX_AHEAD_DAYS = 365
MAX_TIME_OFF_DAYS = 60
_HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d|24:00")

# The page's fields a message can belong to (and each weekday, by its key "mon"...).
WEEK_FIELD = "week"
BUFFER_FIELD = "buffer"
NOTICE_FIELD = "notice"
HORIZON_FIELD = "horizon"
OVERRIDE_DATE_FIELD = "override_date"
OVERRIDE_END_FIELD = "override_end"
OVERRIDE_HOURS_FIELD = "override_hours"
OVERRIDE_NOTE_FIELD = "override_note"

BAD_TIME = "Use times like 09:00 (hours and minutes)"
OFF_GRID = "Use times on the quarter hour (:00, :15, :30 or :45)"
INVERTED = "A range must end after it starts ({start}" + EN_DASH + "{end})"
OVERLAP = "These ranges overlap: {first} and {second}"
TOO_MANY_RANGES = f"At most {MAX_RANGES} ranges a day"
UNKNOWN_DAY = "Unknown weekday in the hours"
UNKNOWN_BUFFER = "Choose a buffer from the list"
UNKNOWN_NOTICE = "Choose a minimum notice from the list"
UNKNOWN_HORIZON = "Choose how far ahead students may book from the list"
DATE_MISSING = "Choose a date"
DATE_PAST = "Choose today or a later date"
DATE_TOO_FAR = "Choose a date within a year from today"
END_BEFORE_START = "The last day must be on or after the first"
TIME_OFF_TOO_LONG = f"Time off can cover at most {MAX_TIME_OFF_DAYS} days at once"
HOURS_MISSING = "Add at least one range (or add a day off instead)"
NOTE_TOO_LONG = f"Keep the note to {MAX_NOTE_LENGTH} characters"
HOURS_SAVED = "Hours saved. Students see the new times now."
TIME_OFF_SAVED = "Time off saved."
CUSTOM_HOURS_SAVED = "Hours for that date saved."
OVERRIDE_REMOVED = "Removed: your weekly hours apply on that date again."
OUTSIDE_NOTICE = (
    "These lessons are outside your new hours; they stay booked \u2014 contact the student "
    "or cancel from Lessons."
)


class HoursInvalid(ValueError):
    """One or more fields are wrong; `errors` maps each field to its message. Nothing saved."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class RangesInvalid(ValueError):
    """One day's (or date's) ranges are wrong; str() is the message."""


@dataclass(frozen=True)
class OutsideLesson:
    """An upcoming scheduled lesson that the tutor's hours no longer cover."""

    booking_id: str
    start: datetime
    end: datetime
    student: str  # "Ann Lee (ann@example.com)"


# -- ranges ----------------------------------------------------------------------------------


def minutes_of(hhmm: str) -> int:
    """Minutes since midnight of a checked "HH:MM" ("24:00" is 1440)."""
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


def time_of(minutes: int) -> str:
    """ "HH:MM" of minutes since midnight (1440 is "24:00")."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def check_ranges(ranges: Sequence[Sequence[str]]) -> list[list[str]]:
    """One day's ranges, checked and sorted by start; RangesInvalid names the first problem."""
    parsed: list[tuple[int, int]] = []
    for pair in ranges:
        if isinstance(pair, str | bytes) or len(pair) != 2:
            raise RangesInvalid(BAD_TIME)
        start, end = (str(t).strip() for t in pair)
        if not (_HHMM.fullmatch(start) and _HHMM.fullmatch(end)):
            raise RangesInvalid(BAD_TIME)
        first, last = minutes_of(start), minutes_of(end)
        if first % TIME_STEP_MINUTES or last % TIME_STEP_MINUTES:
            raise RangesInvalid(OFF_GRID)
        if first >= last:
            raise RangesInvalid(INVERTED.format(start=start, end=end))
        parsed.append((first, last))
    parsed.sort()
    for (a_start, a_end), (b_start, b_end) in pairwise(parsed):
        if b_start < a_end:
            raise RangesInvalid(OVERLAP.format(first=_label(a_start, a_end),
                                               second=_label(b_start, b_end)))
    if len(parsed) > MAX_RANGES:
        raise RangesInvalid(TOO_MANY_RANGES)
    return [[time_of(a), time_of(b)] for a, b in parsed]


def _label(start: int, end: int) -> str:
    return f"{time_of(start)}{EN_DASH}{time_of(end)}"


def ranges_label(ranges: Sequence[Sequence[str]]) -> str:
    """ "09:00-12:00, 14:00-18:00" (with en dashes); "" for none."""
    return ", ".join(f"{start}{EN_DASH}{end}" for start, end in ranges)


def check_week(week: Mapping[str, Sequence[Sequence[str]]]) -> tuple[WeeklyHours, dict[str, str]]:
    """The week checked day by day: (the hours to store, one message per wrong day)."""
    errors: dict[str, str] = {}
    if set(week) - set(DAYS):
        errors[WEEK_FIELD] = UNKNOWN_DAY
    clean: WeeklyHours = {}
    for day in DAYS:
        try:
            ranges = check_ranges(week.get(day) or [])
        except RangesInvalid as exc:
            errors[day] = str(exc)
            continue
        if ranges:
            clean[day] = ranges
    return clean, errors


def check_rules(*, buffer_minutes: int, min_notice_minutes: int, horizon_days: int
                ) -> dict[str, str]:
    """One message per booking rule that is not one of its choices."""
    errors: dict[str, str] = {}
    if buffer_minutes not in BUFFER_CHOICES:
        errors[BUFFER_FIELD] = UNKNOWN_BUFFER
    if min_notice_minutes not in NOTICE_CHOICES:
        errors[NOTICE_FIELD] = UNKNOWN_NOTICE
    if horizon_days not in HORIZON_CHOICES:
        errors[HORIZON_FIELD] = UNKNOWN_HORIZON
    return errors


def _tutor(db: Session, tutor_id: str) -> Tutor:
    tutor = tutor_catalog.get_tutor(db, tutor_id, include_inactive=True)
    if tutor is None:
        raise ProfileGone(tutor_id)
    return tutor


def save_hours(
    db: Session,
    *,
    tutor_id: str,
    week: Mapping[str, Sequence[Sequence[str]]],
    buffer_minutes: int,
    min_notice_minutes: int,
    horizon_days: int,
) -> Tutor:
    """Store the weekly hours and the booking rules when all are right; HoursInvalid (nothing
    changed) when any is not. Lessons already booked are left as they are. Caller commits."""
    tutor = _tutor(db, tutor_id)
    hours, errors = check_week(week)
    errors.update(check_rules(buffer_minutes=buffer_minutes,
                              min_notice_minutes=min_notice_minutes, horizon_days=horizon_days))
    if errors:
        raise HoursInvalid(errors)
    tutor.weekly_hours = hours
    tutor.buffer_minutes = buffer_minutes
    tutor.min_notice_minutes = min_notice_minutes
    tutor.horizon_days = horizon_days
    tutor.updated_at = clock.now()
    db.add(tutor)
    db.flush()
    return tutor


# -- date overrides --------------------------------------------------------------------------


def local_today(tutor: Tutor, now: datetime | None = None) -> date:
    """Today on the tutor's calendar (their zone)."""
    return timefmt.local(now or clock.now(), tutor.timezone).date()


def _parse_date(value: str | date | None) -> date | None:
    if isinstance(value, date):
        return value
    return timefmt.parse_day_key(value.strip() if isinstance(value, str) else None)


def _check_dates(
    first_raw: str | date | None, last_raw: str | date | None, today: date,
    errors: dict[str, str],
) -> list[date]:
    """The dates from `first_raw` to `last_raw` (just the first when `last_raw` is empty),
    with one message per wrong field in `errors`."""
    first = _parse_date(first_raw)
    if first is None:
        errors[OVERRIDE_DATE_FIELD] = DATE_MISSING
        return []
    if first < today:
        errors[OVERRIDE_DATE_FIELD] = DATE_PAST
    elif first > today + timedelta(days=OVERRIDE_MAX_AHEAD_DAYS):
        errors[OVERRIDE_DATE_FIELD] = DATE_TOO_FAR
    if last_raw is None or last_raw == "":
        return [first]
    last = _parse_date(last_raw)
    if last is None:
        errors[OVERRIDE_END_FIELD] = DATE_MISSING
        return []
    if last < first:
        errors[OVERRIDE_END_FIELD] = END_BEFORE_START
    elif (last - first).days + 1 > MAX_TIME_OFF_DAYS:
        errors[OVERRIDE_END_FIELD] = TIME_OFF_TOO_LONG
    elif last > today + timedelta(days=OVERRIDE_MAX_AHEAD_DAYS):
        errors[OVERRIDE_END_FIELD] = DATE_TOO_FAR
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _check_note(note: str, errors: dict[str, str]) -> str:
    clean = " ".join(str(note).split())
    if len(clean) > MAX_NOTE_LENGTH:
        errors[OVERRIDE_NOTE_FIELD] = NOTE_TOO_LONG
    return clean


def add_time_off(
    db: Session,
    *,
    tutor_id: str,
    first: str | date | None,
    last: str | date | None = None,
    note: str = "",
    now: datetime | None = None,
) -> list[TutorDateOverride]:
    """No hours from `first` to `last` (one date when `last` is empty): a day off, or a holiday
    as one override per date. Replaces what those dates had. HoursInvalid when a date or the
    note is wrong. Caller commits."""
    tutor = _tutor(db, tutor_id)
    errors: dict[str, str] = {}
    dates = _check_dates(first, last, local_today(tutor, now), errors)
    clean_note = _check_note(note, errors)
    if errors:
        raise HoursInvalid(errors)
    return _put_overrides(db, tutor_id=tutor.id, dates=dates, windows=[], note=clean_note)


def add_custom_hours(
    db: Session,
    *,
    tutor_id: str,
    on_date: str | date | None,
    ranges: Sequence[Sequence[str]],
    note: str = "",
    keep_weekly: bool = False,
    now: datetime | None = None,
) -> TutorDateOverride:
    """Hours on one date that differ from the week: `ranges` instead of that weekday's, or with
    `keep_weekly` the weekday's ranges plus these (which must not overlap them). Replaces what
    that date had. HoursInvalid when the date, the ranges or the note is wrong. Caller commits.
    """
    tutor = _tutor(db, tutor_id)
    errors: dict[str, str] = {}
    dates = _check_dates(on_date, None, local_today(tutor, now), errors)
    clean_note = _check_note(note, errors)
    windows: list[list[str]] = []
    try:
        extra = check_ranges(ranges)
        if not extra:
            raise RangesInvalid(HOURS_MISSING)
        weekly = tutor.weekly_hours.get(DAYS[dates[0].weekday()], []) if dates else []
        windows = check_ranges([*weekly, *extra]) if keep_weekly else extra
    except RangesInvalid as exc:
        errors[OVERRIDE_HOURS_FIELD] = str(exc)
    if errors:
        raise HoursInvalid(errors)
    return _put_overrides(db, tutor_id=tutor.id, dates=dates, windows=windows,
                          note=clean_note)[0]


def _put_overrides(
    db: Session, *, tutor_id: str, dates: list[date], windows: list[list[str]], note: str
) -> list[TutorDateOverride]:
    """One override per date, updating the rows that exist (an UPDATE, never a delete and an
    insert, which one flush would run in the wrong order for the unique date)."""
    existing = {
        row.on_date: row
        for row in db.exec(
            select(TutorDateOverride).where(
                col(TutorDateOverride.tutor_id) == tutor_id,
                col(TutorDateOverride.on_date).in_(dates),
            )
        ).all()
    }
    rows: list[TutorDateOverride] = []
    for day in dates:
        row = existing.get(day) or TutorDateOverride(tutor_id=tutor_id, on_date=day)
        row.windows = [list(w) for w in windows]
        row.note = note
        db.add(row)
        rows.append(row)
    db.flush()
    return rows


def remove_override(db: Session, *, tutor_id: str, override_id: str) -> bool:
    """Delete one of the tutor's overrides (someone else's id removes nothing); True when one
    was removed. Caller commits."""
    result = db.execute(
        sa.delete(TutorDateOverride).where(
            col(TutorDateOverride.id) == override_id,
            col(TutorDateOverride.tutor_id) == tutor_id,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def upcoming_overrides(
    db: Session, *, tutor: Tutor, now: datetime | None = None
) -> list[TutorDateOverride]:
    """The tutor's overrides from their today on, by date."""
    return list(
        db.exec(
            select(TutorDateOverride)
            .where(
                col(TutorDateOverride.tutor_id) == tutor.id,
                col(TutorDateOverride.on_date) >= local_today(tutor, now),
            )
            .order_by(col(TutorDateOverride.on_date))
        ).all()
    )


# -- lessons the hours no longer cover -------------------------------------------------------


def lessons_outside_hours(
    db: Session, *, tutor: Tutor, now: datetime | None = None, limit: int = 200
) -> list[OutsideLesson]:
    """Upcoming scheduled lessons that do not lie wholly inside the tutor's working time (the
    week, with the date overrides), soonest first.

    Working time is read exactly as the booking engine reads it (`availability`: wall-clock
    ranges in the tutor's zone, ranges that touch across midnight are one stretch, daylight
    saving handled by the zone database); notice, horizon and buffer are booking rules, not
    hours, so they do not count here.
    """
    now = now or clock.now()
    rows = db.exec(
        select(Booking, User)
        .join(User, col(User.id) == col(Booking.user_id), isouter=True)
        .where(
            col(Booking.tutor_id) == tutor.id,
            col(Booking.status) == BookingStatus.SCHEDULED,
            col(Booking.start_time) > now,
        )
        .order_by(col(Booking.start_time))
        .limit(limit)
    ).all()
    if not rows:
        return []
    first_day = timefmt.local(rows[0][0].start_time, tutor.timezone).date() - timedelta(days=1)
    last_day = timefmt.local(rows[-1][0].end_time, tutor.timezone).date() + timedelta(days=2)
    overrides = {
        row.on_date: row.windows
        for row in db.exec(
            select(TutorDateOverride).where(
                col(TutorDateOverride.tutor_id) == tutor.id,
                col(TutorDateOverride.on_date) >= first_day,
                col(TutorDateOverride.on_date) <= last_day,
            )
        ).all()
    }
    by_span = {(booking.start_time, booking.end_time): (booking, user) for booking, user in rows}
    outside = {
        (lesson.start, lesson.end)
        for lesson in availability.outside_hours(
            [availability.Busy(start, end) for start, end in by_span],
            weekly_hours=tutor.weekly_hours, tutor_tz=tutor.timezone, overrides=overrides,
        )
    }
    return [
        OutsideLesson(booking_id=booking.id, start=booking.start_time, end=booking.end_time,
                      student=_student(booking, user))
        for booking, user in rows
        if (booking.start_time, booking.end_time) in outside
    ]


def _student(booking: Booking, user: User | None) -> str:
    name = user.name if user and user.name else ""
    email = (user.email if user else None) or booking.customer_email or ""
    if name and email and name != email:
        return f"{name} ({email})"
    return name or email or "A student"

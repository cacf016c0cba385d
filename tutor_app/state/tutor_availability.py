"""`/tutor/availability`: the tutor's weekly hours, dates that differ, the booking rules, and a
preview of the free starts students are offered.

Every rule lives in `tutors.hours`. The week is edited here as typed (a range per row, time
selects on the quarter hour) and stored only by "Save hours", which checks every day and rule
on the server, shows each message beside its day or field, and saves nothing while any is
wrong. Date overrides (a day off, time off over several days, other hours on one date) are
stored as soon as they are added or removed.

After each change the page lists the upcoming lessons that the hours no longer cover (they
stay booked: nothing here cancels or moves a lesson) and refreshes the preview, which asks
`scheduling.slots.free_slots_for`, the wizard's own source, so it shows exactly the starts a
student is offered, in the tutor's zone. Who reaches the page is
`tutors.access.tutor_for_user`'s answer, asked afresh on every change; anybody else sees "not
found". Database work runs in worker threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypedDict, TypeVar

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from tutor_app.admin import audit
from tutor_app.admin import tutors as admin_tutors
from tutor_app.core import clock, timefmt
from tutor_app.core import db as app_db
from tutor_app.core.models import Tutor, TutorDateOverride, User
from tutor_app.scheduling import slot_calendar, slots
from tutor_app.scheduling.slot_calendar import CalendarCell, TimeOption
from tutor_app.state.admin_edit import AdminEditMixin
from tutor_app.state.auth import AuthState, login_url
from tutor_app.tutors import access, hours
from tutor_app.tutors.hours import HoursInvalid
from tutor_app.tutors.profile import ProfileGone

T = TypeVar("T")

TUTOR_PARAM = "tutor"  # ?tutor=<id>: an admin editing a tutor's hours
OVERRIDE_KEY = "one-date"  # the range editor of "Other hours on one date"
DAY_OFF = "day_off"
TIME_OFF = "time_off"
OTHER_HOURS = "hours"
OVERRIDE_KINDS = (DAY_OFF, TIME_OFF, OTHER_HOURS)
DEFAULT_RANGE = ["09:00", "17:00"]
DAY_OFF_LABEL = "Day off"


class OverrideRow(TypedDict):
    id: str
    day: str  # "Mon 15 Jun 2026"
    hours: str  # "Day off" or "10:00-12:00" (en dashes)
    note: str


class OutsideRow(TypedDict):
    id: str
    when: str  # "Mon 15 Jun 2026, 09:00-10:00 (Europe/Rome)", the tutor's zone
    student: str


class LengthOption(TypedDict):
    minutes: int
    label: str  # "1 hour"


class Snapshot(TypedDict):
    """What the page shows after reading or changing the hours."""

    overrides: list[OverrideRow]
    outside: list[OutsideRow]
    starts: list[str]


def _empty_week() -> dict[str, list[list[str]]]:
    return {day: [] for day in hours.DAYS}


def _no_errors() -> dict[str, str]:
    return {key: "" for key in (*hours.DAYS, hours.WEEK_FIELD)}


def override_row(row: TutorDateOverride) -> OverrideRow:
    return {
        "id": row.id,
        "day": timefmt.format_day(row.on_date),
        "hours": hours.ranges_label(row.windows) or DAY_OFF_LABEL,
        "note": row.note,
    }


def outside_row(lesson: hours.OutsideLesson, tz: str) -> OutsideRow:
    return {
        "id": lesson.booking_id,
        "when": timefmt.format_range(lesson.start, lesson.end, tz),
        "student": lesson.student,
    }


def _snapshot(db: Session, tutor: Tutor, duration: int, *, with_outside: bool) -> Snapshot:
    outside = (
        [outside_row(lesson, tutor.timezone)
         for lesson in hours.lessons_outside_hours(db, tutor=tutor)]
        if with_outside
        else []
    )
    starts = slots.free_slots_for(db, tutor_id=tutor.id, duration_minutes=duration)
    return {
        "overrides": [override_row(r) for r in hours.upcoming_overrides(db, tutor=tutor)],
        "outside": outside,
        "starts": [timefmt.to_utc_iso(s) for s in starts],
    }


def _read(user: User, tutor_id: str | None, duration: int) -> tuple[Tutor | None, Snapshot]:
    with app_db.read_session() as db:
        tutor = access.tutor_for_user(db, user, tutor_id=tutor_id)
        if tutor is None:
            return None, {"overrides": [], "outside": [], "starts": []}
        wanted = duration if duration in tutor.lesson_durations else _first_length(tutor)
        return tutor, _snapshot(db, tutor, wanted, with_outside=False)


def _change(
    user: User, tutor_id: str, duration: int, work: Callable[[Session], T], reason: str
) -> tuple[Tutor, T, Snapshot] | None:
    """`work(db)` on the tutor's hours, committed, then what the page shows now; None when
    the user may no longer edit this tutor. HoursInvalid from `work` saves nothing; so does
    ReasonRequired, for an admin's change without a reason (an admin's is audited)."""
    with app_db.session() as db:
        tutor = access.tutor_for_user(db, user, tutor_id=tutor_id)
        if tutor is None:
            return None
        if admin_tutors.acts_for_another(user, tutor):
            editing = tutor
            result = admin_tutors.edit_as_admin(
                db, actor=user, tutor=tutor, action="tutor.hours", reason=reason,
                snapshot=lambda: admin_tutors.hours_snapshot(db, editing),
                change=lambda: work(db))
        else:
            result = work(db)
        db.commit()
    with app_db.read_session() as db:
        tutor = access.tutor_for_user(db, user, tutor_id=tutor_id)
        if tutor is None:
            return None
        return tutor, result, _snapshot(db, tutor, duration, with_outside=True)


def _first_length(tutor: Tutor) -> int:
    lengths = sorted(tutor.lesson_durations)
    return 60 if not lengths or 60 in lengths else lengths[0]


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


class TutorAvailabilityState(AdminEditMixin, AuthState):
    """The hours editor of the tutor (or admin) signed in, its messages and its preview."""

    loaded: bool = False
    found: bool = False
    tutor_id: str = ""
    tutor_timezone: str = timefmt.DEFAULT_ZONE
    today: str = ""  # the tutor's today, YYYY-MM-DD: the earliest override date

    week: dict[str, list[list[str]]] = _empty_week()
    day_errors: dict[str, str] = _no_errors()
    buffer: str = "0"
    min_notice: str = "720"
    horizon: str = "60"
    buffer_error: str = ""
    notice_error: str = ""
    horizon_error: str = ""
    hours_notice: str = ""
    saving: bool = False

    override_kind: str = DAY_OFF
    override_date: str = ""
    override_end: str = ""
    override_ranges: list[list[str]] = [list(DEFAULT_RANGE)]
    override_keep_weekly: bool = False
    override_note: str = ""
    override_date_error: str = ""
    override_end_error: str = ""
    override_hours_error: str = ""
    override_note_error: str = ""
    override_notice: str = ""
    overrides: list[OverrideRow] = []

    outside: list[OutsideRow] = []
    outside_checked: bool = False  # a change was saved: `outside` is the answer to it

    preview_duration: int = 60
    preview_lengths: list[int] = []
    preview_day: str = ""
    preview_start: str = ""
    _starts: list[str] = []

    # --- loading --------------------------------------------------------------------------

    @rx.event
    async def load(self) -> EventSpec | None:
        """on_load: who is this, and the hours they may edit (else "not found")."""
        self.loaded = False
        self._clear_messages()
        self.outside, self.outside_checked = [], False
        user = await self._current_user_off_loop()
        self._show_user(user)
        if user is None:
            return rx.redirect(login_url(self._current_path()))
        wanted = self.router.url.query_parameters.get(TUTOR_PARAM) or None
        tutor, snapshot = await asyncio.to_thread(_read, user, wanted, self.preview_duration)
        self.found = tutor is not None
        self.admin_editing = tutor is not None and admin_tutors.acts_for_another(user, tutor)
        if tutor is not None:
            self._fill(tutor)
            self._show_snapshot(snapshot)
        self.loaded = True
        return None

    def _fill(self, tutor: Tutor) -> None:
        self.tutor_id = tutor.id
        self.tutor_timezone = tutor.timezone
        self.today = hours.local_today(tutor).isoformat()
        self.week = {day: [list(r) for r in tutor.weekly_hours.get(day, [])]
                     for day in hours.DAYS}
        self.buffer = str(tutor.buffer_minutes)
        self.min_notice = str(tutor.min_notice_minutes)
        self.horizon = str(tutor.horizon_days)
        self.preview_lengths = sorted(tutor.lesson_durations)
        if self.preview_duration not in self.preview_lengths:
            self.preview_duration = _first_length(tutor)

    def _show_snapshot(self, snapshot: Snapshot) -> None:
        self.overrides = snapshot["overrides"]
        self._starts = snapshot["starts"]
        days = slot_calendar.day_counts(self._starts, self.tutor_timezone)
        if self.preview_day not in days:
            self.preview_day = next(iter(days), "")
            self.preview_start = ""

    def _show_outside(self, snapshot: Snapshot) -> None:
        self.outside = snapshot["outside"]
        self.outside_checked = True

    def _clear_messages(self) -> None:
        self.day_errors = _no_errors()
        self.buffer_error = self.notice_error = self.horizon_error = self.hours_notice = ""
        self._clear_override_messages()

    def _clear_override_messages(self) -> None:
        self.override_date_error = self.override_end_error = ""
        self.override_hours_error = self.override_note_error = self.override_notice = ""

    async def _user_or_login(self) -> tuple[User | None, EventSpec | None]:
        user = await self._current_user_off_loop()
        if user is None:
            self._show_user(None)
            return None, rx.redirect(login_url(self._current_path()))
        return user, None

    # --- the week (as typed; nothing stored) ----------------------------------------------

    def _ranges(self, key: str) -> list[list[str]] | None:
        if key == OVERRIDE_KEY:
            return [list(r) for r in self.override_ranges]
        if key in hours.DAYS:
            return [list(r) for r in self.week[key]]
        return None

    def _put(self, key: str, ranges: list[list[str]]) -> None:
        if key == OVERRIDE_KEY:
            self.override_ranges = ranges
            self.override_hours_error = self.override_notice = ""
        else:
            self.week = {**self.week, key: ranges}
            self.day_errors = {**self.day_errors, key: ""}
            self.hours_notice = ""

    @rx.event
    def set_time(self, key: str, index: int, which: int, value: str) -> None:
        """One time select changed: the start (`which` 0) or end (1) of range `index` of
        weekday `key` (or of the one-date editor)."""
        ranges = self._ranges(key)
        if ranges is None or not 0 <= int(index) < len(ranges) or int(which) not in (0, 1):
            return
        ranges[int(index)][int(which)] = str(value)
        self._put(key, ranges)

    @rx.event
    def add_range(self, key: str) -> None:
        """Another range for the day: 09:00-17:00 on an empty one, else the hour after its
        last range (the tutor adjusts it)."""
        ranges = self._ranges(key)
        if ranges is None or len(ranges) >= hours.MAX_RANGES:
            return
        if not ranges:
            ranges.append(list(DEFAULT_RANGE))
        else:
            last_end = max(_minutes(r[1]) for r in ranges)
            start = min(last_end + 60, 23 * 60)
            ranges.append([hours.time_of(start), hours.time_of(min(start + 60, 24 * 60))])
        self._put(key, ranges)

    @rx.event
    def remove_range(self, key: str, index: int) -> None:
        ranges = self._ranges(key)
        if ranges is None or not 0 <= int(index) < len(ranges):
            return
        del ranges[int(index)]
        self._put(key, ranges)

    @rx.event
    def copy_monday_to_weekdays(self) -> None:
        """Tuesday to Friday get Monday's ranges."""
        monday = self.week["mon"]
        self.week = {**self.week, **{d: [list(r) for r in monday] for d in hours.WEEKDAYS}}
        self.day_errors = _no_errors()
        self.hours_notice = ""

    @rx.event
    def set_buffer(self, value: str) -> None:
        self.buffer, self.buffer_error, self.hours_notice = str(value), "", ""

    @rx.event
    def set_min_notice(self, value: str) -> None:
        self.min_notice, self.notice_error, self.hours_notice = str(value), "", ""

    @rx.event
    def set_horizon(self, value: str) -> None:
        self.horizon, self.horizon_error, self.hours_notice = str(value), "", ""

    @rx.event
    async def save_hours(self) -> EventSpec | None:
        """Check the week and the rules on the server and store them, or say what is wrong
        beside each day and field; then list the lessons the new hours leave out."""
        self._clear_messages()
        user, login = await self._user_or_login()
        if user is None:
            return login
        if not self.found:
            return None
        tutor_id = self.tutor_id
        week = {day: [list(r) for r in ranges] for day, ranges in self.week.items()}
        buffer, notice, horizon = _int(self.buffer), _int(self.min_notice), _int(self.horizon)

        def work(db: Session) -> Tutor:
            return hours.save_hours(db, tutor_id=tutor_id, week=week,
                                    buffer_minutes=buffer, min_notice_minutes=notice,
                                    horizon_days=horizon)

        self.saving = True
        try:
            changed = await asyncio.to_thread(_change, user, self.tutor_id,
                                              self.preview_duration, work, self.edit_reason)
        except audit.ReasonRequired as refused:
            self._reason_missing(refused)
            return None
        except HoursInvalid as invalid:
            self._show_hours_errors(invalid.errors)
            return None
        except ProfileGone:
            changed = None
        finally:
            self.saving = False
        if changed is None:
            self.found = False
            return None
        tutor, _saved, snapshot = changed
        self._fill(tutor)
        self._show_snapshot(snapshot)
        self._show_outside(snapshot)
        self.hours_notice = hours.HOURS_SAVED
        return None

    def _show_hours_errors(self, errors: dict[str, str]) -> None:
        self.day_errors = {**_no_errors(), **{k: v for k, v in errors.items()
                                              if k in (*hours.DAYS, hours.WEEK_FIELD)}}
        self.buffer_error = errors.get(hours.BUFFER_FIELD, "")
        self.notice_error = errors.get(hours.NOTICE_FIELD, "")
        self.horizon_error = errors.get(hours.HORIZON_FIELD, "")

    # --- date overrides -------------------------------------------------------------------

    @rx.event
    def set_override_kind(self, kind: str) -> None:
        self.override_kind = kind if kind in OVERRIDE_KINDS else DAY_OFF
        self._clear_override_messages()

    @rx.event
    def set_override_date(self, value: str) -> None:
        self.override_date = str(value)
        self.override_date_error = self.override_notice = ""

    @rx.event
    def set_override_end(self, value: str) -> None:
        self.override_end = str(value)
        self.override_end_error = self.override_notice = ""

    @rx.event
    def set_override_note(self, value: str) -> None:
        self.override_note = str(value)
        self.override_note_error = self.override_notice = ""

    @rx.event
    def set_override_keep_weekly(self, keep: bool) -> None:
        self.override_keep_weekly = bool(keep)
        self.override_hours_error = self.override_notice = ""

    @rx.event
    async def add_override(self) -> EventSpec | None:
        """Store the day off, the time off or the other hours the form describes (replacing
        what those dates had), or say what is wrong beside the field."""
        self._clear_override_messages()
        user, login = await self._user_or_login()
        if user is None:
            return login
        if not self.found:
            return None
        tutor_id = self.tutor_id
        kind, first, note = self.override_kind, self.override_date, self.override_note
        last = self.override_end if kind == TIME_OFF else None
        ranges = [list(r) for r in self.override_ranges]
        keep = self.override_keep_weekly

        def work(db: Session) -> str:
            if kind == OTHER_HOURS:
                hours.add_custom_hours(db, tutor_id=tutor_id, on_date=first,
                                       ranges=ranges, note=note, keep_weekly=keep)
                return hours.CUSTOM_HOURS_SAVED
            hours.add_time_off(db, tutor_id=tutor_id, first=first, last=last, note=note)
            return hours.TIME_OFF_SAVED

        try:
            changed = await asyncio.to_thread(_change, user, self.tutor_id,
                                              self.preview_duration, work, self.edit_reason)
        except audit.ReasonRequired as refused:
            self._reason_missing(refused)
            return None
        except HoursInvalid as invalid:
            self.override_date_error = invalid.errors.get(hours.OVERRIDE_DATE_FIELD, "")
            self.override_end_error = invalid.errors.get(hours.OVERRIDE_END_FIELD, "")
            self.override_hours_error = invalid.errors.get(hours.OVERRIDE_HOURS_FIELD, "")
            self.override_note_error = invalid.errors.get(hours.OVERRIDE_NOTE_FIELD, "")
            return None
        except ProfileGone:
            changed = None
        if changed is None:
            self.found = False
            return None
        _tutor, message, snapshot = changed
        self._show_snapshot(snapshot)
        self._show_outside(snapshot)
        self.override_date = self.override_end = self.override_note = ""
        self.override_ranges = [list(DEFAULT_RANGE)]
        self.override_keep_weekly = False
        self.override_notice = message
        return None

    @rx.event
    async def remove_override(self, override_id: str) -> EventSpec | None:
        """Remove one override: that date has its weekly hours again."""
        self._clear_override_messages()
        user, login = await self._user_or_login()
        if user is None:
            return login
        if not self.found:
            return None
        tutor_id, wanted = self.tutor_id, str(override_id)

        def work(db: Session) -> bool:
            return hours.remove_override(db, tutor_id=tutor_id, override_id=wanted)

        try:
            changed = await asyncio.to_thread(_change, user, self.tutor_id,
                                              self.preview_duration, work, self.edit_reason)
        except audit.ReasonRequired as refused:
            self._reason_missing(refused)
            return None
        if changed is None:
            self.found = False
            return None
        _tutor, removed, snapshot = changed
        self._show_snapshot(snapshot)
        self._show_outside(snapshot)
        self.override_notice = hours.OVERRIDE_REMOVED if removed else ""
        return None

    # --- the preview ----------------------------------------------------------------------

    @rx.event
    async def choose_preview_length(self, minutes: Any) -> EventSpec | None:
        """Show the free starts for lessons of `minutes` instead."""
        wanted = _int(minutes)
        if wanted not in self.preview_lengths:
            return None
        user, login = await self._user_or_login()
        if user is None:
            return login
        self.preview_duration = wanted
        tutor, snapshot = await asyncio.to_thread(_read, user, self.tutor_id, wanted)
        if tutor is None:
            self.found = False
            return None
        self._show_snapshot(snapshot)
        return None

    @rx.event
    def choose_preview_day(self, key: str) -> None:
        self.preview_day = str(key)
        self.preview_start = ""

    @rx.event
    def choose_preview_start(self, iso: str) -> None:
        self.preview_start = str(iso)

    # --- derived --------------------------------------------------------------------------

    @rx.var(cache=True)
    def zone_label(self) -> str:
        """ "Europe/Rome (CEST, UTC+02:00)": the zone the hours are in."""
        return timefmt.zone_label(self.tutor_timezone)

    @rx.var(cache=True)
    def preview_length_options(self) -> list[LengthOption]:
        """The lesson lengths the tutor offers, for the preview's choice."""
        return [{"minutes": m, "label": timefmt.format_duration(m)}
                for m in self.preview_lengths]

    @rx.var(cache=True)
    def preview_calendar(self) -> list[CalendarCell]:
        """The picker's calendar as a student sees it, days in the tutor's zone."""
        return slot_calendar.calendar(self._starts, self.tutor_timezone, now=clock.now())

    @rx.var(cache=True)
    def preview_times(self) -> list[TimeOption]:
        """The free starts of the chosen day, in the tutor's zone."""
        return slot_calendar.day_times(self._starts, self.preview_day, self.tutor_timezone)

    @rx.var(cache=True)
    def preview_day_label(self) -> str:
        parsed = timefmt.parse_day_key(self.preview_day)
        return timefmt.format_day(parsed) if parsed else "No free times"

    @rx.var(cache=True)
    def preview_summary(self) -> str:
        """ "42 free starts on 18 days" for the chosen length."""
        days = len(slot_calendar.day_counts(self._starts, self.tutor_timezone))
        count = len(self._starts)
        return (f"{count} free start{'s' if count != 1 else ''} on {days} "
                f"day{'s' if days != 1 else ''}")


def _minutes(hhmm: str) -> int:
    try:
        return hours.minutes_of(hhmm)
    except (ValueError, IndexError):
        return 0

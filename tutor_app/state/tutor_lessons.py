"""`/tutor`'s lessons: upcoming and past, filtered on the server, with the tutor's actions.

A substate of `TutorAccountState` (whose portal it is, decided by
`tutors.access.tutor_for_user`). Each handler looks the user up afresh from the session cookie
and passes them to the service, which checks again that the booking is one of that tutor's
(anything else reads as "not found"), so a booking id sent from a browser reaches nobody
else's lesson.

Times are shown in the viewer's zone (`ViewerZoneMixin`): the account's own zone when it has
one, else the zone of the tutor profile (the one their hours, emails and Google Calendar use).
The date filter reads days on that same wall clock. The lists are read once per change and
kept as backend-only views; a new zone re-formats them without a new read.

The actions: "Attended" / "No-show" on a lesson that has begun (`booking.attendance`),
"Cancel" with a required reason on one still to come (`cancellation.cancel_by_tutor`: the
student is refunded in full and told why), and "Sync now" on a lesson whose calendar event
failed (a background event: Google may be slow). Every one runs its database, Stripe or
Google work in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any, TypedDict

import reflex as rx
from reflex.event import EventSpec

from tutor_app.accounts import sign_in_sessions
from tutor_app.booking import attendance, cancellation, tutor_lessons
from tutor_app.booking.access import NotFound
from tutor_app.booking.attendance import CannotMarkAttendance
from tutor_app.booking.tutor_lessons import LessonFilter, TutorLessonView
from tutor_app.catalog import pricing
from tutor_app.core import clock, timefmt
from tutor_app.core import db as app_db
from tutor_app.core.models import BookingStatus, SyncStatus, User
from tutor_app.state.tutor_account import TutorAccountState, read_access
from tutor_app.state.typed import Handler
from tutor_app.state.viewer_zone import ViewerZoneMixin
from tutor_app.tutor_calendar import calendar_sync

NOT_FOUND_MESSAGE = "We couldn't find that lesson. Please reload the page."
BAD_DAY = "Write days as YYYY-MM-DD."
INVERTED_DAYS = "The first day must not come after the last."
STATUS_CHOICES = (("", "All"), ("scheduled", "Scheduled"), ("completed", "Completed"),
                  ("canceled", "Canceled"))

_STATUS: dict[str, tuple[str, str]] = {
    BookingStatus.SCHEDULED: ("Scheduled", "green"),
    BookingStatus.COMPLETED: ("Completed", "gray"),
    BookingStatus.CANCELED: ("Canceled", "red"),
}
_ATTENDANCE = {attendance.ATTENDED: "Attended", attendance.NO_SHOW: "No-show"}
_SYNC = {
    SyncStatus.NONE: ("Not in calendar", "gray"),
    SyncStatus.PENDING: ("Sync pending", "amber"),
    SyncStatus.SYNCED: ("In calendar", "green"),
    SyncStatus.FAILED: ("Sync failed", "red"),
}


class TutorLessonRow(TypedDict):
    """One lesson as the portal shows it; plain strings so the page only renders."""

    id: str
    when: str
    student_name: str
    student_email: str
    note: str
    length: str  # "1 hour"
    price: str  # "$60.00"
    status: str  # "Scheduled" / "Completed" / "Canceled"
    status_color: str
    attendance: str  # "attended" / "no_show" / ""
    attendance_label: str  # "Attended" / "No-show" / ""
    refund: str  # "Refunded $60.00" or ""
    cancel_line: str  # "Canceled by the student", or ""
    sync: str  # none / pending / synced / failed
    sync_label: str
    sync_color: str
    sync_error: str
    can_retry: bool
    can_cancel: bool
    can_mark: bool


def lesson_row(view: TutorLessonView, tz: str, *, now: datetime, connected: bool
               ) -> TutorLessonRow:
    """Format one lesson for a viewer in `tz`; the actions it offers at `now`."""
    status, color = _STATUS.get(view.status, (view.status.title(), "gray"))
    sync_label, sync_color = _SYNC.get(SyncStatus(view.sync_status), (view.sync_status, "gray"))
    scheduled = view.status == BookingStatus.SCHEDULED
    return {
        "id": view.id,
        "when": timefmt.format_range(view.start, view.end, tz),
        "student_name": view.student_name,
        "student_email": view.student_email,
        "note": view.note,
        "length": timefmt.format_duration(view.duration_minutes),
        "price": pricing.format_money(view.price_cents, view.currency),
        "status": status,
        "status_color": color,
        "attendance": view.attendance or "",
        "attendance_label": _ATTENDANCE.get(view.attendance or "", ""),
        "refund": (f"Refunded {pricing.format_money(view.refunded_cents, view.currency)}"
                   if view.refunded_cents else ""),
        "cancel_line": cancellation.cancel_reason_for_tutor(view.cancel_reason)
        if view.status == BookingStatus.CANCELED else "",
        "sync": str(view.sync_status),
        "sync_label": sync_label,
        "sync_color": sync_color,
        "sync_error": view.sync_error or "",
        "can_retry": connected and scheduled
        and view.sync_status in (SyncStatus.PENDING, SyncStatus.FAILED),
        "can_cancel": scheduled and view.start > now,
        "can_mark": attendance.why_not_markable(view.status, view.start, now) is None,
    }


def read_lessons(tutor_id: str, wanted: LessonFilter
                 ) -> tuple[list[TutorLessonView], list[TutorLessonView]]:
    """(upcoming, past) of the tutor (blocking: run it in a thread)."""
    with app_db.session() as db:
        return tutor_lessons.tutor_lessons(db, tutor_id=tutor_id, wanted=wanted)


def _field(form_data: dict[str, Any], name: str) -> str:
    value = form_data.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _day(text: str) -> tuple[date | None, bool]:
    """(the day of a YYYY-MM-DD field, whether the field was readable: empty is)."""
    if not text:
        return None, True
    day = timefmt.parse_day_key(text)
    return day, day is not None


class TutorLessonsState(ViewerZoneMixin, TutorAccountState):
    """The portal's lesson lists, their filters, and the dialogs of the tutor's actions."""

    upcoming: list[TutorLessonRow] = []
    past: list[TutorLessonRow] = []
    lessons_loaded: bool = False

    filter_status: str = ""  # a key of tutor_lessons.STATUS_FILTERS, "" for all
    filter_from: str = ""  # YYYY-MM-DD in the viewer's zone, "" for open
    filter_to: str = ""
    filter_error: str = ""

    lessons_notice: str = ""  # what the last action did
    lessons_error: str = ""
    marking_id: str = ""
    syncing_id: str = ""

    cancel_open: bool = False
    cancel_booking_id: str = ""
    cancel_lesson_label: str = ""
    cancel_reason_error: str = ""
    cancel_error: str = ""
    canceling: bool = False

    _upcoming: list[TutorLessonView] = []
    _past: list[TutorLessonView] = []

    @rx.event
    async def load_page(self) -> EventSpec | None:
        """on_load of `/tutor`: whose portal (sign in, or not found), then the lessons."""
        user, redirect = await self._load_account()
        if redirect is not None:
            return redirect
        ask_zone = None
        self.lessons_notice = self.lessons_error = ""
        if self.portal_found and user is not None:
            ask_zone = self._detect_viewer_tz(user.timezone or self._portal_timezone)
            await self._read()
        self.loaded = True
        return ask_zone

    # --- reading and showing ------------------------------------------------------------------

    def _filter(self) -> LessonFilter:
        return LessonFilter(
            status=self.filter_status,
            first_day=timefmt.parse_day_key(self.filter_from),
            last_day=timefmt.parse_day_key(self.filter_to),
            zone=self.viewer_tz,
        )

    async def _read(self) -> None:
        if not self.portal_tutor_id:
            self._upcoming, self._past = [], []
        else:
            self._upcoming, self._past = await asyncio.to_thread(
                read_lessons, self.portal_tutor_id, self._filter())
        self._render()
        self.lessons_loaded = True

    def _render(self) -> None:
        now = clock.now()
        connected = self.own_portal and self.calendar_status == "connected"
        self.upcoming = [lesson_row(v, self.viewer_tz, now=now, connected=connected)
                         for v in self._upcoming]
        self.past = [lesson_row(v, self.viewer_tz, now=now, connected=connected)
                     for v in self._past]

    def _viewer_tz_changed(self) -> None:
        self._render()

    @rx.var(cache=True)
    def zone_label(self) -> str:
        return timefmt.zone_label(self.viewer_tz)

    async def _portal_user(self) -> User | None:
        """The visitor again, still allowed on this portal (None: show not found)."""
        user = await self._current_user_off_loop()
        if user is None:
            return None
        access = await asyncio.to_thread(read_access, user, self._requested_tutor())
        return user if access.tutor_id and access.tutor_id == self.portal_tutor_id else None

    # --- filters --------------------------------------------------------------------------

    @rx.event
    async def apply_filters(self, form_data: dict[str, Any]) -> None:
        """Status and days from the filter form; the lists are read again with them."""
        status = _field(form_data, "status")
        first, first_ok = _day(_field(form_data, "from"))
        last, last_ok = _day(_field(form_data, "to"))
        if not (first_ok and last_ok):
            self.filter_error = BAD_DAY
            return
        if first and last and first > last:
            self.filter_error = INVERTED_DAYS
            return
        self.filter_error = ""
        self.filter_status = status if status in tutor_lessons.STATUS_FILTERS else ""
        self.filter_from = first.isoformat() if first else ""
        self.filter_to = last.isoformat() if last else ""
        if await self._portal_user() is not None:
            await self._read()

    @rx.event
    async def clear_filters(self) -> None:
        self.filter_status = self.filter_from = self.filter_to = self.filter_error = ""
        if await self._portal_user() is not None:
            await self._read()

    # --- attendance -----------------------------------------------------------------------

    @rx.event
    async def mark(self, booking_id: str, value: str) -> AsyncIterator[None]:
        """"Attended" / "No-show" on a lesson that has begun."""
        if self.marking_id:
            return
        self.lessons_error = self.lessons_notice = ""
        user = await self._portal_user()
        if user is None:
            self.lessons_error = NOT_FOUND_MESSAGE
            return
        self.marking_id = booking_id if isinstance(booking_id, str) else ""
        yield None  # the button shows it is working
        try:
            await asyncio.to_thread(attendance.mark_attendance, booking_id=self.marking_id,
                                    user=user, attendance=str(value))
        except NotFound:
            self.lessons_error = NOT_FOUND_MESSAGE
        except CannotMarkAttendance as exc:
            self.lessons_error = str(exc)
        finally:
            self.marking_id = ""
        await self._read()

    # --- cancel ---------------------------------------------------------------------------

    @rx.event
    def open_cancel(self, booking_id: str) -> None:
        """The cancel dialog of one upcoming lesson (the reason is asked for there)."""
        row = next((r for r in self.upcoming if r["id"] == booking_id), None)
        self.cancel_error = self.cancel_reason_error = ""
        self.canceling = False
        if row is None or not row["can_cancel"]:
            self.lessons_error = NOT_FOUND_MESSAGE
            return
        self.cancel_booking_id = row["id"]
        self.cancel_lesson_label = f"{row['student_name']} · {row['when']}"
        self.cancel_open = True

    @rx.event
    def set_cancel_open(self, is_open: bool) -> None:
        """The dialog's own open/close (Escape, the overlay, "Keep lesson")."""
        if not self.canceling:
            self.cancel_open = bool(is_open)

    @rx.event
    async def confirm_cancel(self, form_data: dict[str, Any]
                             ) -> AsyncIterator[EventSpec | Handler | None]:
        """Cancel with the reason given: the student is refunded in full and told why."""
        if self.canceling or not self.cancel_booking_id:
            return
        reason = _field(form_data, "reason")
        self.cancel_error = self.cancel_reason_error = ""
        user = await self._portal_user()
        if user is None:
            self.cancel_error = NOT_FOUND_MESSAGE
            return
        self.canceling = True
        yield None  # "Canceling…" while the refund is sent
        try:
            result = await asyncio.to_thread(
                cancellation.cancel_by_tutor, booking_id=self.cancel_booking_id, user=user,
                reason=reason,
            )
        except cancellation.ReasonRequired as exc:
            self.cancel_reason_error = str(exc)
        except NotFound:
            self.cancel_error = NOT_FOUND_MESSAGE
        except cancellation.CannotCancel as exc:
            self.cancel_error = str(exc)
        else:
            self.lessons_notice = result.message
            self.cancel_open = False
            self.cancel_booking_id = ""
            await self._read()
        self.canceling = False

    # --- calendar -------------------------------------------------------------------------

    @rx.event(background=True)
    async def sync_now(self, booking_id: str) -> None:
        """Retry one lesson's calendar sync now (only the tutor's own lessons)."""
        async with self:
            if self.syncing_id or not self.own_portal:
                return
            self.syncing_id = booking_id
            cookie = self._session_cookie_header()
            wanted = self._filter()
            tutor_id = self.portal_tutor_id
        try:
            user = await asyncio.to_thread(sign_in_sessions.user_for_cookie_header, cookie)
            if user is not None and user.tutor_id == tutor_id:
                await asyncio.to_thread(calendar_sync.retry_now, user=user, booking_id=booking_id)
                views = await asyncio.to_thread(read_lessons, tutor_id, wanted)
                async with self:
                    self._upcoming, self._past = views
                    self._render()
        finally:
            async with self:
                self.syncing_id = ""


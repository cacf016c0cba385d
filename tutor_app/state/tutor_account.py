"""`/tutor`: the tutor's account page: their Google Calendar connection and upcoming lessons.

Connecting and disconnecting are full-page requests to `/api/calendar/...` (OAuth needs the
browser to travel to Google and back), so this state only reads: the connection summary and
the lessons with their calendar sync status, formatted on the tutor's own wall clock (the
zone of their catalog profile, the one Google Calendar shows the events in). "Sync now" on a
lesson runs the sync in a background event, so the page stays responsive while Google answers.
"""

from __future__ import annotations

import asyncio
from typing import TypedDict

import reflex as rx
from reflex.event import EventSpec

from tutor_app.accounts import sign_in_sessions
from tutor_app.catalog import tutor_catalog
from tutor_app.core import db as app_db
from tutor_app.core import timefmt
from tutor_app.core.models import BookingStatus, SyncStatus, User
from tutor_app.state.auth import AuthState, login_url
from tutor_app.tutor_calendar import calendar_sync, connections
from tutor_app.tutor_calendar.connections import ConnectionStatus, ConnectionSummary

_SYNC = {
    SyncStatus.NONE: ("Not in calendar", "gray"),
    SyncStatus.PENDING: ("Sync pending", "amber"),
    SyncStatus.SYNCED: ("In calendar", "green"),
    SyncStatus.FAILED: ("Sync failed", "red"),
}
_NOTICES = {
    "connected": "Google Calendar connected. New lessons will appear in it.",
    "error": "Google Calendar was not connected. Please try again.",
}


class TutorLessonRow(TypedDict):
    """One lesson as the portal shows it; plain strings so the page only renders."""

    id: str
    when: str
    student: str
    status: str  # "Scheduled" / "Canceled"
    sync: str  # none / pending / synced / failed
    sync_label: str
    sync_color: str
    sync_error: str
    can_retry: bool


def lesson_row(lesson: calendar_sync.TutorLesson, tz: str, connected: bool) -> TutorLessonRow:
    label, color = _SYNC.get(SyncStatus(lesson.sync_status), (lesson.sync_status, "gray"))
    return {
        "id": lesson.booking_id,
        "when": timefmt.format_range(lesson.start, lesson.end, tz),
        "student": lesson.student,
        "status": "Canceled" if lesson.status == BookingStatus.CANCELED else "Scheduled",
        "sync": str(lesson.sync_status),
        "sync_label": label,
        "sync_color": color,
        "sync_error": lesson.sync_error or "",
        "can_retry": connected
        and lesson.sync_status in (SyncStatus.PENDING, SyncStatus.FAILED),
    }


def _read(user: User) -> tuple[ConnectionSummary, list[TutorLessonRow]]:
    with app_db.session() as db:
        summary = connections.summary(db, user_id=user.id)
        tutor = tutor_catalog.get_tutor(db, str(user.tutor_id), include_inactive=True)
        tz = tutor.timezone if tutor else timefmt.DEFAULT_ZONE
        lessons = calendar_sync.tutor_lessons(db, tutor_id=str(user.tutor_id))
    connected = summary.status == ConnectionStatus.CONNECTED
    return summary, [lesson_row(lesson, tz, connected) for lesson in lessons]


class TutorAccountState(AuthState):
    """The signed-in tutor's calendar connection and lessons."""

    calendar_status: str = ""  # connected / reconnect_needed / disconnected
    google_email: str = ""
    calendar_configured: bool = False
    tutor_linked: bool = False
    lessons: list[TutorLessonRow] = []
    loaded: bool = False
    syncing_id: str = ""

    @rx.var
    def notice(self) -> str:
        """The message for `/tutor?calendar=...` after the OAuth round trip ("" otherwise).

        "connected" is only repeated while it is still true (the URL outlives the state).
        """
        outcome = self.router.url.query_parameters.get("calendar", "")
        if outcome == "connected" and self.calendar_status != ConnectionStatus.CONNECTED:
            return ""
        return _NOTICES.get(outcome, "")

    @rx.var
    def notice_is_error(self) -> bool:
        return self.router.url.query_parameters.get("calendar", "") == "error"

    @rx.event
    async def load(self) -> EventSpec | None:
        """on_load: who is this; for a linked tutor, the calendar and the lessons."""
        user = await self._current_user_off_loop()
        self._show_user(user)
        if user is None:
            return rx.redirect(login_url(self._current_path()))
        self.tutor_linked = connections.is_calendar_tutor(user)
        if self.tutor_linked:
            summary, self.lessons = await asyncio.to_thread(_read, user)
            self._show_summary(summary)
        self.loaded = True
        return None

    def _show_summary(self, summary: ConnectionSummary) -> None:
        self.calendar_status = summary.status.value
        self.google_email = summary.google_email
        self.calendar_configured = summary.configured

    @rx.event(background=True)
    async def sync_now(self, booking_id: str) -> None:
        """Retry one lesson's calendar sync now (only the tutor's own lessons)."""
        async with self:
            if self.syncing_id:
                return
            self.syncing_id = booking_id
            cookie = self._session_cookie_header()
        try:
            user = await asyncio.to_thread(sign_in_sessions.user_for_cookie_header, cookie)
            if user is not None and connections.is_calendar_tutor(user):
                await asyncio.to_thread(calendar_sync.retry_now, user=user, booking_id=booking_id)
                summary, lessons = await asyncio.to_thread(_read, user)
                async with self:
                    self.lessons = lessons
                    self._show_summary(summary)
        finally:
            async with self:
                self.syncing_id = ""

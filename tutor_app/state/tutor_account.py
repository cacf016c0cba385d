"""`/tutor`: whose tutor portal this is, and the tutor's Google Calendar connection.

Who may look is `tutors.access.tutor_for_user`: the user running a tutor profile sees their
own; an admin sees the profile `?tutor=<id>` names; anyone else (a student, a tutor asking for
another tutor's id) gets the not-found page, and a signed-out visitor is sent to sign in.
The lessons are `TutorLessonsState`'s (state/tutor_lessons.py), a substate that loads the
account through `_load_account` first.

Connecting and disconnecting are full-page requests to `/api/calendar/...` (OAuth needs the
browser to travel to Google and back), so this state only reads the connection summary; the
calendar is the signed-in tutor's own, so an admin looking at a tutor's portal sees none.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import reflex as rx
from reflex.event import EventSpec

from tutor_app.core import db as app_db
from tutor_app.core.models import Role, User
from tutor_app.state.auth import AuthState, login_url
from tutor_app.tutor_calendar import connections
from tutor_app.tutor_calendar.connections import ConnectionStatus, ConnectionSummary
from tutor_app.tutors.access import tutor_for_user

_NOTICES = {
    "connected": "Google Calendar connected. New lessons will appear in it.",
    "error": "Google Calendar was not connected. Please try again.",
}


@dataclass(frozen=True)
class PortalAccess:
    """The tutor profile a visitor's portal shows ("" when none), and its calendar."""

    tutor_id: str
    tutor_name: str
    tutor_timezone: str
    calendar: ConnectionSummary | None  # only for the tutor's own account


def read_access(user: User, requested_tutor: str | None) -> PortalAccess:
    """Whose portal `user` sees (blocking: run it in a thread)."""
    with app_db.session() as db:
        tutor = tutor_for_user(db, user, tutor_id=requested_tutor or None)
        if tutor is None:
            return PortalAccess("", "", "", None)
        own = user.role == Role.TUTOR
        summary = connections.summary(db, user_id=user.id) if own else None
        return PortalAccess(tutor.id, tutor.name, tutor.timezone, summary)


class TutorAccountState(AuthState):
    """Whose portal is shown, and the signed-in tutor's calendar connection."""

    calendar_status: str = ""  # connected / reconnect_needed / disconnected
    google_email: str = ""
    calendar_configured: bool = False
    tutor_linked: bool = False  # a tutor account tied to a profile
    portal_found: bool = False  # the visitor may see this portal (else the not-found page)
    own_portal: bool = False  # the visitor runs this profile (the calendar is theirs)
    portal_tutor_id: str = ""
    portal_tutor_name: str = ""
    loaded: bool = False

    _portal_timezone: str = ""

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

    def _requested_tutor(self) -> str:
        """`?tutor=<id>`: the profile an admin chose (a tutor's own is implied)."""
        return self.router.url.query_parameters.get("tutor", "")

    async def _load_account(self) -> tuple[User | None, EventSpec | None]:
        """The visitor and whose portal they see; a signed-out visitor's redirect to sign in."""
        user = await self._current_user_off_loop()
        self._show_user(user)
        if user is None:
            return None, rx.redirect(login_url(self._current_path()))
        self.tutor_linked = connections.is_calendar_tutor(user)
        access = await asyncio.to_thread(read_access, user, self._requested_tutor())
        self.portal_found = bool(access.tutor_id)
        self.own_portal = self.portal_found and user.role == Role.TUTOR
        self.portal_tutor_id = access.tutor_id
        self.portal_tutor_name = access.tutor_name
        self._portal_timezone = access.tutor_timezone
        if access.calendar is not None:
            self._show_summary(access.calendar)
        return user, None

    @rx.event
    async def load(self) -> EventSpec | None:
        """on_load of a tutor page without lessons: who is this, and their calendar."""
        _user, redirect = await self._load_account()
        if redirect is None:
            self.loaded = True
        return redirect

    def _show_summary(self, summary: ConnectionSummary) -> None:
        self.calendar_status = summary.status.value
        self.google_email = summary.google_email
        self.calendar_configured = summary.configured

"""The dashboard's cancel and reschedule dialogs: UI events in, service calls out.

A substate of `DashboardState`, so it reads the viewer's zone the cards are shown in and can
ask the dashboard to re-read its lessons after a change. Every rule lives in the services
(`cancellation`, `reschedule`); each handler looks the signed-in user up afresh from the
session cookie, so a booking id sent from the browser reaches only that user's own lessons
(anything else reads as "not found", exactly like the API's 404).

Every handler that reads or writes the database, asks Stripe for a refund or Google for busy
times is `async` and runs that work in a worker thread (`asyncio.to_thread`): Reflex runs a
plain handler on the event loop itself, which would freeze every other connection meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import reflex as rx
from reflex.event import EventSpec

from tutor_app.booking import cancellation, reschedule
from tutor_app.booking.access import NotFound, owned_booking
from tutor_app.catalog import tutor_catalog
from tutor_app.core import clock, timefmt
from tutor_app.core import db as app_db
from tutor_app.core.models import Booking, User
from tutor_app.scheduling import slot_calendar
from tutor_app.scheduling.slot_calendar import CalendarCell, TimeOption
from tutor_app.scheduling.slots import SlotTaken
from tutor_app.state.auth import login_url
from tutor_app.state.dashboard import DashboardState
from tutor_app.state.typed import Handler, handler

log = logging.getLogger(__name__)

NOT_FOUND_MESSAGE = "We couldn't find that lesson. Please reload the page."
SIGNED_OUT_MESSAGE = "Please sign in again to manage your lessons."


@dataclass(frozen=True)
class CancelDialog:
    """What the cancel dialog shows for one lesson."""

    label: str
    message: str
    allowed: bool


@dataclass(frozen=True)
class RescheduleChoices:
    """What the reschedule dialog offers for one lesson: the free starts, or why none."""

    label: str
    starts: list[str]  # UTC ISO
    error: str  # "" when the lesson can move


def lesson_label(booking: Booking, tz: str) -> str:
    """ "James Okafor · Tue 1 Dec 2026, 16:00-17:00 (zone)" (reads the catalog)."""
    with app_db.session() as db:
        tutor = tutor_catalog.get_tutor(db, booking.tutor_id, include_inactive=True)
    name = tutor.name if tutor is not None else "Your tutor"
    return f"{name} · {timefmt.format_range(booking.start_time, booking.end_time, tz)}"


def read_cancel_dialog(*, booking_id: str, user_id: str, tz: str) -> CancelDialog:
    """The policy's answer for canceling the user's lesson now (blocking: run it in a thread)."""
    try:
        with app_db.session() as db:
            preview = cancellation.cancel_preview(db, booking_id=booking_id, user_id=user_id)
            booking = owned_booking(db, booking_id=booking_id, user_id=user_id)
    except NotFound:
        return CancelDialog("", NOT_FOUND_MESSAGE, False)
    return CancelDialog(lesson_label(booking, tz), preview.message, preview.can_cancel)


def read_reschedule_choices(*, booking_id: str, user_id: str, tz: str) -> RescheduleChoices:
    """The free starts the user's lesson can move to (blocking: it may wait on Google)."""
    try:
        with app_db.session() as db:
            booking = owned_booking(db, booking_id=booking_id, user_id=user_id)
            starts = reschedule.free_starts_for_booking(db, booking_id=booking.id,
                                                        user_id=user_id)
    except NotFound:
        return RescheduleChoices("", [], NOT_FOUND_MESSAGE)
    except reschedule.InvalidReschedule as exc:
        return RescheduleChoices(lesson_label(booking, tz), [], str(exc))
    return RescheduleChoices(lesson_label(booking, tz), [timefmt.to_utc_iso(t) for t in starts],
                             "")


class ManageLessonState(DashboardState):
    """The open dialog (cancel or reschedule), its booking and what the student chose."""

    # Cancel dialog.
    cancel_open: bool = False
    cancel_booking_id: str = ""
    cancel_lesson_label: str = ""  # "James Okafor · Tue 1 Dec 2026, 16:00-17:00 (zone)"
    cancel_message: str = ""  # the policy's sentence: the refund, or that none is due
    cancel_allowed: bool = False
    cancel_error: str = ""
    canceling: bool = False

    # Reschedule dialog.
    reschedule_open: bool = False
    reschedule_booking_id: str = ""
    reschedule_lesson_label: str = ""
    reschedule_slots: list[str] = []  # UTC ISO starts the lesson can move to
    reschedule_day: str = ""  # YYYY-MM-DD in the viewer's zone
    reschedule_start: str = ""  # UTC ISO
    reschedule_error: str = ""
    reschedule_allowed: bool = False
    moving: bool = False

    # What the last change did, shown above the lessons.
    notice: str = ""

    # --- shared ---------------------------------------------------------------------------

    def _signed_out(self) -> EventSpec:
        return rx.redirect(login_url(self._current_path()))

    @rx.event
    def dismiss_notice(self) -> None:
        self.notice = ""

    # --- cancel ---------------------------------------------------------------------------

    @rx.event
    async def open_cancel(self, booking_id: str) -> EventSpec | None:
        """Show what canceling this lesson would do (`#confirm-cancel` confirms)."""
        user = await self._current_user_off_loop()
        if user is None:
            return self._signed_out()
        self.cancel_booking_id = booking_id if isinstance(booking_id, str) else ""
        self.cancel_error = ""
        self.canceling = False
        dialog = await asyncio.to_thread(
            read_cancel_dialog, booking_id=self.cancel_booking_id, user_id=user.id,
            tz=self.viewer_tz,
        )
        self.cancel_lesson_label = dialog.label
        self.cancel_message = dialog.message
        self.cancel_allowed = dialog.allowed
        self.cancel_open = True
        return None

    @rx.event
    def set_cancel_open(self, is_open: bool) -> None:
        """The dialog's own open/close (Escape, the overlay, "Keep lesson")."""
        if not self.canceling:
            self.cancel_open = bool(is_open)

    @rx.event
    async def confirm_cancel(self) -> AsyncIterator[EventSpec | Handler | None]:
        """Cancel the lesson (and refund per the policy); then re-read the dashboard."""
        if self.canceling or not self.cancel_allowed:
            return
        user = await self._current_user_off_loop()
        if user is None:
            yield self._signed_out()
            return
        self.canceling = True
        yield None  # show "Canceling…" while Stripe is asked
        try:
            result = await asyncio.to_thread(
                cancellation.cancel_lesson, booking_id=self.cancel_booking_id, user_id=user.id
            )
        except NotFound:
            self.cancel_error = NOT_FOUND_MESSAGE
        except cancellation.CannotCancel as exc:
            self.cancel_error = str(exc)
            self.cancel_allowed = False
        else:
            self.notice = result.message
            self.cancel_open = False
            self.canceling = False
            yield handler(DashboardState.load)
            return
        self.canceling = False

    # --- reschedule -----------------------------------------------------------------------

    @rx.event
    async def open_reschedule(self, booking_id: str) -> EventSpec | None:
        """Offer the free starts of the same tutor and length (`#confirm-reschedule`)."""
        user = await self._current_user_off_loop()
        if user is None:
            return self._signed_out()
        self.reschedule_booking_id = booking_id if isinstance(booking_id, str) else ""
        self.reschedule_error = ""
        self.reschedule_start = ""
        self.moving = False
        await self._load_reschedule_slots(user)
        self.reschedule_open = True
        return None

    async def _load_reschedule_slots(self, user: User) -> None:
        choices = await asyncio.to_thread(
            read_reschedule_choices, booking_id=self.reschedule_booking_id, user_id=user.id,
            tz=self.viewer_tz,
        )
        if choices.error:
            self._no_reschedule(choices.error, label=choices.label)
            return
        self.reschedule_lesson_label = choices.label
        self.reschedule_slots = choices.starts
        self.reschedule_allowed = True
        if self.reschedule_start not in self.reschedule_slots:
            self.reschedule_start = ""
        days = self._reschedule_day_counts()
        if self.reschedule_day not in days:
            self.reschedule_day = min(days) if days else ""

    def _no_reschedule(self, message: str, *, label: str) -> None:
        self.reschedule_lesson_label = label
        self.reschedule_error = message
        self.reschedule_slots = []
        self.reschedule_day = self.reschedule_start = ""
        self.reschedule_allowed = False

    @rx.event
    def set_reschedule_open(self, is_open: bool) -> None:
        if not self.moving:
            self.reschedule_open = bool(is_open)

    @rx.event
    def choose_reschedule_day(self, key: str) -> None:
        self.reschedule_day = key if isinstance(key, str) else ""
        self.reschedule_start = ""

    @rx.event
    def choose_reschedule_start(self, iso: str) -> None:
        if isinstance(iso, str) and iso in self.reschedule_slots:
            self.reschedule_start = iso
            parsed = timefmt.parse_utc_iso(iso)
            if parsed is not None:
                self.reschedule_day = timefmt.day_key(parsed, self.viewer_tz)
            self.reschedule_error = ""

    @rx.event
    async def confirm_reschedule(self) -> AsyncIterator[EventSpec | Handler | None]:
        """Move the lesson to the chosen start; a slot taken meanwhile says so and the
        picker is refreshed (the nearest free times stay offered)."""
        if self.moving or not self.reschedule_start:
            return
        user = await self._current_user_off_loop()
        if user is None:
            yield self._signed_out()
            return
        new_start = timefmt.parse_utc_iso(self.reschedule_start)
        if new_start is None:
            self.reschedule_error = "Please choose a new time."
            return
        self.moving = True
        yield None
        try:
            moved = await asyncio.to_thread(
                reschedule.reschedule_lesson,
                booking_id=self.reschedule_booking_id, user_id=user.id, new_start=new_start,
            )
        except NotFound:
            self._no_reschedule(NOT_FOUND_MESSAGE, label="")
        except SlotTaken as exc:
            await self._load_reschedule_slots(user)
            self.reschedule_error = _taken_message(str(exc), exc.alternatives, self.viewer_tz)
        except reschedule.InvalidReschedule as exc:
            self.reschedule_error = str(exc)
        else:
            when = timefmt.format_range(moved.start, moved.end, self.viewer_tz)
            self.notice = f"Your lesson is moved to {when}."
            self.reschedule_open = False
            self.moving = False
            yield handler(DashboardState.load)
            return
        self.moving = False

    def _reschedule_day_counts(self) -> dict[str, int]:
        return slot_calendar.day_counts(self.reschedule_slots, self.viewer_tz)

    @rx.var(cache=True)
    def reschedule_calendar(self) -> list[CalendarCell]:
        """The next 60 days as whole weeks, days with free starts enabled (viewer's zone)."""
        if not self.reschedule_slots:
            return []
        return slot_calendar.calendar(self.reschedule_slots, self.viewer_tz, now=clock.now())

    @rx.var(cache=True)
    def reschedule_times(self) -> list[TimeOption]:
        """The free starts of the chosen day as wall-clock times in the viewer's zone."""
        return slot_calendar.day_times(self.reschedule_slots, self.reschedule_day, self.viewer_tz)

    @rx.var(cache=True)
    def reschedule_day_label(self) -> str:
        parsed = timefmt.parse_day_key(self.reschedule_day)
        return timefmt.format_day(parsed) if parsed else ""

    @rx.var(cache=True)
    def reschedule_choice_label(self) -> str:
        """The chosen new time, spelled out for the confirm line ("" until one is chosen)."""
        parsed = timefmt.parse_utc_iso(self.reschedule_start)
        return timefmt.format_with_zone(parsed, self.viewer_tz) if parsed else ""


def _taken_message(message: str, alternatives: list[datetime], tz: str) -> str:
    if not alternatives:
        return message
    nearest = ", ".join(timefmt.format_datetime(a, tz) for a in alternatives)
    return f"{message} Nearest free times: {nearest}."


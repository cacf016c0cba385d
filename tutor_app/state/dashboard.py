"""`/dashboard`: the signed-in student's upcoming and past lessons.

The lessons are read once per visit (`lessons.dashboard_lessons`) and kept as backend-only
views; what the page shows is text formatted for the viewer's time zone (from the `tz` cookie;
when the browser has to be asked instead, the cards are re-formatted, not re-read, once it
answers).
"""

from __future__ import annotations

import asyncio
from typing import TypedDict

import reflex as rx
from reflex.event import EventSpec

from tutor_app.booking import consultations, lessons
from tutor_app.booking.cancellation import cancel_line_for_student
from tutor_app.catalog import pricing
from tutor_app.core import db as app_db
from tutor_app.core import routes, timefmt
from tutor_app.core.models import BookingKind, BookingStatus
from tutor_app.mail import ics
from tutor_app.state.auth import AuthState
from tutor_app.state.viewer_zone import ViewerZoneMixin

# Keyed by the status text a LessonView carries (BookingStatus is a str enum).
_STATUS: dict[str, tuple[str, str]] = {
    BookingStatus.SCHEDULED: ("Scheduled", "green"),
    BookingStatus.COMPLETED: ("Completed", "gray"),
    BookingStatus.CANCELED: ("Canceled", "red"),
}


class LessonCard(TypedDict):
    """One lesson as its card shows it; plain strings so the page only renders."""

    id: str
    tutor_name: str
    tutor_photo_url: str
    tutor_initials: str
    when: str  # "Tue 1 Dec 2026, 10:00-11:00 (America/New_York)"
    duration: str  # "1 hour"
    price: str  # "$60.00"
    status: str  # "Scheduled"
    status_color: str  # a Radix colour name for the badge
    refund: str  # "Refunded $60.00 · Canceled by you", "Canceled by your tutor — ...", or ""
    book_again_url: str  # "" when the tutor is no longer bookable
    book_again_label: str  # "Book again"; "Book a lesson" after a free consultation
    kind_label: str  # "Free consultation", or "" for a lesson
    # "Add to calendar", both "" unless the lesson is upcoming and scheduled:
    calendar_file_url: str  # the lesson's .ics, downloaded as a whole document
    google_calendar_url: str  # Google Calendar's "new event" form, filled in


BOOK_AGAIN = "Book again"
BOOK_A_LESSON = "Book a lesson"  # after a free consultation: the paid lesson comes next


def calendar_file_url(booking_id: str) -> str:
    """The `.ics` route of `api/ics.py`; it serves only the booking's own student."""
    return f"/api/bookings/{booking_id}/calendar.ics"


def lesson_card(view: lessons.LessonView, tz: str, *, upcoming: bool = False) -> LessonCard:
    """Format one lesson for a viewer in `tz`.

    Only an `upcoming` scheduled lesson offers "Add to calendar": a past or canceled one has
    nothing left to put in a calendar.
    """
    addable = upcoming and view.status == BookingStatus.SCHEDULED
    free = view.kind == BookingKind.CONSULTATION
    status, color = _STATUS.get(view.status, (view.status.title(), "gray"))
    refund = cancel_line_for_student(  # codes in words
        reason=view.cancel_reason, refunded_cents=view.refunded_cents,
        price_cents=view.price_cents, currency=view.currency,
    )
    return {
        "id": view.id,
        "tutor_name": view.tutor_name,
        "tutor_photo_url": view.tutor_photo_url,
        "tutor_initials": "".join(p[0] for p in view.tutor_name.split()[:2]).upper(),
        "when": timefmt.format_range(view.start, view.end, tz),
        "duration": timefmt.format_duration(view.duration_minutes),
        "price": consultations.FREE_LABEL if free
        else pricing.format_money(view.price_cents, view.currency),
        "status": status,
        "status_color": color,
        "refund": refund,
        "book_again_url": routes.book_now(view.tutor_id) if view.tutor_bookable else "",
        "book_again_label": BOOK_A_LESSON if free else BOOK_AGAIN,
        "kind_label": consultations.CONSULTATION_LABEL if free else "",
        "calendar_file_url": calendar_file_url(view.id) if addable else "",
        "google_calendar_url": ics.google_calendar_url(
            tutor_name=view.tutor_name, start=view.start, end=view.end, note=view.note
        ) if addable else "",
    }


def _read_lessons(user_id: str) -> tuple[list[lessons.LessonView], list[lessons.LessonView]]:
    with app_db.session() as db:
        return lessons.dashboard_lessons(db, user_id=user_id)


class DashboardState(ViewerZoneMixin, AuthState):
    """Upcoming and past lessons of the signed-in user."""

    upcoming: list[LessonCard] = []
    past: list[LessonCard] = []
    loaded: bool = False

    _upcoming: list[lessons.LessonView] = []
    _past: list[lessons.LessonView] = []

    @rx.event
    async def load(self) -> EventSpec | None:
        """on_load (after `require_login`): read the lessons, shown in the viewer's zone.

        The database is read in a worker thread, off the event loop."""
        user = await self._current_user_off_loop()
        ask_zone = None
        if user is None:
            self._upcoming, self._past = [], []
        else:
            ask_zone = self._detect_viewer_tz(user.timezone)
            self._upcoming, self._past = await asyncio.to_thread(_read_lessons, user.id)
        self._render()
        self.loaded = True
        return ask_zone

    def _viewer_tz_changed(self) -> None:
        self._render()  # the cards' times, re-formatted for the browser's zone

    def _render(self) -> None:
        self.upcoming = [lesson_card(v, self.viewer_tz, upcoming=True) for v in self._upcoming]
        self.past = [lesson_card(v, self.viewer_tz) for v in self._past]

    @rx.var(cache=True)
    def zone_label(self) -> str:
        return timefmt.zone_label(self.viewer_tz)

    @rx.var(cache=True)
    def is_empty(self) -> bool:
        return not self.upcoming and not self.past

"""`/admin/bookings` and `/admin/bookings/[booking_id]`: the bookings table and one booking's
page with the admin's actions.

Every handler asks `_admin()` first (the role, read afresh on the server): for anybody else it
does nothing and the page shows the ordinary not-found message. Queries, the history and the
actions are `admin.bookings`, `admin.booking_history` and `admin.booking_actions`, each run in
a worker thread. Times and the filters' days are the admin's (their account's zone, else the
browser's: `ViewerZoneMixin`); the page names the zone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, TypedDict
from urllib.parse import urlencode

import reflex as rx
from reflex.event import EventSpec

from tutor_app.admin import audit, booking_actions, booking_history, bookings
from tutor_app.admin.booking_actions import ActionRefused
from tutor_app.admin.bookings import AdminBookingRow, BookingFilter
from tutor_app.booking import cancellation, reschedule
from tutor_app.booking.access import NotFound
from tutor_app.catalog import pricing
from tutor_app.core import db as app_db
from tutor_app.core import routes, timefmt
from tutor_app.core.models import BookingStatus, User
from tutor_app.scheduling import slots
from tutor_app.state.admin_base import AdminState
from tutor_app.state.directory import tutor_id_from_path as last_path_segment
from tutor_app.state.viewer_zone import ViewerZoneMixin

CSV_PATH = "/api/admin/bookings.csv"
NOT_FOUND_MESSAGE = "We couldn't find that booking."
BAD_START = "Write the new start as a date and time."
UNKNOWN_ACTION = "Choose an action."
REFUND_OUTCOME = {
    "refunded": "The refund went through.",
    "pending": "The refund is owed and will be retried.",
    "in_progress": "The refund is being sent.",
}
STATUS_CHOICES = (("", "Any status"), *((s.value, s.value.title()) for s in BookingStatus))
PAID_CHOICES = (("", "Paid and free"), ("paid", "Paid"), ("free", "Free"))
SORT_CHOICES = (("start", "Start"), ("created", "Created"), ("price", "Price"))
# The dialogs of the booking page: (key, title).
ACTIONS = {
    "cancel": "Cancel the lesson",
    "refund": "Refund without canceling",
    "reschedule": "Reschedule for the student",
    "attended": "Mark attended",
    "no_show": "Mark no-show",
    "resend": "Resend the confirmation",
}


class AdminBookingRowView(TypedDict):
    id: str
    url: str
    when: str
    tutor: str
    student: str
    kind: str
    status: str
    price: str
    refunded: str


class TimelineRow(TypedDict):
    at: str
    source: str
    title: str
    detail: str
    actor: str


def _money(cents: int, currency: str) -> str:
    return pricing.format_money(cents, currency)


def table_row(row: AdminBookingRow, zone: str) -> AdminBookingRowView:
    return {
        "id": row.id,
        "url": routes.admin_booking(row.id),
        "when": timefmt.format_range(row.start, row.end, zone),
        "tutor": row.tutor_name,
        "student": row.student_email,
        "kind": "Free" if row.kind == "consultation" else "Paid",
        "status": row.status.title(),
        "price": _money(row.price_cents, row.currency),
        "refunded": _money(row.refunded_cents, row.currency) if row.refunded_cents else "",
    }


def _read_page(wanted: BookingFilter, page: int) -> tuple[bookings.BookingPage,
                                                           list[tuple[str, str]]]:
    with app_db.session() as db:
        return bookings.booking_page(db, wanted, page=page), bookings.tutor_choices(db)


def _field(form_data: dict[str, Any], name: str) -> str:
    value = form_data.get(name, "")
    return value.strip() if isinstance(value, str) else ""


class AdminBookingsState(ViewerZoneMixin, AdminState):
    """The table: the filter form's values, the page shown, the rows and the count."""

    rows: list[AdminBookingRowView] = []
    _found: list[AdminBookingRow] = []  # the rows shown, to format again in another zone
    tutors: list[dict[str, str]] = []  # {"id", "name"}
    count_label: str = ""  # "123 bookings" or "10,000+ bookings (an estimate)"
    page: int = 1
    pages: int = 1
    csv_url: str = CSV_PATH
    f_status: str = ""
    f_tutor: str = ""
    f_email: str = ""
    f_from: str = ""
    f_to: str = ""
    f_paid: str = ""
    f_q: str = ""
    f_sort: str = "start"
    f_dir: str = "desc"

    def _filter(self) -> BookingFilter:
        return bookings.read_filter({
            "status": self.f_status, "tutor": self.f_tutor, "email": self.f_email,
            "from": self.f_from, "to": self.f_to, "paid": self.f_paid, "q": self.f_q,
            "sort": self.f_sort, "dir": self.f_dir, "tz": self.viewer_tz,
        })

    async def _read(self) -> None:
        wanted = self._filter()
        found, tutors = await asyncio.to_thread(_read_page, wanted, self.page)
        self._found = found.rows
        self.rows = [table_row(r, self.viewer_tz) for r in found.rows]
        self.tutors = [{"id": i, "name": n} for i, n in tutors]
        self.pages = found.pages
        plus = "+" if found.count_is_estimate else ""
        self.count_label = (f"{found.count:,}{plus} bookings"
                            + (" (an estimate: counting stops there)" if plus else ""))
        query = urlencode(bookings.filter_params(wanted))
        self.csv_url = CSV_PATH + (f"?{query}" if query else "")

    @rx.event
    async def load_page(self) -> AsyncIterator[EventSpec]:
        """on_load: the first page, newest start first, for an admin; nothing for anyone else."""
        self.rows = []
        admin = await self._admin()
        ask_zone = None
        if admin is not None:
            ask_zone = self._detect_viewer_tz(admin.timezone)
            self.page = 1
            await self._read()
        self.loaded = True
        if ask_zone is not None:
            yield ask_zone

    def _viewer_tz_changed(self) -> None:
        self.rows = [table_row(r, self.viewer_tz) for r in self._found]

    @rx.event
    async def apply_filters(self, form_data: dict[str, Any]) -> None:
        """The filter form: read again from the first page."""
        if await self._admin() is None:
            return
        wanted = bookings.read_filter({"tz": self.viewer_tz} | {k: _field(form_data, k) for k in (
            "status", "tutor", "email", "from", "to", "paid", "q", "sort", "dir")})
        params = bookings.filter_params(wanted)
        self.f_status, self.f_tutor = params.get("status", ""), params.get("tutor", "")
        self.f_email, self.f_paid = params.get("email", ""), params.get("paid", "")
        self.f_from, self.f_to = params.get("from", ""), params.get("to", "")
        self.f_q, self.f_sort, self.f_dir = (params.get("q", ""), params.get("sort", "start"),
                                             params.get("dir", "desc"))
        self.page = 1
        await self._read()

    @rx.event
    async def go_to_page(self, page: int) -> None:
        if await self._admin() is None:
            return
        self.page = max(1, min(int(page), self.pages))
        await self._read()


def _read_history(booking_id: str) -> booking_history.BookingHistory | None:
    with app_db.session() as db:
        return booking_history.booking_history(db, booking_id=booking_id)


class AdminBookingState(ViewerZoneMixin, AdminState):
    """One booking's facts, its timeline, and the action dialog."""

    found: bool = False
    booking_id: str = ""
    facts: list[dict[str, str]] = []  # {"label", "value"}
    timeline: list[TimelineRow] = []
    status: str = ""
    price_cents: int = 0
    refunded_cents: int = 0
    refundable_cents: int = 0
    refundable: str = ""
    half: str = ""  # half the price, as an amount to type ("30.00")
    can_cancel: bool = False
    can_mark: bool = False
    notice: str = ""
    action: str = ""  # a key of ACTIONS while its dialog is open
    action_title: str = ""
    action_error: str = ""
    working: bool = False
    _span: tuple[datetime, datetime] | None = None  # the lesson's start and end, and
    _timeline_at: list[datetime] = []  # each timeline row's time: to format in another zone

    def _booking_id(self) -> str:
        return last_path_segment(self.router.url.path)

    async def _read(self) -> None:
        history = await asyncio.to_thread(_read_history, self._booking_id())
        self.found = history is not None
        if history is None:
            self.facts, self.timeline = [], []
            return
        b = history.booking
        self._span = (b.start_time, b.end_time)
        self._timeline_at = [e.at for e in history.timeline]
        self.booking_id, self.status = b.id, b.status
        self.price_cents, self.refunded_cents = b.price_cents, b.refunded_cents
        self.refundable_cents = history.refundable_cents
        self.refundable = _money(history.refundable_cents, b.currency)
        self.half = pricing.plain_amount(b.price_cents // 2, b.currency)
        self.facts = [{"label": k, "value": v} for k, v in (
            ("Booking", b.id),
            ("Status", b.status.title() + (f" ({b.cancel_reason})" if b.cancel_reason else "")),
            ("When", timefmt.format_range(b.start_time, b.end_time, self.viewer_tz)),
            ("Tutor", history.tutor_name),
            ("Student", f"{history.student_name} <{history.student_email}>".strip()),
            ("Price", _money(b.price_cents, b.currency)),
            ("Refunded", cancellation.refunded_line(
                refunded_cents=b.refunded_cents, price_cents=b.price_cents,
                currency=b.currency) or "Nothing"),
            ("Refund pending", _money(history.pending_refund_cents, b.currency)
             if history.pending_refund_cents else "None"),
            ("Checkout session", b.stripe_checkout_session_id),
            ("Payment intent", b.stripe_payment_intent_id or ""),
            ("Calendar sync", b.calendar_sync_status
             + (f": {b.calendar_sync_error}" if b.calendar_sync_error else "")),
            ("Attendance", b.attendance or ""),
        )]
        self.can_cancel = b.status == BookingStatus.SCHEDULED
        self.can_mark = b.status != BookingStatus.CANCELED
        self.timeline = [{
            "at": timefmt.format_datetime(e.at, self.viewer_tz), "source": e.source,
            "title": e.title,
            "detail": e.detail, "actor": e.actor,
        } for e in history.timeline]

    @rx.event
    async def load_page(self) -> AsyncIterator[EventSpec]:
        self.found, self.notice, self.action = False, "", ""
        admin = await self._admin()
        ask_zone = None
        if admin is not None:
            ask_zone = self._detect_viewer_tz(admin.timezone)
            await self._read()
        self.loaded = True
        if ask_zone is not None:
            yield ask_zone

    def _viewer_tz_changed(self) -> None:
        """The browser's zone came after the page was read: the times again, in that zone."""
        if self._span:
            start, end = self._span
            self.facts = [{"label": f["label"], "value": timefmt.format_range(
                start, end, self.viewer_tz)} if f["label"] == "When" else f for f in self.facts]
        self.timeline = [row | {"at": timefmt.format_datetime(at, self.viewer_tz)}
                         for row, at in zip(self.timeline, self._timeline_at, strict=True)]

    @rx.event
    def open_action(self, action: str) -> None:
        """Open the dialog of one action (each asks for a reason)."""
        if not self.allowed or action not in ACTIONS:
            return
        self.action, self.action_title, self.action_error = action, ACTIONS[action], ""

    @rx.event
    def set_action_open(self, is_open: bool) -> None:
        if not is_open and not self.working:
            self.action = ""

    @rx.event
    async def submit_action(self, form_data: dict[str, Any]) -> AsyncIterator[None]:
        """Run the open dialog's action with its reason; the page is read again after."""
        if self.working:
            return
        admin = await self._admin()
        if admin is None:
            self.action = ""
            return
        action = self.action
        if action not in ACTIONS:
            self.action_error = UNKNOWN_ACTION
            return
        self.working, self.action_error = True, ""
        yield None
        try:
            self.notice = await asyncio.to_thread(
                _run_action, action, admin, self.booking_id, self.refunded_cents, form_data,
                self.viewer_tz)
            self.action = ""
        except (ActionRefused, audit.ReasonRequired, cancellation.CannotCancel,
                reschedule.InvalidReschedule, slots.SlotTaken) as exc:
            self.action_error = str(exc)
        except NotFound:
            self.action_error = NOT_FOUND_MESSAGE
        finally:
            self.working = False
        await self._read()


def _run_action(action: str, admin: User, booking_id: str, seen_refunded: int,
                form_data: dict[str, Any], zone: str) -> str:
    """One action, blocking (run it in a thread); the sentence the page shows after it."""
    reason = _field(form_data, "reason")
    audit.clean_reason(reason)  # before any other check: no reason, nothing happens
    if action == "cancel":
        amount = booking_actions.parse_amount(_field(form_data, "amount") or "0")
        return booking_actions.cancel(booking_id=booking_id, admin=admin, reason=reason,
                                      refund_cents=amount).message
    if action == "refund":
        amount = booking_actions.parse_amount(_field(form_data, "amount"))
        attempt = booking_actions.refund(booking_id=booking_id, admin=admin, reason=reason,
                                         amount_cents=amount,
                                         expected_refunded_cents=seen_refunded)
        return REFUND_OUTCOME.get(attempt.status.value, attempt.status.value)
    if action == "reschedule":
        start = _start_in(_field(form_data, "start"), zone)
        booking_actions.reschedule_for_student(booking_id=booking_id, admin=admin,
                                               reason=reason, new_start=start)
        return "The lesson is moved; the student and the tutor are told."
    if action in ("attended", "no_show"):
        booking_actions.mark_attendance(booking_id=booking_id, admin=admin, reason=reason,
                                        value=action)
        return "Attendance recorded."
    sent = booking_actions.resend_confirmation(booking_id=booking_id, admin=admin,
                                               reason=reason)
    return "The confirmation was sent again." if sent else "The confirmation could not be sent."


def _start_in(text: str, zone: str) -> datetime:
    """The new start the admin typed, on their wall clock in `zone` (an explicit offset wins)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ActionRefused(BAD_START) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timefmt.zone(zone))
    return value.astimezone(UTC)

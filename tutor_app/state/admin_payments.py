"""`/admin/payments`: payments health (`admin.payments`) and its actions.

Every handler asks `_admin()` first: a non-admin gets nothing shown and nothing done. Each
action needs the reason typed in the page's reason field (it goes into the audit log); the
work (Stripe, SMTP, Google, the database) runs in a worker thread, then the lists are read
again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import TypedDict

import reflex as rx

from tutor_app.admin import audit, payments
from tutor_app.catalog.pricing import format_money
from tutor_app.core import db as app_db
from tutor_app.core import timefmt
from tutor_app.core.models import User
from tutor_app.state.admin_base import AdminState


class EventRow(TypedDict):
    event_id: str
    type: str
    object_id: str
    at: str
    status: str
    error: str


class RefundRow(TypedDict):
    booking_id: str
    amount: str
    reason: str
    since: str
    status: str


class MailRow(TypedDict):
    notification_id: str
    booking_id: str
    kind: str
    attempts: str
    error: str


class SyncRow(TypedDict):
    booking_id: str
    tutor_id: str
    start: str
    error: str


class Health(TypedDict):
    events: list[EventRow]
    refunds: list[RefundRow]
    mails: list[MailRow]
    syncs: list[SyncRow]


def read_health() -> Health:
    """The four lists, formatted in UTC (blocking: run in a thread)."""
    def at(value: datetime) -> str:
        return timefmt.format_datetime(value, "UTC")

    with app_db.session() as db:
        return {
            "events": [{"event_id": e.event_id, "type": e.type, "object_id": e.object_id or "",
                        "at": at(e.at),
                        "status": "handled after a retry" if e.handled_later else e.status,
                        "error": e.error} for e in payments.webhook_events(db)],
            "refunds": [{"booking_id": r.booking_id,
                         "amount": format_money(r.amount_cents, r.currency), "reason": r.reason,
                         "since": at(r.since), "status": r.status}
                        for r in payments.owed_refunds(db)],
            "mails": [{"notification_id": n.notification_id, "booking_id": n.booking_id,
                       "kind": n.kind, "attempts": str(n.attempts), "error": n.error}
                      for n in payments.failed_notifications(db)],
            "syncs": [{"booking_id": s.booking_id, "tutor_id": s.tutor_id, "start": at(s.start),
                       "error": s.error} for s in payments.failed_syncs(db)],
        }


class AdminPaymentsState(AdminState):
    """The lists, the reason typed for the next action, and the last action's result."""

    events: list[EventRow] = []
    refunds: list[RefundRow] = []
    mails: list[MailRow] = []
    syncs: list[SyncRow] = []
    reason: str = ""
    result: str = ""
    error: str = ""
    busy: bool = False

    def _clear(self) -> None:
        self.events, self.refunds, self.mails, self.syncs = [], [], [], []
        self.result = self.error = ""

    async def _refresh(self) -> None:
        health = await asyncio.to_thread(read_health)
        self.events, self.refunds = health["events"], health["refunds"]
        self.mails, self.syncs = health["mails"], health["syncs"]

    @rx.event
    async def load(self) -> None:
        """on_load: the lists; nothing at all for a non-admin."""
        admin = await self._admin()
        self._clear()
        if admin is not None:
            await self._refresh()
        self.loaded = True

    @rx.event
    def set_reason(self, value: str) -> None:
        self.reason = value

    async def _act(self, action: Callable[[User, str], str]) -> None:
        """Run `action(admin, reason)` off the event loop; show its result, then the lists."""
        admin = await self._admin()
        if admin is None:
            self._clear()
            return
        self.result = self.error = ""
        if not self.reason.strip():
            self.error = audit.REASON_REQUIRED
            return
        self.busy = True
        try:
            self.result = await asyncio.to_thread(action, admin, self.reason)
            self.reason = ""
        except audit.ReasonRequired as exc:
            self.error = str(exc)
        finally:
            self.busy = False
        await self._refresh()

    @rx.event
    async def run_reconciliation(self) -> None:
        """"Run reconciliation now"."""
        await self._act(lambda admin, reason: payments.run_reconciliation(admin, reason=reason))

    @rx.event
    async def retry_refund(self, booking_id: str) -> None:
        def act(admin: User, reason: str) -> str:
            attempt = payments.retry_refund(admin, booking_id=booking_id, reason=reason)
            return f"Refund for booking {booking_id}: {attempt.status}"

        await self._act(act)

    @rx.event
    async def retry_notification(self, notification_id: str) -> None:
        def act(admin: User, reason: str) -> str:
            sent = payments.retry_notification(admin, notification_id=notification_id,
                                               reason=reason)
            return f"Email {notification_id}: {'sent' if sent else 'not sent'}"

        await self._act(act)

    @rx.event
    async def retry_sync(self, booking_id: str) -> None:
        def act(admin: User, reason: str) -> str:
            status = payments.retry_calendar_sync(admin, booking_id=booking_id, reason=reason)
            return f"Calendar sync of booking {booking_id}: {status}"

        await self._act(act)

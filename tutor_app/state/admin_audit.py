"""`/admin/audit`: the audit log, newest first, filtered by action, target, actor and day,
a page at a time ("Older"), each entry with its reason and a compact before/after diff.

Every handler asks `AdminState._admin()` first and shows nothing to anyone else; the read
(`admin.audit.entries`) runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

import reflex as rx

from tutor_app.admin import audit
from tutor_app.core import db as app_db
from tutor_app.core import timefmt
from tutor_app.core.models import AuditEntry
from tutor_app.state.admin_base import AdminState

PAGE_SIZE = 50
BAD_DAY = "Enter the day as YYYY-MM-DD"


class AuditRowView(TypedDict):
    id: str
    when: str
    actor: str
    action: str
    target: str
    reason: str
    changes: list[str]  # "role: student → tutor"
    cursor: str  # created_at ISO, to page on from here


@dataclass(frozen=True)
class Filters:
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    actor_email: str = ""
    day: str = ""  # YYYY-MM-DD (UTC)


def _field(form_data: dict[str, Any], name: str) -> str:
    value = form_data.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _row(entry: AuditEntry) -> AuditRowView:
    return {
        "id": entry.id,
        "when": timefmt.format_datetime(entry.created_at, "UTC") + " UTC",
        "actor": entry.actor_email,
        "action": entry.action,
        "target": f"{entry.target_type} {entry.target_id}",
        "reason": entry.reason,
        "changes": [f"{key}: {old or '—'} → {new or '—'}"
                    for key, old, new in audit.changes(entry.before, entry.after)],
        "cursor": entry.created_at.isoformat(),
    }


def read_entries(filters: Filters, before: str = "", before_id: str = ""
                 ) -> tuple[list[AuditRowView], bool]:
    """A page of entries (blocking: run in a thread); whether older ones follow."""
    day = timefmt.parse_day_key(filters.day) if filters.day else None
    since = datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None
    with app_db.read_session() as db:
        rows = audit.entries(
            db, action=filters.action or None, target_type=filters.target_type or None,
            target_id=filters.target_id or None, actor_email=filters.actor_email or None,
            limit=PAGE_SIZE + 1, before=datetime.fromisoformat(before) if before else None,
            before_id=before_id or None, since=since,
            until=since + timedelta(days=1) if since else None,
        )
        return [_row(e) for e in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


class AdminAuditState(AdminState):
    """The filters, the entries shown and whether older ones follow."""

    action: str = ""
    target_type: str = ""
    target_id: str = ""
    actor_email: str = ""
    day: str = ""
    filter_error: str = ""
    rows: list[AuditRowView] = []
    has_older: bool = False
    paged: bool = False  # showing older entries than the newest

    def _filters(self) -> Filters:
        return Filters(self.action, self.target_type, self.target_id, self.actor_email,
                       self.day)

    async def _show(self, before: str = "", before_id: str = "") -> None:
        self.rows, self.has_older = await asyncio.to_thread(
            read_entries, self._filters(), before, before_id)
        self.paged = bool(before)

    @rx.event
    async def load(self) -> None:
        if await self._admin() is not None:
            params = self.router.url.query_parameters
            self.target_type = params.get("target_type", "") or ""
            self.target_id = params.get("target_id", "") or ""
            self.filter_error = ""
            await self._show()
        else:
            self.rows, self.has_older = [], False
        self.loaded = True

    @rx.event
    async def apply_filters(self, form_data: dict[str, Any]) -> None:
        if await self._admin() is None:
            return
        day = _field(form_data, "day")
        if day and timefmt.parse_day_key(day) is None:
            self.filter_error = BAD_DAY
            return
        self.filter_error = ""
        self.action, self.target_type, self.target_id, self.actor_email = (
            _field(form_data, k) for k in ("action", "target_type", "target_id", "actor_email"))
        self.day = day
        await self._show()

    @rx.event
    async def older(self) -> None:
        if await self._admin() is None or not self.rows or not self.has_older:
            return
        last = self.rows[-1]
        await self._show(last["cursor"], last["id"])

    @rx.event
    async def newest(self) -> None:
        if await self._admin() is None:
            return
        await self._show()

"""`/admin/users`: find accounts by email or name, a page at a time; change a role, disable
an account (its sessions end at once) and enable it again.

Every handler asks `AdminState._admin()` first and does nothing for anyone else; the work
(`admin.users`) runs in a worker thread and commits with its audit entry.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypedDict

import reflex as rx

from tutor_app.admin import users as admin_users
from tutor_app.admin.audit import ReasonRequired
from tutor_app.core import db as app_db
from tutor_app.core import timefmt
from tutor_app.core.models import Role, User
from tutor_app.state.admin_base import AdminState

ROLE_CHANGED = "{email} is now {role}."
DISABLED = "{email} is disabled; {sessions} sign-in session(s) ended."
ENABLED = "{email} can sign in again."
ROLES = [r.value for r in Role]


class UserRowView(TypedDict):
    id: str
    email: str
    name: str
    role: str
    tutor_id: str
    disabled: bool
    status: str  # "Disabled since ..." / "Active"
    joined: str
    is_me: bool


def _field(form_data: dict[str, Any], name: str) -> str:
    value = form_data.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _row(user: User, me: str) -> UserRowView:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "tutor_id": user.tutor_id or "",
        "disabled": user.disabled_at is not None,
        "status": f"Disabled since {timefmt.format_datetime(user.disabled_at, 'UTC')} UTC"
        if user.disabled_at else ("Deleted" if user.deleted_at else "Active"),
        "joined": timefmt.format_day(user.created_at.date()),
        "is_me": user.id == me,
    }


def read_users(query: str, page: int, me: str) -> tuple[list[UserRowView], bool]:
    """A page of the search (blocking: run in a thread)."""
    with app_db.read_session() as db:
        found = admin_users.search_users(db, query=query, page=page)
        return [_row(u, me) for u in found.users], found.has_more


def _change_role(admin: User, user_id: str, role: str, tutor_id: str, reason: str) -> User:
    with app_db.write_session() as db:
        user = admin_users.change_role(db, actor=admin, user_id=user_id, role=role,
                                       tutor_id=tutor_id or None, reason=reason)
        db.commit()
        return user


def _disable(admin: User, user_id: str, reason: str) -> tuple[str, int]:
    with app_db.write_session() as db:
        sessions = admin_users.disable_user(db, actor=admin, user_id=user_id, reason=reason)
        email = db.get(User, user_id).email  # type: ignore[union-attr]
        db.commit()
        return email, sessions


def _enable(admin: User, user_id: str, reason: str) -> User:
    with app_db.write_session() as db:
        user = admin_users.enable_user(db, actor=admin, user_id=user_id, reason=reason)
        db.commit()
        return user


class AdminUsersState(AdminState):
    """The search, its page of accounts, and the outcome of the last action."""

    query: str = ""
    page: int = 0
    has_more: bool = False
    rows: list[UserRowView] = []
    message: str = ""
    error: str = ""

    @rx.var
    def role_options(self) -> list[str]:
        return ROLES

    async def _refresh(self, admin: User) -> None:
        self.rows, self.has_more = await asyncio.to_thread(
            read_users, self.query, self.page, admin.id)

    @rx.event
    async def load(self) -> None:
        self.message = self.error = ""
        admin = await self._admin()
        if admin is not None:
            self.query = self.router.url.query_parameters.get("q", "") or ""
            self.page = 0
            await self._refresh(admin)
        else:
            self.rows, self.has_more = [], False
        self.loaded = True

    @rx.event
    async def search(self, form_data: dict[str, Any]) -> None:
        admin = await self._admin()
        if admin is None:
            return
        self.query, self.page = _field(form_data, "q"), 0
        await self._refresh(admin)

    @rx.event
    async def next_page(self) -> None:
        admin = await self._admin()
        if admin is None or not self.has_more:
            return
        self.page += 1
        await self._refresh(admin)

    @rx.event
    async def previous_page(self) -> None:
        admin = await self._admin()
        if admin is None or self.page == 0:
            return
        self.page -= 1
        await self._refresh(admin)

    @rx.event
    async def change_role(self, form_data: dict[str, Any]) -> None:
        admin = await self._admin()
        if admin is None:
            return
        user_id, role, tutor_id, reason = (
            _field(form_data, k) for k in ("user_id", "role", "tutor_id", "reason"))
        self.message = self.error = ""
        try:
            user = await asyncio.to_thread(_change_role, admin, user_id, role, tutor_id, reason)
        except (ReasonRequired, admin_users.AdminUserError) as exc:
            self.error = str(exc)
            return
        self.message = ROLE_CHANGED.format(email=user.email, role=user.role)
        await self._refresh(admin)

    @rx.event
    async def disable(self, form_data: dict[str, Any]) -> None:
        admin = await self._admin()
        if admin is None:
            return
        user_id, reason = _field(form_data, "user_id"), _field(form_data, "reason")
        self.message = self.error = ""
        try:
            email, sessions = await asyncio.to_thread(_disable, admin, user_id, reason)
        except (ReasonRequired, admin_users.AdminUserError) as exc:
            self.error = str(exc)
            return
        self.message = DISABLED.format(email=email, sessions=sessions)
        await self._refresh(admin)

    @rx.event
    async def enable(self, form_data: dict[str, Any]) -> None:
        admin = await self._admin()
        if admin is None:
            return
        user_id, reason = _field(form_data, "user_id"), _field(form_data, "reason")
        self.message = self.error = ""
        try:
            user = await asyncio.to_thread(_enable, admin, user_id, reason)
        except (ReasonRequired, admin_users.AdminUserError) as exc:
            self.error = str(exc)
            return
        self.message = ENABLED.format(email=user.email)
        await self._refresh(admin)

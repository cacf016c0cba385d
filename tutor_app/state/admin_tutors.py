"""`/admin/tutors`: every tutor profile (listed or not, what it lacks, lessons to follow up),
a new profile, an invitation, deactivating and reactivating.

Every handler asks `AdminState._admin()` first and does nothing for anyone else; the work
(`admin.tutors`) runs in a worker thread, and each action commits with its audit entry.
Editing a profile is the tutor portal's own pages, which admins open with `?tutor=<id>`.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypedDict

import reflex as rx

from tutor_app.accounts import account_settings
from tutor_app.accounts.users import AuthError
from tutor_app.admin import tutors as admin_tutors
from tutor_app.admin.audit import ReasonRequired
from tutor_app.catalog import pricing
from tutor_app.core import db as app_db
from tutor_app.core import routes, timefmt
from tutor_app.core.models import Booking, Tutor, User
from tutor_app.state.admin_base import AdminState
from tutor_app.tutors.invites import InviteNotMailed

CREATED = "Profile {tutor_id} created. Fill it in on its profile and hours pages."
INVITED = "Invitation mailed to {email}."
DEACTIVATED = "{name} is deactivated: hidden from students. Their booked lessons need follow-up."
REACTIVATED = "{name} is active again."


class TutorRowView(TypedDict):
    id: str
    name: str
    active: bool
    listed: str  # "Listed" / "Not listed" / "Deactivated"
    rate: str
    missing: str  # "rate, hours" or ""
    accounts: str
    follow_up: str  # "2 lessons need follow-up" or ""
    profile_url: str
    hours_url: str


class FollowUpView(TypedDict):
    booking_id: str
    tutor: str
    when: str
    student: str
    url: str


def _field(form_data: dict[str, Any], name: str) -> str:
    value = form_data.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _row(row: admin_tutors.TutorRow) -> TutorRowView:
    tutor = row.tutor
    count = row.follow_up
    return {
        "id": tutor.id,
        "name": tutor.name,
        "active": tutor.active,
        "listed": "Deactivated" if not tutor.active else ("Listed" if row.listed
                                                          else "Not listed"),
        "rate": pricing.format_money(tutor.hourly_rate_cents, tutor.currency)
        if tutor.hourly_rate_cents > 0 else "",
        "missing": ", ".join(row.missing),
        "accounts": ", ".join(row.accounts),
        "follow_up": f"{count} lesson{'s' if count != 1 else ''} need follow-up" if count else "",
        "profile_url": f"{routes.TUTOR_PROFILE}?tutor={tutor.id}",
        "hours_url": f"{routes.TUTOR_AVAILABILITY}?tutor={tutor.id}",
    }


def _follow_up(booking: Booking, tutors: dict[str, Tutor], emails: dict[str, str]
               ) -> FollowUpView:
    tutor = tutors.get(booking.tutor_id)
    return {
        "booking_id": booking.id,
        "tutor": tutor.name if tutor else booking.tutor_id,
        "when": timefmt.format_with_zone(booking.start_time, "UTC"),
        "student": emails.get(booking.user_id or "", "") or (booking.customer_email or ""),
        "url": routes.admin_booking(booking.id),
    }


def read_tutors() -> tuple[list[TutorRowView], list[FollowUpView]]:
    """The list and the lessons to follow up (blocking: run in a thread)."""
    with app_db.read_session() as db:
        rows = admin_tutors.tutor_rows(db)
        lessons = admin_tutors.follow_up_lessons(db)
        user_ids = {b.user_id for b in lessons if b.user_id}
        emails = {u.id: u.email for u in (db.get(User, i) for i in user_ids) if u}
        tutors = {r.tutor.id: r.tutor for r in rows}
        return [_row(r) for r in rows], [_follow_up(b, tutors, emails) for b in lessons]


def _create(admin: User, name: str, zone: str, reason: str) -> str:
    with app_db.write_session() as db:
        tutor = admin_tutors.create_tutor(db, actor=admin, name=name, timezone=zone,
                                          reason=reason)
        db.commit()
        return tutor.id


def _invite(admin: User, email: str, tutor_id: str | None, reason: str) -> None:
    with app_db.write_session() as db:
        admin_tutors.invite(db, actor=admin, email=email, tutor_id=tutor_id, reason=reason)


def _set_active(admin: User, tutor_id: str, active: bool, reason: str) -> str:
    with app_db.write_session() as db:
        tutor = admin_tutors.set_active(db, actor=admin, tutor_id=tutor_id, active=active,
                                        reason=reason)
        db.commit()
        return tutor.name


# The same for everyone, so a constant of the page rather than a var: as a var its 600 names
# were kept in every visitor's state in Redis, and loaded and saved with it.
ZONE_OPTIONS: tuple[str, ...] = account_settings.selectable_zones()


class AdminTutorsState(AdminState):
    """The tutors page: its rows, the lessons to follow up, and the outcome of the last
    action (`message` or `error`)."""

    rows: list[TutorRowView] = []
    follow_ups: list[FollowUpView] = []
    message: str = ""
    error: str = ""

    async def _refresh(self) -> None:
        self.rows, self.follow_ups = await asyncio.to_thread(read_tutors)

    @rx.event
    async def load(self) -> None:
        self.message = self.error = ""
        if await self._admin() is not None:
            await self._refresh()
        else:
            self.rows, self.follow_ups = [], []
        self.loaded = True

    @rx.event
    async def create(self, form_data: dict[str, Any]) -> None:
        admin = await self._admin()
        if admin is None:
            return
        name, zone, reason = (_field(form_data, k) for k in ("name", "timezone", "reason"))
        self.message = self.error = ""
        try:
            tutor_id = await asyncio.to_thread(_create, admin, name, zone, reason)
        except (ReasonRequired, admin_tutors.AdminTutorError) as exc:
            self.error = str(exc)
            return
        self.message = CREATED.format(tutor_id=tutor_id)
        await self._refresh()

    @rx.event
    async def invite(self, form_data: dict[str, Any]) -> None:
        admin = await self._admin()
        if admin is None:
            return
        email, tutor_id, reason = (_field(form_data, k) for k in ("email", "tutor_id", "reason"))
        self.message = self.error = ""
        try:
            await asyncio.to_thread(_invite, admin, email, tutor_id or None, reason)
        except ReasonRequired as exc:
            self.error = str(exc)
            return
        except AuthError as exc:  # InviteError: the email or the profile refused
            self.error = exc.message
            return
        except InviteNotMailed as exc:  # stored (and audited), but not mailed
            self.error = exc.message
        else:
            self.message = INVITED.format(email=email.lower())
        await self._refresh()

    @rx.event
    async def deactivate(self, form_data: dict[str, Any]) -> None:
        await self._set(form_data, active=False)

    @rx.event
    async def reactivate(self, form_data: dict[str, Any]) -> None:
        await self._set(form_data, active=True)

    async def _set(self, form_data: dict[str, Any], *, active: bool) -> None:
        admin = await self._admin()
        if admin is None:
            return
        tutor_id, reason = _field(form_data, "tutor_id"), _field(form_data, "reason")
        self.message = self.error = ""
        try:
            name = await asyncio.to_thread(_set_active, admin, tutor_id, active, reason)
        except (ReasonRequired, admin_tutors.AdminTutorError) as exc:
            self.error = str(exc)
            return
        self.message = (REACTIVATED if active else DEACTIVATED).format(name=name)
        await self._refresh()


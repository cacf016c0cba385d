"""`/account`: the signed-in person's settings, one form per section, messages by the field.

Every rule lives in `accounts.account_settings`. Each handler looks the user up afresh from the
sign-in cookie, runs its service call in a worker thread (the database and Argon2 never run on
the event loop, which serves every other connection) and shows the answer next to the field
it is about. Passwords are read from the submitted form data and never stored in state: state
may live in Redis, and state vars travel back to the browser.

Times (when each device signed in) are shown in the account's zone when it has one, else the
browser's (`ViewerZoneMixin`); the zone selector starts on the same zone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypedDict, TypeVar

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from tutor_app.accounts import account_settings, email_verification, sign_in_sessions
from tutor_app.accounts.account_settings import AccountGone, Device
from tutor_app.accounts.passwords import HashingBusy
from tutor_app.accounts.users import AuthError
from tutor_app.booking import checkout
from tutor_app.core import db as app_db
from tutor_app.core import routes, timefmt
from tutor_app.core.models import User
from tutor_app.state.auth import AuthState, _full_page_navigation, login_url
from tutor_app.state.directory import home_after_deletion
from tutor_app.state.viewer_zone import ViewerZoneMixin

T = TypeVar("T")

DEVICE_SIGNED_OUT = "That device has been signed out."


class ZoneOption(TypedDict):
    value: str  # "Europe/Paris"
    label: str  # "Europe/Paris (CET, UTC+01:00)"


class DeviceRow(TypedDict):
    id: str
    description: str  # "Chrome on Linux"
    signed_in: str  # "Tue 1 Dec 2026, 10:00 (Europe/Paris)"
    current: bool


def _in_transaction(work: Callable[[Session], T]) -> T:
    """`work(db)` in a db session, committed (blocking: run it in a thread)."""
    with app_db.session() as db:
        result = work(db)
        db.commit()
        return result


def _read_devices(user_id: str, token: str | None) -> list[Device]:
    with app_db.session() as db:
        return account_settings.devices(db, user_id=user_id, current_token=token)


def _zone_options() -> list[ZoneOption]:
    return [{"value": zone, "label": label} for zone, label in account_settings.zone_choices()]


def _delete(user_id: str, confirmation: str, ip: str) -> None:
    """Delete the account, then close the checkout sessions of the holds it released."""
    deleted = account_settings.delete_account(user_id=user_id, confirmation=confirmation, ip=ip)
    checkout.expire_sessions(deleted.released_sessions)


def _field(form_data: dict[str, Any], name: str) -> str:
    value = form_data.get(name, "")
    return value if isinstance(value, str) else ""


class AccountState(ViewerZoneMixin, AuthState):
    """The account page's values and the messages next to each field."""

    loaded: bool = False
    has_password: bool = False
    form_name: str = ""  # the name field's starting value
    zone: str = timefmt.DEFAULT_ZONE  # the selector's value
    zone_options: list[ZoneOption] = []
    devices: list[DeviceRow] = []

    name_error: str = ""
    name_notice: str = ""
    new_email_error: str = ""
    email_password_error: str = ""
    email_notice: str = ""
    verify_notice: str = ""
    zone_error: str = ""
    zone_notice: str = ""
    current_password_error: str = ""
    new_password_error: str = ""
    password_notice: str = ""
    devices_notice: str = ""
    confirm_error: str = ""

    _saved_zone: str = ""  # the account's zone ("" when it has none yet)
    _devices: list[Device] = []

    # --- loading --------------------------------------------------------------------------

    @rx.event
    async def load(self) -> EventSpec | None:
        """on_load (after `require_login`): the account's values, zones and devices."""
        self._clear_messages()
        user = await self._current_user_off_loop()
        if user is None:
            self.loaded = False
            return None
        self._show_user(user)
        self.has_password = account_settings.has_password(user)
        self.form_name = user.name
        self._saved_zone = user.timezone or ""
        ask_zone = self._detect_viewer_tz(user.timezone)
        self.zone = self.viewer_tz
        if not self.zone_options:
            self.zone_options = await asyncio.to_thread(_zone_options)
        await self._load_devices(user)
        self.loaded = True
        return ask_zone

    def _viewer_tz_changed(self) -> None:
        """The browser answered with its zone: preselect it (unless the account has one)."""
        if not self._saved_zone:
            self.zone = self.viewer_tz
        self._render_devices()

    async def _load_devices(self, user: User) -> None:
        self._devices = await asyncio.to_thread(_read_devices, user.id, self._token())
        self._render_devices()

    def _render_devices(self) -> None:
        self.devices = [
            {
                "id": device.session_id,
                "description": device.description,
                "signed_in": timefmt.format_with_zone(device.signed_in_at, self.viewer_tz),
                "current": device.current,
            }
            for device in self._devices
        ]

    def _token(self) -> str | None:
        return sign_in_sessions.token_from_cookie_header(self._session_cookie_header())

    def _clear_messages(self) -> None:
        self.name_error = self.name_notice = self.zone_error = self.zone_notice = ""
        self.new_email_error = self.email_password_error = self.email_notice = ""
        self.verify_notice = ""
        self.current_password_error = self.new_password_error = self.password_notice = ""
        self.devices_notice = self.confirm_error = ""

    async def _signed_in_user(self) -> User | None:
        """The user of this browser, afresh; None (and the page forgets them) when signed out."""
        user = await self._current_user_off_loop()
        if user is None:
            self._show_user(None)
            self.loaded = False
        return user

    def _signed_out(self) -> EventSpec:
        return rx.redirect(login_url(routes.ACCOUNT))

    # --- name -----------------------------------------------------------------------------

    @rx.event
    async def save_name(self, form_data: dict[str, Any]) -> EventSpec | None:
        """Save the name (sign-up's rule); the header shows it at once."""
        self._clear_messages()
        user = await self._signed_in_user()
        if user is None:
            return self._signed_out()
        user_id, name = user.id, _field(form_data, "name")
        try:
            saved = await asyncio.to_thread(
                _in_transaction,
                lambda db: account_settings.change_name(db, user_id=user_id, name=name),
            )
        except AuthError as error:
            self.name_error = error.message
            return None
        except AccountGone:
            return self._signed_out()
        self.form_name = self.user_name = saved.name
        self.name_notice = account_settings.NAME_SAVED
        return None

    # --- email ----------------------------------------------------------------------------

    @rx.event
    async def request_email_change(self, form_data: dict[str, Any]) -> EventSpec | None:
        """Mail a link to the new address (the email changes when it is opened) and a notice
        to the current one; the password is checked as a sign-in."""
        self._clear_messages()
        user = await self._signed_in_user()
        if user is None:
            return self._signed_out()
        self._show_user(user)
        user_id, ip = user.id, self._client_ip()
        new_email = _field(form_data, account_settings.NEW_EMAIL_FIELD)
        password = _field(form_data, account_settings.EMAIL_PASSWORD_FIELD)
        try:
            self.email_notice = await asyncio.to_thread(
                lambda: account_settings.request_email_change(
                    user_id=user_id, new_email=new_email, password=password, ip=ip
                )
            )
        except AuthError as error:
            self.new_email_error = error.errors.get(account_settings.NEW_EMAIL_FIELD, "")
            self.email_password_error = error.errors.get(
                account_settings.EMAIL_PASSWORD_FIELD, "")
            return None
        except HashingBusy as error:
            self.email_password_error = str(error)
            return None
        except AccountGone:
            return self._signed_out()
        return None

    @rx.event
    async def resend_verification(self) -> EventSpec | None:
        """Mail a new link to confirm the current address (at most one a minute)."""
        self._clear_messages()
        user = await self._signed_in_user()
        if user is None:
            return self._signed_out()
        self._show_user(user)  # confirmed elsewhere meanwhile: the badge says so
        self.verify_notice = await asyncio.to_thread(
            email_verification.resend_verification, user.id
        )
        return None

    # --- time zone ------------------------------------------------------------------------

    @rx.event
    def set_zone(self, zone: Any) -> None:
        """The selector's value (the native select's change)."""
        self.zone = zone if isinstance(zone, str) else self.zone
        self.zone_notice = self.zone_error = ""

    @rx.event
    async def save_timezone(self, form_data: dict[str, Any]) -> EventSpec | None:
        """Save the chosen zone on the account: emails, calendar files and pages use it."""
        self._clear_messages()
        user = await self._signed_in_user()
        if user is None:
            return self._signed_out()
        user_id, zone = user.id, _field(form_data, "timezone") or self.zone
        try:
            await asyncio.to_thread(
                _in_transaction,
                lambda db: account_settings.set_timezone(db, user_id=user_id, zone=zone),
            )
        except AuthError as error:
            self.zone_error = error.message
            return None
        except AccountGone:
            return self._signed_out()
        self._saved_zone = self.zone = zone
        self.zone_notice = account_settings.ZONE_SAVED
        if self.viewer_tz != zone:
            self.viewer_tz = zone
            self._render_devices()
        return None

    # --- password -------------------------------------------------------------------------

    @rx.event
    async def change_password(self, form_data: dict[str, Any]) -> EventSpec | None:
        """Check the current password, set the new one, sign out the other devices."""
        self._clear_messages()
        user = await self._signed_in_user()
        if user is None:
            return self._signed_out()
        user_id, token, ip = user.id, self._token(), self._client_ip()
        current = _field(form_data, "current_password")
        new = _field(form_data, "new_password")
        try:
            await asyncio.to_thread(
                _in_transaction,
                lambda db: account_settings.change_password(
                    db, user_id=user_id, current_password=current, new_password=new,
                    keep_token=token, ip=ip,
                ),
            )
        except AuthError as error:
            self.current_password_error = error.errors.get(
                account_settings.CURRENT_PASSWORD_FIELD, "")
            self.new_password_error = error.errors.get(account_settings.NEW_PASSWORD_FIELD, "")
            return None
        except HashingBusy as error:
            self.current_password_error = str(error)
            return None
        except AccountGone:
            return self._signed_out()
        self.password_notice = account_settings.PASSWORD_CHANGED
        await self._load_devices(user)
        return None

    # --- devices --------------------------------------------------------------------------

    @rx.event
    async def sign_out_device(self, session_id: str) -> EventSpec | None:
        """Sign out one other device (its next page load or event finds it signed out)."""
        self._clear_messages()
        user = await self._signed_in_user()
        if user is None:
            return self._signed_out()
        user_id, token = user.id, self._token()
        wanted = session_id if isinstance(session_id, str) else ""
        done = await asyncio.to_thread(
            _in_transaction,
            lambda db: account_settings.sign_out_device(
                db, user_id=user_id, session_id=wanted, current_token=token
            ),
        )
        if done:
            self.devices_notice = DEVICE_SIGNED_OUT
        await self._load_devices(user)
        return None

    @rx.event
    async def sign_out_everywhere(self) -> EventSpec | None:
        """Sign out every device, this one too, and go to the sign-in page."""
        user = await self._signed_in_user()
        if user is None:
            return self._signed_out()
        user_id = user.id
        await asyncio.to_thread(
            _in_transaction,
            lambda db: account_settings.sign_out_everywhere(db, user_id=user_id),
        )
        self._show_user(None)
        self.loaded = False
        return _full_page_navigation(routes.LOGIN)

    # --- deleting the account -------------------------------------------------------------

    @rx.event
    async def delete_account(self, form_data: dict[str, Any]) -> EventSpec | None:
        """Delete the account once confirmed; the browser, signed out, goes home."""
        self._clear_messages()
        user = await self._signed_in_user()
        if user is None:
            return self._signed_out()
        confirmation = _field(form_data, "confirm")
        try:
            await asyncio.to_thread(_delete, user.id, confirmation, self._client_ip())
        except AuthError as error:
            self.confirm_error = error.message
            return None
        except HashingBusy as error:
            self.confirm_error = str(error)
            return None
        except AccountGone:
            return self._signed_out()
        self._show_user(None)
        self.loaded = False
        self._devices = []
        self.devices = []
        return _full_page_navigation(home_after_deletion())

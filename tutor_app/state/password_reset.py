"""The forgotten-password pages: ask for a link (`/forgot-password`), and choose a new password
with it (`/reset-password?token=...`).

Asking always gives the same answer (`password_reset.request_reset`), whatever the address.
The reset token is read from the page's address on each event, never kept in state (state
may live in Redis and travels to the browser); the new password is read from the submitted
form only. After a reset every sign-in session of the user has ended, this browser's too, and
the page goes on to sign in with a notice.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from tutor_app.accounts import password_reset
from tutor_app.accounts.password_reset import RESET_LINK_DEAD
from tutor_app.accounts.passwords import HashingBusy
from tutor_app.accounts.users import AuthError
from tutor_app.core.rate_limits import RateLimited
from tutor_app.state.auth import AuthState, _field, login_notice_url


class ForgotPasswordState(AuthState):
    """The form that mails a reset link."""

    email: str = ""
    email_error: str = ""
    notice: str = ""

    @rx.event
    async def on_load(self) -> None:
        self.email_error, self.notice = "", ""
        self._show_user(await self._current_user_off_loop())

    @rx.event
    async def submit(self, form_data: dict[str, Any]) -> None:
        """Ask for a reset link (off the event loop); the answer is the same for any address."""
        self.email_error, self.notice = "", ""
        self.email = _field(form_data, "email").strip()
        request = functools.partial(
            password_reset.request_reset, self.email, ip=self._client_ip()
        )
        try:
            self.notice = await asyncio.to_thread(request)
        except AuthError as error:
            self.email_error = error.message
        except RateLimited as error:
            self.email_error = str(error)


class ResetPasswordState(AuthState):
    """The form that sets a new password with a reset link."""

    checked: bool = False  # the link has been looked at
    link_live: bool = False
    password_error: str = ""
    confirm_error: str = ""
    form_error: str = ""
    submitting: bool = False

    def _token(self) -> str:
        return self.router.url.query_parameters.get("token", "")

    def _clear_errors(self) -> None:
        self.password_error = self.confirm_error = self.form_error = ""

    @rx.event
    async def on_load(self) -> None:
        """Show the form only while the link can still be used."""
        self._clear_errors()
        self.checked, self.submitting = False, False
        self._show_user(await self._current_user_off_loop())
        self.link_live = await asyncio.to_thread(
            password_reset.reset_link_is_live, self._token()
        )
        self.checked = True

    @rx.event
    async def submit(self, form_data: dict[str, Any]) -> EventSpec | None:
        """Set the new password (Argon2 and the database off the event loop), then go on to
        sign in with it; a bad password is shown by its field, a dead link says so."""
        self._clear_errors()
        reset = functools.partial(
            password_reset.reset_password, token=self._token(),
            password=_field(form_data, "password"), confirm=_field(form_data, "confirm"),
        )
        try:
            await asyncio.to_thread(reset)
        except AuthError as error:
            if error.message == RESET_LINK_DEAD:
                self.link_live = False
            for field, message in error.errors.items():
                if field == "password":
                    self.password_error = message
                elif field == "confirm":
                    self.confirm_error = message
                else:
                    self.form_error = message
            return None
        except HashingBusy as error:
            self.form_error = str(error)
            return None
        self.submitting = True
        self._show_user(None)  # every session of the user has ended, this browser's too
        return rx.redirect(login_notice_url(password_reset.PASSWORD_CHANGED), replace=True)

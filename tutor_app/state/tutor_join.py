"""The tutor invitation page (`/tutor/join?token=...`): who invited, for which profile, and
accepting.

Loading the page only looks at the invitation (`invites.invite_details`); accepting is what
uses it. Signed in with the invited email: "Accept" (`invites.accept_signed_in`), then on to
`/tutor`. Signed in with another email: the page says whose invitation it is. Signed out: the
invitee creates the account here with a password (`invites.create_account_and_accept`, the
email fixed to the invited one), and is signed in through the same handoff ticket as the
sign-up form, bound to this browser's pre-sign-in cookie (`AuthFormState._sign_in`), landing
on `/tutor`; or continues with Google (or signs in) and comes back here to accept.

The token is read from the page's address on each event; the password from the submitted
form only.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any
from urllib.parse import quote

import reflex as rx
from reflex.event import EventSpec

from tutor_app.core import routes, timefmt
from tutor_app.core.models import User
from tutor_app.state.auth import AuthFormState, _field, login_url
from tutor_app.tutors import invites
from tutor_app.tutors.invites import INVITE_DEAD, WRONG_ACCOUNT, InviteError


def _create(token: str, name: str, password: str, ip: str, zone: str | None) -> User:
    return invites.create_account_and_accept(
        token=token, name=name, password=password, ip=ip, zone=zone
    )


class TutorJoinState(AuthFormState):
    """The invitation as the page shows it, "Accept", and "Create the account"."""

    checked: bool = False  # the invitation has been looked at
    live: bool = False
    invite_email: str = ""
    inviter: str = ""
    profile_name: str = ""  # "" when accepting makes a new profile
    name: str = ""
    name_error: str = ""
    invite_error: str = ""
    accepting: bool = False

    @rx.var
    def next_path(self) -> str:
        """Where "Create the account" signs the new tutor in to: their portal."""
        return routes.TUTOR_PORTAL

    @rx.var
    def join_path(self) -> str:
        """This page, with its token: where signing in or Google sign-in come back to."""
        token = self.router.url.query_parameters.get("token", "")
        return f"{routes.TUTOR_JOIN}?token={quote(token, safe='')}"

    @rx.var
    def join_login_url(self) -> str:
        return login_url(self.join_path)

    @rx.var
    def join_google_url(self) -> str:
        return f"/api/auth/login/google?next={quote(self.join_path, safe='')}"

    @rx.var
    def email_matches(self) -> bool:
        """The signed-in account has the invited email (the only one that may accept)."""
        return self.user_email != "" and self.user_email == self.invite_email

    @rx.var
    def wrong_account(self) -> str:
        """Why a signed-in account with another email cannot accept ("" otherwise)."""
        if not self.user_email or not self.invite_email or self.email_matches:
            return ""
        return WRONG_ACCOUNT.format(email=self.invite_email, signed_in=self.user_email)

    def _token(self) -> str:
        return self.router.url.query_parameters.get("token", "")

    def _clear_errors(self) -> None:
        super()._clear_errors()
        self.name_error = ""
        self.invite_error = ""

    def _show_field_error(self, field: str, message: str) -> None:
        if field == "name":
            self.name_error = message
        elif field == "invite":
            self._show_invite_error(message)
        else:
            super()._show_field_error(field, message)

    def _show_invite_error(self, message: str) -> None:
        self.invite_error = message
        if message == INVITE_DEAD:
            self.live = False

    @rx.event
    async def on_load(self) -> None:
        """Look at the invitation (without using it) and at who is signed in."""
        self._clear_errors()
        self.checked, self.submitting, self.accepting = False, False, False
        self._show_user(await self._current_user_off_loop())
        details = await asyncio.to_thread(invites.invite_details, self._token())
        self.live = details is not None
        self.invite_email = details.email if details else ""
        self.inviter = details.inviter if details else ""
        self.profile_name = (details.profile_name or "") if details else ""
        self.checked = True

    @rx.event
    async def accept(self) -> EventSpec | None:
        """The signed-in account accepts (off the event loop), then goes on to `/tutor`."""
        self._clear_errors()
        user = await self._current_user_off_loop()
        self._show_user(user)
        if user is None:
            return rx.redirect(login_url(self._current_path()))
        zone = timefmt.zone_from_cookie_header(self.router.headers.cookie)
        accept = functools.partial(
            invites.accept_signed_in, user_id=user.id, token=self._token(), zone=zone
        )
        try:
            await asyncio.to_thread(accept)
        except InviteError as error:
            self._show_invite_error(error.message)
            return None
        self.accepting = True
        return rx.redirect(routes.TUTOR_PORTAL, replace=True)

    @rx.event
    async def submit(self, form_data: dict[str, Any]) -> EventSpec | None:
        """Create the invited account with a password and accept, then sign it in (the
        handoff ticket) on its way to `/tutor`."""
        self._clear_errors()
        self.name = _field(form_data, "name").strip()
        zone = timefmt.zone_from_cookie_header(self.router.headers.cookie)
        return await self._sign_in(functools.partial(
            _create, self._token(), self.name, _field(form_data, "password"),
            self._client_ip(), zone,
        ))

"""The verification link's page (`/verify-email?token=...`) and the "Resend" of the dashboard's
reminder to confirm an email address.

The page opens the link on load (`email_verification.verify_email`, in a worker thread: a
sign-up's link or an email change's) and says what happened; it never signs the browser in
(whoever opens a link may not be whoever asked for it), and points a signed-in visitor on to
their lessons and anyone else to sign in.
Mail scanners that fetch the link without running the page do not use it up. The token is
read from the page's address, never kept in state.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import reflex as rx
from reflex.event import EventSpec

from tutor_app.accounts import email_verification
from tutor_app.core import routes
from tutor_app.state.auth import AuthState, login_url

VERIFIED = "verified"
DEAD = "dead"
TAKEN = "taken"  # an email change whose address another account has now


class VerifyEmailState(AuthState):
    """What opening a verification link did, and the reminder's "Resend"."""

    outcome: str = ""  # "" while the link is being opened, then VERIFIED, DEAD or TAKEN
    password_set: bool = False  # the link also finished a sign-up (its password is set)
    email_changed: bool = False  # the link was an email change's, and the email changed
    result: str = ""  # what happened, in a sentence (VERIFIED and TAKEN)
    resend_notice: str = ""

    @rx.var
    def continue_url(self) -> str:
        """Signed in: on to the lessons. Otherwise: sign in, then the lessons."""
        return routes.DASHBOARD if self.user_id else login_url(routes.DASHBOARD)

    @rx.var
    def signup_url(self) -> str:
        return f"{routes.SIGNUP}?next={quote(routes.DASHBOARD, safe='')}"

    @rx.event
    async def open_link(self) -> None:
        """on_load of /verify-email: use the link of `?token=`, then show who is signed in."""
        self.outcome, self.password_set, self.resend_notice = "", False, ""
        self.email_changed, self.result = False, ""
        token = self.router.url.query_parameters.get("token", "")
        try:
            verified = await asyncio.to_thread(email_verification.verify_email, token)
        except email_verification.AddressTaken as taken:
            self.outcome, self.result = TAKEN, taken.message
        else:
            self.outcome = VERIFIED if verified is not None else DEAD
            self.password_set = verified is not None and verified.password_set
            self.email_changed = verified is not None and verified.email_changed
            if verified is not None:
                self.result = (
                    email_verification.EMAIL_CHANGED.format(email=verified.email)
                    if verified.email_changed else email_verification.EMAIL_CONFIRMED
                )
        self._show_user(await self._current_user_off_loop())  # after: the email may be verified

    @rx.event
    async def resend(self) -> EventSpec | None:
        """Mail the signed-in user a new verification link (off the event loop)."""
        user = await self._current_user_off_loop()
        self._show_user(user)
        if user is None:
            return rx.redirect(login_url(self._current_path()))
        self.resend_notice = await asyncio.to_thread(
            email_verification.resend_verification, user.id
        )
        return None

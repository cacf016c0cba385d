"""The wizard's "resume your payment" offer: finds the student's own open checkout session.

A separate small state so the wizard's own state stays as it is: `/book-now`'s on_load
(`BookingWizardState.load`) fills it through `_show_for`, and the page renders
`components.resume_banner`. The link is the session's own URL (Stripe
Checkout, or the dev test-checkout page), so resuming never creates a second session.
"""

from __future__ import annotations

import asyncio

import reflex as rx
from reflex.event import EventSpec

from tutor_app.booking import resume
from tutor_app.core import db as app_db
from tutor_app.core import timefmt
from tutor_app.core.models import User
from tutor_app.state.auth import AuthState
from tutor_app.state.viewer_zone import ViewerZoneMixin


def _open_checkout(user_id: str) -> resume.OpenCheckout | None:
    with app_db.session() as db:
        return resume.open_checkout(db, user_id=user_id)


class ResumeCheckoutState(ViewerZoneMixin, AuthState):
    """The student's unfinished payment, if any ("" everywhere when there is none)."""

    resume_url: str = ""
    resume_tutor: str = ""

    _start_iso: str = ""
    _end_iso: str = ""
    _expires_iso: str = ""

    @rx.event
    async def load(self) -> EventSpec | None:
        """Look for an open session of the signed-in student (off the loop)."""
        return await self._show_for(await self._current_user_off_loop())

    async def _show_for(self, user: User | None) -> EventSpec | None:
        """Offer `user`'s open session, if any. The wizard's own on_load calls this with the
        user it has just read: one event and one delta for the page's load instead of two."""
        found = None
        if user is not None:
            found = await asyncio.to_thread(_open_checkout, user.id)
        if found is None:
            if self.resume_url or self.resume_tutor:  # an assignment resends the var
                self.resume_url = self.resume_tutor = ""
            self._start_iso = self._end_iso = self._expires_iso = ""
            return None
        self.resume_url = found.url
        self.resume_tutor = found.tutor_name
        self._start_iso = timefmt.to_utc_iso(found.start)
        self._end_iso = timefmt.to_utc_iso(found.end)
        self._expires_iso = timefmt.to_utc_iso(found.expires_at)
        return self._detect_viewer_tz(user.timezone if user else None)

    @rx.var(cache=True)
    def resume_when(self) -> str:
        """The held lesson's time in the viewer's zone."""
        start = timefmt.parse_utc_iso(self._start_iso)
        end = timefmt.parse_utc_iso(self._end_iso)
        return timefmt.format_range(start, end, self.viewer_tz) if start and end else ""

    @rx.var(cache=True)
    def resume_until(self) -> str:
        """Until when the slot is held ("16:31"), in the viewer's zone."""
        expires = timefmt.parse_utc_iso(self._expires_iso)
        return timefmt.format_time(expires, self.viewer_tz) if expires else ""

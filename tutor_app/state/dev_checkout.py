"""`/dev/checkout`: the dev test-checkout page's state (see `tutor_app.payments.dev_gateway`).

Thin: it shows what `dev_gateway.load_dev_checkout` returns and, on "Pay", awaits
`dev_gateway.pay_dev_session`, which posts a signed event to the app's webhook over HTTP,
then sends the browser to the success page as Stripe would. With dev payments off (always in
prod) it shows that the page is unavailable and does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re

import reflex as rx
from reflex.event import EventSpec

from tutor_app.catalog import pricing
from tutor_app.core import timefmt
from tutor_app.core.settings import get_settings
from tutor_app.payments import dev_gateway
from tutor_app.state.viewer_zone import LessonTimes, LessonTimesMixin

log = logging.getLogger(__name__)

_SESSION_ID = re.compile(r"^cs_dev_[A-Za-z0-9]{1,64}$")


class DevCheckoutState(LessonTimesMixin, rx.State):
    """One test checkout: what is being paid for, and the Pay button's progress."""

    available: bool = False
    found: bool = False
    status: str = ""
    session_id: str = ""
    tutor_name: str = ""
    duration: str = ""
    amount: str = ""
    cancel_url: str = "/"
    error: str = ""
    paying: bool = False

    _view: dev_gateway.DevCheckout | None = None

    @rx.event
    async def load(self) -> EventSpec | None:
        """on_load: read `?session_id=` and show that session (nothing when unavailable)."""
        self.available = get_settings().dev_payments
        self.found = False
        self.error = ""
        self.paying = False
        self._view = None
        raw = self.router.url.query_parameters.get("session_id", "")
        self.session_id = raw if _SESSION_ID.match(raw) else ""
        if not self.available or not self.session_id:
            return None
        view = await asyncio.to_thread(dev_gateway.load_dev_checkout, self.session_id)
        if view is None:
            return None
        self._view = view
        self.found = True
        self.status = view.status
        self.tutor_name = view.tutor_name
        self.duration = timefmt.format_duration(view.duration_minutes)
        self.amount = pricing.format_money(view.price_cents, view.currency)
        self.cancel_url = view.cancel_url
        ask_zone = self._detect_viewer_tz()
        self._format_times()
        return ask_zone

    def _times_lesson(self) -> LessonTimes | None:
        return self._view

    @rx.event(background=True)
    async def pay(self) -> EventSpec | None:
        """"Pay": the signed event goes to the webhook; then on to the success page."""
        async with self:
            if self.paying or not self.available or not self.found:
                return None
            self.paying = True
            self.error = ""
            session_id = self.session_id
        try:
            target = await dev_gateway.pay_dev_session(session_id)
        except dev_gateway.DevPaymentError as exc:
            async with self:
                self.paying = False
                self.error = str(exc)
            return None
        return rx.redirect(target)

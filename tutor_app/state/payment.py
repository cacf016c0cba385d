"""`/payment/success` and `/payment/cancel`: where Stripe Checkout sends the student back.

The success page never creates anything: the booking exists only once the webhook has written
it. The page shows "processing" and a background event watches for that booking, waking at once
when the webhook ran in this process, or in any other worker or node when `REDIS_URL` is set
(`booking.signals`), and re-checking the database every two seconds in any case (a signal can
be lost), for at most ten minutes. One page state
has at most one watch, however often its start event is sent: a refresh hands the running watch
the new visit's checkout session instead of starting a second one.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable

import reflex as rx
from reflex.event import EventSpec

from tutor_app.booking import lessons, signals
from tutor_app.catalog import pricing
from tutor_app.core import db as app_db
from tutor_app.core import routes, timefmt
from tutor_app.state.auth import AuthState
from tutor_app.state.booking import STEP_REVIEW, wizard_url
from tutor_app.state.viewer_zone import LessonTimes, LessonTimesMixin

log = logging.getLogger(__name__)

WATCH_SECONDS = 600.0
CHECK_EVERY_SECONDS = 2.0
_SESSION_ID = re.compile(r"^[A-Za-z0-9_]{1,255}$")

PROCESSING, CONFIRMED, DELAYED = "processing", "confirmed", "delayed"


def _lookup(session_id: str, user_id: str) -> lessons.LessonView | None:
    with app_db.session() as db:
        return lessons.lesson_for_checkout_session(db, session_id=session_id, user_id=user_id)


async def wait_for_lesson(
    *,
    session_id: str,
    user_id: str,
    timeout: float = WATCH_SECONDS,
    check_every: float = CHECK_EVERY_SECONDS,
    still_wanted: Callable[[], Awaitable[bool]] | None = None,
) -> lessons.LessonView | None:
    """The lesson the paid session produced, as soon as it exists; None after `timeout`.

    Checks the database, then waits for the "booked" signal or `check_every` seconds,
    whichever comes first, and checks again. `still_wanted` lets the caller stop early (the
    student left the page). The database read runs in a thread so the event loop, which
    serves every other websocket, never waits on it.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    signal_spent = False
    while True:
        lesson = await asyncio.to_thread(_lookup, session_id, user_id)
        if lesson is not None:
            return lesson
        remaining = deadline - loop.time()
        if remaining <= 0 or (still_wanted is not None and not await still_wanted()):
            return None
        pause = min(check_every, remaining)
        if signal_spent:
            # The signal fired yet no booking of this user's showed up (it is someone
            # else's session): the signal stays "recent" for a while, so stop listening
            # to it rather than spin, and just poll.
            await asyncio.sleep(pause)
        else:
            signal_spent = await signals.wait_for_booking(session_id, timeout=pause)


class PaymentState(LessonTimesMixin, AuthState):
    """The success page's watch for the booking, and the cancel page's way back."""

    session_id: str = ""
    status: str = PROCESSING
    tutor_name: str = ""
    tutor_photo_url: str = ""
    duration: str = ""
    price: str = ""
    book_again_url: str = routes.BOOK_NOW
    back_url: str = routes.BOOK_NOW  # the cancel page's "back to your booking"

    _watch: int = 0  # bumped per visit, so the watch drops an older visit's result
    _watching: bool = False  # a watch task is running for this page state
    _lesson: lessons.LessonView | None = None

    @rx.event
    async def load_success(self) -> list[EventSpec] | None:
        """on_load of /payment/success (after `require_login`): check once, then watch."""
        self._watch += 1
        self._lesson = None
        self.status = PROCESSING
        self.tutor_name = self.when = self.when_tutor = self.duration = self.price = ""
        raw = self.router.url.query_parameters.get("session_id", "")
        self.session_id = raw if _SESSION_ID.match(raw) else ""
        user = await self._current_user_off_loop()
        if user is None or not self.session_id:
            return None
        ask_zone = self._detect_viewer_tz(user.timezone)
        lesson = await asyncio.to_thread(_lookup, self.session_id, user.id)
        events: list[EventSpec] = [ask_zone] if ask_zone is not None else []
        if lesson is not None:
            self._show(lesson)
        else:
            events.append(PaymentState.watch_booking)
        return events

    @rx.event(background=True)
    async def watch_booking(self) -> None:
        """Turn "processing" into "confirmed" once the webhook has booked the lesson.

        One watch per page state: `_watching` is claimed and released under the state lock, so
        a second start event (a refresh, a client sending it again) returns at once. A new visit
        while the watch runs bumps `_watch`; the watch then follows that visit's session.
        """
        async with self:
            if self._watching:
                return
            self._watching = True
            generation, session_id, user_id = self._watch, self.session_id, self.user_id

        async def still_wanted() -> bool:
            async with self:
                return self._watch == generation

        try:
            while True:
                lesson: lessons.LessonView | None = None
                if session_id and user_id:
                    lesson = await wait_for_lesson(
                        session_id=session_id, user_id=user_id, still_wanted=still_wanted
                    )
                async with self:
                    if self._watch != generation and self.status == PROCESSING:
                        generation, session_id, user_id = (
                            self._watch, self.session_id, self.user_id
                        )
                        continue
                    # Released in the same locked block that decides to stop, so a start
                    # event arriving after it starts a new watch, never finds a dying one.
                    self._watching = False
                    if self._watch != generation or not session_id or not user_id:
                        return
                    if lesson is None:
                        log.info("payment %s: no booking after %.0f s", session_id, WATCH_SECONDS)
                        self.status = DELAYED
                    else:
                        self._show(lesson)
                    return
        except BaseException:
            async with self:
                self._watching = False
            raise

    def _show(self, lesson: lessons.LessonView) -> None:
        self._lesson = lesson
        self.status = CONFIRMED
        self.tutor_name = lesson.tutor_name
        self.tutor_photo_url = lesson.tutor_photo_url
        self.duration = timefmt.format_duration(lesson.duration_minutes)
        self.price = pricing.format_money(lesson.price_cents, lesson.currency)
        self.book_again_url = (
            routes.book_now(lesson.tutor_id) if lesson.tutor_bookable else routes.BOOK_NOW
        )
        self._format_times()

    def _times_lesson(self) -> LessonTimes | None:
        return self._lesson

    @rx.event
    def load_cancel(self) -> None:
        """on_load of /payment/cancel: the way back to the review with the same choices."""
        params = self.router.url.query_parameters
        duration = params.get("duration", "")
        start = timefmt.parse_utc_iso(params.get("start"))
        self.back_url = wizard_url(
            tutor=params.get("tutor", "")[:64],
            duration=int(duration) if duration.isdigit() and len(duration) < 4 else 0,
            start=timefmt.to_utc_iso(start) if start else "",
            step=STEP_REVIEW,
        )

    @rx.var(cache=True)
    def zone_label(self) -> str:
        return timefmt.zone_label(self.viewer_tz)

"""The five-step booking wizard of `/book-now`: tutor, length, day and time, review, payment.

The state holds the student's choices and, as a backend-only var (`_slots`, never sent to the
browser), the free starts for the chosen tutor and length; everything the page shows from them
(the calendar cells, the times of the chosen day, prices, the review's wording) is derived in
cached vars, so a step change sends only a few small fields over the websocket and choosing a
length sends the calendar, not the hundreds of starts behind it. Rules live in the services:
free starts come from `slots`, prices from `pricing`, and paying goes through
`checkout.start_checkout`, which checks the slot again in its own transaction.

The wizard's choices round-trip through the URL (`/book-now?tutor=&duration=&start=&note=&
step=4`): that is how the login gate and the Stripe cancel page bring a student back to the
review with everything kept.

A tutor who offers a free consultation has one more length, "Free consultation, 15 min"
(`intro=1` in the URL instead of `duration`): its review says "Free" and its last step is
"Confirm", which books it through `consultations.book_consultation` (signed in, no Stripe) and
goes to the dashboard.

Every handler that reads the database is `async` and reads it in a worker thread
(`asyncio.to_thread`): free starts may wait up to seconds on the tutor's Google Calendar, and
Reflex runs a plain handler on the event loop itself, freezing every other connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any, TypedDict
from urllib.parse import urlencode

import reflex as rx
from reflex.event import EventSpec

from tutor_app.accounts import account_settings
from tutor_app.booking import checkout, consultations
from tutor_app.catalog import pricing, tutor_catalog
from tutor_app.core import clock, rate_limits, request_context, routes, timefmt
from tutor_app.core import db as app_db
from tutor_app.core.models import Tutor, User
from tutor_app.scheduling import availability, slot_calendar, slots
from tutor_app.scheduling.slot_calendar import CalendarCell, TimeOption
from tutor_app.state.auth import AuthState, login_url
from tutor_app.state.directory import TutorCard, tutor_card
from tutor_app.state.resume_checkout import ResumeCheckoutState
from tutor_app.state.viewer_zone import ViewerZoneMixin

log = logging.getLogger(__name__)

STEP_TUTOR, STEP_LENGTH, STEP_TIME, STEP_REVIEW, STEP_PAY = 1, 2, 3, 4, 5
STEP_LABELS = ("Tutor", "Length", "Day & time", "Review", "Payment")
CONSULTATION_STEP_LABELS = ("Tutor", "Length", "Day & time", "Review", "Confirm")
INTRO_PARAM = "intro"
NOTE_MAX = 500
# A focus/visibility refresh closer than this to the previous fetch is skipped.
REFRESH_MIN_SECONDS = 5.0
UNKNOWN_TUTOR_MESSAGE = "We couldn't find that tutor. Please choose one from the list."
NOT_TAKING_BOOKINGS_MESSAGE = tutor_catalog.NOT_TAKING_BOOKINGS
TIME_GONE_MESSAGE = "The time you picked is no longer available. Please choose another."
NO_CONSULTATION_MESSAGE = "This tutor does not offer a free consultation. Choose a lesson length."
CONSULTATION_OPTION_LABEL = "Free consultation, 15 min"


class DurationOption(TypedDict):
    minutes: int
    label: str  # "1 hour"
    price: str  # "$60.00"


def wizard_url(
    *, tutor: str = "", duration: int = 0, start: str = "", note: str = "", step: int = 0,
    intro: bool = False,
) -> str:
    """`/book-now?...` carrying the given choices (empty ones left out); `intro` is the free
    consultation, in place of a duration."""
    params: dict[str, str] = {}
    if tutor:
        params["tutor"] = tutor
    if intro:
        params[INTRO_PARAM] = "1"
    elif duration:
        params["duration"] = str(duration)
    if start:
        params["start"] = start
    if note:
        params["note"] = note
    if step:
        params["step"] = str(step)
    return f"{routes.BOOK_NOW}?{urlencode(params)}" if params else routes.BOOK_NOW


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        return 0


def _read_tutors() -> list[TutorCard]:
    with app_db.session() as db:
        return [tutor_card(t) for t in tutor_catalog.list_tutors(db)]


def _read_tutor(tutor_id: str) -> tuple[Tutor | None, bool]:
    """The tutor (None when unknown or hidden) and whether they take bookings now."""
    with app_db.session() as db:
        tutor = tutor_catalog.get_tutor(db, tutor_id)
        return tutor, tutor is not None and tutor_catalog.taking_bookings(db, tutor)


def _read_free_starts(tutor_id: str, duration: int, user_id: str | None) -> list[str]:
    """The free starts as UTC ISO strings (blocking: it may wait on Google freebusy)."""
    with app_db.session() as db:
        starts = slots.free_slots_for(
            db, tutor_id=tutor_id, duration_minutes=duration, for_user_id=user_id
        )
    return [timefmt.to_utc_iso(t) for t in starts]


def _check_slot(tutor_id: str, start: datetime, duration: int, user_id: str | None) -> None:
    """`slots.check_slot` in its own db session (blocking); raises SlotTaken or SlotNotOffered."""
    with app_db.session() as db:
        slots.check_slot(
            db, tutor_id=tutor_id, start=start, duration_minutes=duration, user_id=user_id
        )


def _had_consultation(user_id: str, tutor_id: str) -> bool:
    with app_db.session() as db:
        return consultations.had_consultation(db, user_id=user_id, tutor_id=tutor_id)


def _remember_zone(user_id: str, zone: str) -> None:
    """Keep the browser's zone on an account that has none yet (blocking)."""
    with app_db.session() as db:
        account_settings.remember_zone(db, user_id=user_id, zone=zone)
        db.commit()


class BookingWizardState(ViewerZoneMixin, AuthState):
    """The wizard's choices, the tutor list and the free starts for the chosen length."""

    step: int = STEP_TUTOR
    loaded: bool = False
    tutors: list[TutorCard] = []
    tutor_id: str = ""
    tutor_name: str = ""
    tutor_photo_url: str = ""
    tutor_timezone: str = "UTC"
    tutor_rate_cents: int = 0
    tutor_currency: str = "usd"
    tutor_lengths: list[int] = []  # the lesson lengths (minutes) this tutor offers
    tutor_horizon_days: int = availability.HORIZON.days
    duration: int = 0
    slots_loaded: bool = False
    day: str = ""  # the chosen day, YYYY-MM-DD in the viewer's zone
    start: str = ""  # the chosen start, UTC ISO
    note: str = ""
    message: str = ""  # a notice above the steps (unknown tutor, a time that went away)
    pay_error: str = ""
    alternatives: list[str] = []  # UTC ISO starts offered when the chosen one was taken
    paying: bool = False
    # The free consultation: offered by this tutor; chosen as the length (duration 15).
    tutor_offers_consultation: bool = False
    consultation: bool = False
    already_had: bool = False  # the student had their intro with this tutor: offer a lesson
    confirming: bool = False

    # Free starts (UTC ISO strings) for the chosen tutor and duration, sorted. Backend-only:
    # a few hundred entries the browser never needs (it gets the calendar and one day's times).
    _slots: list[str] = []
    _slots_for: tuple[str, int] = ("", 0)
    _slots_fetched: float = 0.0

    # --- loading ---------------------------------------------------------------------------

    @rx.event
    async def load(self) -> list[EventSpec]:
        """on_load of /book-now: sign-in, tutors, the viewer's zone, the choices the URL
        carries, and an unfinished payment to resume (`ResumeCheckoutState`). One event, so
        one delta: the zone comes from the `tz` cookie when the head script set it; only
        without it is the browser asked (one more round trip)."""
        user = await self._load_signed_in_user()
        self._reset_choices()
        ask_zone = self._detect_viewer_tz(user.timezone if user else None)
        params = self.router.url.query_parameters
        cards = await asyncio.to_thread(_read_tutors)
        if cards != self.tutors:  # assigning resends the list; usually nothing changed
            self.tutors = cards
        await self._restore(params, user)
        self.loaded = True
        resume = await self.get_state(ResumeCheckoutState)
        resume_zone = await resume._show_for(user)  # its on_load, in this event
        return [event for event in (ask_zone, resume_zone) if event is not None]

    def _set(self, **values: Any) -> None:
        """Assign only what differs: every assignment marks a var dirty and resends it."""
        for name, value in values.items():
            if getattr(self, name) != value:
                setattr(self, name, value)

    async def _load_signed_in_user(self) -> User | None:
        user = await self._current_user_off_loop()
        self._show_user(user)
        return user

    def _reset_choices(self) -> None:
        self._set(
            step=STEP_TUTOR, tutor_id="", tutor_name="", tutor_photo_url="",
            tutor_timezone="UTC", tutor_rate_cents=0, tutor_currency="usd", tutor_lengths=[],
            tutor_horizon_days=availability.HORIZON.days, duration=0,
            slots_loaded=False, day="", start="", note="", message="", pay_error="",
            alternatives=[], paying=False, tutor_offers_consultation=False,
            consultation=False, already_had=False, confirming=False,
        )
        self._slots = []
        self._slots_for = ("", 0)

    async def _restore(self, params: Mapping[str, str], user: User | None) -> None:
        """Apply `?tutor&duration&start&note&step`; each missing or bad piece stops there."""
        self.note = params.get("note", "")[:NOTE_MAX]
        wanted_tutor = params.get("tutor", "").strip()
        if not wanted_tutor:
            return
        refusal = await self._set_tutor(wanted_tutor)
        if refusal:
            log.info("wizard: tutor id %r refused: %s", wanted_tutor[:64], refusal)
            self.message = refusal
            return
        self.step = STEP_LENGTH
        duration = _int(params.get("duration"))
        if params.get(INTRO_PARAM) == "1":
            if not self.tutor_offers_consultation:
                self.message = NO_CONSULTATION_MESSAGE
                return
            self.consultation, duration = True, pricing.CONSULTATION_MINUTES
        if not self._length_ok(duration):
            return
        self.duration = duration
        await self._fetch_slots(user)
        self.step = STEP_TIME
        start = timefmt.parse_utc_iso(params.get("start"))
        if start is None:
            return
        iso = timefmt.to_utc_iso(start)
        self.day = timefmt.day_key(start, self.viewer_tz)
        if iso not in self._slots:
            self.message = TIME_GONE_MESSAGE
            return
        self.start = iso
        if _int(params.get("step")) >= STEP_REVIEW:
            self.step = STEP_REVIEW

    async def _set_tutor(self, tutor_id: str) -> str:
        """Choose the tutor; "" when done, else why not (unknown, or not taking bookings)."""
        tutor, taking_bookings = await asyncio.to_thread(_read_tutor, tutor_id)
        if tutor is None:
            return UNKNOWN_TUTOR_MESSAGE
        if not taking_bookings:
            return NOT_TAKING_BOOKINGS_MESSAGE
        self.tutor_id = tutor.id
        self.tutor_name = tutor.name
        self.tutor_photo_url = tutor.photo_url or tutor_catalog.FALLBACK_PHOTO
        self.tutor_timezone = tutor.timezone
        self.tutor_rate_cents = tutor.hourly_rate_cents
        self.tutor_currency = tutor.currency
        self.tutor_offers_consultation = consultations.offers_consultation(tutor)
        self._set(tutor_lengths=list(tutor_catalog.lesson_lengths(tutor)),
                  tutor_horizon_days=max(0, tutor.horizon_days))
        if self.consultation and not self.tutor_offers_consultation:
            self._set(consultation=False, duration=0)  # this tutor has no free length
        elif not self.consultation and self.duration and self.duration not in self.tutor_lengths:
            self.duration = 0  # a length the previous tutor offered, this one does not
        return ""

    def _length_ok(self, minutes: int) -> bool:
        """A length the wizard can book: the free consultation's when it is chosen, else a
        lesson length."""
        if self.consultation:
            return minutes == pricing.CONSULTATION_MINUTES
        return minutes in self.tutor_lengths

    async def _fetch_slots(self, user: User | None = None, *, force: bool = True) -> None:
        """Read the free starts for the current tutor and length (the student's holds count
        as free for them, so a half-finished checkout can be resumed; not for a consultation,
        which never takes their own checkout's slot)."""
        if not self.tutor_id or not self._length_ok(self.duration):
            self._slots = []
            self._set(slots_loaded=False)
            return
        key = (self.tutor_id, self.duration)
        if not force and key == self._slots_for:
            return
        user_id = user.id if user is not None else (self.user_id or None)
        if self.consultation:
            user_id = None
        fresh = await asyncio.to_thread(_read_free_starts, self.tutor_id, self.duration, user_id)
        if fresh != self._slots:  # reassigning would recompute the calendar for nothing
            self._slots = fresh
        self._set(slots_loaded=True)
        self._slots_for = key
        self._slots_fetched = time.monotonic()

    def _keep_fitting_time(self) -> None:
        """After tutor, length or a refresh changed the slots: drop a start that left them."""
        if self.start and self.start not in self._slots:
            self.start = ""
            if self.step > STEP_TIME:
                self.step = STEP_TIME
            self.message = TIME_GONE_MESSAGE
        self._default_day()

    def _default_day(self) -> None:
        """Show the chosen start's day, else keep a day that has times, else the first one."""
        if self.start:
            parsed = timefmt.parse_utc_iso(self.start)
            if parsed is not None:
                self.day = timefmt.day_key(parsed, self.viewer_tz)
                return
        if self.day and self.day in self._day_counts():
            return
        self.day = next(iter(self._day_counts()), self.day)

    def _day_counts(self) -> dict[str, int]:
        return slot_calendar.day_counts(self._slots, self.viewer_tz)

    def _viewer_tz_changed(self) -> None:
        """The days regroup in the new zone: keep the chosen start's day (or a day with times)."""
        self._default_day()

    @rx.event
    async def refresh_slots(self) -> None:
        """Re-read free starts when the tab regains focus (others may have booked meanwhile)."""
        await self._refresh_slots()

    async def _refresh_slots(self) -> None:
        if not self.loaded or self.step not in (STEP_TIME, STEP_REVIEW, STEP_PAY):
            return
        if time.monotonic() - self._slots_fetched < REFRESH_MIN_SECONDS:
            return
        await self._fetch_slots()
        if self.step != STEP_PAY:
            self._keep_fitting_time()

    @rx.event
    async def on_visibility(self, hidden: Any) -> None:
        """`visibilitychange`: refresh when the page becomes visible again."""
        if not hidden:
            await self._refresh_slots()

    # --- choices ---------------------------------------------------------------------------

    @rx.event
    async def choose_tutor(self, tutor_id: str) -> None:
        """Step 1: pick a tutor and move on to the length."""
        self.message = ""
        if tutor_id != self.tutor_id:
            refusal = await self._set_tutor(tutor_id)
            if refusal:
                self.message = refusal
                return
            await self._fetch_slots()
            self._keep_fitting_time()
            if self.message == TIME_GONE_MESSAGE:
                self.message = ""  # a new tutor: the old time simply does not apply
        self.step = STEP_LENGTH

    @rx.event
    async def choose_duration(self, minutes: int) -> None:
        """Step 2: pick one of the tutor's lesson lengths and move on to the calendar."""
        minutes = _int(str(minutes))
        if minutes not in self.tutor_lengths or not self.tutor_id:
            return
        self.message = ""
        self._set(consultation=False, already_had=False)
        if minutes != self.duration:
            self.duration = minutes
            await self._fetch_slots()
            had_start = bool(self.start)
            self._keep_fitting_time()
            if had_start and not self.start:
                self.message = "Your chosen time does not fit a lesson of that length."
        self.step = STEP_TIME

    @rx.event
    async def choose_consultation(self) -> None:
        """Step 2: the free 15-minute consultation, when this tutor offers one."""
        if not self.tutor_id or not self.tutor_offers_consultation:
            return
        self.message = ""
        if not self.consultation:
            had_start = bool(self.start)
            self._set(consultation=True, duration=pricing.CONSULTATION_MINUTES)
            await self._fetch_slots()
            self._keep_fitting_time()
            if had_start and not self.start:
                self.message = "Your chosen time is not free for a consultation."
        self.step = STEP_TIME

    @rx.event
    def book_lesson_instead(self) -> None:
        """After "you already had your free intro": back to the lengths, for a paid lesson."""
        self._set(consultation=False, already_had=False, duration=0, start="", pay_error="",
                  alternatives=[], message="", step=STEP_LENGTH)
        self._slots = []
        self._slots_for = ("", 0)
        self._set(slots_loaded=False)

    @rx.event
    def choose_day(self, key: str) -> None:
        """Step 3: show the free times of one day."""
        if key in self._day_counts():
            self.day = key

    @rx.event
    def choose_start(self, iso: str) -> None:
        """Step 3: pick a free start (only starts from the current list are accepted)."""
        if iso in self._slots:
            self.start = iso
            self.message = ""
            self._default_day()

    @rx.event
    def set_note(self, text: str) -> None:
        """Step 4: the optional note to the tutor, cut at 500 characters."""
        self.note = str(text)[:NOTE_MAX]

    # --- moving between steps ---------------------------------------------------------------

    @rx.var(cache=True)
    def max_step(self) -> int:
        """The furthest step the choices so far allow (payment only through `next_step`)."""
        if not self.tutor_id:
            return STEP_TUTOR
        if not self.duration:
            return STEP_LENGTH
        if not self.start:
            return STEP_TIME
        return STEP_REVIEW

    @rx.event
    async def next_step(self) -> EventSpec | None:
        """Next: step 4 -> 5 goes through the sign-in gate and a fresh slot check."""
        if self.step == STEP_REVIEW and self.start:
            return await self._to_payment()
        if self.step < STEP_REVIEW and self.step < self.max_step:
            self._set(step=self.step + 1, message="")
        return None

    @rx.event
    def prev_step(self) -> None:
        """Back: one step earlier, every choice kept."""
        if self.step > STEP_TUTOR:
            self._set(step=self.step - 1, pay_error="", alternatives=[])

    @rx.event
    async def go_to_step(self, step: int) -> EventSpec | None:
        """A click in the step indicator: any step already reachable."""
        step = _int(str(step))
        if step == STEP_PAY and self.step == STEP_REVIEW:
            return await self._to_payment()
        if STEP_TUTOR <= step <= self.max_step:
            self._set(step=step, pay_error="", alternatives=[])
        return None

    def review_url(self) -> str:
        """This wizard's review step with every choice, as a URL (login and cancel targets)."""
        return wizard_url(
            tutor=self.tutor_id, duration=self.duration, start=self.start, note=self.note,
            step=STEP_REVIEW, intro=self.consultation,
        )

    async def _to_payment(self) -> EventSpec | None:
        user = await self._load_signed_in_user()
        if user is None:
            return rx.redirect(login_url(self.review_url()))
        self.pay_error = ""
        self.alternatives = []
        self.already_had = False
        await self._fetch_slots(user)
        self.step = STEP_PAY
        start = timefmt.parse_utc_iso(self.start)
        if start is None:
            self.step = STEP_TIME
            return None
        try:
            await asyncio.to_thread(_check_slot, self.tutor_id, start, self.duration,
                                    None if self.consultation else user.id)
        except (slots.SlotTaken, slots.SlotNotOffered) as exc:
            self._offer_alternatives(str(exc), exc.alternatives)
        if self.consultation and await asyncio.to_thread(_had_consultation, user.id,
                                                         self.tutor_id):
            self._set(pay_error=consultations.already_had_message(self.tutor_name),
                      already_had=True, alternatives=[])
        return self._remember_in_url()

    def _remember_in_url(self) -> EventSpec:
        """Put the review's URL in the address bar, without navigating (so no on_load).

        Back from Stripe, or a reload of the payment step, then returns to the review with
        every choice instead of to an empty wizard.
        """
        return rx.call_script(
            f"window.history.replaceState(window.history.state, '', "
            f"{json.dumps(self.review_url())})"
        )

    def _offer_alternatives(self, message: str, alternatives: list[datetime]) -> None:
        self.pay_error = message
        self.alternatives = [timefmt.to_utc_iso(a) for a in alternatives[: slots.ALTERNATIVES]]

    # --- paying ------------------------------------------------------------------------------

    @rx.event
    async def pick_alternative(self, iso: str) -> EventSpec | None:
        """Step 5: take one of the offered nearby times instead (one click, then Pay)."""
        if iso not in self.alternatives:
            return None
        await self._fetch_slots()
        if iso not in self._slots:
            self.alternatives = [a for a in self.alternatives if a != iso]
            self.pay_error = "That time has just gone too. Please pick another."
            return None
        self.start = iso
        self.pay_error = ""
        self.alternatives = []
        self._default_day()
        return self._remember_in_url()

    @rx.event
    async def pay(self) -> AsyncIterator[EventSpec | None]:
        """Step 5: create the Stripe checkout session and send the browser to it.

        The Stripe call runs in a thread so it never stalls the event loop (and with it every
        other visitor's websocket) for the few hundred milliseconds Stripe takes.
        """
        if self.paying or self.consultation:  # a free consultation is confirmed, not paid
            return
        user = await self._load_signed_in_user()
        if user is None:
            yield rx.redirect(login_url(self.review_url()))
            return
        start = timefmt.parse_utc_iso(self.start)
        if start is None or not self.tutor_id or not self.duration:
            self.step = self.max_step
            return
        self.paying = True
        self.pay_error = ""
        self.alternatives = []
        yield None
        zone = timefmt.zone_from_cookie_header(self.router.headers.cookie)
        if user.timezone is None and zone is not None:  # before the lesson's emails are written
            await asyncio.to_thread(_remember_zone, user.id, zone)
        # A fresh request id for this checkout: the session's metadata carries it to the
        # webhook and the follow-ups (core.request_context).
        request_id = request_context.new_request_id()
        try:
            started = await asyncio.to_thread(
                request_context.call_with_request_id, request_id,
                checkout.start_client_checkout,
                user=user, ip=self._client_ip(), tutor_id=self.tutor_id, start=start,
                duration_minutes=self.duration, note=self.note,
            )
        except slots.SlotTaken as exc:
            self.paying = False
            self._offer_alternatives(str(exc), exc.alternatives)
            await self._fetch_slots(user)
            return
        except (checkout.CheckoutError, rate_limits.RateLimited) as exc:
            self.paying = False
            self.pay_error = str(exc)
            return
        except Exception:
            log.exception("wizard: checkout failed for user %s", user.id,
                          extra={"request_id": request_id})
            self.paying = False
            self.pay_error = "We could not start the payment. Please try again in a moment."
            return
        log.info("wizard: checkout %s for user %s (resumed=%s)", started.session_id, user.id,
                 started.resumed, extra={"request_id": request_id})
        yield rx.redirect(started.url)

    @rx.event
    async def confirm_consultation(self) -> AsyncIterator[EventSpec | None]:
        """Step 5 of a free consultation: book it (no payment) and show it on the dashboard."""
        if self.confirming or not self.consultation:
            return
        user = await self._load_signed_in_user()
        if user is None:
            yield rx.redirect(login_url(self.review_url()))
            return
        start = timefmt.parse_utc_iso(self.start)
        if start is None or not self.tutor_id:
            self.step = self.max_step
            return
        self._set(confirming=True, pay_error="", alternatives=[], already_had=False)
        yield None
        zone = timefmt.zone_from_cookie_header(self.router.headers.cookie)
        if user.timezone is None and zone is not None:  # before the emails are written
            await asyncio.to_thread(_remember_zone, user.id, zone)
        try:
            booking_id = await asyncio.to_thread(
                request_context.call_with_new_request_id,
                consultations.book_consultation,
                user=user, tutor_id=self.tutor_id, start=start, ip=self._client_ip(),
                note=self.note,
            )
        except slots.SlotTaken as exc:
            self.confirming = False
            self._offer_alternatives(str(exc), exc.alternatives)
            await self._fetch_slots(user)
            return
        except consultations.AlreadyHadConsultation as exc:
            self._set(confirming=False, pay_error=str(exc), already_had=True)
            return
        except (consultations.ConsultationError, rate_limits.RateLimited) as exc:
            self._set(confirming=False, pay_error=str(exc))
            return
        except Exception:
            log.exception("wizard: consultation failed for user %s", user.id)
            self._set(confirming=False,
                      pay_error="We could not book the consultation. Please try again.")
            return
        log.info("wizard: consultation %s for user %s", booking_id, user.id)
        yield rx.redirect(routes.DASHBOARD)

    # --- derived -----------------------------------------------------------------------------

    @rx.var(cache=True)
    def duration_options(self) -> list[DurationOption]:
        """The lengths this tutor offers with the price of each, priced by `pricing.quote`."""
        if not self.tutor_id or self.tutor_rate_cents <= 0:
            return []
        options: list[DurationOption] = []
        for minutes in self.tutor_lengths:
            q = pricing.quote(
                tutor_id=self.tutor_id, hourly_rate_cents=self.tutor_rate_cents,
                currency=self.tutor_currency, duration_minutes=minutes,
            )
            options.append(
                {
                    "minutes": minutes,
                    "label": timefmt.format_duration(minutes),
                    "price": pricing.format_money(q.total_cents, q.currency),
                }
            )
        return options

    @rx.var(cache=True)
    def consultation_options(self) -> list[DurationOption]:
        """ "Free consultation, 15 min" after the lengths, when this tutor offers one (a list
        of one, or none)."""
        if not self.tutor_id or not self.tutor_offers_consultation:
            return []
        return [{"minutes": pricing.CONSULTATION_MINUTES,
                 "label": CONSULTATION_OPTION_LABEL, "price": consultations.FREE_LABEL}]

    @rx.var(cache=True)
    def review_next_label(self) -> str:
        """The review's button: on to payment, or to confirming a free consultation."""
        return "Continue to confirm" if self.consultation else "Continue to payment"

    @rx.var(cache=True)
    def calendar(self) -> list[CalendarCell]:
        """Today to the tutor's horizon as whole weeks, days with free starts enabled (viewer's
        zone)."""
        if not self.slots_loaded:
            return []  # nothing to pick from yet; keeps the first page load small
        return slot_calendar.calendar(self._slots, self.viewer_tz, now=clock.now(),
                                      horizon_days=self.tutor_horizon_days)

    @rx.var(cache=True)
    def free_day_count(self) -> int:
        """How many days have at least one free start."""
        return len(self._day_counts())

    @rx.var(cache=True)
    def day_times(self) -> list[TimeOption]:
        """The free starts of the chosen day, as wall-clock times in the viewer's zone."""
        return slot_calendar.day_times(self._slots, self.day, self.viewer_tz)

    @rx.var(cache=True)
    def day_label(self) -> str:
        """The chosen day, spelled out ("Tue 1 Dec 2026")."""
        parsed = timefmt.parse_day_key(self.day)
        return timefmt.format_day(parsed) if parsed else ""

    @rx.var(cache=True)
    def viewer_zone_label(self) -> str:
        """ "America/New_York (EST, UTC-05:00)": the zone times are shown in."""
        return timefmt.zone_label(self.viewer_tz)

    @rx.var(cache=True)
    def start_viewer_label(self) -> str:
        """The chosen lesson in the student's zone, start to end."""
        return self._range_in(self.viewer_tz)

    @rx.var(cache=True)
    def start_tutor_label(self) -> str:
        """The chosen lesson in the tutor's zone, start to end."""
        return self._range_in(self.tutor_timezone)

    def _range_in(self, tz: str) -> str:
        start = timefmt.parse_utc_iso(self.start)
        if start is None or not self.duration:
            return ""
        return timefmt.format_range(start, start + timedelta(minutes=self.duration), tz)

    @rx.var(cache=True)
    def tutor_initials(self) -> str:
        return "".join(part[0] for part in self.tutor_name.split()[:2]).upper()

    @rx.var(cache=True)
    def duration_label(self) -> str:
        if self.consultation:
            return CONSULTATION_OPTION_LABEL
        return timefmt.format_duration(self.duration) if self.duration else ""

    @rx.var(cache=True)
    def rate_label(self) -> str:
        """The tutor's hourly rate ("$60.00/hour")."""
        if self.tutor_rate_cents <= 0:
            return ""
        return f"{pricing.format_money(self.tutor_rate_cents, self.tutor_currency)}/hour"

    @rx.var(cache=True)
    def price_label(self) -> str:
        """The lesson's total, from the same quote checkout will charge ("Free" for a free
        consultation)."""
        if self.consultation and self.tutor_id:
            return consultations.FREE_LABEL
        if not self.tutor_id or self.duration not in self.tutor_lengths:
            return ""
        q = pricing.quote(
            tutor_id=self.tutor_id, hourly_rate_cents=self.tutor_rate_cents,
            currency=self.tutor_currency, duration_minutes=self.duration,
        )
        return pricing.format_money(q.total_cents, q.currency)

    @rx.var(cache=True)
    def price_breakdown(self) -> str:
        """ "$60.00/hour x 90 min = $90.00" (with a multiplication sign)."""
        if not self.price_label or self.consultation:
            return ""
        return f"{self.rate_label} \u00d7 {self.duration} min = {self.price_label}"

    @rx.var(cache=True)
    def alternative_options(self) -> list[TimeOption]:
        """The offered alternatives with their full date and time in the viewer's zone."""
        options: list[TimeOption] = []
        for iso in self.alternatives:
            parsed = timefmt.parse_utc_iso(iso)
            if parsed is not None:
                options.append(
                    {"start": iso, "label": timefmt.format_datetime(parsed, self.viewer_tz)}
                )
        return options

    @rx.var(cache=True)
    def note_count(self) -> str:
        return f"{len(self.note)}/{NOTE_MAX}"

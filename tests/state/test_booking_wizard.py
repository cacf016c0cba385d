"""The booking wizard's handlers, driven without a browser.

The state tree is built directly (`State(_reflex_internal_init=True)`, allowed under pytest) and
the router data is set on its root the way the websocket handler sets it, so `load` reads the
same `router.url` and `router.headers.cookie` it reads in the running app. Slots come from the
real `slots` service on the test database; only `checkout.start_checkout` is replaced, since the
checkout service has its own tests.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from tests.factories import make_hold, signed_in_user
from tests.schedule_helpers import set_rules
from tests.state.handlers import run, state_on
from tutor_app.booking import checkout
from tutor_app.catalog import pricing
from tutor_app.core import rate_limits, timefmt
from tutor_app.core.models import Booking, User
from tutor_app.scheduling import slots
from tutor_app.state.booking import (
    NOT_TAKING_BOOKINGS_MESSAGE,
    NOTE_MAX,
    STEP_LENGTH,
    STEP_PAY,
    STEP_REVIEW,
    STEP_TIME,
    STEP_TUTOR,
    TIME_GONE_MESSAGE,
    UNKNOWN_TUTOR_MESSAGE,
    BookingWizardState,
)

TUTOR = "james-okafor"  # $60/hour
OTHER_TUTOR = "maria-garcia"


def _run(result: Any) -> list[Any]:
    """The events a handler returned or yielded (it may be async, a generator, or both)."""
    events = run(result)
    if events is None:
        return []
    return [e for e in events if e is not None] if isinstance(events, list) else [events]


def _args(spec: Any) -> dict[str, Any]:
    return {name._js_expr: getattr(value, "_var_value", value) for name, value in spec.args}


def _redirects(events: list[Any]) -> list[str]:
    return [
        _args(e)["path"] for e in events
        if getattr(getattr(e, "handler", None), "fn", None) is not None
        and e.handler.fn.__qualname__ == "_redirect"
    ]


def wizard(
    url: str = "/book-now", *, cookie: str = "", asks_zone: bool = True
) -> BookingWizardState:
    """A fresh state tree on `url`, with `load` (the page's on_load) already run.

    `asks_zone`: whether `load` must ask the browser its zone (no usable `tz` cookie).
    """
    state = state_on(BookingWizardState, url, cookie=cookie, route="/book-now")
    events = _run(state.load())
    asked = any(e.handler.fn.__qualname__ == "_call_script" for e in events)
    assert asked == asks_zone, "asks the browser its zone only without a tz cookie"
    return state


def _sent_to_browser(payload: dict[str, Any]) -> str:
    """A delta or a full state dict as the JSON the websocket carries."""
    return json.dumps(payload, default=str)


@pytest.fixture
def student(session: Session) -> tuple[User, str]:
    """A signed-in student: the user and the cookie header carrying their session."""
    return signed_in_user(session, email="student@example.com", name="Sam Student")


def _to_review(state: BookingWizardState, *, minutes: int = 60, index: int = 0) -> str:
    """Walk steps 1-3 by clicking; returns the chosen start."""
    _run(state.choose_tutor(TUTOR))
    _run(state.choose_duration(minutes))
    start = state._slots[index]
    state.choose_day(timefmt.day_key(timefmt.parse_utc_iso(start), state.viewer_tz))
    state.choose_start(start)
    _run(state.next_step())
    assert state.step == STEP_REVIEW
    return start


def test_a_fresh_wizard_starts_with_the_tutor_list(database: sa.Engine) -> None:
    state = wizard()

    assert state.step == STEP_TUTOR
    assert len(state.tutors) == 10
    assert state.tutor_id == "" and state.message == ""
    assert state.max_step == STEP_TUTOR
    assert not state.signed_in
    _run(state.next_step())
    assert state.step == STEP_TUTOR  # nothing chosen, nowhere to go


def test_durations_are_priced_on_the_server(database: sa.Engine) -> None:
    state = wizard()
    _run(state.choose_tutor(TUTOR))

    assert state.step == STEP_LENGTH
    expected = [
        pricing.format_money(
            pricing.quote(tutor_id=TUTOR, hourly_rate_cents=6000, currency="usd",
                          duration_minutes=m).total_cents, "usd")
        for m in (30, 60, 90)
    ]
    assert [o["minutes"] for o in state.duration_options] == [30, 60, 90]
    prices = [o["price"] for o in state.duration_options]
    assert prices == expected == ["$30.00", "$60.00", "$90.00"]

    _run(state.choose_duration(45))  # not on offer: ignored
    assert state.duration == 0 and state.step == STEP_LENGTH
    _run(state.choose_duration(90))
    assert state.step == STEP_TIME
    assert state.price_label == "$90.00"
    assert state.price_breakdown == "$60.00/hour \u00d7 90 min = $90.00"


def test_choosing_a_day_and_a_free_start(database: sa.Engine) -> None:
    state = wizard()
    _run(state.choose_tutor(TUTOR))
    _run(state.choose_duration(60))

    assert state._slots and all(s.endswith("Z") for s in state._slots)
    assert state._slots == sorted(state._slots)
    enabled = [c["key"] for c in state.calendar if c["enabled"]]
    assert enabled and state.free_day_count == len(enabled)
    assert state.day == enabled[0]  # the first free day is shown at once
    second_day = enabled[1]
    state.choose_day(second_day)
    assert state.day == second_day
    assert state.day_times and all(
        timefmt.day_key(timefmt.parse_utc_iso(t["start"]), "UTC") == second_day
        for t in state.day_times
    )
    # Every day from today to the horizon may have times (this tutor teaches daily), but the
    # grid's whole weeks always show days before today or past the horizon, without times.
    disabled = next(c["key"] for c in state.calendar if not c["enabled"])
    state.choose_day(disabled)
    assert state.day == second_day  # a day without times cannot be chosen

    state.choose_start("2020-01-01T10:00:00Z")  # not offered
    assert state.start == ""
    pick = state.day_times[1]["start"]
    state.choose_start(pick)
    assert state.start == pick and state.max_step == STEP_REVIEW


def test_the_free_starts_stay_on_the_server(database: sa.Engine) -> None:
    state = wizard(f"/book-now?tutor={TUTOR}")
    root = state._get_root_state()
    root._clean()

    _run(state.choose_duration(60))
    delta = _sent_to_browser(root.get_delta())
    hydrate = _sent_to_browser(root.dict())

    assert len(state._slots) > 50  # weeks of free starts behind the calendar
    shown = {t["start"] for t in state.day_times}
    for payload in (delta, hydrate):
        sent = set(re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", payload))
        assert sent == shown  # only the chosen day's times, none of the other starts
        assert "calendar" in payload and '"_slots' not in payload
    assert len(delta) < 12_000


def test_next_and_back_keep_every_choice(database: sa.Engine) -> None:
    state = wizard()
    start = _to_review(state)
    state.set_note("Calculus, chapter 3")

    for expected in (STEP_TIME, STEP_LENGTH, STEP_TUTOR):
        state.prev_step()
        assert state.step == expected
    assert (state.tutor_id, state.duration, state.start, state.note) == (
        TUTOR, 60, start, "Calculus, chapter 3"
    )
    for expected in (STEP_LENGTH, STEP_TIME, STEP_REVIEW):
        _run(state.next_step())
        assert state.step == expected
    _run(state.go_to_step(STEP_LENGTH))
    assert state.step == STEP_LENGTH and state.start == start


def test_the_note_is_cut_at_500_characters(database: sa.Engine) -> None:
    state = wizard()
    state.set_note("x" * 600)
    assert len(state.note) == NOTE_MAX


def test_a_longer_lesson_clears_a_start_it_no_longer_fits(database: sa.Engine) -> None:
    state = wizard()
    _run(state.choose_tutor(TUTOR))
    _run(state.choose_duration(30))
    thirty = list(state._slots)
    _run(state.choose_duration(90))
    ninety = set(state._slots)
    state.prev_step()
    _run(state.choose_duration(30))
    last_of_window = next(s for s in thirty if s not in ninety)
    fits_both = next(s for s in thirty if s in ninety)

    state.choose_start(fits_both)
    _run(state.choose_duration(90))
    assert state.start == fits_both  # still fits: kept

    _run(state.choose_duration(30))
    state.choose_start(last_of_window)
    _run(state.choose_duration(90))
    assert state.start == ""
    assert state.step == STEP_TIME
    assert "does not fit" in state.message


def test_another_tutor_clears_a_start_they_do_not_offer(database: sa.Engine) -> None:
    state = wizard()
    start = _to_review(state)
    _run(state.go_to_step(STEP_TUTOR))
    _run(state.choose_tutor(OTHER_TUTOR))
    other = wizard(f"/book-now?tutor={OTHER_TUTOR}&duration=60")
    assert (state.start == start) == (start in other._slots)
    assert state.step == STEP_LENGTH and state.duration == 60


def test_tutor_in_the_url_opens_the_length_step(database: sa.Engine) -> None:
    state = wizard(f"/book-now?tutor={TUTOR}")
    assert state.step == STEP_LENGTH
    assert state.tutor_id == TUTOR and state.tutor_name == "James Okafor"
    assert state.message == ""


def test_an_unknown_tutor_falls_back_to_the_list(database: sa.Engine) -> None:
    state = wizard("/book-now?tutor=nobody-here&duration=60&step=4")
    assert state.step == STEP_TUTOR
    assert state.message == UNKNOWN_TUTOR_MESSAGE
    assert state.message.startswith("We couldn't find that tutor")
    assert state.tutor_id == "" and len(state.tutors) == 10


def test_a_gone_start_in_the_url_stops_at_the_calendar(
    database: sa.Engine, session: Session
) -> None:
    probe = wizard(f"/book-now?tutor={TUTOR}&duration=60")
    start = probe._slots[0]
    begin = timefmt.parse_utc_iso(start)
    session.add(Booking(
        user_id=None, tutor_id=TUTOR, start_time=begin, end_time=begin + timedelta(hours=1),
        price_cents=6000, stripe_checkout_session_id="cs_test_taken",
    ))
    session.commit()

    state = wizard(f"/book-now?tutor={TUTOR}&duration=60&start={start}&step=4")

    assert state.step == STEP_TIME
    assert state.start == "" and state.message == TIME_GONE_MESSAGE
    assert state.day == timefmt.day_key(begin, "UTC")


def test_signed_out_review_goes_to_login_with_every_choice(database: sa.Engine) -> None:
    state = wizard()
    start = _to_review(state)
    state.set_note("Exam prep & integrals?")

    (target,) = _redirects(_run(state.next_step()))

    assert state.step == STEP_REVIEW
    parts = urlsplit(target)
    assert parts.path == "/login"
    next_url = parse_qs(parts.query)["next"][0]
    next_parts = urlsplit(next_url)
    assert next_parts.path == "/book-now"
    assert parse_qs(next_parts.query) == {
        "tutor": [TUTOR], "duration": ["60"], "start": [start],
        "note": ["Exam prep & integrals?"], "step": ["4"],
    }

    back = wizard(next_url)
    assert back.step == STEP_REVIEW
    assert (back.tutor_id, back.duration, back.start, back.note) == (
        TUTOR, 60, start, "Exam prep & integrals?"
    )
    assert back.start_viewer_label and back.price_label == "$60.00"


def test_review_shows_the_time_in_both_zones(database: sa.Engine) -> None:
    state = wizard()
    start = _to_review(state)
    state.set_viewer_tz("America/New_York")
    begin = timefmt.parse_utc_iso(start)
    end = begin + timedelta(hours=1)

    assert state.start_viewer_label == timefmt.format_range(begin, end, "America/New_York")
    assert state.start_tutor_label == timefmt.format_range(begin, end, state.tutor_timezone)
    assert state.day == timefmt.day_key(begin, "America/New_York")
    state.set_viewer_tz("Not/AZone")
    assert state.viewer_tz == "UTC"


def test_the_zone_cookie_spares_the_browser_a_round_trip(database: sa.Engine) -> None:
    probe = wizard(f"/book-now?tutor={TUTOR}&duration=60")
    start = probe._slots[0]
    url = f"/book-now?tutor={TUTOR}&duration=60&start={start}&step=4"

    state = wizard(url, cookie="other=1; tz=America%2FNew_York", asks_zone=False)

    assert state.viewer_tz == "America/New_York" and state.tz_detected
    assert state.day == timefmt.day_key(timefmt.parse_utc_iso(start), "America/New_York")
    assert state.step == STEP_REVIEW
    for bad in ("tz=Not%2FAZone", "tz=", "tzx=Europe%2FParis"):
        fallback = wizard(cookie=bad)  # asks the browser instead
        assert fallback.viewer_tz == "UTC"


def test_the_viewers_zone_regroups_the_days(database: sa.Engine) -> None:
    state = wizard(f"/book-now?tutor={TUTOR}&duration=60")
    state.set_viewer_tz("Pacific/Auckland")
    for option in state.day_times:
        begin = timefmt.parse_utc_iso(option["start"])
        assert timefmt.day_key(begin, "Pacific/Auckland") == state.day
        assert option["label"] == timefmt.format_time(begin, "Pacific/Auckland")


def test_signed_in_review_goes_to_payment_and_pays(
    database: sa.Engine, student: tuple[User, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, cookie = student
    calls: list[dict[str, Any]] = []

    def fake_start_checkout(**kwargs: Any) -> checkout.CheckoutStarted:
        calls.append(kwargs)
        return checkout.CheckoutStarted(
            url="https://checkout.stripe.test/c/pay/cs_test_1", session_id="cs_test_1",
            resumed=False,
        )

    monkeypatch.setattr(checkout, "start_checkout", fake_start_checkout)
    state = wizard(cookie=cookie)
    assert state.signed_in and state.user_id == user.id
    start = _to_review(state)
    state.set_note("Hello")

    events = _run(state.next_step())
    assert _redirects(events) == []
    assert state.step == STEP_PAY and state.pay_error == ""
    # The address bar now holds the review, so Back from Stripe lands on it.
    (script,) = [_args(e)["javascript_code"] for e in events]
    assert "history.replaceState" in script and state.review_url() in script
    assert f"start={start.replace(':', '%3A')}" in state.review_url()

    assert _redirects(_run(state.pay())) == ["https://checkout.stripe.test/c/pay/cs_test_1"]
    (call,) = calls
    assert call["user"].id == user.id
    assert call["tutor_id"] == TUTOR
    assert call["start"] == timefmt.parse_utc_iso(start)
    assert call["duration_minutes"] == 60 and call["note"] == "Hello"


def test_a_taken_slot_offers_alternatives_in_one_click(
    database: sa.Engine, student: tuple[User, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, cookie = student
    state = wizard(cookie=cookie)
    start = _to_review(state)
    _run(state.next_step())
    alternatives = [timefmt.parse_utc_iso(s) for s in state._slots[1:5]]

    def taken(**_: Any) -> checkout.CheckoutStarted:
        raise slots.SlotTaken("Sorry, that time was just taken.", alternatives)

    monkeypatch.setattr(checkout, "start_checkout", taken)
    assert _redirects(_run(state.pay())) == []

    assert state.pay_error == "Sorry, that time was just taken."
    assert state.alternatives == [timefmt.to_utc_iso(a) for a in alternatives[:3]]
    assert len(state.alternative_options) == 3 and not state.paying
    assert state.step == STEP_PAY

    _run(state.pick_alternative(state.alternatives[1]))
    assert state.start == timefmt.to_utc_iso(alternatives[1]) != start
    assert state.pay_error == "" and state.alternatives == []


def test_other_checkout_errors_show_their_message(
    database: sa.Engine, student: tuple[User, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, cookie = student
    state = wizard(cookie=cookie)
    _to_review(state)
    _run(state.next_step())

    def down(**_: Any) -> checkout.CheckoutStarted:
        raise checkout.PaymentProviderError("Payments are unavailable right now.")

    monkeypatch.setattr(checkout, "start_checkout", down)
    assert _redirects(_run(state.pay())) == []
    assert state.pay_error == "Payments are unavailable right now."
    assert state.alternatives == [] and not state.paying


def test_a_fourth_unpaid_checkout_is_refused_with_its_message(
    session: Session, student: tuple[User, str]
) -> None:
    user, cookie = student
    state = wizard(cookie=cookie)
    _to_review(state, index=0)
    _run(state.next_step())
    for later in (1, 2, 3):  # three live holds on other days, out of the wizard's way
        make_hold(session, user=user, start=timefmt.parse_utc_iso(state._slots[-1])
                  - timedelta(days=later))

    assert _redirects(_run(state.pay())) == []

    assert state.pay_error == (
        "You have 3 checkouts in progress. Finish or cancel one before starting another."
    )
    assert not state.paying and state.step == STEP_PAY


def test_paying_over_and_over_is_rate_limited(
    database: sa.Engine, student: tuple[User, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, cookie = student
    started = checkout.CheckoutStarted(url="https://checkout.stripe.test/c/pay/cs_test_1",
                                       session_id="cs_test_1", resumed=True)
    monkeypatch.setattr(checkout, "start_checkout", lambda **_: started)
    state = wizard(cookie=cookie)
    _to_review(state)
    _run(state.next_step())
    for _ in range(rate_limits.CHECKOUT_PER_ACCOUNT.max_hits):
        assert _redirects(_run(state.pay())) == [started.url]
        state.paying = False  # the page would have gone to Stripe; this one pays again

    assert _redirects(_run(state.pay())) == []

    assert state.pay_error == "Too many attempts. Try again in 10 minutes."
    assert not state.paying


def test_a_slot_taken_meanwhile_is_caught_before_payment(
    database: sa.Engine, session: Session, student: tuple[User, str]
) -> None:
    _, cookie = student
    state = wizard(cookie=cookie)
    start = _to_review(state)
    begin = timefmt.parse_utc_iso(start)
    session.add(Booking(
        user_id=None, tutor_id=TUTOR, start_time=begin, end_time=begin + timedelta(hours=1),
        price_cents=6000, stripe_checkout_session_id="cs_test_other",
    ))
    session.commit()

    _run(state.next_step())

    assert state.step == STEP_PAY
    assert state.pay_error == "Sorry, that time was just taken."
    assert state.alternatives and start not in state.alternatives
    assert start not in state._slots


def test_refresh_on_focus_drops_a_start_that_was_booked(
    database: sa.Engine, session: Session
) -> None:
    state = wizard()
    start = _to_review(state)
    begin = timefmt.parse_utc_iso(start)
    session.add(Booking(
        user_id=None, tutor_id=TUTOR, start_time=begin, end_time=begin + timedelta(hours=1),
        price_cents=6000, stripe_checkout_session_id="cs_test_focus",
    ))
    session.commit()

    _run(state.refresh_slots())  # within seconds of the last read: skipped
    assert state.start == start
    state._slots_fetched = 0.0
    _run(state.on_visibility(True))  # hidden: nothing to do
    assert state.start == start
    _run(state.on_visibility(False))

    assert start not in state._slots
    assert state.start == "" and state.step == STEP_TIME
    assert state.message == TIME_GONE_MESSAGE


# --- the tutor's own lengths, horizon, and profile -------------------------------------------


def test_only_the_tutors_own_lengths_are_offered_and_priced(
    database: sa.Engine, session: Session
) -> None:
    set_rules(session, lesson_durations=[120, 45])
    state = wizard()
    _run(state.choose_tutor(TUTOR))

    assert [(o["minutes"], o["price"]) for o in state.duration_options] == [
        (45, "$45.00"), (120, "$120.00")]
    _run(state.choose_duration(60))  # a length the product sells, but not this tutor
    assert state.duration == 0 and state.step == STEP_LENGTH
    _run(state.choose_duration(45))
    assert state.step == STEP_TIME and state._slots
    assert state.price_breakdown == "$60.00/hour \u00d7 45 min = $45.00"


def test_a_length_in_the_url_the_tutor_does_not_offer_stops_at_the_length_step(
    database: sa.Engine, session: Session
) -> None:
    set_rules(session, lesson_durations=[30])
    state = wizard(f"/book-now?tutor={TUTOR}&duration=60&step=4")

    assert state.step == STEP_LENGTH and state.duration == 0


def test_another_tutor_drops_a_length_they_do_not_offer(
    database: sa.Engine, session: Session
) -> None:
    set_rules(session, lesson_durations=[30, 60, 90, 120])
    state = wizard()
    _run(state.choose_tutor(TUTOR))
    _run(state.choose_duration(120))
    _run(state.choose_tutor(OTHER_TUTOR))  # offers 30, 60 and 90

    assert state.duration == 0 and state.step == STEP_LENGTH
    assert [o["minutes"] for o in state.duration_options] == [30, 60, 90]


def test_the_calendar_runs_to_the_tutors_horizon(database: sa.Engine, session: Session) -> None:
    set_rules(session, horizon_days=90)
    state = wizard()
    _run(state.choose_tutor(TUTOR))
    _run(state.choose_duration(60))

    in_range = [c["key"] for c in state.calendar if c["in_range"]]
    assert len(in_range) == 91  # today and the next 90 days
    enabled = [c["key"] for c in state.calendar if c["enabled"]]
    assert enabled[-1] > in_range[60]  # free starts past the default 60 days are shown


def test_a_tutor_not_taking_bookings_cannot_be_chosen(
    database: sa.Engine, session: Session
) -> None:
    set_rules(session, weekly_hours={})
    state = wizard(f"/book-now?tutor={TUTOR}&duration=60")

    assert state.step == STEP_TUTOR and state.tutor_id == ""
    assert state.message == NOT_TAKING_BOOKINGS_MESSAGE
    assert TUTOR not in {t["id"] for t in state.tutors}
    _run(state.choose_tutor(TUTOR))  # a stale list in another tab
    assert state.tutor_id == "" and state.message == NOT_TAKING_BOOKINGS_MESSAGE

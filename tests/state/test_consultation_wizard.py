"""The free consultation in the pages' states: marked in the directory and on the profile,
"Free consultation, 15 min" in the wizard, "Free" on review, "Confirm" instead of paying, the
already-had answer with its way to a paid lesson, the dashboard's card, and the opt-out.

Bookings go through the real `consultations` service on the test database; a checkout that
would start is a failure (`no_checkout`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests.factories import lesson_start, make_booking, signed_in_user
from tests.state.handlers import run, state_on
from tutor_app.booking import checkout, consultations
from tutor_app.core import routes, timefmt
from tutor_app.core.models import Booking, BookingKind, SlotHold, User
from tutor_app.scheduling import slots
from tutor_app.state.booking import (
    CONSULTATION_OPTION_LABEL,
    NO_CONSULTATION_MESSAGE,
    STEP_LENGTH,
    STEP_PAY,
    STEP_REVIEW,
    STEP_TIME,
    BookingWizardState,
)
from tutor_app.state.dashboard import DashboardState
from tutor_app.state.directory import DirectoryState, TutorProfileState

TUTOR = "james-okafor"  # offers a consultation in these tests
OTHER = "maria-garcia"  # does not


@pytest.fixture
def offering(database: sa.Engine) -> str:
    assert consultations.set_offers_consultation(tutor_id=TUTOR, offers=True)
    return TUTOR


@pytest.fixture
def student(session: Session) -> tuple[User, str]:
    return signed_in_user(session, email="student@example.com", name="Sam Student")


@pytest.fixture
def no_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing about a consultation may start a checkout (a hold, a Stripe session)."""

    def refuse(**_: Any) -> None:
        raise AssertionError("a consultation started a checkout")

    monkeypatch.setattr(checkout, "start_checkout", refuse)
    monkeypatch.setattr(checkout, "start_client_checkout", refuse)


def _events(result: Any) -> list[Any]:
    events = run(result)
    if events is None:
        return []
    return [e for e in events if e is not None] if isinstance(events, list) else [events]


def _redirects(events: list[Any]) -> list[str]:
    return [
        {n._js_expr: getattr(v, "_var_value", v) for n, v in e.args}["path"] for e in events
        if getattr(getattr(e, "handler", None), "fn", None) is not None
        and e.handler.fn.__qualname__ == "_redirect"
    ]


def wizard(url: str = "/book-now", *, cookie: str = "") -> BookingWizardState:
    state = state_on(BookingWizardState, url, cookie=cookie, route="/book-now")
    _events(state.load())
    return state


def _to_confirm(state: BookingWizardState, *, index: int = 2) -> str:
    """Choose the consultation and a time, review, and go on to step 5; the start."""
    _events(state.choose_consultation())
    assert state.step == STEP_TIME
    start = state._slots[index]
    state.choose_start(start)
    _events(state.next_step())
    assert state.step == STEP_REVIEW
    _events(state.next_step())
    return start


def _consultations(session: Session) -> list[Booking]:
    session.commit()
    session.expire_all()
    rows = list(session.exec(select(Booking).where(Booking.kind == BookingKind.CONSULTATION)))
    session.commit()
    return rows


# ---------------------------------------------------------------- directory and profile


def test_directory_and_profile_mark_a_tutor_who_offers_one(offering: str) -> None:
    directory = state_on(DirectoryState, "/", route="/")
    run(directory.load_directory())
    offers = {card["id"]: card["offers_consultation"] for card in directory.tutors}
    assert offers[TUTOR] is True and offers[OTHER] is False

    profile = state_on(TutorProfileState, f"/tutors/{TUTOR}", route="/tutors/[tutor_id]")
    run(profile.load_profile())
    assert profile.intro_url == routes.book_consultation(TUTOR) == (
        f"/book-now?tutor={TUTOR}&intro=1")
    other = state_on(TutorProfileState, f"/tutors/{OTHER}", route="/tutors/[tutor_id]")
    run(other.load_profile())
    assert other.intro_url == ""


def test_the_tutors_opt_out_hides_it_everywhere_and_keeps_the_booked_one(
    offering: str, session: Session, student: tuple[User, str]
) -> None:
    user, cookie = student
    start = _free_start(session)
    booked = consultations.book_consultation(user=user, tutor_id=TUTOR, start=start, ip="x")

    consultations.set_offers_consultation(tutor_id=TUTOR, offers=False)

    directory = state_on(DirectoryState, "/", route="/")
    run(directory.load_directory())
    assert not any(card["offers_consultation"] for card in directory.tutors)
    profile = state_on(TutorProfileState, f"/tutors/{TUTOR}", route="/tutors/[tutor_id]")
    run(profile.load_profile())
    assert profile.intro_url == ""
    state = wizard(f"/book-now?tutor={TUTOR}", cookie=cookie)
    assert state.consultation_options == []
    _events(state.choose_consultation())
    assert (state.consultation, state.step) == (False, STEP_LENGTH)
    intro = wizard(routes.book_consultation(TUTOR), cookie=cookie)
    assert (intro.consultation, intro.step, intro.message) == (
        False, STEP_LENGTH, NO_CONSULTATION_MESSAGE)
    # The one already booked is still on the dashboard, as it was.
    dashboard = state_on(DashboardState, "/dashboard", cookie=cookie)
    run(dashboard.load())
    assert [c["id"] for c in dashboard.upcoming] == [booked]


# ---------------------------------------------------------------- the wizard


def test_the_length_step_offers_the_free_consultation(offering: str) -> None:
    state = wizard(f"/book-now?tutor={TUTOR}")
    assert state.step == STEP_LENGTH
    assert state.consultation_options == [
        {"minutes": 15, "label": CONSULTATION_OPTION_LABEL, "price": "Free"}]
    assert [o["minutes"] for o in state.duration_options] == [30, 60, 90]

    _events(state.choose_consultation())

    assert (state.consultation, state.duration, state.step) == (True, 15, STEP_TIME)
    lessons = set(wizard(f"/book-now?tutor={TUTOR}&duration=60")._slots)
    assert set(state._slots) > lessons  # a day's last half hour fits an intro, not an hour
    start = state._slots[0]
    state.choose_start(start)
    _events(state.next_step())
    assert state.step == STEP_REVIEW
    assert state.price_label == "Free" and state.price_breakdown == ""
    assert state.duration_label == CONSULTATION_OPTION_LABEL
    assert state.review_next_label == "Continue to confirm"
    begin = timefmt.parse_utc_iso(start)
    assert state.start_tutor_label == timefmt.format_range(
        begin, begin + timedelta(minutes=15), state.tutor_timezone)

    # A paid length turns it back into a lesson.
    _events(state.choose_duration(60))
    assert (state.consultation, state.duration) == (False, 60)
    assert state.price_label == "$60.00" and state.review_next_label == "Continue to payment"


def test_a_tutor_who_offers_none_has_no_free_length(offering: str) -> None:
    state = wizard(f"/book-now?tutor={OTHER}")
    assert state.consultation_options == []
    _events(state.choose_consultation())
    assert (state.consultation, state.duration, state.step) == (False, 0, STEP_LENGTH)

    chosen = wizard(f"/book-now?tutor={TUTOR}")
    _events(chosen.choose_consultation())
    _events(chosen.choose_tutor(OTHER))  # another tutor: no free consultation to keep
    assert (chosen.consultation, chosen.duration, chosen.step) == (False, 0, STEP_LENGTH)


def test_signed_out_review_goes_to_login_and_back_with_the_intro(offering: str) -> None:
    state = wizard(routes.book_consultation(TUTOR))
    assert (state.consultation, state.step) == (True, STEP_TIME)
    start = state._slots[1]
    state.choose_start(start)
    _events(state.next_step())

    (target,) = _redirects(_events(state.next_step()))

    next_url = parse_qs(urlsplit(target).query)["next"][0]
    assert parse_qs(urlsplit(next_url).query) == {
        "tutor": [TUTOR], "intro": ["1"], "start": [start], "step": ["4"]}
    back = wizard(next_url)
    assert (back.step, back.consultation, back.duration, back.start) == (
        STEP_REVIEW, True, 15, start)
    assert back.price_label == "Free"


def test_confirm_books_it_without_a_checkout_and_opens_the_dashboard(
    offering: str, session: Session, student: tuple[User, str], no_checkout: None
) -> None:
    user, cookie = student
    state = wizard(f"/book-now?tutor={TUTOR}", cookie=cookie)
    start = _to_confirm(state)
    state.set_note("Say hello")
    assert state.step == STEP_PAY and state.pay_error == ""

    assert _redirects(_events(state.pay())) == []  # paying is not how a consultation ends
    assert _redirects(_events(state.confirm_consultation())) == [routes.DASHBOARD]

    [row] = _consultations(session)
    assert (row.user_id, row.tutor_id, row.price_cents, row.note) == (
        user.id, TUTOR, 0, "Say hello")
    assert row.start_time == timefmt.parse_utc_iso(start)
    assert session.exec(select(SlotHold)).all() == []
    dashboard = state_on(DashboardState, "/dashboard", cookie=cookie)
    run(dashboard.load())
    [card] = dashboard.upcoming
    assert card["id"] == row.id and card["kind_label"] == "Free consultation"


def test_a_second_intro_is_told_it_already_had_one_and_offered_a_lesson(
    offering: str, session: Session, student: tuple[User, str], no_checkout: None
) -> None:
    user, cookie = student
    consultations.book_consultation(user=user, tutor_id=TUTOR, start=_free_start(session),
                                    ip="x")
    state = wizard(f"/book-now?tutor={TUTOR}", cookie=cookie)

    _to_confirm(state, index=6)

    message = "You already had your free intro with James Okafor. Book a lesson instead."
    assert (state.step, state.pay_error, state.already_had) == (STEP_PAY, message, True)
    state.book_lesson_instead()
    assert (state.step, state.consultation, state.duration, state.start) == (
        STEP_LENGTH, False, 0, "")
    assert state.pay_error == "" and not state.already_had
    assert len(_consultations(session)) == 1


def test_one_booked_meanwhile_is_caught_at_confirm(
    offering: str, session: Session, student: tuple[User, str], no_checkout: None
) -> None:
    """Two tabs: the other one confirmed first; the unique rule answers this one."""
    user, cookie = student
    state = wizard(f"/book-now?tutor={TUTOR}", cookie=cookie)
    _to_confirm(state, index=6)
    consultations.book_consultation(user=user, tutor_id=TUTOR, start=_free_start(session),
                                    ip="x")

    assert _redirects(_events(state.confirm_consultation())) == []

    assert state.already_had and "already had your free intro" in state.pay_error
    assert not state.confirming
    assert len(_consultations(session)) == 1


def test_a_time_taken_meanwhile_offers_alternatives(
    offering: str, session: Session, student: tuple[User, str], no_checkout: None
) -> None:
    _, cookie = student
    state = wizard(f"/book-now?tutor={TUTOR}", cookie=cookie)
    start = _to_confirm(state)
    begin = timefmt.parse_utc_iso(start)
    assert begin is not None
    make_booking(session, start=begin, minutes=60)

    assert _redirects(_events(state.confirm_consultation())) == []

    assert state.pay_error == "Sorry, that time was just taken."
    assert state.alternatives and start not in state.alternatives
    assert not state.already_had and not state.confirming
    assert _consultations(session) == []


# ---------------------------------------------------------------- the dashboard


def test_the_dashboard_card_says_free_consultation_and_book_a_lesson(
    offering: str, session: Session, student: tuple[User, str]
) -> None:
    user, cookie = student
    lesson = make_booking(session, user=user, start=lesson_start(days=9), price_cents=6000)
    intro = consultations.book_consultation(user=user, tutor_id=TUTOR,
                                            start=_free_start(session), ip="x")

    dashboard = state_on(DashboardState, "/dashboard", cookie=cookie)
    run(dashboard.load())

    cards = {card["id"]: card for card in dashboard.upcoming}
    assert cards[intro]["kind_label"] == "Free consultation"
    assert cards[intro]["price"] == "Free" and cards[intro]["duration"] == "15 min"
    assert cards[intro]["book_again_label"] == "Book a lesson"
    assert cards[intro]["book_again_url"] == routes.book_now(TUTOR)
    assert cards[lesson.id]["kind_label"] == ""
    assert cards[lesson.id]["price"] == "$60.00"
    assert cards[lesson.id]["book_again_label"] == "Book again"


def _free_start(session: Session) -> datetime:
    starts = slots.free_slots_for(session, tutor_id=TUTOR, duration_minutes=15)
    session.commit()
    return starts[0]

"""The wizard's "resume your payment" offer, driven without a browser."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import Session

from tests.factories import TUTOR, first_free, make_hold, make_user, session_cookie
from tests.state.handlers import ORIGIN, run, state_on
from tutor_app.booking import checkout
from tutor_app.core import clock
from tutor_app.core.models import User
from tutor_app.core.settings import Settings
from tutor_app.state.booking import BookingWizardState
from tutor_app.state.resume_checkout import ResumeCheckoutState


@pytest.fixture(autouse=True)
def _dev_payments(configure: Callable[..., Settings], database: object) -> None:
    configure(STRIPE_SECRET_KEY=None, STRIPE_API_BASE=None, STRIPE_WEBHOOK_SECRET=None,
              APP_ENV="dev")


def _state(session: Session, user: User | None) -> ResumeCheckoutState:
    return state_on(ResumeCheckoutState, f"{ORIGIN}/book-now",
                    cookie=session_cookie(session, user) if user else "")


def test_an_open_session_is_offered_with_its_url(session: Session) -> None:
    me = make_user(session)
    start = first_free(session, days_ahead=3)
    started = checkout.start_checkout(user=me, tutor_id=TUTOR, start=start, duration_minutes=60)
    state = _state(session, me)

    assert run(state.load()) is not None  # asks the browser for its zone
    state.set_viewer_tz("America/New_York")

    assert state.resume_url == started.url
    assert state.resume_tutor == "James Okafor"
    assert "(America/New_York)" in state.resume_when
    assert len(state.resume_until) == 5  # "16:31"


def test_nothing_is_offered_to_others_signed_out_or_after_the_hold_lapsed(
    session: Session
) -> None:
    me = make_user(session)
    make_hold(session, user=me, start=first_free(session, days_ahead=3), session_id="cs_dev_x",
              expires_at=clock.now() + timedelta(minutes=2))  # lapses before it could be paid
    for user in (me, make_user(session), None):
        state = _state(session, user)
        assert run(state.load()) is None
        assert state.resume_url == "" and state.resume_tutor == ""


def test_the_wizards_own_load_offers_the_open_session(session: Session) -> None:
    """`/book-now` has one on_load: the wizard's load fills the offer in the same event."""
    me = make_user(session)
    start = first_free(session, days_ahead=3)
    started = checkout.start_checkout(user=me, tutor_id=TUTOR, start=start, duration_minutes=60)
    wizard = state_on(BookingWizardState, f"{ORIGIN}/book-now?tutor={TUTOR}", route="/book-now",
                      cookie=session_cookie(session, me) + "; tz=America%2FNew_York")

    events = run(wizard.load())

    offer = run(wizard.get_state(ResumeCheckoutState))
    assert wizard.tutor_id == TUTOR and wizard.loaded
    assert offer.resume_url == started.url and offer.resume_tutor == "James Okafor"
    assert "(America/New_York)" in offer.resume_when
    assert events == []  # the zone came from the cookie: nothing to ask the browser

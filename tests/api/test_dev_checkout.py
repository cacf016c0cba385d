"""Dev payments: the test-checkout page's "Pay" books through the real webhook over HTTP.

`dev_gateway.pay_dev_session` is what the page's Pay handler awaits; here it posts to the API
served by uvicorn, so the signed event goes through the same route, signature check and
booking code as a real Stripe payment. The page state's loader is driven without a browser.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from tests.factories import TUTOR, TUTOR_NAME, first_free, make_user
from tests.fakes.server import ThreadedServer
from tests.state.handlers import state_on
from tests.stripe_helpers import all_bookings, event_ids, hold_by_id
from tutor_app.booking import checkout
from tutor_app.core import clock, request_context
from tutor_app.core.models import BookingStatus, HoldStatus, SlotHold, User
from tutor_app.core.settings import Settings
from tutor_app.payments import dev_gateway
from tutor_app.state.dev_checkout import DevCheckoutState

ConfigureFn = Callable[..., Settings]


@pytest.fixture
def dev(api_server: ThreadedServer, configure: ConfigureFn) -> Settings:
    """Dev payments on (no Stripe keys, APP_ENV=dev), APP_URL = the served API."""
    settings = configure(STRIPE_SECRET_KEY=None, STRIPE_WEBHOOK_SECRET=None,
                         STRIPE_API_BASE=None, APP_ENV="dev")
    assert settings.dev_payments and settings.app_url == api_server.url
    return settings


def _checkout(session: Session, user: User) -> checkout.CheckoutStarted:
    return checkout.start_checkout(user=user, tutor_id=TUTOR, start=first_free(session),
                                   duration_minutes=90, note="dev note")


def _hold(session: Session, session_id: str) -> SlotHold:
    session.commit()
    return session.exec(select(SlotHold).where(SlotHold.checkout_session_id == session_id)).one()


def test_pay_posts_a_signed_event_and_books_the_lesson(dev: Settings, session: Session) -> None:
    user = make_user(session, email="dev@example.com")
    started = _checkout(session, user)
    assert started.url == f"{dev.app_url}/dev/checkout?session_id={started.session_id}"

    target = asyncio.run(dev_gateway.pay_dev_session(started.session_id))

    assert target == f"{dev.app_url}/payment/success?session_id={started.session_id}"
    (booking,) = all_bookings(session)
    hold = _hold(session, started.session_id)
    assert booking.user_id == user.id
    assert booking.status == BookingStatus.SCHEDULED
    assert booking.stripe_checkout_session_id == started.session_id
    assert booking.start_time == hold.start_time
    assert booking.end_time - booking.start_time == timedelta(minutes=90)
    assert (booking.price_cents, booking.currency) == (9000, "usd")  # $60/hour, 90 minutes
    assert booking.stripe_payment_intent_id.startswith("pi_dev_")
    assert booking.note == "dev note"
    assert hold.status == HoldStatus.CONVERTED
    (event_id,) = event_ids(session)
    assert event_id.startswith("evt_dev_")


def test_pay_twice_books_once(dev: Settings, session: Session) -> None:
    started = _checkout(session, make_user(session))
    first = asyncio.run(dev_gateway.pay_dev_session(started.session_id))
    second = asyncio.run(dev_gateway.pay_dev_session(started.session_id))
    assert first == second
    assert len(all_bookings(session)) == 1
    assert len(event_ids(session)) == 1


def test_concurrent_pay_clicks_book_once(dev: Settings, session: Session) -> None:
    started = _checkout(session, make_user(session))

    async def clicks() -> list[str]:
        return await asyncio.gather(
            *(dev_gateway.pay_dev_session(started.session_id) for _ in range(5))
        )

    assert len(set(asyncio.run(clicks()))) == 1
    assert len(all_bookings(session)) == 1


def test_event_is_the_shape_stripe_sends(dev: Settings, session: Session) -> None:
    user = make_user(session, email="shape@example.com", name="Shape")
    started = _checkout(session, user)
    hold = _hold(session, started.session_id)
    obj = dev_gateway.build_session_object(hold, user)
    assert obj["id"] == started.session_id and obj["object"] == "checkout.session"
    assert (obj["amount_total"], obj["currency"]) == (9000, "usd")
    assert (obj["payment_status"], obj["status"]) == ("paid", "complete")
    assert obj["client_reference_id"] == user.id
    assert obj["customer_email"] == obj["customer_details"]["email"] == "shape@example.com"
    assert obj["customer"] is None
    assert obj["metadata"] == {
        "tutorId": TUTOR,
        "startDateTimeISO": checkout.metadata_start(hold.start_time),
        "durationMinutes": "90",
        "userId": user.id,
        "userEmail": "shape@example.com",
        "priceCents": "9000",
        "currency": "usd",
        "endDateTimeISO": checkout.metadata_start(hold.end_time),
        "holdId": hold.id,
    }
    evt = dev_gateway.build_completed_event(obj)
    assert evt["type"] == "checkout.session.completed" and evt["data"]["object"] == obj
    assert evt["id"] != dev_gateway.build_completed_event(obj)["id"]


def test_expired_session_cannot_be_paid(dev: Settings, session: Session) -> None:
    started = _checkout(session, make_user(session))
    hold = _hold(session, started.session_id)
    hold.expires_at = clock.now() - timedelta(seconds=1)
    session.add(hold)
    session.commit()
    view = dev_gateway.load_dev_checkout(started.session_id)
    assert view is not None and view.status == dev_gateway.EXPIRED
    with pytest.raises(dev_gateway.DevPaymentError, match="expired"):
        asyncio.run(dev_gateway.pay_dev_session(started.session_id))
    assert all_bookings(session) == []
    assert hold_by_id(session, hold.id).status == HoldStatus.ACTIVE


def test_unknown_session_cannot_be_paid(dev: Settings, session: Session) -> None:
    with pytest.raises(dev_gateway.DevPaymentError, match="does not exist"):
        asyncio.run(dev_gateway.pay_dev_session("cs_dev_nosuchsession"))
    assert dev_gateway.load_dev_checkout("cs_dev_nosuchsession") is None


def test_with_stripe_keys_the_dev_checkout_does_nothing(
    dev: Settings, session: Session, configure: ConfigureFn
) -> None:
    started = _checkout(session, make_user(session))
    configure(STRIPE_SECRET_KEY="sk_test_real_keys", STRIPE_WEBHOOK_SECRET="whsec_real")
    with pytest.raises(dev_gateway.DevPaymentError, match="not available"):
        asyncio.run(dev_gateway.pay_dev_session(started.session_id))
    assert dev_gateway.load_dev_checkout(started.session_id) is None
    assert all_bookings(session) == []


def test_page_never_works_in_prod(dev: Settings, session: Session,
                                  configure: ConfigureFn) -> None:
    started = _checkout(session, make_user(session))
    prod = configure(APP_ENV="prod", SECRET_KEY="p" * 40, STRIPE_SECRET_KEY="sk_live_x",
                     STRIPE_WEBHOOK_SECRET="whsec_live")
    assert not prod.dev_payments
    state = _state(f"/dev/checkout?session_id={started.session_id}")
    asyncio.run(state.load())
    assert state.available is False and state.found is False
    with pytest.raises(dev_gateway.DevPaymentError):
        asyncio.run(dev_gateway.pay_dev_session(started.session_id))


# --- the page's state --------------------------------------------------------------------


def _state(url: str) -> DevCheckoutState:
    return state_on(DevCheckoutState, url, route="/dev/checkout")


def test_state_shows_tutor_time_length_and_amount(dev: Settings, session: Session) -> None:
    started = _checkout(session, make_user(session))
    state = _state(f"/dev/checkout?session_id={started.session_id}")
    asyncio.run(state.load())
    assert state.available and state.found
    assert state.status == dev_gateway.OPEN
    assert state.tutor_name == TUTOR_NAME
    assert state.duration == "1 h 30 min"
    assert state.amount == "$90.00"
    assert "(America/New_York)" in state.when_tutor
    assert state.cancel_url.startswith(f"{dev.app_url}/payment/cancel?tutor={TUTOR}")
    state.set_viewer_tz("Europe/Paris")
    assert "(Europe/Paris)" in state.when


def test_state_with_a_bad_session_id_shows_not_found(dev: Settings) -> None:
    for url in ("/dev/checkout", "/dev/checkout?session_id=cs_dev_unknown",
                "/dev/checkout?session_id=<script>"):
        state = _state(url)
        asyncio.run(state.load())
        assert state.available and not state.found


def test_the_dev_session_carries_the_request_id_that_placed_its_hold(
    dev: Settings, session: Session
) -> None:
    """As a real session does: the dev webhook then logs under the click's request id."""
    user = make_user(session)
    with request_context.bound_request_id("dev-click-1"):
        started = _checkout(session, user)
    obj = dev_gateway.build_session_object(_hold(session, started.session_id), user)
    assert obj["metadata"][checkout.REQUEST_ID_KEY] == "dev-click-1"

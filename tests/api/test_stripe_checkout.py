"""POST /api/stripe/checkout over real HTTP, with the real stripe SDK against the fake Stripe.

Ends with the whole paid path as it runs in production: checkout through our route, the
customer paying on (fake) Stripe, Stripe's signed event reaching our webhook, the booking.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from tests.factories import TUTOR, first_free, make_hold, make_user, session_cookie
from tests.fakes.fake_stripe import FakeStripe
from tests.fakes.server import ThreadedServer, free_port
from tests.stripe_helpers import WEBHOOK_PATH, WEBHOOK_SECRET, all_bookings, checkout_requests
from tutor_app.accounts import sign_in_sessions
from tutor_app.booking import checkout
from tutor_app.core import clock, rate_limits
from tutor_app.core.models import BookingStatus, HoldStatus, SlotHold
from tutor_app.core.settings import Settings
from tutor_app.core.timefmt import to_utc_iso
from tutor_app.integrations import stripe_gateway

ConfigureFn = Callable[..., Settings]
CHECKOUT = "/api/stripe/checkout"



def _body(start: Any, **extra: Any) -> dict[str, Any]:
    return {"tutorId": TUTOR, "startDateTimeISO": to_utc_iso(start), "durationMinutes": 60,
            **extra}


def test_without_a_session_it_is_401(fake: FakeStripe, client: httpx.Client,
                                     session: Session) -> None:
    response = client.post(CHECKOUT, json=_body(first_free(session)))
    assert response.status_code == 401
    assert "error" in response.json()
    stale = client.post(CHECKOUT, json=_body(first_free(session)),
                        headers={"cookie": f"{sign_in_sessions.session_cookie_name()}=not-a-token"})
    assert stale.status_code == 401
    assert fake.requests == []


def test_signed_in_student_gets_a_checkout_url(
    fake: FakeStripe, client: httpx.Client, session: Session
) -> None:
    user = make_user(session, email="route@example.com")
    start = first_free(session)
    response = client.post(CHECKOUT, json=_body(start, note="Hi!"),
                           headers={"cookie": session_cookie(session, user)})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["id"] in fake.sessions
    assert data["url"] == fake.sessions[data["id"]]["url"]
    assert data["resumed"] is False
    (req,) = checkout_requests(fake)
    assert req.params["metadata"]["userId"] == user.id
    assert req.params["customer_email"] == "route@example.com"
    assert req.params["line_items"][0]["price_data"]["unit_amount"] == "6000"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tutorId": None}, "tutorId"),
        ({"tutorId": "nobody"}, "tutor"),
        ({"startDateTimeISO": "tomorrow at five"}, "startDateTimeISO"),
        ({"startDateTimeISO": "2026-12-01T21:00:00"}, "startDateTimeISO"),  # no zone
        ({"durationMinutes": 45}, "30, 60, 90"),
        ({"durationMinutes": "sixty"}, "durationMinutes"),
        ({"note": 5}, "note"),
        ({"shift_minutes": 10}, "not available"),
    ],
)
def test_bad_input_is_400_with_a_message(
    fake: FakeStripe, client: httpx.Client, session: Session, change: dict[str, Any],
    message: str,
) -> None:
    headers = {"cookie": session_cookie(session, make_user(session))}
    start = first_free(session) + timedelta(minutes=change.pop("shift_minutes", 0))
    body = {**_body(start), **change}
    response = client.post(CHECKOUT, json=body, headers=headers)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]
    assert fake.requests == []


def test_malformed_json_and_wrong_content_type(
    fake: FakeStripe, client: httpx.Client, session: Session
) -> None:
    headers = {"cookie": session_cookie(session, make_user(session))}
    bad = client.post(CHECKOUT, content=b"{not json",
                      headers={**headers, "content-type": "application/json"})
    assert bad.status_code == 400
    form = client.post(CHECKOUT, data={"tutorId": TUTOR}, headers=headers)
    assert form.status_code == 415


def test_taken_slot_is_409_with_alternatives(
    fake: FakeStripe, client: httpx.Client, session: Session
) -> None:
    start = first_free(session)
    make_hold(session, user=make_user(session), start=start, session_id="cs_test_other")
    response = client.post(CHECKOUT, json=_body(start),
                           headers={"cookie": session_cookie(session, make_user(session))})
    assert response.status_code == 409
    data = response.json()
    assert "taken" in data["error"]
    assert data["alternatives"] and to_utc_iso(start) not in data["alternatives"]
    assert all(a.endswith("Z") for a in data["alternatives"])


def test_a_fourth_unpaid_checkout_is_409(
    fake: FakeStripe, client: httpx.Client, session: Session
) -> None:
    user = make_user(session)
    start = first_free(session, days_ahead=7)
    for days in (1, 2, 3):
        make_hold(session, user=user, start=start + timedelta(days=days))

    response = client.post(CHECKOUT, json=_body(start),
                           headers={"cookie": session_cookie(session, user)})

    assert response.status_code == 409
    assert response.json() == {"error": checkout.TOO_MANY_HOLDS}
    assert checkout_requests(fake) == []


def test_starting_checkouts_over_and_over_is_429_with_retry_after(
    fake: FakeStripe, client: httpx.Client, session: Session
) -> None:
    user = make_user(session)
    headers = {"cookie": session_cookie(session, user)}
    body = _body(first_free(session))
    for _ in range(rate_limits.CHECKOUT_PER_ACCOUNT.max_hits):
        assert client.post(CHECKOUT, json=body, headers=headers).status_code == 200

    response = client.post(CHECKOUT, json=body, headers=headers)

    assert response.status_code == 429
    assert response.json() == {"error": "Too many attempts. Try again in 10 minutes."}
    assert 9 * 60 < int(response.headers["retry-after"]) <= 10 * 60
    assert len(checkout_requests(fake)) == 1  # the first; the others resumed it


def test_stripe_down_is_502(
    fake: FakeStripe, client: httpx.Client, session: Session, configure: ConfigureFn
) -> None:
    configure(STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}")
    response = client.post(CHECKOUT, json=_body(first_free(session)),
                           headers={"cookie": session_cookie(session, make_user(session))})
    assert response.status_code == 502
    assert "Nothing was charged" in response.json()["error"]


def test_paying_on_stripe_books_through_the_webhook(
    fake: FakeStripe, client: httpx.Client, session: Session, api_server: ThreadedServer
) -> None:
    user = make_user(session, email="payer@example.com")
    start = first_free(session)
    created = client.post(CHECKOUT, json=_body(start),
                          headers={"cookie": session_cookie(session, user)})
    session_id = created.json()["id"]

    paid = fake.complete_session(session_id)  # the customer pays on Stripe's page
    delivered = fake.send_event(
        fake.build_event("checkout.session.completed", paid),
        api_server.url + WEBHOOK_PATH, WEBHOOK_SECRET,
    )
    assert delivered.status_code == 200
    assert delivered.json()["result"] == "booked"
    (booking,) = all_bookings(session)
    assert booking.user_id == user.id
    assert booking.status == BookingStatus.SCHEDULED
    assert booking.start_time == start
    assert (booking.price_cents, booking.currency) == (6000, "usd")
    assert booking.stripe_checkout_session_id == session_id
    assert booking.stripe_payment_intent_id == paid["payment_intent"]
    assert booking.stripe_customer_id == paid["customer"]


def test_late_webhook_books_and_closes_the_newcomers_session(
    fake: FakeStripe, client: httpx.Client, session: Session, api_server: ThreadedServer
) -> None:
    """A pays just before the session expires; the webhook arrives after A's hold lapsed and
    B took the slot. A gets the lesson; B's open session is expired so B cannot pay too."""
    start = first_free(session)
    a, b = make_user(session), make_user(session)
    a_id = client.post(CHECKOUT, json=_body(start),
                       headers={"cookie": session_cookie(session, a)}).json()["id"]
    paid = fake.complete_session(a_id)
    (a_hold,) = session.exec(select(SlotHold).where(SlotHold.user_id == a.id)).all()
    a_hold.expires_at = clock.now() - timedelta(seconds=1)  # A's hold lapses before the webhook
    session.add(a_hold)
    session.commit()
    b_resp = client.post(CHECKOUT, json=_body(start),
                         headers={"cookie": session_cookie(session, b)})
    assert b_resp.status_code == 200
    b_id = b_resp.json()["id"]

    delivered = fake.send_event(fake.build_event("checkout.session.completed", paid),
                                api_server.url + WEBHOOK_PATH, WEBHOOK_SECRET)
    assert delivered.json()["result"] == "booked"
    (booking,) = all_bookings(session)
    assert booking.user_id == a.id and booking.status == BookingStatus.SCHEDULED
    assert fake.sessions[b_id]["status"] == "expired"
    session.expire_all()
    (b_hold,) = session.exec(select(SlotHold).where(SlotHold.user_id == b.id)).all()
    assert b_hold.status == HoldStatus.RELEASED
    session.commit()


def test_gateway_lists_completed_sessions_and_refunds_idempotently(
    fake: FakeStripe, client: httpx.Client, session: Session
) -> None:
    """The reconciliation and refund calls cancellation builds on, against the fake Stripe API."""
    ids = []
    for _ in range(3):
        headers = {"cookie": session_cookie(session, make_user(session))}
        start = first_free(session)
        ids.append(client.post(CHECKOUT, json=_body(start), headers=headers).json()["id"])
    for session_id in ids[:2]:
        fake.complete_session(session_id)
    since = clock.now() - timedelta(hours=1)
    listed = stripe_gateway.list_completed_sessions(since, page_size=1)  # forces paging
    assert sorted(s["id"] for s in listed) == sorted(ids[:2])
    assert stripe_gateway.list_completed_sessions(clock.now() + timedelta(hours=1)) == []
    assert stripe_gateway.retrieve_checkout_session(ids[2])["status"] == "open"
    assert stripe_gateway.expire_checkout_session(ids[2])["status"] == "expired"

    intent = fake.sessions[ids[0]]["payment_intent"]
    first = stripe_gateway.create_refund(payment_intent=intent, amount=None,
                                         idempotency_key="refund-booking-x",
                                         metadata={"bookingId": "x"})
    again = stripe_gateway.create_refund(payment_intent=intent, amount=None,
                                         idempotency_key="refund-booking-x",
                                         metadata={"bookingId": "x"})
    assert first["id"] == again["id"] and first["amount"] == 6000
    assert len(fake.refunds) == 1
    with pytest.raises(stripe_gateway.PaymentProviderError):
        stripe_gateway.retrieve_checkout_session("cs_test_missing")

"""POST /api/stripe/webhook over real HTTP, with events signed by Stripe's scheme.

The app is served by uvicorn in a thread (`api_server`); events are signed with the app's
`dev_payments.sign_payload`, and the first tests prove the official stripe SDK accepts those
signatures, so "our route accepts it" means "Stripe's real signature scheme".
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import stripe
from sqlmodel import Session, select

from tests.factories import FIRST_SLOT, FIXED_NOW, event, make_hold, make_user, session_object
from tests.fakes.server import ThreadedServer, free_port
from tests.stripe_helpers import (
    WEBHOOK_PATH,
    WEBHOOK_SECRET,
    all_bookings,
    bookings_for,
    event_ids,
    hold_by_id,
    post_event,
    signed_headers,
)
from tutor_app.api import stripe as stripe_api
from tutor_app.core import db as app_db
from tutor_app.core.models import BookingStatus, HoldStatus, Refund, StripeEvent
from tutor_app.core.settings import Settings
from tutor_app.payments import stripe_events
from tutor_app.payments.dev_gateway import sign_payload
from tutor_app.scheduling import slots

ConfigureFn = Callable[..., Settings]

# The holds and slots here are laid out for FIXED_NOW.
pytestmark = pytest.mark.clock_at(FIXED_NOW)


@pytest.fixture
def url(api_server: ThreadedServer, configure: ConfigureFn) -> str:
    """The served API with a real-looking Stripe configuration (webhook secret set)."""
    configure(STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_SECRET_KEY=None, STRIPE_API_BASE=None)
    return api_server.url


def _post_raw(url: str, payload: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url + WEBHOOK_PATH, content=payload, headers=headers, timeout=30)


# --- the signature scheme ----------------------------------------------------------------


def test_our_signature_is_stripes_scheme() -> None:
    payload = json.dumps(event(session_object())).encode()
    ts = int(time.time())
    header = sign_payload(payload, WEBHOOK_SECRET, ts)
    # The official SDK verifies it ...
    verified = stripe.Webhook.construct_event(payload, header, WEBHOOK_SECRET)
    assert verified["type"] == "checkout.session.completed"
    # ... and would have produced exactly the same header itself.
    assert header == stripe.WebhookSignature.generate_signature_header(
        payload.decode(), WEBHOOK_SECRET, ts
    )
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_some_other_secret")


# --- each event type ---------------------------------------------------------------------


def test_paid_completed_session_books_the_lesson(url: str, session: Session) -> None:
    user = make_user(session)
    hold = make_hold(session, user=user, start=FIRST_SLOT, session_id="cs_test_paid")
    evt = event(session_object(session_id="cs_test_paid", user_id=user.id, email=user.email))
    response = post_event(url, evt)
    assert response.status_code == 200
    assert response.json() == {"received": True, "result": "booked"}
    (booking,) = bookings_for(session, "cs_test_paid")
    assert booking.user_id == user.id and booking.status == BookingStatus.SCHEDULED
    assert hold_by_id(session, hold.id).status == HoldStatus.CONVERTED
    row = session.get(StripeEvent, evt["id"])
    assert row is not None
    assert (row.type, row.object_id) == ("checkout.session.completed", "cs_test_paid")


def test_unpaid_completion_waits_then_async_success_books(url: str, session: Session) -> None:
    user = make_user(session)
    hold = make_hold(session, user=user, start=FIRST_SLOT, session_id="cs_test_async")
    obj = session_object(session_id="cs_test_async", user_id=user.id, paid=False)
    response = post_event(url, event(obj))
    assert response.json()["result"] == "awaiting_payment"
    assert bookings_for(session, "cs_test_async") == []
    # The delayed payment is on its way: the slot stays held for this student meanwhile.
    kept = hold_by_id(session, hold.id)
    assert kept.status == HoldStatus.ACTIVE and kept.expires_at == FIRST_SLOT

    obj["payment_status"] = "paid"
    response = post_event(url, event(obj, "checkout.session.async_payment_succeeded"))
    assert response.json()["result"] == "booked"
    assert len(bookings_for(session, "cs_test_async")) == 1
    assert hold_by_id(session, hold.id).status == HoldStatus.CONVERTED


@pytest.mark.parametrize(
    "event_type", ["checkout.session.expired", "checkout.session.async_payment_failed"]
)
def test_expired_or_failed_session_releases_the_hold(
    url: str, session: Session, event_type: str
) -> None:
    user = make_user(session)
    hold = make_hold(session, user=user, start=FIRST_SLOT, session_id="cs_test_gone")
    other = make_user(session)
    free = slots.free_slots_for(session, tutor_id="james-okafor", duration_minutes=60,
                                for_user_id=other.id)
    session.commit()
    assert FIRST_SLOT not in free
    obj = session_object(session_id="cs_test_gone", user_id=user.id, paid=False)
    obj["status"] = "expired"
    response = post_event(url, event(obj, event_type))
    assert response.json() == {"received": True, "result": "hold_released"}
    assert hold_by_id(session, hold.id).status == HoldStatus.RELEASED
    assert bookings_for(session, "cs_test_gone") == []
    free = slots.free_slots_for(session, tutor_id="james-okafor", duration_minutes=60,
                                for_user_id=other.id)
    session.commit()
    assert FIRST_SLOT in free  # offered to everyone again


def test_unknown_event_type_is_acknowledged_and_recorded(url: str, session: Session) -> None:
    evt = event({"id": "in_123", "object": "invoice"}, "invoice.paid")
    response = post_event(url, evt)
    assert response.status_code == 200
    assert response.json()["result"] == "ignored"
    assert evt["id"] in event_ids(session)


# --- only what was offered is booked -----------------------------------------------------


def _mismatch_logged(caplog: pytest.LogCaptureFixture, evt: dict, session_id: str) -> bool:
    """An ERROR line names the event and the session, and no one's email."""
    return any(
        r.levelno == logging.ERROR and evt["id"] in r.getMessage()
        and session_id in r.getMessage() and "@" not in r.getMessage()
        for r in caplog.records
    )


@pytest.mark.parametrize(
    ("amount", "currency", "livemode"),
    [(5999, "usd", False), (6000, "eur", False), (6000, "usd", True)],
    ids=["wrong-amount", "wrong-currency", "live-session-in-test-mode"],
)
def test_session_not_paid_as_offered_is_recorded_not_booked(
    url: str, session: Session, caplog: pytest.LogCaptureFixture,
    amount: int, currency: str, livemode: bool,
) -> None:
    user = make_user(session)
    hold = make_hold(session, user=user, start=FIRST_SLOT, session_id="cs_test_odd")
    obj = session_object(session_id="cs_test_odd", user_id=user.id, email=user.email,
                         amount=amount, currency=currency)
    obj["livemode"] = livemode
    evt = event(obj)
    with caplog.at_level(logging.ERROR):
        response = post_event(url, evt)
    assert response.status_code == 200  # Stripe must not retry forever
    assert response.json() == {"received": True, "result": "not_booked_mismatch"}
    assert all_bookings(session) == []
    assert hold_by_id(session, hold.id).status == HoldStatus.ACTIVE
    assert evt["id"] in event_ids(session)  # recorded: a redelivery does nothing
    assert session.exec(select(Refund)).all() == []  # a person decides, nothing is refunded
    assert _mismatch_logged(caplog, evt, "cs_test_odd")
    assert post_event(url, evt).json()["result"] == "duplicate_event"


def test_live_key_books_live_sessions_only(
    url: str, session: Session, configure: ConfigureFn, caplog: pytest.LogCaptureFixture
) -> None:
    configure(STRIPE_SECRET_KEY="sk_live_not_a_real_key")
    user = make_user(session)
    test_obj = session_object(user_id=user.id)  # livemode false
    test_evt = event(test_obj)
    with caplog.at_level(logging.ERROR):
        assert post_event(url, test_evt).json()["result"] == "not_booked_mismatch"
    assert _mismatch_logged(caplog, test_evt, test_obj["id"])
    live = session_object(user_id=user.id)
    live["livemode"] = True
    assert post_event(url, event(live)).json()["result"] == "booked"
    (booking,) = all_bookings(session)
    assert booking.stripe_checkout_session_id == live["id"]


def test_hold_found_by_its_id_sets_the_price(url: str, session: Session) -> None:
    user = make_user(session)
    # The hold was priced below the catalog; the session (not on the hold) names it by holdId.
    hold = make_hold(session, user=user, start=FIRST_SLOT, price_cents=4500)
    obj = session_object(user_id=user.id)  # the catalog price, 6000
    obj["metadata"]["holdId"] = hold.id
    assert post_event(url, event(obj)).json()["result"] == "not_booked_mismatch"
    obj = session_object(user_id=user.id, amount=4500)
    obj["metadata"]["holdId"] = hold.id
    assert post_event(url, event(obj)).json()["result"] == "booked"


# --- refusals ----------------------------------------------------------------------------


def _refused(url: str, payload: bytes, headers: dict[str, str]) -> str:
    response = _post_raw(url, payload, headers)
    assert response.status_code == 400, response.text
    return str(response.json()["error"])


def test_missing_wrong_tampered_and_stale_signatures_are_refused(
    url: str, session: Session
) -> None:
    payload = json.dumps(event(session_object())).encode()
    plain = {"Content-Type": "application/json"}
    assert "missing" in _refused(url, payload, plain)
    assert "invalid" in _refused(url, payload, signed_headers(payload, "whsec_wrong"))
    tampered = payload.replace(b'"amount_total": 6000', b'"amount_total": 1')
    assert tampered != payload
    assert "invalid" in _refused(url, tampered, signed_headers(payload))
    stale = int(time.time()) - 301
    assert "too old" in _refused(url, payload, signed_headers(payload, timestamp=stale))
    assert "invalid" in _refused(url, payload, {**plain, "Stripe-Signature": "garbage"})
    assert all_bookings(session) == []
    assert event_ids(session) == []


@pytest.mark.parametrize(
    "payload",
    [b"not json at all", b"[1, 2, 3]", b'{"id": "evt_1", "type": "x"}', b"\xff\xfe\x00",
     b'{"id": "evt_1", "type": "checkout.session.completed", "data": {"object": "cs_1"}}'],
)
def test_malformed_bodies_are_refused(url: str, session: Session, payload: bytes) -> None:
    _refused(url, payload, signed_headers(payload))
    assert event_ids(session) == []


def test_without_any_webhook_secret_the_route_is_unavailable(
    url: str, configure: ConfigureFn
) -> None:
    configure(STRIPE_WEBHOOK_SECRET=None, STRIPE_SECRET_KEY="sk_test_real_mode")
    response = post_event(url, event(session_object()))
    assert response.status_code == 503


# --- idempotency -------------------------------------------------------------------------


def test_same_event_twice_has_its_effect_once(url: str, session: Session) -> None:
    evt = event(session_object())
    assert post_event(url, evt).json()["result"] == "booked"
    second = post_event(url, evt)
    assert second.status_code == 200
    assert second.json()["result"] == "duplicate_event"
    assert len(all_bookings(session)) == 1
    assert event_ids(session) == [evt["id"]]


def test_another_event_for_a_booked_session_changes_nothing(url: str, session: Session) -> None:
    obj = session_object()
    assert post_event(url, event(obj)).json()["result"] == "booked"
    again = post_event(url, event(obj, "checkout.session.async_payment_succeeded"))
    assert again.json()["result"] == "already_booked"
    assert len(all_bookings(session)) == 1
    assert len(event_ids(session)) == 2


async def _deliver_concurrently(url: str, payloads: list[bytes]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(payloads))
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        return await asyncio.gather(
            *(client.post(WEBHOOK_PATH, content=p, headers=signed_headers(p)) for p in payloads)
        )


def test_fifty_concurrent_deliveries_of_one_event_book_once(url: str, session: Session) -> None:
    payload = json.dumps(event(session_object(user_id=make_user(session).id))).encode()
    responses = asyncio.run(_deliver_concurrently(url, [payload] * 50))
    assert [r.status_code for r in responses] == [200] * 50
    results = sorted(r.json()["result"] for r in responses)
    assert results.count("booked") == 1
    assert set(results) <= {"booked", "duplicate_event"}
    assert len(all_bookings(session)) == 1
    assert len(event_ids(session)) == 1


def test_fifty_concurrent_events_for_one_session_book_once(url: str, session: Session) -> None:
    obj = session_object(user_id=make_user(session).id)
    payloads = [json.dumps(event(obj)).encode() for _ in range(50)]  # 50 distinct event ids
    responses = asyncio.run(_deliver_concurrently(url, payloads))
    assert [r.status_code for r in responses] == [200] * 50
    results = [r.json()["result"] for r in responses]
    assert results.count("booked") == 1
    assert results.count("already_booked") == 49
    assert len(all_bookings(session)) == 1
    assert len(event_ids(session)) == 50


def test_a_burst_is_handled_a_few_at_a_time_and_every_event_books(
    url: str, session: Session, configure: ConfigureFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(WEBHOOK_CONCURRENCY="3")
    handle = stripe_events.handle_or_record_failure
    lock = threading.Lock()
    running = [0]
    most = [0]

    def counted(event: dict[str, Any]) -> str:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.05)  # long enough for the burst to pile up behind the first three
            return handle(event)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(stripe_events, "handle_or_record_failure", counted)
    payloads = []
    for index in range(12):
        user = make_user(session, email=f"burst{index}@example.com")
        start = FIRST_SLOT + timedelta(days=index)
        obj = session_object(user_id=user.id, start=start, session_id=f"cs_test_burst{index}")
        payloads.append(json.dumps(event(obj)).encode())

    responses = asyncio.run(_deliver_concurrently(url, payloads))

    assert [r.status_code for r in responses] == [200] * 12
    assert [r.json()["result"] for r in responses] == ["booked"] * 12
    assert most[0] == 3
    assert len(all_bookings(session)) == 12


def test_an_event_that_waits_too_long_for_a_turn_is_answered_503_and_books_on_redelivery(
    url: str, session: Session, configure: ConfigureFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(WEBHOOK_CONCURRENCY="1")
    monkeypatch.setattr(stripe_api, "WEBHOOK_TURN_SECONDS", 0.3)
    handle = stripe_events.handle_or_record_failure

    def slow(event: dict[str, Any]) -> str:
        time.sleep(1.0)  # the database is slow: the second event cannot get a turn in time
        return handle(event)

    monkeypatch.setattr(stripe_events, "handle_or_record_failure", slow)
    first = json.dumps(event(session_object(user_id=make_user(session).id))).encode()
    second_obj = session_object(user_id=make_user(session, email="later@example.com").id,
                                start=FIRST_SLOT + timedelta(days=1), session_id="cs_test_late")
    second = json.dumps(event(second_obj)).encode()

    responses = asyncio.run(_deliver_concurrently(url, [first, second]))

    assert sorted(r.status_code for r in responses) == [200, 503]
    [busy] = [r for r in responses if r.status_code == 503]
    assert busy.headers["Retry-After"] == "30"
    assert len(all_bookings(session)) == 1
    refused = first if responses[0].status_code == 503 else second
    assert _post_raw(url, refused, signed_headers(refused)).json()["result"] == "booked"
    assert len(all_bookings(session)) == 2


# --- the database is down ----------------------------------------------------------------


@pytest.fixture
def database_down(database: sa.Engine, tmp_path: Path) -> Iterator[Callable[[], None]]:
    """Swap the app's engine for one whose database cannot be reached; call to restore."""
    if database.dialect.name == "sqlite":
        bad_url = f"sqlite:///{tmp_path}"  # a directory: "unable to open database file"
    else:
        bad_url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/down"
    app_db.use_engine(app_db.build_engine(bad_url))
    restored = False

    def restore() -> None:
        nonlocal restored
        if not restored:
            app_db.use_engine(database)
            restored = True

    yield restore
    restore()


def test_database_down_answers_5xx_and_the_redelivery_books(
    url: str, session: Session, database_down: Callable[[], None]
) -> None:
    user = make_user(session)
    evt = event(session_object(user_id=user.id))
    down = post_event(url, evt)
    assert down.status_code == 503
    assert "error" in down.json()
    database_down()  # the database is back; Stripe redelivers the same event
    assert event_ids(session) == []
    again = post_event(url, evt)
    assert again.status_code == 200
    assert again.json()["result"] == "booked"
    (booking,) = all_bookings(session)
    assert booking.user_id == user.id

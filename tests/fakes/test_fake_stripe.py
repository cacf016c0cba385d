"""The fake Stripe, driven by the real `stripe` SDK over HTTP (StripeClient and global styles)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.fake_stripe import FakeStripe, decode_stripe_params, signature_header
from tests.fakes.server import ThreadedServer

API_KEY = "sk_test_fake"
WEBHOOK_SECRET = "whsec_test_secret"


class Clock:
    """A settable clock for FakeStripe(clock=...)."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeStripe) -> Iterator[FakeStripe]:
    server.reset()
    server.clock = time.time
    server.webhook_url = server.webhook_secret = None
    yield server
    server.reset()


@pytest.fixture
def client(fake: FakeStripe) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key=API_KEY, base_addresses={"api": fake.url}, max_network_retries=0
    )


@pytest.fixture
def global_stripe(fake: FakeStripe, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The legacy module-level configuration, restored afterwards."""
    monkeypatch.setattr(stripe, "api_key", API_KEY)
    monkeypatch.setattr(stripe, "api_base", fake.url)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    return stripe


def session_params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 6000,
                    "product_data": {"name": "Maths lesson, 60 min"},
                },
                "quantity": 1,
            }
        ],
        "metadata": {"tutorId": "tut_1", "slotStart": "2030-01-07T10:00:00Z"},
        "client_reference_id": "booking-42",
        "customer_email": "student@example.com",
        "success_url": "http://app.test/booking/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://app.test/booking/cancel",
    }
    params.update(overrides)
    return params


# -- decoding ---------------------------------------------------------------------------------


def test_decode_nested_form_keys() -> None:
    pairs = [
        ("mode", "payment"),
        ("line_items[0][price_data][unit_amount]", "6000"),
        ("line_items[0][price_data][product_data][name]", "Lesson"),
        ("line_items[0][quantity]", "1"),
        ("line_items[1][quantity]", "2"),
        ("metadata[tutorId]", "x"),
        ("metadata[empty]", ""),
        ("expand[]", "payment_intent"),
        ("expand[]", "customer"),
        ("created[gte]", "10"),
    ]
    assert decode_stripe_params(pairs) == {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {"unit_amount": "6000", "product_data": {"name": "Lesson"}},
                "quantity": "1",
            },
            {"quantity": "2"},
        ],
        "metadata": {"tutorId": "x", "empty": ""},
        "expand": ["payment_intent", "customer"],
        "created": {"gte": "10"},
    }


# -- checkout sessions ------------------------------------------------------------------------


def test_create_and_retrieve_with_client(fake: FakeStripe, client: stripe.StripeClient) -> None:
    created = client.v1.checkout.sessions.create(
        params=session_params(
            line_items=[
                {
                    "price_data": {
                        "currency": "EUR",
                        "unit_amount": 6000,
                        "product_data": {"name": "Lesson"},
                    },
                    "quantity": 2,
                },
            ]
        )
    )
    assert created.id.startswith("cs_test_")
    assert created.object == "checkout.session"
    assert created.url == f"{fake.url}/pay/{created.id}"
    assert created.amount_total == created.amount_subtotal == 12000
    assert created.currency == "eur"
    assert created.status == "open" and created.payment_status == "unpaid"
    assert created.payment_intent is None and created.customer is None
    assert created.success_url.endswith("session_id={CHECKOUT_SESSION_ID}")
    assert created.customer_details.email == "student@example.com"
    assert created.expires_at - created.created == 24 * 3600

    fetched = client.v1.checkout.sessions.retrieve(created.id)
    assert fetched.id == created.id
    assert fetched.metadata.to_dict() == {
        "tutorId": "tut_1",
        "slotStart": "2030-01-07T10:00:00Z",
    }
    assert fetched.client_reference_id == "booking-42"

    post = fake.requests[0]
    assert (post.method, post.path) == ("POST", "/v1/checkout/sessions")
    assert post.headers["Authorization"] == f"Bearer {API_KEY}"
    assert post.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert post.idempotency_key  # the SDK adds one to every POST
    assert post.params["line_items"][0]["price_data"]["unit_amount"] == "6000"
    assert post.params["metadata"]["tutorId"] == "tut_1"
    assert fake.line_items[created.id][0]["quantity"] == "2"
    get = fake.requests[1]
    assert (get.method, get.path, get.idempotency_key) == (
        "GET",
        f"/v1/checkout/sessions/{created.id}",
        None,
    )


def test_create_and_retrieve_with_global_config(fake: FakeStripe, global_stripe: Any) -> None:
    expires_at = int(time.time()) + 3600
    created = global_stripe.checkout.Session.create(**session_params(expires_at=expires_at))
    assert created.expires_at == expires_at
    fetched = global_stripe.checkout.Session.retrieve(created.id)
    assert fetched.metadata["tutorId"] == "tut_1"
    assert fetched.amount_total == 6000
    assert list(fake.sessions) == [created.id]


def test_missing_session_is_stripe_404(fake: FakeStripe, client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.checkout.sessions.retrieve("cs_test_nope")
    assert info.value.http_status == 404
    assert info.value.code == "resource_missing"

    raw = httpx.get(
        f"{fake.url}/v1/checkout/sessions/cs_test_nope",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert raw.status_code == 404
    error = raw.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "resource_missing"
    assert "cs_test_nope" in error["message"]


def test_validation_errors(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.checkout.sessions.create(params=session_params(mode=None))
    assert info.value.param == "mode"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.checkout.sessions.create(params=session_params(expires_at=int(time.time()) + 60))
    assert info.value.param == "expires_at"


def test_idempotent_replay_returns_same_session(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    options: stripe.RequestOptions = {"idempotency_key": "booking-42-attempt-1"}
    first = client.v1.checkout.sessions.create(params=session_params(), options=options)
    second = client.v1.checkout.sessions.create(params=session_params(), options=options)
    assert second.id == first.id
    assert second.to_dict() == first.to_dict()
    assert len(fake.sessions) == 1
    assert [r.replayed for r in fake.requests] == [False, True]
    assert fake.requests[1].idempotency_key == "booking-42-attempt-1"

    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(
            params=session_params(metadata={"tutorId": "other"}), options=options
        )
    assert len(fake.sessions) == 1


def test_idempotent_replay_with_global_config(fake: FakeStripe, global_stripe: Any) -> None:
    first = global_stripe.checkout.Session.create(**session_params(), idempotency_key="k-1")
    again = global_stripe.checkout.Session.create(**session_params(), idempotency_key="k-1")
    other = global_stripe.checkout.Session.create(**session_params(), idempotency_key="k-2")
    assert again.id == first.id != other.id
    assert len(fake.sessions) == 2


def test_list_filters_and_pages_newest_first(fake: FakeStripe, client: stripe.StripeClient) -> None:
    clock = Clock(1_900_000_000)
    fake.clock = clock
    ids = []
    for _ in range(4):
        ids.append(client.v1.checkout.sessions.create(params=session_params()).id)
        clock.now += 100
    oldest, second, third, newest = ids

    recent = client.v1.checkout.sessions.list(params={"created": {"gte": 1_900_000_100}})
    assert recent.object == "list"
    assert recent.url == "/v1/checkout/sessions"
    assert [s.id for s in recent.data] == [newest, third, second]
    assert recent.has_more is False
    assert fake.requests[-1].params["created"] == {"gte": "1900000100"}

    page = client.v1.checkout.sessions.list(params={"limit": 2})
    assert [s.id for s in page.data] == [newest, third] and page.has_more
    page2 = client.v1.checkout.sessions.list(params={"limit": 2, "starting_after": third})
    assert [s.id for s in page2.data] == [second, oldest] and not page2.has_more
    assert [s.id for s in page.auto_paging_iter()] == [newest, third, second, oldest]

    client.v1.checkout.sessions.expire(third)
    fake.complete_session(second)
    open_ids = [s.id for s in client.v1.checkout.sessions.list(params={"status": "open"}).data]
    assert open_ids == [newest, oldest]
    done = client.v1.checkout.sessions.list(params={"status": "complete"}).data
    assert [s.id for s in done] == [second]


def test_list_with_global_config(fake: FakeStripe, global_stripe: Any) -> None:
    clock = Clock(1_900_000_000)
    fake.clock = clock
    old = global_stripe.checkout.Session.create(**session_params())
    clock.now += 3600
    new = global_stripe.checkout.Session.create(**session_params())
    listed = global_stripe.checkout.Session.list(created={"gte": 1_900_000_001}, limit=10)
    assert [s.id for s in listed.data] == [new.id]
    assert old.id in fake.sessions


def test_expire(fake: FakeStripe, client: stripe.StripeClient, global_stripe: Any) -> None:
    one = client.v1.checkout.sessions.create(params=session_params())
    expired = client.v1.checkout.sessions.expire(one.id)
    assert expired.status == "expired"
    assert expired.url is None
    assert client.v1.checkout.sessions.retrieve(one.id).status == "expired"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(one.id)

    two = global_stripe.checkout.Session.create(**session_params())
    assert global_stripe.checkout.Session.expire(two.id).status == "expired"


def test_session_expires_by_itself_at_expires_at(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    clock = Clock()
    fake.clock = clock
    session = client.v1.checkout.sessions.create(
        params=session_params(expires_at=int(clock.now) + 1800)
    )
    clock.now += 1801
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"


def test_complete_session_and_expand(fake: FakeStripe, client: stripe.StripeClient) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    done = fake.complete_session(session.id)
    assert done["status"] == "complete" and done["payment_status"] == "paid"
    assert done["payment_intent"].startswith("pi_")
    assert done["customer"].startswith("cus_")
    fetched = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent"]}
    )
    assert fetched.payment_intent.id == done["payment_intent"]
    assert fetched.payment_intent.amount == 6000
    assert fetched.payment_intent.status == "succeeded"

    delayed = client.v1.checkout.sessions.create(params=session_params())
    pending = fake.complete_session(delayed.id, paid=False)
    assert (pending["status"], pending["payment_status"]) == ("complete", "unpaid")
    assert fake.pay_session(delayed.id)["payment_status"] == "paid"


# -- refunds ----------------------------------------------------------------------------------


def test_refund_idempotency_and_limits(fake: FakeStripe, client: stripe.StripeClient) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    pi = fake.complete_session(session.id)["payment_intent"]
    options: stripe.RequestOptions = {"idempotency_key": "refund-booking-42"}
    params: stripe.RefundService.CreateParams = {
        "payment_intent": pi,
        "amount": 2000,
        "reason": "requested_by_customer",
        "metadata": {"bookingId": "42"},
    }
    first = client.v1.refunds.create(params=params, options=options)
    again = client.v1.refunds.create(params=params, options=options)
    assert first.id == again.id and first.id.startswith("re_")
    assert first.object == "refund" and first.status == "succeeded"
    assert (first.amount, first.currency, first.payment_intent) == (2000, "eur", pi)
    assert first.metadata["bookingId"] == "42"
    assert len(fake.refunds) == 1

    rest = client.v1.refunds.create(params={"payment_intent": pi})
    assert rest.amount == 4000  # defaults to what is left
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={"payment_intent": pi, "amount": 1})
    assert info.value.code == "charge_already_refunded"
    assert len(fake.refunds) == 2
    assert client.v1.refunds.retrieve(first.id).amount == 2000
    assert [r.id for r in client.v1.refunds.list(params={"payment_intent": pi}).data] == [
        rest.id,
        first.id,
    ]


def test_refund_over_amount_and_unknown_intent(fake: FakeStripe, global_stripe: Any) -> None:
    session = global_stripe.checkout.Session.create(**session_params())
    pi = fake.complete_session(session.id)["payment_intent"]
    with pytest.raises(stripe.InvalidRequestError) as info:
        global_stripe.Refund.create(payment_intent=pi, amount=6001)
    assert info.value.code == "charge_already_refunded"
    refund = global_stripe.Refund.create(payment_intent=pi, idempotency_key="r1")
    assert global_stripe.Refund.create(payment_intent=pi, idempotency_key="r1").id == refund.id
    assert refund.amount == 6000
    with pytest.raises(stripe.InvalidRequestError) as info:
        global_stripe.Refund.create(payment_intent="pi_unknown")
    assert info.value.http_status == 404


# -- auth -------------------------------------------------------------------------------------


def test_401_without_api_key(fake: FakeStripe) -> None:
    raw = httpx.post(f"{fake.url}/v1/checkout/sessions", data={"mode": "payment"})
    assert raw.status_code == 401
    assert raw.json()["error"]["type"] == "invalid_request_error"
    assert "API key" in raw.json()["error"]["message"]
    bad = httpx.get(
        f"{fake.url}/v1/checkout/sessions", headers={"Authorization": "Bearer pk_test_x"}
    )
    assert bad.status_code == 401

    publishable = stripe.StripeClient(
        api_key="pk_test_nope", base_addresses={"api": fake.url}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError):
        publishable.v1.checkout.sessions.list()
    assert fake.sessions == {}


# -- events, webhooks, payment page -----------------------------------------------------------


def test_build_event_verifies_with_sdk(fake: FakeStripe, client: stripe.StripeClient) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    obj = fake.complete_session(session.id)
    event = fake.build_event("checkout.session.completed", obj, event_id="evt_fixed", created=5)
    assert event == {
        "id": "evt_fixed",
        "object": "event",
        "api_version": "2024-06-20",
        "created": 5,
        "type": "checkout.session.completed",
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
    }
    assert fake.build_event("x.y", {})["id"].startswith("evt_")
    payload = json.dumps(event)
    parsed = stripe.Webhook.construct_event(
        payload, signature_header(payload, WEBHOOK_SECRET), WEBHOOK_SECRET
    )
    assert parsed.data.object.metadata["tutorId"] == "tut_1"


class WebhookSink:
    """A webhook endpoint that checks signatures like the app must."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.received = threading.Event()
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> JSONResponse:
        body = await request.body()
        event = stripe.Webhook.construct_event(
            body, request.headers["stripe-signature"], WEBHOOK_SECRET
        )
        self.events.append(event.to_dict())
        self.received.set()
        return JSONResponse({"received": True})


def test_send_event_and_payment_page(fake: FakeStripe, client: stripe.StripeClient) -> None:
    sink = WebhookSink()
    with ThreadedServer(sink.app) as hook_server:
        fake.webhook_url, fake.webhook_secret = f"{hook_server.url}/hook", WEBHOOK_SECRET

        manual = client.v1.checkout.sessions.create(params=session_params())
        event = fake.build_event("checkout.session.expired", fake.expire_session(manual.id))
        assert fake.send_event(event).status_code == 200
        assert sink.events[-1]["id"] == event["id"]

        session = client.v1.checkout.sessions.create(params=session_params())
        page = httpx.get(session.url)
        assert page.status_code == 200 and "60.00 EUR" in page.text
        paid = httpx.post(session.url, data={"outcome": "paid"})
        assert paid.status_code == 303
        assert paid.headers["location"] == (
            f"http://app.test/booking/success?session_id={session.id}"
        )
        assert sink.events[-1]["type"] == "checkout.session.completed"
        assert sink.events[-1]["data"]["object"]["id"] == session.id
        assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
        assert httpx.get(session.url).status_code == 410


def test_threaded_server_api() -> None:
    app = Starlette(routes=[Route("/", lambda _: JSONResponse({"ok": True}))])
    server = ThreadedServer(app)
    assert server.start() is server
    try:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert httpx.get(server.url + "/").json() == {"ok": True}
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/")

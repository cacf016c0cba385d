"""One request id follows a booking: the checkout, Stripe's webhook, and the follow-ups.

Through real HTTP: the API's checkout route (with the client's `X-Request-Id`) or the service
as the wizard calls it (a fresh id per event), the fake Stripe's hosted page, the signed
webhook delivery (which carries no id of its own), then the confirmation email sent by the
queued follow-up. The log lines are the production JSON ones.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import Session

from tests.factories import TUTOR, first_free, make_user, session_cookie
from tests.fakes.fake_stripe import FakeStripe
from tests.fakes.server import ThreadedServer
from tests.log_capture import JsonLines, json_log_lines
from tests.stripe_helpers import WEBHOOK_PATH, WEBHOOK_SECRET, all_bookings
from tutor_app.booking import checkout, lesson_events
from tutor_app.core import request_context
from tutor_app.core.timefmt import to_utc_iso

CHECKOUT = "/api/stripe/checkout"


def _pay_and_deliver(fake: FakeStripe, server: ThreadedServer, session_id: str) -> httpx.Response:
    paid = fake.complete_session(session_id)
    delivered = fake.send_event(fake.build_event("checkout.session.completed", paid),
                                server.url + WEBHOOK_PATH, WEBHOOK_SECRET)
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["result"] == "booked"
    assert lesson_events.wait_idle(30)
    return delivered


def _assert_chain(lines: JsonLines, request_id: str, booking_id: str, session_id: str) -> None:
    [hold_line] = lines.matching("tutor_app.booking.checkout", "checkout: hold")
    [webhook_line] = lines.matching("tutor_app.api.stripe", "stripe webhook: event")
    [booked_line] = lines.matching("tutor_app.booking.recording", f"booking {booking_id}")
    [mail_line] = lines.matching("tutor_app.mail.notifications", "(confirmation) sent")
    for line in (hold_line, webhook_line, booked_line, mail_line):
        assert line["request_id"] == request_id, line
    assert booked_line["booking_id"] == booking_id
    assert booked_line["session_id"] == session_id
    assert mail_line["booking_id"] == booking_id  # a follow-up's lines name their booking
    # Every line of the chain, and only those of this booking's work, carry the id.
    assert {e["request_id"] for e in lines.entries
            if e["logger"].startswith("tutor_app.booking")} == {request_id}


def test_the_api_checkout_id_reaches_the_webhook_and_the_mail(
    fake: FakeStripe, client: httpx.Client, session: Session, api_server: ThreadedServer
) -> None:
    user = make_user(session, email="traced@example.com")
    body = {"tutorId": TUTOR, "startDateTimeISO": to_utc_iso(first_free(session)),
            "durationMinutes": 60}
    with json_log_lines() as lines:
        created = client.post(CHECKOUT, json=body, headers={
            "cookie": session_cookie(session, user), "X-Request-Id": "support-ticket-4711",
        })
        assert created.status_code == 200, created.text
        assert created.headers["x-request-id"] == "support-ticket-4711"
        session_id = created.json()["id"]
        metadata: dict[str, Any] = fake.sessions[session_id]["metadata"]
        assert metadata[checkout.REQUEST_ID_KEY] == "support-ticket-4711"
        assert metadata["holdId"] and metadata["tutorId"] == TUTOR  # the contract stays

        delivered = _pay_and_deliver(fake, api_server, session_id)
    # The delivery itself got its own id (Stripe sends none); the work runs under the chain's.
    delivery_id = delivered.headers["x-request-id"]
    assert delivery_id != "support-ticket-4711"
    (booking,) = all_bookings(session)
    _assert_chain(lines, "support-ticket-4711", booking.id, session_id)
    [webhook_line] = lines.matching("tutor_app.api.stripe", "stripe webhook: event")
    assert webhook_line["delivery_id"] == delivery_id


def test_a_wizard_checkout_gets_a_fresh_id_that_reaches_the_mail(
    fake: FakeStripe, session: Session, api_server: ThreadedServer
) -> None:
    user = make_user(session, email="wizard@example.com")
    with json_log_lines() as lines:
        # As `BookingWizardState.pay` runs it: in a thread, under a fresh id.
        started = request_context.call_with_new_request_id(
            checkout.start_client_checkout, user=user, ip="203.0.113.9", tutor_id=TUTOR,
            start=first_free(session), duration_minutes=60,
        )
        assert request_context.current_request_id() is None  # nothing leaks out
        request_id = fake.sessions[started.session_id]["metadata"][checkout.REQUEST_ID_KEY]
        assert request_context.valid_request_id(request_id) == request_id
        _pay_and_deliver(fake, api_server, started.session_id)
    (booking,) = all_bookings(session)
    _assert_chain(lines, request_id, booking.id, started.session_id)


@pytest.mark.parametrize("sent", [None, "", "x" * 65, "two words", "quote\"d", "{\"json\":1}"])
def test_a_missing_or_unusable_client_id_is_replaced(
    client: httpx.Client, sent: str | None
) -> None:
    response = client.get("/api/health", headers={} if sent is None else {"X-Request-Id": sent})
    echoed = response.headers["x-request-id"]
    assert echoed != sent
    assert request_context.valid_request_id(echoed) == echoed and len(echoed) == 32


def test_a_plain_client_id_is_kept(client: httpx.Client) -> None:
    response = client.get("/api/health", headers={"X-Request-Id": "lb-1a2b.3c:4d_5-e"})
    assert response.headers["x-request-id"] == "lb-1a2b.3c:4d_5-e"

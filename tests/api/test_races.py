"""Races over real HTTP, on whichever database `TEST_DATABASE` names.

- Twenty students try to buy one slot at the same moment (`POST /api/stripe/checkout`
  against the fake Stripe API): one gets a checkout session, the others are refused.
- Twenty paid sessions for one slot (each student paid after the previous hold lapsed) are
  delivered to the webhook concurrently, each twice: one lesson is booked; every other
  payment is refunded once, automatically.
- Ten concurrent cancels of one lesson send one refund request to Stripe.
- `charge.refunded` delivered before `checkout.session.completed`, and replayed.

The figures (attempts, bookings, refunds) are printed for the closing note:
`pytest tests/api/test_races.py -s`.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import Session, select

from tests.factories import TUTOR, first_free, make_user, paid_booking, session_cookie
from tests.fakes.fake_stripe import FakeStripe
from tests.fakes.server import ThreadedServer
from tests.money_helpers import booking, run_concurrently
from tests.stripe_helpers import WEBHOOK_PATH, WEBHOOK_SECRET, checkout_requests, refund_requests
from tutor_app.booking import checkout, recording
from tutor_app.core import clock
from tutor_app.core.models import Booking, BookingStatus, HoldStatus, SlotHold, User
from tutor_app.core.timefmt import to_utc_iso

STUDENTS = 20


def _send(fake: FakeStripe, url: str, type: str, obj: dict[str, Any],
          event_id: str | None = None) -> httpx.Response:
    evt = fake.build_event(type, obj, event_id=event_id)
    return fake.send_event(evt, url + WEBHOOK_PATH, WEBHOOK_SECRET, timeout=60)


def _all_bookings(session: Session) -> list[Booking]:
    session.commit()
    session.expire_all()
    return list(session.exec(select(Booking)))


def test_twenty_students_race_for_one_slot(
    fake: FakeStripe, api_server: ThreadedServer, session: Session
) -> None:
    start = first_free(session, days_ahead=2)
    students = [make_user(session, email=f"racer{i}@example.com") for i in range(STUDENTS)]
    cookies = [{"cookie": session_cookie(session, u)} for u in students]
    body = {"tutorId": TUTOR, "startDateTimeISO": to_utc_iso(start), "durationMinutes": 60}

    # Round 1: everyone clicks "Pay" at once.
    def buy(i: int) -> httpx.Response:
        return httpx.post(api_server.url + "/api/stripe/checkout", json=body,
                          headers=cookies[i], timeout=60)

    responses = run_concurrently(STUDENTS, buy)
    codes = Counter(r.status_code for r in responses)
    assert codes == {200: 1, 409: STUDENTS - 1}, codes
    winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
    assert all(r.json()["alternatives"] for r in responses if r.status_code == 409)
    round_one_sessions = len(checkout_requests(fake))
    assert round_one_sessions == 1  # the refused never reached Stripe

    # Round 2: each of the others comes back after the previous hold lapsed, so Stripe ends
    # up with twenty paid sessions for the same slot (the worst case a webhook can see).
    session_ids = [responses[winner].json()["id"]]
    base = clock.now()
    for n, i in enumerate(i for i in range(STUDENTS) if i != winner):
        later = base + (n + 1) * (checkout.HOLD_LIFETIME + timedelta(seconds=1))
        started = checkout.start_checkout(user=students[i], tutor_id=TUTOR, start=start,
                                          duration_minutes=60, now=later)
        session_ids.append(started.session_id)
    assert len(set(session_ids)) == STUDENTS
    paid = [fake.complete_session(sid) for sid in session_ids]

    # Every payment's webhook arrives at once, each delivered twice.
    deliveries = run_concurrently(
        2 * STUDENTS,
        lambda k: _send(fake, api_server.url, "checkout.session.completed",
                        paid[k % STUDENTS]),
    )
    assert all(isinstance(d, httpx.Response) and d.status_code == 200 for d in deliveries), [
        getattr(d, "status_code", d) for d in deliveries]

    rows = _all_bookings(session)
    scheduled = [b for b in rows if b.status == BookingStatus.SCHEDULED]
    refunded = [b for b in rows if b.status == BookingStatus.CANCELED]
    requests = refund_requests(fake)
    print(
        f"\nrace [{session.get_bind().dialect.name}]: checkout attempts={STUDENTS} "
        f"sessions={round_one_sessions} "
        f"refused_at_checkout={codes[409]}; paid sessions={STUDENTS} "
        f"webhook deliveries={len(deliveries)} bookings={len(scheduled)} "
        f"refunded={len(refunded)} refund_requests={len(requests)} "
        f"stripe_refunds={len(fake.refunds)}"
    )
    assert len(rows) == STUDENTS  # one row per paid session, never two
    assert len(scheduled) == 1
    assert len(refunded) == STUDENTS - 1
    assert all(b.cancel_reason == recording.SLOT_TAKEN_REASON for b in refunded)
    assert all(b.refunded_cents == b.price_cents == 6000 for b in refunded)
    assert scheduled[0].refunded_cents == 0
    # Exactly one refund per refunded booking reached Stripe, and none for the winner.
    assert len(requests) == STUDENTS - 1
    assert sorted(r.idempotency_key for r in requests) == sorted(
        f"refund-{b.id}" for b in refunded)
    refunded_intents = Counter(r["payment_intent"] for r in fake.refunds)
    assert set(refunded_intents.values()) == {1}
    assert scheduled[0].stripe_payment_intent_id not in refunded_intents
    holds = session.exec(select(SlotHold.status)).all()
    assert HoldStatus.ACTIVE not in holds


def test_ten_concurrent_cancels_over_http_send_one_refund(
    fake: FakeStripe, api_server: ThreadedServer, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    user = session.get(User, lesson.user_id)
    assert user is not None
    headers = {"cookie": session_cookie(session, user)}

    responses = run_concurrently(10, lambda _: httpx.post(
        f"{api_server.url}/api/bookings/{lesson.id}/cancel", headers=headers, timeout=60))

    assert [r.status_code for r in responses] == [200] * 10
    assert sum(not r.json()["alreadyCanceled"] for r in responses) == 1
    assert {r.json()["refundCents"] for r in responses} == {6000}
    requests = refund_requests(fake)
    print(f"\ncancel race [{session.get_bind().dialect.name}]: attempts=10 "
          f"refund_requests={len(requests)} stripe_refunds={len(fake.refunds)}")
    assert len(requests) == 1 and len(fake.refunds) == 1
    assert booking(session, booking_id=lesson.id).refunded_cents == 6000


def _charge(fake: FakeStripe, paid: dict[str, Any]) -> dict[str, Any]:
    pi = fake.payment_intents[paid["payment_intent"]]
    refunded = sum(r["amount"] for r in fake.refunds if r["payment_intent"] == pi["id"])
    return {"id": pi["latest_charge"], "object": "charge", "amount": pi["amount"],
            "amount_refunded": refunded, "refunded": refunded >= pi["amount"],
            "currency": pi["currency"], "payment_intent": pi["id"]}


def test_charge_refunded_out_of_order_with_checkout_completed(
    fake: FakeStripe, api_server: ThreadedServer, session: Session
) -> None:
    user = make_user(session)
    started = checkout.start_checkout(user=user, tutor_id=TUTOR, duration_minutes=60,
                                      start=first_free(session, days_ahead=3))
    paid = fake.complete_session(started.session_id)
    # Refunded in the Stripe dashboard before the app heard of the payment.
    fake_refund = httpx.post(
        fake.url + "/v1/refunds", data={"payment_intent": paid["payment_intent"]},
        headers={"Authorization": "Bearer sk_test_dashboard"}, timeout=10)
    assert fake_refund.status_code == 200
    charge = _charge(fake, paid)

    first = _send(fake, api_server.url, "charge.refunded", charge, event_id="evt_refunded_1")
    second = _send(fake, api_server.url, "checkout.session.completed", paid,
                   event_id="evt_completed_1")
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["result"] == "applied"
    assert second.json()["result"] == "already_booked"

    # Stripe replays both, out of order again, and concurrently.
    replays = run_concurrently(4, lambda k: _send(
        fake, api_server.url, *(("checkout.session.completed", paid, "evt_completed_1"),
                                ("charge.refunded", charge, "evt_refunded_1"))[k % 2]))
    assert {r.json()["result"] for r in replays} == {"duplicate_event"}

    (lesson,) = _all_bookings(session)
    assert lesson.stripe_checkout_session_id == paid["id"]
    assert (lesson.status, lesson.refunded_cents) == (BookingStatus.CANCELED, 6000)
    assert len(fake.refunds) == 1  # the dashboard's; the app refunded nothing more

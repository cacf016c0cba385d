"""The checkout's request id in the Checkout Session metadata, and the idempotency it must
not break: a second request for the same hold sends exactly the first one's parameters."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from tests.factories import TUTOR, first_free, make_user
from tests.fakes.fake_stripe import FakeStripe
from tests.money_helpers import hold_of
from tests.stripe_helpers import checkout_requests
from tutor_app.booking import checkout
from tutor_app.core import db as app_db
from tutor_app.core import request_context
from tutor_app.core.models import SlotHold


def test_the_metadata_carries_the_request_id_next_to_the_fixed_keys(
    fake: FakeStripe, session: Session
) -> None:
    user = make_user(session)
    with request_context.bound_request_id("click-1"):
        started = checkout.start_checkout(user=user, tutor_id=TUTOR,
                                          start=first_free(session), duration_minutes=60)
    sent = fake.sessions[started.session_id]
    assert sent["metadata"]["requestId"] == "click-1"
    assert {"tutorId", "startDateTimeISO", "durationMinutes", "userId", "userEmail",
            "priceCents", "currency", "hourlyRateCents", "holdId"} <= set(sent["metadata"])
    assert fake.payment_intents == {}  # made at payment; its metadata is asked for now:
    [request] = checkout_requests(fake)
    assert request.params["payment_intent_data"]["metadata"]["requestId"] == "click-1"


def test_without_a_request_id_the_metadata_has_none(fake: FakeStripe, session: Session) -> None:
    started = checkout.start_checkout(user=make_user(session), tutor_id=TUTOR,
                                      start=first_free(session), duration_minutes=60)
    assert "requestId" not in fake.sessions[started.session_id]["metadata"]


def test_a_second_request_for_a_hold_without_its_session_sends_the_same_parameters(
    fake: FakeStripe, session: Session, database: sa.Engine
) -> None:
    """The first request's answer from Stripe was lost before the session was attached to the
    hold (a crash, a double submit): the next request, on any worker, resumes the hold and must
    reuse the idempotency key with identical parameters, request id included, or Stripe
    refuses it. The id comes from the hold's row, so no process needs to remember it."""
    user = make_user(session)
    start = first_free(session)
    with request_context.bound_request_id("first-click"):
        first = checkout.start_checkout(user=user, tutor_id=TUTOR, start=start,
                                        duration_minutes=60)
    hold = hold_of(session, first.session_id)
    with app_db.write_session() as db:  # as if the answer never came back
        db.execute(sa.update(SlotHold).where(SlotHold.id == hold.id)  # type: ignore[arg-type]
                   .values(checkout_session_id=None, checkout_url=None))
        db.commit()

    with request_context.bound_request_id("second-click"):
        second = checkout.start_checkout(user=user, tutor_id=TUTOR, start=start,
                                         duration_minutes=60)

    assert second.session_id == first.session_id  # Stripe's idempotent replay
    assert len(fake.sessions) == 1
    one, two = checkout_requests(fake)
    assert one.idempotency_key == two.idempotency_key == f"checkout-hold-{hold.id}"
    assert one.params == two.params
    assert two.params["metadata"]["requestId"] == "first-click"
    assert hold_of(session, first.session_id).request_id == "first-click"

"""A tutor cancels a lesson paid through Stripe; Stripe is asked for exactly one refund.

On `stripe_live_app` (the app with a Stripe test key, talking to the fake Stripe): a new user
signs up and is made the tutor of a catalog entry (as an admin would, on the shared database).
A student signs up, books a lesson with that tutor and pays on the fake Stripe's hosted page,
whose signed `checkout.session.completed` reaches the app's webhook. The tutor cancels the
lesson from `/tutor` with a reason. The fake Stripe then has received exactly one refund
request for that payment, for the whole price, with the booking's idempotency key; the app
recorded Stripe's refund; the student's dashboard says "Canceled by your tutor — refunded in
full". Screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from tests.e2e.app_server import ReflexApp
from tests.e2e.conftest import Shots, visitor_page
from tests.e2e.steps import book_and_pay_on_fake_stripe, goto, signed_up
from tests.fakes.fake_stripe import FakeStripe, RecordedRequest
from tests.stripe_helpers import paid_booking, refund_requests, refunds_of
from tutor_app.accounts.users import grant_role
from tutor_app.booking.refunds import refund_key
from tutor_app.core import db as app_db
from tutor_app.core.models import BookingStatus, Role

pytestmark = pytest.mark.e2e

TUTOR_ID = "emma-schneider"  # no other browser test books her, so her lessons are this test's
REASON = "My train is canceled, I cannot make it."
FAR_DAY = 3  # well outside the 24-hour window: only a tutor's cancel is what refunds in full


@pytest.fixture
def tutor_page(browser: Browser, stripe_live_app: ReflexApp) -> Iterator[Page]:
    """The tutor, in a context of their own on the same app (the student has `stripe_page`):
    a lesson paid through Stripe is refunded by the app that has the Stripe key."""
    with visitor_page(browser, stripe_live_app.url, whose="the tutor's page") as page:
        yield page


def _make_tutor(email: str) -> None:
    """As an admin would (the CLI's grant-role): in a write transaction that waits its turn
    beside the live apps' writers on SQLite."""
    with app_db.write_session() as db:
        grant_role(db, email=email, role=Role.TUTOR.value, tutor_id=TUTOR_ID)
        db.commit()




def _refund_requests_for(fake: FakeStripe, payment_intent: str) -> list[RecordedRequest]:
    """The refund requests about this payment (the fake is shared by the package's tests)."""
    return [r for r in refund_requests(fake)
            if r.params.get("payment_intent") == payment_intent]


def test_tutor_cancels_a_stripe_paid_lesson_and_stripe_gets_one_full_refund(
    stripe_page: Page,
    tutor_page: Page,
    stripe_shot: Shots,
    new_email: Callable[[str], str],
    fake_stripe: FakeStripe,
    _engine: sa.Engine,
) -> None:
    tutor_email = new_email("tutor")
    signed_up(tutor_page, name="Emma Schneider", email=tutor_email)
    _make_tutor(tutor_email)

    # The student books a lesson with her and pays on the (fake) Stripe page.
    student_email = new_email("student")
    signed_up(stripe_page, name="Stella Stripe", email=student_email)
    session_id = book_and_pay_on_fake_stripe(stripe_page, TUTOR_ID, day_index=FAR_DAY)
    stripe_shot("paid through stripe")

    booking = paid_booking(_engine, session_id)
    with fake_stripe.lock:
        paid = dict(fake_stripe.sessions[session_id])
    assert (paid["status"], paid["payment_status"]) == ("complete", "paid")
    assert booking.stripe_payment_intent_id == paid["payment_intent"]
    assert booking.price_cents == paid["amount_total"] > 0
    payment_intent = str(booking.stripe_payment_intent_id)
    assert _refund_requests_for(fake_stripe, payment_intent) == []

    # The tutor cancels it from her lessons, with a reason.
    goto(tutor_page, "/tutor")
    row = tutor_page.locator(f"#lesson-{booking.id}")
    expect(row).to_contain_text("Stella Stripe")
    expect(row.locator(".lesson-status")).to_have_text("Scheduled")
    row.locator(f"#cancel-lesson-{booking.id}").click()
    dialog = tutor_page.locator("#tutor-cancel-dialog")
    expect(dialog).to_be_visible()
    tutor_page.fill("#cancel-reason", REASON)
    tutor_page.click("#confirm-tutor-cancel")
    expect(dialog).to_have_count(0)
    expect(tutor_page.locator("#lessons-notice")).to_contain_text("has been refunded")
    canceled_row = tutor_page.locator(f"#past-lessons #lesson-{booking.id}")
    expect(canceled_row.locator(".lesson-status")).to_have_text("Canceled")
    stripe_shot("tutor after the cancel", page=tutor_page)

    # The student's dashboard says so, from the database.
    goto(stripe_page, "/dashboard")
    card = stripe_page.locator(f"#past .lesson-card[data-booking-id='{booking.id}']")
    expect(card.locator(".lesson-refund")).to_have_text(
        "Canceled by your tutor \u2014 refunded in full")
    expect(card.locator(".lesson-status")).to_have_text(re.compile("canceled", re.I))
    stripe_shot("student dashboard after the tutor canceled")

    # Stripe was asked once, for the whole price, and the app kept Stripe's refund.
    [request] = _refund_requests_for(fake_stripe, payment_intent)
    assert request.status == 200 and not request.replayed
    assert int(request.params["amount"]) == booking.price_cents
    assert request.idempotency_key == refund_key(booking.id)
    with fake_stripe.lock:
        [refund] = [r for r in fake_stripe.refunds if r["payment_intent"] == payment_intent]
    assert refund["amount"] == paid["amount_total"]
    after = paid_booking(_engine, session_id)
    assert (after.status, after.refunded_cents) == (BookingStatus.CANCELED, after.price_cents)
    assert [(r.stripe_refund_id, r.amount_cents) for r in refunds_of(_engine, booking.id)] == [
        (refund["id"], booking.price_cents)]

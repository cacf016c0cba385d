"""The admin portal end to end: an admin finds a student's Stripe-paid booking by email,
refunds half of it with a reason; Stripe gets exactly one refund of that amount, the student's
dashboard shows the partial refund, and the action is in the audit log with its reason. A
student opening /admin gets the not-found page.

On `stripe_live_app` (the app with a Stripe test key, talking to the fake Stripe). The admin
is a user who signed up and was granted the role, as `grant-role EMAIL admin` does, on the
shared database. Screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from tests.e2e.app_server import ReflexApp
from tests.e2e.conftest import Shots, visitor_page
from tests.e2e.steps import book_and_pay_on_fake_stripe, goto, signed_up
from tests.fakes.fake_stripe import FakeStripe
from tests.stripe_helpers import paid_booking, refund_requests
from tutor_app.accounts.users import grant_role
from tutor_app.admin import booking_actions
from tutor_app.core import db as app_db
from tutor_app.core import routes
from tutor_app.core.models import AuditEntry, BookingStatus, Role

pytestmark = pytest.mark.e2e

TUTOR_ID = "aiko-tanaka"  # no other browser test books her
REASON = "The tutor's camera failed for half the lesson"
FAR_DAY = 3
NOT_FOUND = "We couldn't find that page"  # the ordinary 404 page's heading


@pytest.fixture
def admin_page(browser: Browser, stripe_live_app: ReflexApp) -> Iterator[Page]:
    with visitor_page(browser, stripe_live_app.url, whose="the admin's page") as page:
        yield page


def _make_admin(email: str) -> None:
    with app_db.write_session() as db:
        grant_role(db, email=email, role=Role.ADMIN.value)
        db.commit()



def test_an_admin_refunds_half_of_a_students_booking_found_by_email(
    stripe_page: Page,
    admin_page: Page,
    stripe_shot: Shots,
    new_email: Callable[[str], str],
    fake_stripe: FakeStripe,
    _engine: sa.Engine,
) -> None:
    admin_email = new_email("admin")
    signed_up(admin_page, name="Olive Owner", email=admin_email)
    _make_admin(admin_email)

    student_email = new_email("student")
    signed_up(stripe_page, name="Sid Student", email=student_email)
    session_id = book_and_pay_on_fake_stripe(stripe_page, TUTOR_ID, day_index=FAR_DAY)
    booking = paid_booking(_engine, session_id)
    payment_intent = str(booking.stripe_payment_intent_id)
    half = booking.price_cents // 2

    # A student opening the portal gets the not-found page, and no data.
    not_found = stripe_page.get_by_role("heading", name=NOT_FOUND)
    goto(stripe_page, routes.ADMIN_PORTAL)
    expect(not_found).to_be_visible()
    goto(stripe_page, routes.admin_booking(booking.id))
    expect(stripe_page.locator("#admin-not-found")).to_be_visible()
    expect(not_found).to_be_visible()
    expect(stripe_page.locator("#admin-timeline")).to_have_count(0)

    # The admin finds the booking by the student's email and opens it.
    goto(admin_page, routes.ADMIN_BOOKINGS)
    admin_page.fill("#admin-filter-q", student_email)
    admin_page.click("#admin-filter-apply")
    rows = admin_page.locator(".admin-booking-row")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".admin-booking-student")).to_have_text(student_email)
    stripe_shot("admin finds the booking", page=admin_page)
    rows.first.locator(".admin-booking-link").click()
    expect(admin_page.locator("#admin-booking-facts")).to_contain_text(booking.id)

    # Refund half, with a reason.
    admin_page.click("#admin-action-refund")
    dialog = admin_page.locator("#admin-action-dialog")
    expect(dialog).to_be_visible()
    admin_page.fill("#admin-action-amount", f"{half // 100}.{half % 100:02d}")
    admin_page.fill("#admin-action-reason", REASON)
    admin_page.click("#admin-action-submit")
    expect(dialog).to_have_count(0)
    expect(admin_page.locator("#admin-booking-notice")).to_have_text(
        "The refund went through.")
    expect(admin_page.locator("#admin-timeline")).to_contain_text(REASON)
    stripe_shot("admin after refunding half", page=admin_page)

    # Stripe got exactly one refund, of half.
    requests = [r for r in refund_requests(fake_stripe)
                if r.params.get("payment_intent") == payment_intent]
    assert [int(r.params["amount"]) for r in requests] == [half]
    after = paid_booking(_engine, session_id)
    assert (after.status, after.refunded_cents) == (BookingStatus.SCHEDULED, half)

    # The student's dashboard shows the partial refund.
    goto(stripe_page, "/dashboard")
    card = stripe_page.locator(f".lesson-card[data-booking-id='{booking.id}']")
    expect(card.locator(".lesson-refund")).to_contain_text(
        f"Refunded ${half // 100}.{half % 100:02d} of ${booking.price_cents // 100}."
        f"{booking.price_cents % 100:02d}")
    stripe_shot("student dashboard with the partial refund")

    # The audit log has it, with its reason.
    with Session(_engine) as db:
        [entry] = db.exec(select(AuditEntry).where(AuditEntry.target_id == booking.id)).all()
    assert (entry.action, entry.reason, entry.actor_email) == (
        booking_actions.REFUND, REASON, admin_email)

"""A student books a tutor's free 15-minute consultation in Chromium, end to end.

The directory and the tutor's profile mark the offer -> "Book a free 15-minute intro" -> the
wizard with "Free consultation, 15 min" chosen -> day and time -> review says "Free" -> sign
up at the gate, back on review -> "Confirm" (no payment step) -> the dashboard shows the card
marked "Free consultation" with "Book a lesson" -> the confirmation mail with its .ics reaches
the SMTP server. Nothing about it touches payments: it runs on the app configured with the
fake Stripe, and no request reached the fake while the student booked; no slot hold (what
every checkout session starts from) was written and the booking carries no payment. A second
try is told the intro was had, and offered a lesson.

Sofia Rossi offers the consultation here: no other browser test books her, and the flag is
set in the shared database for this test only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from icalendar import Calendar
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from tests.e2e.app_server import wait_for_backend
from tests.e2e.conftest import Shots, mails_to
from tests.e2e.steps import FREE_DAY, expect_step, goto, local_time_label, pressed, sign_up, tutor
from tests.fakes.fake_stripe import FakeStripe
from tests.fakes.smtp_server import SmtpServer
from tutor_app.booking import consultations
from tutor_app.core import routes
from tutor_app.core.ids import FREE_BOOKING_SESSION_PREFIX
from tutor_app.core.models import Booking, BookingKind, SlotHold, User

pytestmark = pytest.mark.e2e

TUTOR_ID = "sofia-rossi"


@pytest.fixture
def offering(_engine: sa.Engine) -> Iterator[str]:
    """Sofia Rossi offers a free consultation while the test runs (the live app reads the
    flag from the shared database on every page load)."""
    assert consultations.set_offers_consultation(tutor_id=TUTOR_ID, offers=True)
    yield TUTOR_ID
    consultations.set_offers_consultation(tutor_id=TUTOR_ID, offers=False)


def _rows(engine: sa.Engine, email: str) -> tuple[list[Booking], list[SlotHold]]:
    with Session(engine) as db:
        user = db.exec(select(User).where(User.email == email)).one()
        bookings = list(db.exec(select(Booking).where(col(Booking.user_id) == user.id)))
        holds = list(db.exec(select(SlotHold).where(col(SlotHold.user_id) == user.id)))
    return bookings, holds


def test_student_books_a_free_consultation_without_any_payment(
    stripe_page: Page, stripe_shot: Shots, new_email: Callable[[str], str],
    mail_server: SmtpServer, fake_stripe: FakeStripe, offering: str, _engine: sa.Engine,
) -> None:
    page, shot = stripe_page, stripe_shot
    with fake_stripe.lock:
        seen_before = len(fake_stripe.requests)
    tutor_id, tutor_name = tutor(offering)
    email = new_email("intro")
    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url))

    # The directory marks the tutors who offer one, and only them.
    goto(page, "/")
    expect(page.locator(f"#tutor-card-{tutor_id} .intro-badge")).to_be_visible()
    expect(page.locator(f"#intro-{tutor_id}")).to_have_attribute(
        "href", routes.book_consultation(tutor_id))
    expect(page.locator(".intro-badge")).to_have_count(1)
    shot("directory with the free intro")

    # The profile marks the offer; its button opens the wizard with the consultation chosen.
    goto(page, routes.tutor_profile(tutor_id))
    expect(page.locator(".intro-badge")).to_be_visible()
    intro = page.locator("#book-intro")
    expect(intro).to_have_text("Book a free 15-minute intro")
    shot("profile with the free intro")
    intro.click()
    expect(page).to_have_url(re.compile(rf"/book-now/?\?tutor={tutor_id}&intro=1$"))
    expect_step(page, 3)

    # It is one of the lengths, chosen; Back shows it.
    page.click("#back")
    expect_step(page, 2)
    option = page.locator("#duration-intro")
    expect(option).to_contain_text("Free consultation, 15 min")
    expect(option).to_contain_text("Free")
    pressed(option)
    shot("length step with the free consultation")
    page.click("#next")
    expect_step(page, 3)

    # A day (not the first: its first time may pass the notice while the test runs), a time.
    days = page.locator(FREE_DAY)
    expect(days.first).to_be_visible()
    days.nth(1).click()
    time_button = page.locator("#times [data-start]").first
    start = time_button.get_attribute("data-start")
    assert start and start.endswith("Z")
    time_button.click()
    pressed(time_button)
    page.click("#next")

    # Review: free, 15 minutes; the last step is "Confirm".
    expect_step(page, 4)
    expect(page.locator("#review-price")).to_contain_text("Free")
    expect(page.locator("#review-price")).not_to_contain_text("$")
    expect(page.locator("#review-length")).to_have_text("Free consultation, 15 min")
    expect(page.locator("#review-viewer-time")).to_contain_text(local_time_label(start))
    expect(page.locator("#steps")).to_contain_text("Confirm")
    expect(page.locator("#steps")).not_to_contain_text("Payment")
    page.fill("#note", "Hi! Conversation practice?")
    shot("review says free")

    # Sign-in is required: the gate keeps every choice, the intro included.
    page.click("#next")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.locator("#to-signup")).to_have_attribute("href", re.compile("intro"))
    page.click("#to-signup")
    sign_up(page, name="Ivy Intro", email=email)
    expect(page).to_have_url(re.compile(r"/book-now"))
    wait_for_backend(page)
    expect_step(page, 4)
    expect(page.locator("#review-price")).to_contain_text("Free")
    expect(page.locator("#note")).to_have_value("Hi! Conversation practice?")

    # Confirm, not pay.
    page.click("#next")
    expect_step(page, 5)
    expect(page.locator("#pay")).to_have_count(0)
    expect(page.locator("#confirm-price")).to_have_text("Free")
    shot("confirm step")
    page.click("#confirm")

    # The dashboard shows it, marked, with "Book a lesson" instead of "Book again".
    expect(page).to_have_url(re.compile(r"/dashboard/?$"))
    card = page.locator("#upcoming .lesson-card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text(tutor_name)
    expect(card).to_contain_text(local_time_label(start))
    expect(card.locator(".lesson-kind")).to_have_text("Free consultation")
    booking_id = card.get_attribute("data-booking-id")
    assert booking_id
    expect(card.locator(f"#book-again-{booking_id}")).to_have_text("Book a lesson")
    shot("dashboard with the consultation")

    # The confirmation mail, with the calendar file.
    [mail] = mails_to(mail_server, email, subject="Free consultation booked")
    [part] = [p for p in mail.message.iter_attachments()
              if p.get_content_type() == "text/calendar"]
    [event] = Calendar.from_ical(part.get_content()).walk("VEVENT")
    assert str(event["SUMMARY"]) == f"Free consultation with {tutor_name}"
    assert f"booking-{booking_id}@" in str(event["UID"])

    # Nothing about it went near payments.
    bookings, holds = _rows(_engine, email)
    [booked] = bookings
    assert (booked.id, booked.kind, booked.price_cents) == (
        booking_id, BookingKind.CONSULTATION, 0)
    assert booked.stripe_checkout_session_id == FREE_BOOKING_SESSION_PREFIX + booking_id
    assert booked.stripe_payment_intent_id is None and booked.stripe_customer_id is None
    assert holds == []
    assert not [url for url in visited if "/dev/checkout" in url or "/payment/" in url]
    with fake_stripe.lock:  # the app's periodic jobs may list sessions (GET); nothing more
        sent = [f"{r.method} {r.path}" for r in fake_stripe.requests[seen_before:]
                if r.method != "GET" or FREE_BOOKING_SESSION_PREFIX in r.path]
    assert sent == []

    # A second intro with the same tutor: told so, and offered a lesson.
    goto(page, routes.book_consultation(tutor_id))
    expect_step(page, 3)
    days = page.locator(FREE_DAY)
    days.nth(min(3, days.count() - 1)).click()
    page.locator("#times [data-start]").last.click()
    page.click("#next")
    expect_step(page, 4)
    page.click("#next")
    expect_step(page, 5)
    expect(page.locator("#pay-error")).to_have_text(
        f"You already had your free intro with {tutor_name}. Book a lesson instead.")
    expect(page.locator("#confirm")).to_be_disabled()
    shot("already had the intro")
    page.click("#book-lesson-instead")
    expect_step(page, 2)
    expect(page.locator("#duration-60")).to_be_visible()
    assert len(_rows(_engine, email)[0]) == 1

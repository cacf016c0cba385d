"""A tutor hears of a booking and cancels it in Chromium; the student is refunded in full.

A new user signs up and is made the tutor of a catalog entry (as an admin would, on the shared
database). A student books and pays a lesson with that tutor (dev test-checkout, the real
webhook): the tutor's own email arrives on the test SMTP server with their calendar file.
The tutor opens `/tutor`, sees the lesson with the student's name and note, cancels it with a
reason; the student's dashboard then says "Canceled by your tutor — refunded in full", the
student's email quotes the reason, and exactly one refund was recorded (dev payments record it
at once as `re_dev_<booking id>`; the database, not the page, is asked). Screenshots go to
test-artifacts/e2e/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from icalendar import Calendar
from playwright.sync_api import Browser, Page, expect

from tests.e2e.app_server import ReflexApp
from tests.e2e.conftest import Shots, visitor_page
from tests.e2e.steps import (
    expect_step,
    goto,
    pay_in_dev_checkout,
    pick_length_day_time,
    signed_up,
)
from tests.fakes.smtp_server import ReceivedMail, SmtpServer
from tests.stripe_helpers import paid_booking, refunds_of
from tutor_app.accounts.users import grant_role
from tutor_app.core import db as app_db
from tutor_app.core.models import BookingStatus, Role

pytestmark = pytest.mark.e2e

TUTOR_ID = "hannah-cohen"  # no other browser test books her, so her lessons are this test's
REASON = "I am ill with a fever, so sorry."
NOTE = "Derivatives, chain rule"
FAR_DAY = 3  # well outside the 24-hour window: only a tutor's cancel is what refunds in full
MAIL_TIMEOUT_S = 20.0


@pytest.fixture
def student_page(browser: Browser, live_app: ReflexApp) -> Iterator[Page]:
    """A second visitor, in a context of their own (the tutor keeps `page`)."""
    with visitor_page(browser, live_app.url, whose="the student's page") as page:
        yield page


def _make_tutor(email: str) -> None:
    """As an admin would (the CLI's grant-role): in a write transaction that waits its turn
    beside the live app's writers on SQLite."""
    with app_db.write_session() as db:
        grant_role(db, email=email, role=Role.TUTOR.value, tutor_id=TUTOR_ID)
        db.commit()


def _calendar(mail: ReceivedMail) -> tuple[EmailMessage, Calendar]:
    [part] = [p for p in mail.message.iter_attachments()
              if p.get_content_type() == "text/calendar"]
    assert isinstance(part, EmailMessage)
    return part, Calendar.from_ical(part.get_content())


def _mail(server: SmtpServer, address: str, subject: str) -> ReceivedMail:
    """The one mail to `address` whose subject starts with `subject`, once it has arrived (the
    account's own emails, a sign-up's "confirm your address", arrive there too). A long
    subject is folded, and read back from the first fold with a leading space: stripped."""
    deadline = time.monotonic() + MAIL_TIMEOUT_S
    while True:
        found = [m for m in server.messages
                 if address in m.rcpt_tos and str(m["Subject"]).strip().startswith(subject)]
        if found or time.monotonic() > deadline:
            seen = [str(m["Subject"]) for m in server.messages if address in m.rcpt_tos]
            assert len(found) == 1, f"{len(found)} mails to {address} are {subject!r}: {seen}"
            return found[0]
        time.sleep(0.1)


def _text(mail: ReceivedMail) -> str:
    body = mail.message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_tutor_is_mailed_the_booking_cancels_it_and_the_student_is_refunded_in_full(
    page: Page,
    student_page: Page,
    shot: Shots,
    new_email: Callable[[str], str],
    mail_server: SmtpServer,
    _engine: sa.Engine,
) -> None:
    tutor_email = new_email("tutor")
    signed_up(page, name="Hannah Cohen", email=tutor_email)
    _make_tutor(tutor_email)

    # A student books and pays a lesson with her, with a note.
    student_email = new_email("student")
    signed_up(student_page, name="Sam Student", email=student_email)
    goto(student_page, f"/book-now?tutor={TUTOR_ID}")
    pick_length_day_time(student_page, 60, day_index=FAR_DAY)
    student_page.click("#next")
    expect_step(student_page, 4)
    student_page.fill("#note", NOTE)
    student_page.click("#next")
    expect_step(student_page, 5)
    booking = paid_booking(_engine, pay_in_dev_checkout(student_page))

    # The tutor's own email, with her calendar file.
    booked = _mail(mail_server, tutor_email, "New lesson")
    assert str(booked["Subject"]).strip().startswith("New lesson: Sam Student, ")
    assert "(America/Chicago)" in booked["Subject"]  # her zone
    assert NOTE in _text(booked) and student_email in _text(booked)
    part, calendar = _calendar(booked)
    [event] = calendar.walk("VEVENT")
    assert part.get_param("method") == "REQUEST"
    assert str(event["UID"]).startswith(f"booking-{booking.id}-tutor@")
    assert str(event["ATTENDEE"]) == f"mailto:{tutor_email}"
    assert event["DTSTART"].dt == booking.start_time

    # She sees the lesson on /tutor, with the student and the note, and cancels it.
    goto(page, "/tutor")
    row = page.locator(f"#lesson-{booking.id}")
    expect(row).to_contain_text("Sam Student")
    expect(row).to_contain_text(student_email)
    expect(row).to_contain_text(NOTE)
    expect(row.locator(".lesson-status")).to_have_text("Scheduled")
    shot("tutor sees the booked lesson")

    row.locator(f"#cancel-lesson-{booking.id}").click()
    dialog = page.locator("#tutor-cancel-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Sam Student")
    page.click("#confirm-tutor-cancel")  # no reason yet: asked for one, nothing canceled
    expect(page.locator("#cancel-reason-error")).to_have_text(
        "Please tell the student why you are canceling.")
    page.fill("#cancel-reason", REASON)
    shot("cancel dialog with a reason")
    page.click("#confirm-tutor-cancel")
    expect(dialog).to_have_count(0)
    expect(page.locator("#lessons-notice")).to_contain_text("has been refunded")
    canceled_row = page.locator(f"#past-lessons #lesson-{booking.id}")
    expect(canceled_row.locator(".lesson-status")).to_have_text("Canceled")
    expect(canceled_row).to_contain_text("Canceled by the tutor")
    shot("tutor after the cancel")

    # The student's dashboard says so, from the database.
    goto(student_page, "/dashboard")
    card = student_page.locator(f"#past .lesson-card[data-booking-id='{booking.id}']")
    expect(card.locator(".lesson-refund")).to_have_text(
        "Canceled by your tutor \u2014 refunded in full")
    expect(card.locator(".lesson-status")).to_have_text(re.compile("canceled", re.I))
    shot("student dashboard after the tutor canceled", page=student_page)

    # The student's email quotes the reason; the tutor is told too.
    _mail(mail_server, student_email, "Lesson booked")
    canceled = _mail(mail_server, student_email, "Your tutor canceled your lesson: Hannah Cohen")
    assert f"Your tutor's reason: {REASON}" in _text(canceled)
    assert _calendar(canceled)[0].get_param("method") == "CANCEL"
    tutor_cancel = _mail(mail_server, tutor_email, "Lesson canceled: Sam Student")
    assert f"Your reason: {REASON}" in _text(tutor_cancel)
    assert str(_calendar(tutor_cancel)[1].walk("VEVENT")[0]["UID"]) == str(event["UID"])

    # Exactly one refund, of the whole price (dev payments: recorded at once, no Stripe).
    after = paid_booking(_engine, booking.stripe_checkout_session_id)
    assert (after.status, after.refunded_cents) == (BookingStatus.CANCELED, after.price_cents)
    refunds = refunds_of(_engine, booking.id)
    assert [(r.stripe_refund_id, r.amount_cents) for r in refunds] == [
        (f"re_dev_{booking.id}", after.price_cents)]

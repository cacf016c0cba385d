"""A student books and pays a lesson in Chromium, end to end, as a new user would.

Sign up -> `/book-now?tutor=...` -> length, day, time -> review -> pay on the dev
test-checkout page (which posts a signed `checkout.session.completed` to the real webhook) ->
the success page turns to "confirmed" by itself -> the dashboard lists the lesson under
Upcoming -> "Book again" opens the wizard with the tutor chosen. And the sign-in gate between
review and payment keeps every choice. Screenshots of each step go to test-artifacts/e2e/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.app_server import wait_for_backend
from tests.e2e.conftest import Shots
from tests.e2e.steps import (
    WEBHOOK_TIMEOUT_MS,
    expect_signed_in_as,
    expect_step,
    goto,
    local_time_label,
    pick_length_day_time,
    pressed,
    sign_up,
    signed_up,
    tutor,
)
from tutor_app.core import clock
from tutor_app.core.timefmt import format_duration

pytestmark = pytest.mark.e2e

def test_student_books_pays_and_sees_the_lesson(
    page: Page, shot: Shots, new_email: Callable[[str], str]
) -> None:
    tutor_id, tutor_name = tutor("james-okafor")

    signed_up(page, name="Sam Student", email=new_email("booker"))

    # Step 2 straight away: `?tutor=` preselects the tutor.
    goto(page, f"/book-now?tutor={tutor_id}")
    expect_step(page, 2)
    expect(page.locator("#step-2")).to_contain_text(tutor_name)
    for minutes in (30, 60, 90):
        expect(page.locator(f"#duration-{minutes}")).to_contain_text("$")
    shot("wizard step 2 length")

    day, start = pick_length_day_time(page, 60)
    shot("wizard step 3 day and time")

    # Back keeps every choice; Next returns to the same time.
    page.click("#back")
    expect_step(page, 2)
    pressed(page.locator("#duration-60"))
    page.click("#next")
    expect_step(page, 3)
    pressed(page.locator(f"#times [data-start='{start}']"))

    page.click("#next")
    expect_step(page, 4)
    expect(page.locator("#review-length")).to_have_text(format_duration(60))
    expect(page.locator("#review-viewer-time")).to_contain_text(local_time_label(start))
    expect(page.locator("#review-tutor-time")).not_to_be_empty()
    expect(page.locator("#review-price")).to_contain_text("$")
    page.fill("#note", "Vectors and forces, please.")
    shot("wizard step 4 review")

    page.click("#next")  # "Continue to payment"
    expect_step(page, 5)
    shot("wizard step 5 payment")

    # Pay: off to the app's own test-checkout page (no Stripe key in dev).
    page.click("#pay")
    expect(page).to_have_url(re.compile(r"/dev/checkout/?\?session_id=cs_"))
    wait_for_backend(page)
    expect(page.locator("#dev-tutor")).to_have_text(tutor_name)
    expect(page.locator("#dev-length")).to_contain_text(format_duration(60))
    shot("test checkout page")
    session_id = parse_qs(urlsplit(page.url).query)["session_id"][0]

    page.click("#pay-button")
    expect(page).to_have_url(re.compile(r"/payment/success/?\?session_id=" + re.escape(session_id)))
    status = page.locator("#payment-status")
    expect(status).to_have_text(re.compile("processing|confirmed"))
    shot("success page")
    expect(status).to_have_text("confirmed", timeout=WEBHOOK_TIMEOUT_MS)
    expect(page.locator("#lesson-tutor")).to_have_text(tutor_name)
    expect(page.locator("#lesson-duration")).to_contain_text(format_duration(60))
    expect(page.locator("#lesson-when")).to_contain_text(local_time_label(start))
    shot("payment confirmed")

    # A refresh neither books again nor loses the confirmation.
    page.reload()
    wait_for_backend(page)
    expect(status).to_have_text("confirmed", timeout=WEBHOOK_TIMEOUT_MS)

    # The dashboard lists it under Upcoming, once.
    page.click("#view-lessons")
    expect(page).to_have_url(re.compile(r"/dashboard/?$"))
    upcoming = page.locator("#upcoming .lesson-card")
    expect(upcoming).to_have_count(1)
    card = upcoming.first
    expect(card).to_contain_text(tutor_name)
    expect(card).to_contain_text(local_time_label(start))
    expect(card.locator(".lesson-status")).to_have_text(re.compile("scheduled", re.I))
    expect(page.locator("#past .lesson-card")).to_have_count(0)
    shot("dashboard upcoming")

    # "Book again" opens the wizard with the tutor chosen, at the length step.
    booking_id = card.get_attribute("data-booking-id")
    assert booking_id
    card.locator(f"#book-again-{booking_id}").click()
    expect(page).to_have_url(re.compile(rf"/book-now/?\?tutor={tutor_id}$"))
    wait_for_backend(page)
    expect_step(page, 2)
    expect(page.locator("#step-2")).to_contain_text(tutor_name)
    shot("book again")

    # The slot just bought is no longer offered to anyone.
    page.click("#duration-60")
    expect_step(page, 3)
    page.click(f"[data-day='{day}']")
    expect(page.locator("#times [data-start]").first).to_be_visible()
    expect(page.locator(f"[data-start='{start}']")).to_have_count(0)


def test_signed_out_student_signs_in_at_payment_and_keeps_choices(
    page: Page, shot: Shots, new_email: Callable[[str], str]
) -> None:
    tutor_id, tutor_name = tutor("liam-murphy")

    goto(page, f"/book-now?tutor={tutor_id}")
    expect_step(page, 2)
    _, start = pick_length_day_time(page, 30)
    page.click("#next")
    expect_step(page, 4)
    page.fill("#note", "Essay structure")
    viewer_time = page.locator("#review-viewer-time").inner_text()
    shot("review while signed out")

    # 4 -> 5 needs an account: off to sign in, with the way back in `next`.
    page.click("#next")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    next_path = parse_qs(urlsplit(page.url).query)["next"][0]
    assert f"tutor={tutor_id}" in next_path and "step=4" in next_path
    shot("sent to sign in")

    # The link carries `next` once the page's state has read the address (a client-side
    # redirect reuses the websocket, so there is no new document to wait for).
    expect(page.locator("#to-signup")).to_have_attribute(
        "href", re.compile(re.escape(quote(next_path, safe=""))))
    page.click("#to-signup")
    sign_up(page, name="Gina Gated", email=new_email("gated"))

    # Back on the review step with every choice kept.
    expect(page).to_have_url(re.compile(r"/book-now"))
    wait_for_backend(page)
    expect_step(page, 4)
    expect_signed_in_as(page, "Gina Gated")
    expect(page.locator("#step-4")).to_contain_text(tutor_name)
    expect(page.locator("#review-length")).to_have_text(format_duration(30))
    expect(page.locator("#review-viewer-time")).to_have_text(viewer_time)
    expect(page.locator("#note")).to_have_value("Essay structure")
    shot("back on review after sign-up")

    # And now payment opens.
    page.click("#next")
    expect_step(page, 5)
    expect(page.locator("#pay")).to_be_enabled()
    assert datetime.fromisoformat(start.replace("Z", "+00:00")) > clock.now()
    shot("payment step after sign-up")

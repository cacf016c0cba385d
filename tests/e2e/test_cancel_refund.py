"""A student cancels (with a refund) and reschedules lessons in Chromium, as a user would.

Sign up -> book and pay a lesson more than a day ahead (dev test-checkout, the real webhook)
-> dashboard: "Cancel" shows the full refund -> confirm -> the lesson is under Past, canceled,
with the amount refunded. And: "Reschedule" offers the same tutor's free times; choosing one
moves the lesson. And: a student who leaves checkout half-way finds the slot still theirs and
the wizard offering to resume the same session. Screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.app_server import wait_for_backend
from tests.e2e.conftest import Shots
from tests.e2e.steps import (
    choose_lesson,
    expect_step,
    goto,
    local_time_label,
    pay_in_dev_checkout,
    signed_up,
    tutor,
)

pytestmark = pytest.mark.e2e

# The fourth day with free times: at least two days ahead, well outside the 24-hour window.
FAR_DAY = 3


def book_and_pay(page: Page, tutor_id: str, *, minutes: int = 60) -> tuple[str, str]:
    """Book a lesson through the wizard and the dev test-checkout page; (booking id, start)."""
    _, start = choose_lesson(page, tutor_id, minutes=minutes, day_index=FAR_DAY)
    pay_in_dev_checkout(page)
    page.click("#view-lessons")
    expect(page).to_have_url(re.compile(r"/dashboard/?$"))
    card = page.locator("#upcoming .lesson-card")
    expect(card).to_have_count(1)
    booking_id = card.first.get_attribute("data-booking-id")
    assert booking_id
    return booking_id, start


def card_of(page: Page, section: str, booking_id: str) -> Locator:
    return page.locator(f"#{section} .lesson-card[data-booking-id='{booking_id}']")


def test_student_cancels_with_a_refund_and_sees_it_under_past(
    page: Page, shot: Shots, new_email: Callable[[str], str]
) -> None:
    tutor_id, tutor_name = tutor("james-okafor")
    signed_up(page, name="Carla Cancel", email=new_email("cancel"))

    booking_id, start = book_and_pay(page, tutor_id)
    upcoming = card_of(page, "upcoming", booking_id)
    expect(upcoming).to_contain_text(local_time_label(start))
    shot("dashboard with the lesson upcoming")

    upcoming.locator(f"#cancel-{booking_id}").click()
    dialog = page.locator("#cancel-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(tutor_name)
    expect(page.locator("#cancel-refund-message")).to_have_text(
        re.compile(r"full refund of \$\d+\.\d\d"))
    shot("cancel dialog with the refund")

    page.click("#confirm-cancel")
    expect(dialog).to_have_count(0)
    expect(page.locator("#manage-notice")).to_contain_text("has been refunded")
    expect(card_of(page, "upcoming", booking_id)).to_have_count(0)
    past = card_of(page, "past", booking_id)
    expect(past).to_have_count(1)
    expect(past.locator(".lesson-status")).to_have_text(re.compile("canceled", re.I))
    expect(past.locator(".lesson-refund")).to_contain_text(re.compile(r"Refunded \$\d+\.\d\d"))
    expect(past.locator(".lesson-refund")).to_contain_text("Canceled by you")
    expect(past.locator(f"#cancel-{booking_id}")).to_have_count(0)  # nothing left to cancel
    shot("lesson under past, canceled and refunded")

    # Still so after a reload: it is the database, not the page, that says so.
    page.reload()
    wait_for_backend(page)
    expect(card_of(page, "past", booking_id).locator(".lesson-refund")).to_contain_text(
        "Refunded")


def test_student_reschedules_to_another_free_time(
    page: Page, shot: Shots, new_email: Callable[[str], str]
) -> None:
    tutor_id, _ = tutor("liam-murphy")
    signed_up(page, name="Remy Reschedule", email=new_email("move"))
    booking_id, start = book_and_pay(page, tutor_id, minutes=30)

    card_of(page, "upcoming", booking_id).locator(f"#reschedule-{booking_id}").click()
    dialog = page.locator("#reschedule-dialog")
    expect(dialog).to_be_visible()
    days = dialog.locator("[data-day]:not([disabled])")
    expect(days.first).to_be_visible()
    day = days.nth(min(2, days.count() - 1))
    day.click()
    # Read the times only once the picker shows that day (the update is a round trip away).
    expect(day).to_have_attribute("aria-pressed", "true")
    times = dialog.locator("#reschedule-times [data-start]")
    expect(times.first).to_be_visible()
    new_start = next(
        s for s in (times.nth(i).get_attribute("data-start") for i in range(times.count()))
        if s and s != start
    )
    dialog.locator(f"[data-start='{new_start}']").click()
    expect(page.locator("#reschedule-choice")).to_contain_text(local_time_label(new_start))
    shot("reschedule picker with a new time")

    page.click("#confirm-reschedule")
    expect(dialog).to_have_count(0)
    expect(page.locator("#manage-notice")).to_contain_text("moved to")
    moved = card_of(page, "upcoming", booking_id)
    expect(moved).to_have_count(1)  # the same booking, not a new one
    expect(moved).to_contain_text(local_time_label(new_start))
    shot("dashboard after the reschedule")


def test_student_who_left_checkout_can_resume_the_same_session(
    page: Page, shot: Shots, new_email: Callable[[str], str]
) -> None:
    tutor_id, tutor_name = tutor("maria-garcia")
    signed_up(page, name="Rita Resume", email=new_email("resume"))

    day, start = choose_lesson(page, tutor_id, day_index=FAR_DAY)
    page.click("#pay")
    expect(page).to_have_url(re.compile(r"/dev/checkout/?\?session_id=cs_"))
    checkout_url = page.url

    # The student walks away from the payment page and starts the wizard again.
    goto(page, "/book-now")
    banner = page.locator("#resume-checkout")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(tutor_name)
    expect(banner).to_contain_text(local_time_label(start))
    shot("wizard offers to resume the payment")

    # The held slot is still offered to them (and only to them).
    goto(page, f"/book-now?tutor={tutor_id}&duration=60")
    expect_step(page, 3)
    page.click(f"[data-day='{day}']")
    expect(page.locator(f"#times [data-start='{start}']")).to_have_count(1)

    page.click("#resume-checkout-link")
    expect(page).to_have_url(checkout_url)  # the same session: never a second one
    wait_for_backend(page)
    expect(page.locator("#dev-tutor")).to_have_text(tutor_name)
    shot("back on the same checkout")

"""Steps of the browser tests, as a user takes them: open a page, sign up or in, choose a
lesson in the booking wizard, pay on the dev test-checkout page (`live_app`) or on the fake
Stripe's hosted page (`stripe_live_app`)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import Locator, Page, expect

from tests.e2e.app_server import wait_for_backend
from tests.e2e.conftest import STUDENT_TIMEZONE
from tutor_app.catalog.tutor_catalog import load_catalog

PASSWORD = "correct horse battery staple"


def goto(page: Page, path: str) -> None:
    """Load `path` as a new document and wait until its state has arrived over the websocket."""
    page.goto(path)
    wait_for_backend(page)


def sign_up(page: Page, *, name: str, email: str, password: str = PASSWORD) -> None:
    """Fill and submit the sign-up form of the current page (`/signup...`)."""
    expect(page).to_have_url(re.compile(r"/signup"))
    wait_for_backend(page)
    page.fill("#name", name)
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#submit")


def sign_in(page: Page, *, email: str, password: str = PASSWORD) -> None:
    expect(page).to_have_url(re.compile(r"/login"))
    wait_for_backend(page)
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#submit")


def expect_signed_in_as(page: Page, name: str) -> None:
    expect(page.locator("#signed-in-as")).to_have_text(name)
    expect(page.locator("#sign-out")).to_be_visible()
    expect(page.locator("#sign-in")).to_have_count(0)


def expect_signed_out(page: Page) -> None:
    expect(page.locator("#sign-in")).to_be_visible()
    expect(page.locator("#sign-up")).to_be_visible()
    expect(page.locator("#signed-in-as")).to_have_count(0)


def signed_up(page: Page, *, name: str, email: str) -> None:
    """Sign up on `/signup` as a new user and see the header name them."""
    goto(page, "/signup")
    sign_up(page, name=name, email=email)
    expect_signed_in_as(page, name)


FREE_DAY = "[data-day]:not([disabled])"
WEBHOOK_TIMEOUT_MS = 20_000  # the success page waits on the webhook, then turns by itself


def tutor(tutor_id: str) -> tuple[str, str]:
    found = next(t for t in load_catalog() if t.id == tutor_id)
    return found.id, found.name


def expect_step(page: Page, step: int) -> None:
    """Exactly one step is rendered at a time; `step` is the one."""
    expect(page.locator(f"#step-{step}")).to_be_visible()
    for other in range(1, 6):
        if other != step:
            expect(page.locator(f"#step-{other}")).to_have_count(0)


def pressed(locator: Locator) -> None:
    expect(locator).to_have_attribute("aria-pressed", "true")


def pick_length_day_time(page: Page, minutes: int, *, day_index: int = 1) -> tuple[str, str]:
    """Steps 2 and 3: choose the length, a day with free times and its first time.

    Returns the day (`data-day`) and the start as the UTC ISO string of `data-start`. Not the
    first free day by default: its first time may lie minutes after the 12-hour notice and
    pass it while the test runs.
    """
    expect_step(page, 2)
    page.click(f"#duration-{minutes}")
    expect_step(page, 3)  # choosing a length moves on to the calendar
    days = page.locator(FREE_DAY)
    expect(days.first).to_be_visible()
    day = days.nth(min(day_index, days.count() - 1))
    day_key = day.get_attribute("data-day")
    assert day_key
    day.click()
    pressed(day)
    time_button = page.locator("#times [data-start]").first
    start = time_button.get_attribute("data-start")
    assert start and start.endswith("Z"), f"a time button carries its UTC start, got {start!r}"
    time_button.click()
    pressed(time_button)
    expect(page.locator("#next")).to_be_enabled()
    return day_key, start


def local_time_label(start_iso: str) -> str:
    """The 24-hour clock time the student sees for `start_iso` in their zone, e.g. "17:30"."""
    local = datetime.fromisoformat(start_iso.replace("Z", "+00:00")).astimezone(
        ZoneInfo(STUDENT_TIMEZONE)
    )
    return f"{local:%H:%M}"


def choose_lesson(page: Page, tutor_id: str, *, minutes: int = 60,
                  day_index: int = 1) -> tuple[str, str]:
    """Walk the wizard for `tutor_id` to the payment step (5); (day, start) as
    `pick_length_day_time` returns them."""
    goto(page, f"/book-now?tutor={tutor_id}")
    expect_step(page, 2)
    day, start = pick_length_day_time(page, minutes, day_index=day_index)
    page.click("#next")
    expect_step(page, 4)
    page.click("#next")
    expect_step(page, 5)
    return day, start


def expect_payment_confirmed(page: Page) -> None:
    """The success page turns to "confirmed" by itself once the webhook has booked."""
    expect(page.locator("#payment-status")).to_have_text("confirmed", timeout=WEBHOOK_TIMEOUT_MS)


def pay_in_dev_checkout(page: Page) -> str:
    """From the payment step, pay on the dev test-checkout page and wait until the success
    page says "confirmed"; the Checkout Session's id."""
    page.click("#pay")
    expect(page).to_have_url(re.compile(r"/dev/checkout/?\?session_id=cs_"))
    wait_for_backend(page)
    session_id = page.url.split("session_id=", 1)[1].split("&", 1)[0]
    page.click("#pay-button")
    expect_payment_confirmed(page)
    return session_id


def pay_on_fake_stripe(page: Page, *, email: str | None = None) -> str:
    """From the payment step of `stripe_live_app`, pay on the fake Stripe's hosted page
    (`tests.fakes.fake_stripe`), which posts `checkout.session.completed` to the app's
    webhook and sends the browser back to the success page; wait until that says
    "confirmed". The Checkout Session's id.

    The page's email box comes filled with the customer's email the app passed; `email` is
    typed only when it is empty (a test that expects that must give one).
    """
    page.click("#pay")
    expect(page).to_have_url(re.compile(r"/pay/cs_test_\w+$"))
    session_id = page.url.rsplit("/", 1)[1]
    email_box = page.locator("input[name=email]")
    if not email_box.input_value():
        assert email, "the fake Stripe page asks for an email and the test gave none"
        email_box.fill(email)
    page.click("#pay")
    expect(page).to_have_url(
        re.compile(r"/payment/success/?\?session_id=" + re.escape(session_id)))
    wait_for_backend(page)
    expect_payment_confirmed(page)
    return session_id


def book_and_pay_on_fake_stripe(page: Page, tutor_id: str, *, day_index: int) -> str:
    """On `stripe_live_app`, as a signed-in student: a 60-minute lesson with `tutor_id` on the
    wizard's `day_index`th free day, reviewed and paid on the fake Stripe page. The Checkout
    Session's id."""
    goto(page, f"/book-now?tutor={tutor_id}")
    pick_length_day_time(page, 60, day_index=day_index)
    page.click("#next")
    expect_step(page, 4)
    page.click("#next")
    expect_step(page, 5)
    return pay_on_fake_stripe(page)

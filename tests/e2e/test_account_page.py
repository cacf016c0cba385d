"""A student's account settings in Chromium, as a user would use them.

Sign up (the browser runs in America/New_York) -> `/account` -> choose Asia/Tokyo and save ->
book and pay a lesson -> the dashboard and the confirmation email that reaches the SMTP server
show the lesson in Tokyo time, not the browser's. And: "Sign out everywhere" also signs out
the same account in another browser. Screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.app_server import ReflexApp
from tests.e2e.conftest import STUDENT_TIMEZONE, Shots, mails_to, visitor_page
from tests.e2e.steps import (
    choose_lesson,
    expect_signed_in_as,
    expect_signed_out,
    goto,
    pay_in_dev_checkout,
    sign_in,
    signed_up,
    tutor,
)
from tests.fakes.smtp_server import SmtpServer
from tutor_app.accounts.account_settings import PASSWORD_CHANGED, ZONE_SAVED
from tutor_app.core.timefmt import format_range

pytestmark = pytest.mark.e2e

ACCOUNT_ZONE = "Asia/Tokyo"
assert ACCOUNT_ZONE != STUDENT_TIMEZONE  # the point: the account's zone, not the browser's


def _in_zone(start_iso: str, zone: str) -> str:
    """ "17:30": the wall-clock start of `start_iso` in `zone`."""
    start = datetime.fromisoformat(start_iso.replace("Z", "+00:00"))
    return f"{start.astimezone(ZoneInfo(zone)):%H:%M}"


def test_the_lesson_is_shown_and_mailed_in_the_zone_chosen_on_the_account_page(
    page: Page, shot: Shots, new_email: Callable[[str], str], mail_server: SmtpServer
) -> None:
    tutor_id, tutor_name = tutor("james-okafor")
    email = new_email("zone")
    signed_up(page, name="Tomo Zone", email=email)

    page.click("#nav-account")
    expect(page).to_have_url(re.compile(r"/account/?$"))
    # Detected at sign-up from the browser, and preselected.
    expect(page.locator("#timezone")).to_have_value(STUDENT_TIMEZONE)
    expect(page.locator("#account-email")).to_have_text(email)
    expect(page.locator("#devices .device")).to_have_count(1)
    expect(page.locator("#devices .device[data-current='true']")).to_contain_text("Chrome")
    shot("account page")

    page.select_option("#timezone", ACCOUNT_ZONE)
    page.click("#save-timezone")
    expect(page.locator("#timezone-notice")).to_have_text(ZONE_SAVED)
    expect(page.locator("#timezone")).to_have_value(ACCOUNT_ZONE)
    shot("time zone saved")

    # Still there on a fresh load: it is the account's now.
    goto(page, "/account")
    expect(page.locator("#timezone")).to_have_value(ACCOUNT_ZONE)

    _, start = choose_lesson(page, tutor_id, day_index=3)
    expect(page.locator("#step-5")).to_be_visible()
    pay_in_dev_checkout(page)
    expect(page.locator("#lesson-when")).to_contain_text(_in_zone(start, ACCOUNT_ZONE))
    expect(page.locator("#lesson-when")).to_contain_text(ACCOUNT_ZONE)

    page.click("#view-lessons")
    card = page.locator("#upcoming .lesson-card")
    expect(card).to_have_count(1)
    expect(card.first).to_contain_text(f"{_in_zone(start, ACCOUNT_ZONE)}")
    expect(card.first).to_contain_text(ACCOUNT_ZONE)
    shot("dashboard in the account zone")

    (mail,) = mails_to(mail_server, email, subject=f"({ACCOUNT_ZONE})")
    body = mail.message.get_body(("plain",))
    assert body is not None
    text = str(body.get_content())
    begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
    assert format_range(begin, begin + timedelta(hours=1), ACCOUNT_ZONE) in text
    assert f"({ACCOUNT_ZONE})" in str(mail["subject"])
    assert tutor_name in text
    assert "Times are in UTC" not in text and STUDENT_TIMEZONE not in text


def test_sign_out_everywhere_signs_out_another_browser_too(
    page: Page, shot: Shots, new_email: Callable[[str], str], browser: Browser,
    live_app: ReflexApp,
) -> None:
    email = new_email("devices")
    signed_up(page, name="Dee Vices", email=email)

    with visitor_page(browser, live_app.url, whose="the second browser") as other:
        goto(other, "/login")
        sign_in(other, email=email)
        expect_signed_in_as(other, "Dee Vices")

        goto(page, "/account")
        devices = page.locator("#devices .device")
        expect(devices).to_have_count(2)
        expect(page.locator("#devices .device[data-current='true']")).to_have_count(1)
        shot("two devices")

        # A password change signs the other browser out and keeps this one.
        page.fill("#current_password", "correct horse battery staple")
        page.fill("#new_password", "an even better passphrase")
        page.click("#change-password")
        expect(page.locator("#password-notice")).to_have_text(PASSWORD_CHANGED)
        expect(devices).to_have_count(1)
        goto(other, "/dashboard")
        expect(other).to_have_url(re.compile(r"/login\?next="))
        expect_signed_out(other)

        # Signed in again there, then out everywhere from here.
        sign_in(other, email=email, password="an even better passphrase")
        expect(other).to_have_url(re.compile(r"/dashboard/?$"))
        expect_signed_in_as(other, "Dee Vices")
        goto(page, "/account")
        expect(devices).to_have_count(2)
        page.click("#sign-out-everywhere")
        expect(page).to_have_url(re.compile(r"/login/?$"))
        expect_signed_out(page)
        shot("signed out everywhere")

        goto(other, "/dashboard")
        expect(other).to_have_url(re.compile(r"/login\?next="))
        expect_signed_out(other)

"""The account emails in Chromium, against the real app and its mail on a real SMTP server:
a new account confirms its address with the mailed link, a forgotten password is reset with
one (which signs out every browser that was signed in), and the email is changed on `/account`
with the link mailed to the new address.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.app_server import ReflexApp, wait_for_backend
from tests.e2e.conftest import Shots, mails_to, visitor_page
from tests.e2e.steps import (
    PASSWORD,
    expect_signed_in_as,
    expect_signed_out,
    goto,
    sign_in,
    signed_up,
)
from tests.fakes.smtp_server import SmtpServer
from tests.mail_links import link_in
from tutor_app.accounts.account_settings import EMAIL_CHANGE_SENT
from tutor_app.accounts.email_verification import LINK_JUST_SENT
from tutor_app.core import routes

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a brand new passphrase for tutorly"


def _open(page: Page, link: str) -> None:
    """Open a mailed link as a click in a mail client would: a new document at its path."""
    parts = urlsplit(link)
    goto(page, f"{parts.path}?{parts.query}")


@pytest.fixture
def other_browser(browser: Browser, live_app: ReflexApp) -> Iterator[Page]:
    """A second visitor's browser (its own context, no cookies)."""
    with visitor_page(browser, live_app.url, whose="the other browser") as page:
        yield page


def test_a_new_account_confirms_its_email_with_the_mailed_link(
    page: Page, shot: Shots, new_email: Callable[[str], str], mail_server: SmtpServer
) -> None:
    email = new_email("verify")
    signed_up(page, name="Vic Verify", email=email)

    # Signed in at once, reminded on the dashboard to confirm the address.
    goto(page, routes.DASHBOARD)
    expect(page.locator("#verify-reminder")).to_contain_text(
        f"Please confirm your email address — we sent a link to {email}"
    )
    shot("dashboard reminds to confirm")

    [mail] = mails_to(mail_server, email)
    assert mail["Subject"] == "Confirm your email address for Tutorly"
    _open(page, link_in(mail, routes.VERIFY_EMAIL))
    expect(page.locator("#verify-result")).to_have_text("Your email address is confirmed.")
    expect_signed_in_as(page, "Vic Verify")  # the browser that signed up, still itself
    shot("email confirmed")

    page.click("#verify-continue")
    expect(page).to_have_url(re.compile(r"/dashboard/?$"))
    expect(page.locator("#dashboard-empty")).to_be_visible()
    expect(page.locator("#verify-reminder")).to_have_count(0)
    shot("reminder gone")

    # The link works once.
    _open(page, link_in(mail, routes.VERIFY_EMAIL))
    expect(page.locator("#verify-result")).to_have_text(
        "This link has expired or was already used."
    )


def test_a_forgotten_password_is_reset_with_the_mailed_link(
    page: Page, other_browser: Page, shot: Shots, new_email: Callable[[str], str],
    mail_server: SmtpServer,
) -> None:
    email = new_email("forgetful")
    # Signed in on one browser (say, a laptop left somewhere)...
    signed_up(page, name="Fay Forgetful", email=email)

    # ...and on another, the password is forgotten.
    goto(other_browser, routes.LOGIN)
    other_browser.click("#forgot-password")
    expect(other_browser).to_have_url(re.compile(r"/forgot-password/?$"))
    wait_for_backend(other_browser)
    other_browser.fill("#email", email)
    other_browser.click("#submit")
    expect(other_browser.locator("#forgot-password-notice")).to_have_text(
        f"If an account exists for {email}, we sent a link to reset its password. "
        "It works for one hour."
    )
    shot("reset link asked for", other_browser)

    # The verification mail of the sign-up came first; the reset link is the second mail.
    reset = next(m for m in mails_to(mail_server, email, count=2)
                 if m["Subject"] == "Reset your Tutorly password")
    _open(other_browser, link_in(reset, routes.RESET_PASSWORD))
    other_browser.fill("#password", NEW_PASSWORD)
    other_browser.fill("#confirm", NEW_PASSWORD)
    other_browser.click("#submit")
    expect(other_browser).to_have_url(re.compile(r"/login\?notice="))
    expect(other_browser.locator("#login-notice")).to_have_text(
        "Your password has been changed. Sign in with your new password."
    )
    shot("password changed", other_browser)

    # The old password no longer works; the new one does.
    sign_in(other_browser, email=email, password=PASSWORD)
    expect(other_browser.locator("#password-error")).to_have_text("Wrong email or password")
    expect_signed_out(other_browser)
    other_browser.fill("#password", NEW_PASSWORD)
    other_browser.click("#submit")
    expect_signed_in_as(other_browser, "Fay Forgetful")

    # The browser that was signed in before the reset is signed out.
    goto(page, routes.DASHBOARD)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect_signed_out(page)
    shot("the other browser is signed out")


def test_the_email_is_changed_on_the_account_page_with_the_link_mailed_to_the_new_address(
    page: Page, shot: Shots, new_email: Callable[[str], str], mail_server: SmtpServer
) -> None:
    email = new_email("mover")
    moved = new_email("moved")
    signed_up(page, name="Max Mover", email=email)

    page.click("#nav-account")
    expect(page).to_have_url(re.compile(r"/account/?$"))
    expect(page.locator("#account-email")).to_have_text(email)
    expect(page.locator("#email-status")).to_have_text("Not verified yet")
    # The sign-up's link went out a moment ago: no second one yet.
    page.click("#resend-verification")
    expect(page.locator("#verify-notice")).to_have_text(LINK_JUST_SENT.format(email=email))
    shot("account page, email not verified yet")

    page.fill("#new_email", moved)
    page.fill("#email_password", PASSWORD)
    page.click("#change-email")
    expect(page.locator("#email-notice")).to_have_text(EMAIL_CHANGE_SENT.format(email=moved))
    expect(page.locator("#account-email")).to_have_text(email)  # until the link is opened
    shot("email change asked for")

    [link_mail] = mails_to(mail_server, moved)
    assert link_mail["Subject"] == "Confirm your new email address for Tutorly"
    # The old address is told, without the new address in full.
    notice = next(m for m in mails_to(mail_server, email, count=2)
                  if m["Subject"] == "Your Tutorly email address is about to change")
    assert moved not in notice.message.as_string()

    _open(page, link_in(link_mail, routes.VERIFY_EMAIL))
    expect(page.locator("#verify-result")).to_have_text(f"Your email address is now {moved}.")
    expect_signed_in_as(page, "Max Mover")
    shot("email changed")

    goto(page, routes.ACCOUNT)
    expect(page.locator("#account-email")).to_have_text(moved)
    expect(page.locator("#email-status")).to_have_text("Verified")
    expect(page.locator("#resend-verification")).to_have_count(0)
    shot("account page, new email verified")

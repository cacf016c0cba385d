"""A new visitor in Chromium: browse and filter the directory, open a profile, sign up, sign
out, sign in again; a protected page sends a signed-out visitor to sign in and back.

Runs against the real app (`live_app`); expectations about tutors come from the catalog file,
the single source of truth, so the test follows the catalog instead of hard-coding it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Shots
from tests.e2e.steps import (
    PASSWORD,
    expect_signed_in_as,
    expect_signed_out,
    goto,
    sign_in,
    sign_up,
)
from tutor_app.catalog.tutor_catalog import load_catalog

pytestmark = pytest.mark.e2e

CARDS = "[data-testid^='tutor-card-']"


def test_visitor_browses_filters_signs_up_out_and_in(
    page: Page, shot: Shots, new_email: Callable[[str], str]
) -> None:
    tutors = load_catalog()
    subject = "Mathematics"
    teaching = sorted(t.id for t in tutors if subject in t.subjects)
    assert 0 < len(teaching) < len(tutors), "the catalog should make this filter meaningful"
    tutor = next(t for t in tutors if t.id == teaching[0])

    # The page itself comes with the security headers, like every answer of the server.
    response = page.goto("/")
    assert response is not None
    assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"

    # The directory lists every tutor with name, rate, subjects and time zone.
    goto(page, "/")
    expect(page.locator(CARDS)).to_have_count(len(tutors))
    first = page.locator(f"#tutor-card-{tutor.id}")
    expect(first).to_contain_text(tutor.name)
    expect(first).to_contain_text(tutor.subjects[0])
    expect(first).to_contain_text(tutor.timezone)
    expect(first).to_contain_text("/hour")
    expect_signed_out(page)
    shot("directory")

    # Filter by a subject: only its tutors remain, and the address can be shared.
    page.click("#subject-filter")
    page.get_by_role("option", name=subject, exact=True).click()
    expect(page).to_have_url(re.compile(r"\?subject=Mathematics$"))
    expect(page.locator(CARDS)).to_have_count(len(teaching))
    for tutor_id in teaching:
        expect(page.locator(f"#tutor-card-{tutor_id}")).to_be_visible()
    expect(page.locator("#result-summary")).to_contain_text(subject)
    shot("filtered by subject")

    # A shared filtered link shows the same list on a fresh load.
    goto(page, f"/?subject={subject.lower()}")
    expect(page.locator(CARDS)).to_have_count(len(teaching))

    # Open a profile from its card: bio, hours, and "Book a lesson" to the wizard.
    first.get_by_role("link", name=tutor.name).click()
    expect(page).to_have_url(re.compile(rf"/tutors/{tutor.id}$"))
    expect(page.locator("#tutor-name")).to_have_text(tutor.name)
    expect(page.locator("#tutor-bio")).to_contain_text(tutor.bio[:40])
    expect(page.locator("#book-lesson")).to_have_attribute(
        "href", f"/book-now?tutor={tutor.id}"
    )
    shot("profile")

    # Sign up with a new email: the nav shows them.
    email = new_email("visitor")
    page.click("#sign-up")
    sign_up(page, name="Vera Visitor", email=email)
    expect_signed_in_as(page, "Vera Visitor")
    shot("signed up")

    # The same email cannot sign up twice: a message next to the field, not a stack trace.
    page.click("#sign-out")
    expect_signed_out(page)
    goto(page, "/signup")
    sign_up(page, name="Someone Else", email=email)
    expect(page.locator("#email-error")).to_be_visible()
    expect_signed_out(page)
    shot("email already taken")

    # Sign in: a wrong password is refused next to the form; the right one signs in.
    page.click("#sign-in")
    sign_in(page, email=email, password="not the password")
    expect(page.get_by_role("alert")).to_be_visible()
    expect_signed_out(page)
    shot("wrong password")
    page.fill("#password", PASSWORD)
    page.click("#submit")
    expect_signed_in_as(page, "Vera Visitor")
    shot("signed in again")

    # Signing out survives a reload: the session is revoked on the server, not just hidden.
    page.click("#sign-out")
    expect_signed_out(page)
    goto(page, "/")
    expect_signed_out(page)
    shot("signed out")


def test_protected_page_sends_to_sign_in_and_back(
    page: Page, shot: Shots, new_email: Callable[[str], str]
) -> None:
    goto(page, "/dashboard")
    expect(page).to_have_url(re.compile(r"/login\?next=" + re.escape(quote("/dashboard", ""))))
    shot("dashboard redirects to sign in")

    # No account yet: "Create an account" keeps where the visitor was going.
    email = new_email("returning")
    # The link carries `next` once the page's state has read the address (a client-side
    # redirect reuses the websocket, so there is no new document to wait for).
    expect(page.locator("#to-signup")).to_have_attribute(
        "href", re.compile(re.escape("next=" + quote("/dashboard", ""))))
    page.click("#to-signup")
    sign_up(page, name="Rita Returning", email=email)
    expect(page).to_have_url(re.compile(r"/dashboard/?$"))
    expect(page.locator("#dashboard-empty")).to_be_visible()
    expect_signed_in_as(page, "Rita Returning")
    shot("back on the dashboard after sign-up")

    page.click("#sign-out")
    expect_signed_out(page)
    goto(page, "/dashboard")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    sign_in(page, email=email)
    expect(page).to_have_url(re.compile(r"/dashboard/?$"))
    expect(page.locator("#dashboard-empty")).to_be_visible()
    shot("back on the dashboard after sign-in")

    # `next` never leads off the site.
    goto(page, "/login?next=https%3A%2F%2Fevil.example%2F")
    expect(page).to_have_url(re.compile(r"^http://localhost:\d+/(\?.*)?$"))

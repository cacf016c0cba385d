"""The admin portal's people pages in Chromium, against the real app.

An admin (a user the CLI's grant-role made one) finds a student on `/admin/users` and disables
the account with a reason: the student's open page is signed out at its next load, their
password no longer signs in, and `/admin/audit` shows the action with its reason. A student
opening any admin page sees the ordinary not-found page, and no admin data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.app_server import ReflexApp, deltas, wait_for_backend
from tests.e2e.conftest import Shots, visitor_page
from tests.e2e.steps import expect_signed_out, goto, sign_in, signed_up
from tests.pinned_time import app_process_env, run_cli
from tutor_app.accounts import users

pytestmark = pytest.mark.e2e

REASON = "Chargeback fraud reported by the bank"


@pytest.fixture
def student_page(browser: Browser, live_app: ReflexApp) -> Iterator[Page]:
    """The student, in a browser of their own (the admin keeps `page`)."""
    with visitor_page(browser, live_app.url, whose="the student's page") as page:
        yield page


def _make_admin(email: str, live_app: ReflexApp, database_url: str) -> None:
    """The first admin's way in: the command line, against the app's own database."""
    done = run_cli("grant-role", email, "admin", env=app_process_env(
        DATABASE_URL=database_url, APP_URL=live_app.url, APP_ENV="dev",
    ))
    assert done.returncode == 0, done.stderr


def test_an_admin_disables_a_student_and_the_audit_log_says_why(
    page: Page, student_page: Page, shot: Shots, new_email: Callable[[str], str],
    live_app: ReflexApp, database_url: str,
) -> None:
    student_email = new_email("student")
    signed_up(student_page, name="Stu Dent", email=student_email)

    # A student sees no admin page at all: the ordinary not-found message.
    for path in ("/admin", "/admin/users", "/admin/audit", "/admin/tutors", "/admin/payments"):
        goto(student_page, path)
        expect(student_page.locator("#admin-not-found")).to_be_visible()
        expect(student_page.locator("#admin-nav")).to_have_count(0)
    shot("a student at /admin/users", student_page)

    admin_email = new_email("admin")
    signed_up(page, name="Ada Admin", email=admin_email)
    _make_admin(admin_email, live_app, database_url)

    # The admin finds the student and disables the account, giving a reason.
    goto(page, "/admin/users")
    expect(page.locator("#admin-nav")).to_be_visible()
    page.fill("#user-query", student_email)
    answered = deltas(page)
    page.locator("#user-search button[type=submit]").click()
    # The search's answer re-renders the rows (the first load listed everyone already): fill
    # the reason only after it, or the re-render empties the field.
    wait_for_backend(page, at_least=answered + 1)
    row = page.locator(f'.admin-user[data-email="{student_email}"]')
    expect(row).to_have_count(1)
    row.locator(".disable-user .admin-reason").fill(REASON)
    row.locator(".disable-user button[type=submit]").click()
    expect(page.locator("#admin-message")).to_be_visible()
    expect(row).to_contain_text("Disabled")
    shot("student disabled")

    # The student is signed out at once, and their password no longer signs in.
    goto(student_page, "/")
    expect_signed_out(student_page)
    goto(student_page, "/login")
    sign_in(student_page, email=student_email)
    expect(student_page.get_by_text(users.ACCOUNT_DISABLED)).to_be_visible()
    shot("the disabled student cannot sign in", student_page)

    # The audit log names the action, the account and the reason.
    goto(page, "/admin/audit")
    log = page.locator("#audit-log")
    expect(log).to_contain_text("user.disable")
    expect(log).to_contain_text(REASON)
    expect(log).to_contain_text(admin_email)
    shot("audit log")

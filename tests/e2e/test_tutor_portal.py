"""A tutor edits their profile and hours in Chromium, and a student's wizard follows.

Against the real app (`live_app`): an admin invites an email to run a catalog profile (the
CLI), the invitation arrives on the test SMTP server, and its link creates the tutor's account
with a password, landing on `/tutor`. On `/tutor/profile` the tutor writes a headline,
see it in the preview card, save, and find it on their public profile. On
`/tutor/availability` they cut Monday down to 10:00-12:00 (in their zone, Europe/Rome), see
the preview offer exactly those starts, and take the Monday after off. A student (another
browser, in New York) then opens the booking wizard for that tutor: on the first Monday it
offers exactly the starts the preview showed, and the Monday off has none.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.app_server import ReflexApp, wait_for_backend
from tests.e2e.conftest import STUDENT_TIMEZONE, Shots, mails_to, visitor_page
from tests.e2e.steps import PASSWORD, expect_signed_in_as, expect_step, goto
from tests.fakes.smtp_server import SmtpServer
from tests.mail_links import link_in
from tests.pinned_time import app_process_env, run_cli
from tutor_app.core import clock, routes

pytestmark = pytest.mark.e2e

TUTOR_ID = "sofia-rossi"  # no other browser test books her or changes her hours
TUTOR_ZONE = ZoneInfo("Europe/Rome")
MONDAY_RANGE = ("10:00", "12:00")
# 60-minute lessons on the 30-minute grid inside 10:00-12:00.
MONDAY_STARTS = ("10:00", "10:30", "11:00")


@pytest.fixture
def student_page(browser: Browser, live_app: ReflexApp) -> Iterator[Page]:
    """A second visitor, in a context of their own (the tutor keeps `page`)."""
    with visitor_page(browser, live_app.url, whose="the student's page") as page:
        yield page


def _mondays() -> tuple[date, date]:
    """The first Monday at least two days ahead on the tutor's calendar, and the next one:
    both past the minimum notice and well inside the booking window."""
    today = clock.now().astimezone(TUTOR_ZONE).date()
    first = today + timedelta(days=2 + (7 - (today + timedelta(days=2)).weekday()) % 7)
    return first, first + timedelta(days=7)


def _utc_iso(day: date, hhmm: str) -> str:
    """A wall-clock time of the tutor's on `day`, as the UTC ISO string pages carry."""
    hour, minute = map(int, hhmm.split(":"))
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=TUTOR_ZONE)
    return local.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def _starts(times: Locator) -> list[str]:
    return [times.nth(i).get_attribute("data-start") or "" for i in range(times.count())]


def test_tutor_edits_profile_and_hours_and_the_student_wizard_follows(
    page: Page,
    student_page: Page,
    shot: Shots,
    new_email: Callable[[str], str],
    mail_server: SmtpServer,
    live_app: ReflexApp,
    database_url: str,
) -> None:
    tutor_email = new_email("tutor")
    done = run_cli("invite-tutor", tutor_email, "--tutor", TUTOR_ID, env=app_process_env(
        DATABASE_URL=database_url, SMTP_URL=mail_server.url, APP_URL=live_app.url,
        APP_ENV="dev",
    ))
    assert done.returncode == 0, done.stderr
    [invitation] = mails_to(mail_server, tutor_email)
    link = urlsplit(link_in(invitation, routes.TUTOR_JOIN))
    goto(page, f"{link.path}?{link.query}")
    page.fill("#name", "Sofia Rossi")
    page.fill("#password", PASSWORD)
    page.click("#submit")
    expect(page).to_have_url(re.compile(r"/tutor/?$"))
    expect_signed_in_as(page, "Sofia Rossi")
    headline = f"Italian for travellers and food lovers {uuid.uuid4().hex[:6]}"
    first_monday, monday_off = _mondays()

    # -- the profile: the headline shows in the preview, then on the public profile.
    goto(page, "/tutor/profile")
    expect(page.locator("#tutor-nav-profile")).to_have_attribute("aria-current", "page")
    expect(page.locator("#name")).to_have_value("Sofia Rossi")
    page.fill("#headline", headline)
    expect(page.locator("#profile-preview .tutor-headline")).to_have_text(headline)
    shot("profile with a new headline in the preview")
    page.click("#save-profile")
    expect(page.locator("#profile-notice")).to_be_visible()

    goto(page, f"/tutors/{TUTOR_ID}")
    expect(page.locator("#tutor-headline")).to_have_text(headline)
    shot("public profile with the headline")

    # -- the hours: Monday 10:00-12:00 only; the preview offers exactly its starts.
    goto(page, "/tutor/availability")
    expect(page.locator("#hours-mon .hours-range")).to_have_count(1)
    page.select_option("#mon-0-start", MONDAY_RANGE[0])
    page.select_option("#mon-0-end", MONDAY_RANGE[1])
    page.click("#save-hours")
    expect(page.locator("#hours-notice")).to_be_visible()
    page.click(f"#preview-calendar [data-day='{first_monday.isoformat()}']")
    preview_times = page.locator("#preview-times [data-start]")
    expect(preview_times).to_have_text(list(MONDAY_STARTS))
    preview = _starts(preview_times)
    assert preview == [_utc_iso(first_monday, t) for t in MONDAY_STARTS]
    shot("hours saved and the preview of monday")

    # -- a day off on the next Monday.
    page.click("#kind-day_off")
    page.fill("#override-date", monday_off.isoformat())
    page.press("#override-date", "Tab")
    page.click("#add-override")
    expect(page.locator("#override-notice")).to_be_visible()
    expect(page.locator("#overrides .override")).to_have_count(1)
    expect(page.locator("#overrides .override-hours")).to_have_text("Day off")
    shot("a monday off")

    # -- the student's wizard, in New York: the same starts on Monday, none on the day off.
    goto(student_page, f"/book-now?tutor={TUTOR_ID}")
    expect_step(student_page, 2)
    student_page.click("#duration-60")
    expect_step(student_page, 3)
    # The tutor's Monday morning is the same Monday in New York.
    monday = student_page.locator(f"[data-day='{first_monday.isoformat()}']")
    expect(monday).to_be_enabled()
    monday.click()
    times = student_page.locator("#times [data-start]")
    expect(times).to_have_count(len(MONDAY_STARTS))
    assert _starts(times) == preview
    ny = ZoneInfo(STUDENT_TIMEZONE)
    expect(times).to_have_text(
        [datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(ny).strftime("%H:%M")
         for s in preview]
    )
    shot("student sees the tutor's monday", page=student_page)
    expect(student_page.locator(f"[data-day='{monday_off.isoformat()}']")).to_be_disabled()
    wait_for_backend(student_page)
    shot("student finds the monday off empty", page=student_page)

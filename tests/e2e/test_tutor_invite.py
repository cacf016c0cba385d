"""Becoming a tutor by invitation, in Chromium against the real app: the CLI invites an email
for a catalog profile, the invitation arrives on the test SMTP server, its link opens the join
page, the invitee creates the account with a password and lands signed in on `/tutor` as the
tutor of that profile. The link works once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from tests.e2e.app_server import ReflexApp
from tests.e2e.conftest import Shots, mails_to
from tests.e2e.steps import PASSWORD, expect_signed_in_as, goto
from tests.fakes.smtp_server import SmtpServer
from tests.mail_links import link_in
from tests.pinned_time import app_process_env, run_cli
from tutor_app.core import routes
from tutor_app.core.models import Role, User

pytestmark = pytest.mark.e2e

PROFILE = "lucas-silva"  # no other browser test signs in as him, or books him
PROFILE_NAME = "Lucas Silva"


def _open(page: Page, link: str) -> None:
    """Open a mailed link as a click in a mail client would: a new document at its path."""
    parts = urlsplit(link)
    goto(page, f"{parts.path}?{parts.query}")


def test_an_invited_tutor_creates_the_account_and_lands_on_the_portal(
    page: Page, shot: Shots, new_email: Callable[[str], str], mail_server: SmtpServer,
    live_app: ReflexApp, database_url: str, _engine: sa.Engine,
) -> None:
    email = new_email("tutor")

    # An admin invites the email from the command line, against the app's own database.
    done = run_cli("invite-tutor", email, "--tutor", PROFILE, env=app_process_env(
        DATABASE_URL=database_url, SMTP_URL=mail_server.url, APP_URL=live_app.url,
        APP_ENV="dev",
    ))
    assert done.returncode == 0, done.stderr
    assert f"mailed to {email}" in done.stdout

    [mail] = mails_to(mail_server, email)
    assert mail["Subject"] == "You are invited to teach on Tutorly"
    link = link_in(mail, routes.TUTOR_JOIN)
    assert link.startswith(f"{live_app.url}/tutor/join?token=")

    # The link opens the join page: who invited, for which profile; the email is fixed.
    _open(page, link)
    expect(page.locator("#invite-summary")).to_have_text(
        f"The Tutorly team invited {email} to run the tutor profile of {PROFILE_NAME} on "
        "Tutorly."
    )
    expect(page.locator("#email")).to_have_value(email)
    shot("invitation")

    page.fill("#name", PROFILE_NAME)
    page.fill("#password", PASSWORD)
    page.click("#submit")

    # Signed in, on the tutor portal of that profile.
    expect(page).to_have_url(re.compile(r"/tutor/?$"))
    expect_signed_in_as(page, PROFILE_NAME)
    expect(page.locator("#calendar-card")).to_be_visible()
    expect(page.locator("#not-a-tutor")).to_have_count(0)
    expect(page.locator("#not-linked")).to_have_count(0)
    shot("tutor portal")
    with Session(_engine) as db:
        user = db.exec(select(User).where(User.email == email)).one()
        assert (user.role, user.tutor_id, user.email_verified) == (Role.TUTOR, PROFILE, True)

    # The link works once.
    _open(page, link)
    expect(page.locator("#join-dead")).to_have_text(
        "This invitation has expired or was already used. Ask for a new one."
    )
    shot("link used")

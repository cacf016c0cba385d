"""The dev outbox page (`/dev/outbox`) and the dev bar under every page, driven without a
browser: the mails listed and shown in local dev, nothing at all anywhere else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from tests.factories import TUTOR, first_free, make_user, session_cookie
from tests.state.handlers import ORIGIN, run, state_on
from tutor_app.api import dev
from tutor_app.booking import checkout
from tutor_app.components.layout import dev_bar
from tutor_app.core import clock, routes, timefmt
from tutor_app.core.settings import Settings
from tutor_app.integrations import mail_outbox
from tutor_app.integrations.mail_transport import Attachment, send_mail
from tutor_app.state.auth import AuthState
from tutor_app.state.dev_outbox import (
    MAIL_GONE,
    NEW_TAB_BASE,
    NO_MAIL,
    DevOutboxState,
    framed_html,
)

ConfigureFn = Callable[..., Settings]
PROD = {"APP_ENV": "prod", "SECRET_KEY": "p" * 40, "STRIPE_SECRET_KEY": "sk_live_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_live", "APP_URL": "https://tutorly.example"}
ICS = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
ZONE_COOKIE = f"{timefmt.TZ_COOKIE}=Europe/Paris"


@pytest.fixture
def outbox(configure: ConfigureFn, tmp_path: Path, database: object) -> Path:
    """An empty outbox of this test's own, in local dev with the test checkout."""
    configure(SMTP_URL=None, OUTBOX_DIR=str(tmp_path / "outbox"), APP_ENV="dev",
              APP_URL="http://localhost:3000", STRIPE_SECRET_KEY=None, STRIPE_API_BASE=None,
              STRIPE_WEBHOOK_SECRET=None)
    return tmp_path / "outbox"


def _send(subject: str, *, to: str = "ann@example.com", attachments: bool = False) -> None:
    send_mail(to=to, subject=subject, text=f"{subject}: the plain part",
              html=f"<p>{subject}: the <a href='http://localhost:3000/x'>HTML</a> part</p>",
              attachments=[Attachment("lesson.ics", ICS, "text/calendar")] if attachments
              else ())


def _state(query: str = "", client_ip: str = "127.0.0.1") -> DevOutboxState:
    return state_on(DevOutboxState, f"{ORIGIN}{routes.DEV_OUTBOX}{query}",
                    route=routes.DEV_OUTBOX, cookie=ZONE_COOKIE, client_ip=client_ip)


def test_mails_are_listed_newest_first_in_the_viewers_zone(outbox: Path) -> None:
    _send("Verify your email", to="ann@example.com")
    clock.shift_by(clock.shift() + timedelta(minutes=5))
    _send("Lesson booked", to="bob@example.com")

    state = _state()
    run(state.load())

    assert state.available and state.loaded
    assert [m["subject"] for m in state.mails] == ["Lesson booked", "Verify your email"]
    assert [m["to"] for m in state.mails] == ["bob@example.com", "ann@example.com"]
    [newest] = mail_outbox.list_mails(outbox)[:1]
    assert newest.sent_at is not None
    assert state.mails[0]["when"] == timefmt.format_datetime(newest.sent_at, "Europe/Paris")
    assert state.empty_message == "" and state.mail_id == ""


def test_a_mail_is_shown_as_its_recipient_sees_it(outbox: Path) -> None:
    _send("Lesson booked", attachments=True)
    state = _state()
    run(state.load())
    mail_id = state.mails[0]["id"]

    run(state.open_mail(mail_id))

    assert state.mail_id == mail_id and state.error == ""
    assert state.subject == "Lesson booked"
    assert state.to == "ann@example.com"
    assert state.sender == Settings().mail_from
    assert state.when == state.mails[0]["when"]
    # The HTML part, its links opening in a new tab (the frame may not navigate itself).
    assert state.html.startswith(NEW_TAB_BASE)
    assert "the <a href='http://localhost:3000/x'>HTML</a> part" in state.html
    assert state.text.strip() == "Lesson booked: the plain part"
    assert state.attachments == [{
        "name": "lesson.ics", "type": "text/calendar", "size": f"{len(ICS)} B",
        "url": dev.attachment_url(mail_id, 0),
    }]
    assert state.raw_url == dev.raw_mail_url(mail_id)
    assert state.mail_link == f"{routes.DEV_OUTBOX}?mail={mail_id}"


def test_the_frames_base_follows_the_doctype() -> None:
    assert framed_html("<!doctype html><html><body>Hi</body></html>") == (
        f"<!doctype html>{NEW_TAB_BASE}<html><body>Hi</body></html>")
    assert framed_html("<p>Hi</p>") == f"{NEW_TAB_BASE}<p>Hi</p>"


def test_a_mails_address_opens_it(outbox: Path) -> None:
    _send("First")
    _send("Second")
    first = mail_outbox.list_mails(outbox)[-1]

    state = _state(f"?mail={first.mail_id}")
    run(state.load())

    assert state.subject == "First"


@pytest.mark.parametrize("mail_id", ["20261130T120000000000Z-gone", "../../etc/passwd", ""])
def test_an_unknown_mail_says_so(outbox: Path, mail_id: str) -> None:
    _send("Lesson booked")
    state = _state()
    run(state.load())

    run(state.open_mail(mail_id))

    assert state.error == MAIL_GONE
    assert state.mail_id == "" and state.html == "" and state.attachments == []


def test_refresh_finds_mails_written_since(outbox: Path) -> None:
    state = _state()
    run(state.load())
    assert state.empty_message == NO_MAIL

    _send("Lesson booked")
    run(state.refresh())

    assert [m["subject"] for m in state.mails] == ["Lesson booked"]
    assert state.empty_message == ""


@pytest.mark.parametrize(("env", "client_ip"), [
    (PROD, "127.0.0.1"),
    ({"APP_ENV": "dev", "APP_URL": "https://tutorly.example"}, "127.0.0.1"),  # a public URL
    ({}, "192.168.1.20"),  # local dev, but a browser on another machine
])
def test_the_page_does_not_exist_off_a_developers_machine(
    outbox: Path, configure: ConfigureFn, env: dict[str, str], client_ip: str
) -> None:
    _send("Reset your password", attachments=True)
    mail_id = mail_outbox.list_mails(outbox)[0].mail_id
    configure(**env)

    state = _state(f"?mail={mail_id}", client_ip=client_ip)
    run(state.load())
    run(state.open_mail(mail_id))
    run(state.refresh())

    assert state.loaded and not state.available  # the page renders as not found
    assert state.mails == [] and state.empty_message == ""
    assert state.mail_id == state.subject == state.html == state.text == ""


# --- the dev bar --------------------------------------------------------------------------


def test_the_dev_bar_links_to_the_outbox_in_local_dev_only(
    outbox: Path, configure: ConfigureFn
) -> None:
    rendered = str(dev_bar().render())
    assert routes.DEV_OUTBOX in rendered and "dev-checkout-link" in rendered

    configure(**PROD)

    assert routes.DEV_OUTBOX not in str(dev_bar().render())


def test_the_dev_bar_offers_the_users_unpaid_test_checkout(
    outbox: Path, session: Session
) -> None:
    me = make_user(session)
    started = checkout.start_checkout(user=me, tutor_id=TUTOR, duration_minutes=60,
                                      start=first_free(session, days_ahead=3))
    mine = state_on(AuthState, f"{ORIGIN}/", cookie=session_cookie(session, me))
    others = state_on(AuthState, f"{ORIGIN}/",
                      cookie=session_cookie(session, make_user(session)))
    signed_out = state_on(AuthState, f"{ORIGIN}/")

    run(mine.load_user())
    run(others.load_user())
    run(signed_out.load_user())

    assert started.session_id.startswith("cs_dev_")
    assert mine.dev_checkout_url == started.url
    assert others.dev_checkout_url == signed_out.dev_checkout_url == ""


def test_no_checkout_link_once_checkout_is_stripes(
    outbox: Path, session: Session, configure: ConfigureFn
) -> None:
    me = make_user(session)
    checkout.start_checkout(user=me, tutor_id=TUTOR, duration_minutes=60,
                            start=first_free(session, days_ahead=3))
    configure(STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_x")
    state = state_on(AuthState, f"{ORIGIN}/", cookie=session_cookie(session, me))

    run(state.require_login())

    assert state.user_id == me.id and state.dev_checkout_url == ""

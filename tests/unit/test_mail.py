"""send_mail: the message structure, SMTP with credentials, failures and the outbox."""

from __future__ import annotations

import logging
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.fakes.server import free_port
from tests.fakes.smtp_server import SmtpServer
from tutor_app.core.settings import Settings
from tutor_app.integrations.mail_transport import Attachment, MailError, parse_smtp_url, send_mail

ConfigureFn = Callable[..., Settings]
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"


def _send(**overrides: object) -> None:
    values: dict[str, object] = {
        "to": "ann@example.com",
        "subject": "Lesson booked: María García",
        "text": "Hi Ann,\nYour lesson is booked.",
        "html": "<p>Hi Ann,</p><p>Your lesson is <b>booked</b>.</p>",
        "attachments": [Attachment("lesson-1.ics", ICS,
                                   "text/calendar; method=REQUEST; charset=utf-8")],
    }
    values.update(overrides)
    send_mail(**values)  # type: ignore[arg-type]


def test_message_through_smtp_with_login(configure: ConfigureFn) -> None:
    with SmtpServer(username="mailer", password="p@ss word:1") as smtp:
        configure(SMTP_URL=f"smtp://mailer:p%40ss%20word%3A1@127.0.0.1:{smtp.port}",
                  MAIL_FROM="Tutorly <hello@example.com>")
        _send()
        [mail] = smtp.wait_for(1)

    message = mail.message
    assert mail.mail_from == "hello@example.com"
    assert message["Subject"] == "Lesson booked: María García"
    assert message["Message-ID"].endswith("@example.com>")
    assert message["Date"]
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = list(message.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"
    text, html = list(alternative.iter_parts())
    assert text.get_content_type() == "text/plain" and "booked." in text.get_content()
    assert html.get_content_type() == "text/html" and "<b>booked</b>" in html.get_content()
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST"
    assert attachment.get_filename() == "lesson-1.ics"
    assert attachment.get_content() == ICS.decode()


def test_server_wanting_a_login_refuses_mail_without_one(configure: ConfigureFn) -> None:
    with SmtpServer(username="mailer", password="right") as smtp:
        configure(SMTP_URL=f"smtp://127.0.0.1:{smtp.port}")
        with pytest.raises(MailError, match="530"):
            _send()

    assert smtp.messages == []


def test_wrong_password_is_a_mail_error(configure: ConfigureFn) -> None:
    with SmtpServer(username="mailer", password="right") as smtp:
        configure(SMTP_URL=f"smtp://mailer:wrong@127.0.0.1:{smtp.port}")
        with pytest.raises(MailError) as error:
            _send()

    assert "wrong" not in str(error.value)  # the password never reaches logs or the database
    assert smtp.messages == []


def test_unreachable_server_is_a_mail_error(configure: ConfigureFn) -> None:
    configure(SMTP_URL=f"smtp://127.0.0.1:{free_port()}")

    with pytest.raises(MailError, match="ConnectionRefusedError"):
        _send()


def test_refused_message_is_a_mail_error(configure: ConfigureFn) -> None:
    with SmtpServer() as smtp:
        smtp.fail_with = "452 4.3.1 Insufficient system storage"
        configure(SMTP_URL=smtp.url)
        with pytest.raises(MailError, match="452"):
            _send()


def test_header_injection_is_refused(configure: ConfigureFn, tmp_path: Path) -> None:
    configure(SMTP_URL=None, OUTBOX_DIR=str(tmp_path))

    with pytest.raises(ValueError):
        _send(subject="Hello\r\nBcc: victim@example.com")
    assert list(tmp_path.iterdir()) == []


def test_dev_without_smtp_url_writes_to_the_outbox(configure: ConfigureFn, tmp_path: Path) -> None:
    configure(SMTP_URL=None, APP_ENV="dev", OUTBOX_DIR=str(tmp_path / "outbox"))

    _send()
    _send(to="bob@example.com")

    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 2
    recipients = set()
    for path in files:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        recipients.add(message["To"])
        assert message["Subject"] == "Lesson booked: María García"
    assert recipients == {"ann@example.com", "bob@example.com"}


def test_prod_without_smtp_url_warns_and_uses_the_outbox(
    configure: ConfigureFn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    configure(SMTP_URL=None, APP_ENV="prod", SECRET_KEY="s" * 40, STRIPE_SECRET_KEY="sk_test_x",
              STRIPE_WEBHOOK_SECRET="whsec_x", STRIPE_API_BASE=None,
              OUTBOX_DIR=str(tmp_path / "outbox"))

    with caplog.at_level(logging.WARNING, logger="tutor_app.integrations.mail_transport"):
        _send()

    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    assert any("SMTP_URL is not set" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", ("mail.example.com", 25, None, None, False, False)),
        ("smtp://u:p@mail.example.com:2525", ("mail.example.com", 2525, "u", "p", False, False)),
        ("smtp://u%40x.com:p%2Fq@mail.example.com?starttls=1",
         ("mail.example.com", 587, "u@x.com", "p/q", False, True)),
        ("smtps://u:p@mail.example.com", ("mail.example.com", 465, "u", "p", True, False)),
    ],
)
def test_smtp_url_forms(url: str, expected: tuple[object, ...]) -> None:
    target = parse_smtp_url(url)

    assert (target.host, target.port, target.username, target.password, target.implicit_tls,
            target.starttls) == expected


@pytest.mark.parametrize(
    "url", ["http://mail.example.com", "smtp://", "smtps://h?starttls=1"]
)
def test_bad_smtp_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_smtp_url(url)

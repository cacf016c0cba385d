"""Outgoing email: SMTP from `SMTP_URL`, or `.eml` files in a local outbox folder.

The only module that speaks SMTP. Every message has a plain-text and an HTML part (clients
that cannot show HTML, and spam filters, want both) and may carry attachments; a calendar
invitation goes as `text/calendar; method=...` so mail clients offer "add to calendar".

Where mail goes:
- `SMTP_URL` set: `smtp://user:pass@host:port` (plain, or `?starttls=1` to upgrade),
  `smtps://user:pass@host:port` (TLS from the first byte). User and password are URL-encoded.
- no `SMTP_URL`: each message is written as an `.eml` file to `OUTBOX_DIR` (`var/outbox`),
  which any mail client opens. In prod this also logs a warning: a booking must never fail
  because mail is not configured, but somebody should notice.

`send_mail` raises `MailError` when the SMTP server cannot take the message, so the caller
(tutor_app.mail.notifications) can record the failure and retry later.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from tutor_app.core import clock
from tutor_app.core.settings import get_settings

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 15.0
_TRUE = {"1", "true", "yes", "on"}


class MailError(Exception):
    """The message could not be handed to the mail server; sending it again later may work."""


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message. `content_type` may carry parameters (`; method=REQUEST`)."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to connect, parsed from `SMTP_URL`."""

    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: bool


def parse_smtp_url(url: str) -> SmtpTarget:
    """Read `smtp[s]://[user[:password]@]host[:port][?starttls=1]`; ValueError when malformed.

    Default ports follow the schemes: 25 for smtp (587 when STARTTLS is asked for), 465 for
    smtps.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in {"smtp", "smtps"}:
        raise ValueError("SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("SMTP_URL has no host")
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["0"])[-1].lower() in _TRUE
    implicit_tls = scheme == "smtps"
    if implicit_tls and starttls:
        raise ValueError("SMTP_URL: smtps:// already uses TLS; drop ?starttls=1")
    default_port = 465 if implicit_tls else (587 if starttls else 25)
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=implicit_tls,
        starttls=starttls,
    )


def build_message(
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    attachments: Sequence[Attachment] = (),
    sender: str | None = None,
) -> EmailMessage:
    """The MIME message: multipart/alternative (text, then HTML), inside multipart/mixed
    when there are attachments. Header values with line breaks are refused by `email`."""
    sender = sender or get_settings().mail_from
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(clock.now())
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, subtype, params = _split_content_type(attachment.content_type)
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            params=params,
        )
    return message


def _split_content_type(content_type: str) -> tuple[str, str, dict[str, str]]:
    kind, *raw_params = (p.strip() for p in content_type.split(";"))
    maintype, _, subtype = kind.partition("/")
    params: dict[str, str] = {}
    for raw in raw_params:
        key, _, value = raw.partition("=")
        if key:
            params[key.strip().lower()] = value.strip().strip('"')
    return maintype or "application", subtype or "octet-stream", params


def send_mail(
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    attachments: Sequence[Attachment] = (),
) -> None:
    """Send one message to one recipient, through SMTP or into the outbox folder.

    Raises MailError when the SMTP server is unreachable or refuses the message.
    """
    settings = get_settings()
    message = build_message(to=to, subject=subject, text=text, html=html,
                            attachments=attachments, sender=settings.mail_from)
    if not settings.smtp_url:
        if settings.is_prod:
            log.warning("SMTP_URL is not set in prod: mail %s written to the outbox instead",
                        message["Message-ID"])
        write_to_outbox(message, settings.outbox_dir)
        return
    try:
        target = parse_smtp_url(settings.smtp_url)
    except ValueError as exc:
        raise MailError(f"bad SMTP_URL: {exc}") from exc
    _send_smtp(target, message)
    log.info("mail %s sent via SMTP %s:%d", message["Message-ID"], target.host, target.port)


def _send_smtp(target: SmtpTarget, message: EmailMessage) -> None:
    context = ssl.create_default_context()
    try:
        client: smtplib.SMTP
        if target.implicit_tls:
            client = smtplib.SMTP_SSL(target.host, target.port, timeout=SMTP_TIMEOUT_SECONDS,
                                      context=context)
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT_SECONDS)
        with client:
            if target.starttls:
                client.starttls(context=context)
            if target.username:
                client.login(target.username, target.password or "")
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        # The exception text can echo the server's reply, never our password.
        raise MailError(f"SMTP {target.host}:{target.port}: {type(exc).__name__}: {exc}") from exc


def write_to_outbox(message: EmailMessage, outbox_dir: Path) -> Path:
    """Write the message as `<UTC time>-<id>.eml`; atomic, so a reader never sees half a file."""
    outbox_dir.mkdir(parents=True, exist_ok=True)
    stamp = clock.now().strftime("%Y%m%dT%H%M%S%fZ")
    token = (message["Message-ID"] or "").strip("<>").partition("@")[0][-12:] or "mail"
    token = "".join(c for c in token if c.isalnum()) or "mail"
    path = outbox_dir / f"{stamp}-{token}.eml"
    handle, temp_name = tempfile.mkstemp(dir=outbox_dir, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(message.as_bytes())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    log.info("mail %s written to %s", message["Message-ID"], path)
    return path

"""Reading the mail outbox: the `.eml` files `mail_transport` writes when `SMTP_URL` is unset.

The dev outbox page (`/dev/outbox`) and its download route show a developer what the app
would have sent, as a person would see it: the HTML part, the plain part and the attachments.
Only to a browser on a developer's own machine (`open_to`): the mails carry every account's
sign-in, verification and reset links.
A mail is named by its file's stem (`<UTC time>-<token>`, see `mail_transport.write_to_outbox`),
so the newest sorts last; a name that is not of that shape is never looked up, so no request
reaches outside the outbox folder. Reads are blocking: callers run them in a worker thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path

from tutor_app.core.settings import get_settings, is_loopback_host

# `write_to_outbox`'s names: `%Y%m%dT%H%M%S%fZ`, a dash, up to 12 letters and digits.
_MAIL_ID = re.compile(r"[0-9]{8}T[0-9]{12}Z-[A-Za-z0-9]{1,12}")
SUFFIX = ".eml"
LIST_LIMIT = 200  # the newest mails a listing shows


@dataclass(frozen=True)
class OutboxEntry:
    """One mail of the listing: who it is to, what it is about, when it was written."""

    mail_id: str
    to: str
    subject: str
    sent_at: datetime | None


@dataclass(frozen=True)
class OutboxAttachment:
    """A file the mail carries; `index` is its place among the mail's attachments."""

    index: int
    filename: str
    content_type: str
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class OutboxMail:
    """A whole mail: its headers, its two bodies ("" when it lacks one) and attachments."""

    entry: OutboxEntry
    sender: str
    text: str
    html: str
    attachments: tuple[OutboxAttachment, ...]


def open_to(client_host: str | None) -> bool:
    """Whether the outbox may be shown to the client at `client_host`: on a developer's own
    machine (`Settings.local_dev`), to a browser on that very machine. `make run` listens on
    every interface, and another machine on the network must not read the links mailed."""
    return get_settings().local_dev and is_loopback_host(client_host or "")


def is_mail_id(mail_id: str) -> bool:
    """Whether `mail_id` has the shape of an outbox file's stem (and nothing else)."""
    return bool(_MAIL_ID.fullmatch(mail_id))


def mail_path(outbox_dir: Path, mail_id: str) -> Path | None:
    """The file of `mail_id`, or None when the id is malformed or no such mail exists."""
    if not is_mail_id(mail_id):
        return None
    path = outbox_dir / f"{mail_id}{SUFFIX}"
    return path if path.is_file() else None


def list_mails(outbox_dir: Path, *, limit: int = LIST_LIMIT) -> list[OutboxEntry]:
    """The newest `limit` mails, newest first; [] when there is no outbox yet."""
    try:
        names = [p for p in outbox_dir.iterdir() if p.suffix == SUFFIX and is_mail_id(p.stem)]
    except FileNotFoundError:
        return []
    names.sort(key=lambda p: p.name, reverse=True)
    entries = []
    for path in names[:limit]:
        try:
            with path.open("rb") as handle:
                headers = BytesHeaderParser(policy=policy.default).parse(handle)
        except OSError:
            continue  # deleted meanwhile
        entries.append(_entry(path.stem, headers))
    return entries


def read_mail(outbox_dir: Path, mail_id: str) -> OutboxMail | None:
    """The whole mail `mail_id`, or None when there is no such mail."""
    path = mail_path(outbox_dir, mail_id)
    if path is None:
        return None
    with path.open("rb") as handle:
        message = BytesParser(policy=policy.default).parse(handle)
    assert isinstance(message, EmailMessage)  # what policy.default parses into
    return OutboxMail(
        entry=_entry(mail_id, message),
        sender=str(message.get("From", "")),
        text=_body(message, "plain"),
        html=_body(message, "html"),
        attachments=tuple(
            OutboxAttachment(
                index=index,
                filename=part.get_filename() or f"attachment-{index + 1}",
                content_type=part.get_content_type(),
                content=_payload(part),
            )
            for index, part in enumerate(message.iter_attachments())
        ),
    )


def raw_mail(outbox_dir: Path, mail_id: str) -> bytes | None:
    """The `.eml` file's bytes, as any mail client opens it; None when there is no such mail."""
    path = mail_path(outbox_dir, mail_id)
    return path.read_bytes() if path is not None else None


def _entry(mail_id: str, headers: Message) -> OutboxEntry:
    # policy.default parses `Date` into a header that carries its aware `datetime`.
    sent_at = getattr(headers.get("Date"), "datetime", None)
    return OutboxEntry(mail_id=mail_id, to=str(headers.get("To", "")),
                       subject=str(headers.get("Subject", "")),
                       sent_at=sent_at if isinstance(sent_at, datetime) else None)


def _payload(part: Message) -> bytes:
    content = part.get_payload(decode=True)
    return content if isinstance(content, bytes) else b""


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or not isinstance(part, EmailMessage):
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else ""

"""`/dev/outbox`: the mails the app would have sent, on a developer's own machine.

With no `SMTP_URL` every mail is an `.eml` file in `OUTBOX_DIR` (`integrations.mail_outbox`
reads them). This state lists them newest first (recipient, subject, time in the viewer's
zone) and shows one as its recipient would see it: the HTML part, the plain part and the
attachments, each a download from the dev-only `/api/dev/outbox/...` route. `?mail=<id>`
opens that mail at once, so a mail has an address to share with a teammate.

Outside local dev (`Settings.local_dev` false: APP_ENV=prod, or an APP_URL others can reach),
and to a browser on another machine (`mail_outbox.open_to`), the page is the not-found page
and nothing is read. Files are read in a worker thread.
"""

from __future__ import annotations

import asyncio
import re
from typing import TypedDict

import reflex as rx
from reflex.event import EventSpec

from tutor_app.api import dev as dev_api
from tutor_app.core import routes, timefmt
from tutor_app.core.settings import get_settings
from tutor_app.integrations import mail_outbox
from tutor_app.state.auth import AuthState
from tutor_app.state.viewer_zone import ViewerZoneMixin

NEW_TAB_BASE = '<base target="_blank">'
_DOCTYPE = re.compile(r"\s*<!doctype[^>]*>", re.IGNORECASE)
NO_MAIL = "No mail yet. Mails the app sends (sign-up, bookings, reminders) land here."
MAIL_GONE = "That mail is no longer in the outbox."


class MailRow(TypedDict):
    """One mail of the list."""

    id: str
    to: str
    subject: str
    when: str


class AttachmentRow(TypedDict):
    """One attachment of the open mail."""

    name: str
    type: str
    size: str
    url: str


def _listing() -> list[mail_outbox.OutboxEntry]:
    return mail_outbox.list_mails(get_settings().outbox_dir)


def _read(mail_id: str) -> mail_outbox.OutboxMail | None:
    return mail_outbox.read_mail(get_settings().outbox_dir, mail_id)


def format_size(size: int) -> str:
    """`512 B`, `1.5 KB`, `2.0 MB`."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def framed_html(html: str) -> str:
    """The HTML part for a sandboxed frame: its links open in a new tab (a frame without
    scripts or same-origin rights cannot follow them in place). The `<base>` goes after any
    doctype, which must stay first for the mail to render as it would in a mail client."""
    doctype = _DOCTYPE.match(html)
    cut = doctype.end() if doctype else 0
    return html[:cut] + NEW_TAB_BASE + html[cut:]


class DevOutboxState(ViewerZoneMixin, AuthState):
    """The outbox's list and the open mail ("" everywhere while none is open)."""

    available: bool = False
    loaded: bool = False
    mails: list[MailRow] = []
    mail_id: str = ""
    subject: str = ""
    to: str = ""
    sender: str = ""
    when: str = ""
    html: str = ""
    text: str = ""
    raw_url: str = ""
    attachments: list[AttachmentRow] = []
    error: str = ""

    _entries: list[mail_outbox.OutboxEntry] = []
    _open: mail_outbox.OutboxEntry | None = None  # the entry only: state is pickled

    @rx.event
    async def load(self) -> EventSpec | None:
        """on_load: the list, and the mail of `?mail=` (nothing at all outside local dev)."""
        user = await self._current_user_off_loop()
        self._show_user(user)
        await self._show_dev_checkout(user)
        self.available = self._open_here()
        self._close()
        self.error = ""
        if not self.available:
            self.mails, self._entries, self.loaded = [], [], True
            return None
        ask_zone = self._detect_viewer_tz()
        self._entries = await asyncio.to_thread(_listing)
        wanted = self.router.url.query_parameters.get("mail", "")
        if wanted:
            await self._show(wanted)
        self._format()
        self.loaded = True
        return ask_zone

    @rx.event
    async def refresh(self) -> None:
        """"Refresh": read the list again (mails written since the page opened)."""
        if not self._open_here():
            return
        self._entries = await asyncio.to_thread(_listing)
        self._format()

    @rx.event
    async def open_mail(self, mail_id: str) -> None:
        """Show one mail of the list."""
        if not self._open_here():
            return
        await self._show(mail_id)
        self._format()

    def _open_here(self) -> bool:
        return mail_outbox.open_to(self.router.session.client_ip)

    async def _show(self, mail_id: str) -> None:
        self._close()
        self.error = ""
        mail = None
        if mail_outbox.is_mail_id(mail_id):
            mail = await asyncio.to_thread(_read, mail_id)
        if mail is None:
            self.error = MAIL_GONE
            return
        self._open = mail.entry
        self.mail_id = mail.entry.mail_id
        self.subject = mail.entry.subject
        self.to = mail.entry.to
        self.sender = mail.sender
        self.html = framed_html(mail.html) if mail.html else ""
        self.text = mail.text
        self.raw_url = dev_api.raw_mail_url(mail.entry.mail_id)
        self.attachments = [
            AttachmentRow(name=a.filename, type=a.content_type, size=format_size(a.size),
                          url=dev_api.attachment_url(mail.entry.mail_id, a.index))
            for a in mail.attachments
        ]

    def _close(self) -> None:
        self._open = None
        self.mail_id = self.subject = self.to = self.sender = self.when = ""
        self.html = self.text = self.raw_url = ""
        self.attachments = []

    def _when(self, entry: mail_outbox.OutboxEntry) -> str:
        return timefmt.format_datetime(entry.sent_at, self.viewer_tz) if entry.sent_at else ""

    def _format(self) -> None:
        """The list's times, and the open mail's, in the viewer's zone."""
        self.mails = [
            MailRow(id=e.mail_id, to=e.to, subject=e.subject, when=self._when(e))
            for e in self._entries
        ]
        if self._open is not None:
            self.when = self._when(self._open)

    def _viewer_tz_changed(self) -> None:
        self._format()

    @rx.var
    def empty_message(self) -> str:
        return NO_MAIL if self.available and self.loaded and not self.mails else ""

    @rx.var
    def mail_link(self) -> str:
        """This page's address for the open mail."""
        return f"{routes.DEV_OUTBOX}?mail={self.mail_id}" if self.mail_id else ""

"""Emails about the account itself: confirm an address, finish a sign-up, reset a password,
confirm a new address (and tell the old one that a change was asked for).

Each carries one single-use link (`accounts.email_links`) to a page of the app at `APP_URL`,
except the notice to the old address, whose link is the forgotten-password page.
They are sent at once, in the caller's thread, and never stored: unlike a lesson's emails
there is nothing to retry, since the person can ask for a new link. `send_link` is the mailer
`tutor_app.wiring` registers with `email_links`; it raises `MailError` when the SMTP server
cannot take the message.

Every message says what happens if the reader did not ask for it, since anyone can type any
address into a form.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from tutor_app.accounts.email_links import (
    CHANGE_EMAIL,
    EMAIL_CHANGE_NOTICE,
    LIFETIMES,
    RESET_PASSWORD,
    VERIFY_EMAIL,
    OutgoingLink,
)
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME, get_settings
from tutor_app.integrations.mail_transport import send_mail
from tutor_app.mail.notifications import Email


@dataclass(frozen=True)
class LinkContent:
    """The words of a one-link email: its subject, what it says, the link's label, and what
    follows the link (what to do if the reader did not ask for it)."""

    subject: str
    paragraphs: tuple[str, ...]
    button: str
    after: tuple[str, ...]


def link_url(path: str, token: str) -> str:
    """The absolute address of an app page opening the link of `token`."""
    return f"{get_settings().app_url}{path}?token={quote(token, safe='')}"


def mask_email(email: str) -> str:
    """ "n***@example.com": enough for the owner to recognise an address, not to learn it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _lifetime(purpose: str) -> str:
    hours = LIFETIMES[purpose] // timedelta(hours=1)
    return "one hour" if hours == 1 else f"{hours} hours"


def _content(link: OutgoingLink) -> tuple[LinkContent, str]:
    if link.purpose == RESET_PASSWORD:
        return LinkContent(
            subject=f"Reset your {PRODUCT_NAME} password",
            paragraphs=(
                f"Someone, hopefully you, asked to reset the password of your {PRODUCT_NAME} "
                "account. Open the link below to choose a new one. It works once, for "
                f"{_lifetime(RESET_PASSWORD)}, and signs you out everywhere else.",
            ),
            button="Choose a new password",
            after=("If you did not ask for this, ignore this email: your password stays as "
                   "it is.",),
        ), routes.RESET_PASSWORD
    if link.purpose == CHANGE_EMAIL:
        return LinkContent(
            subject=f"Confirm your new email address for {PRODUCT_NAME}",
            paragraphs=(
                f"Someone, hopefully you, asked to make this the email address of their "
                f"{PRODUCT_NAME} account. Open the link below to confirm: the account's email "
                f"changes to this address. It works once, for {_lifetime(CHANGE_EMAIL)}.",
            ),
            button="Confirm my new email address",
            after=("If you did not ask for this, ignore this email: nothing changes without "
                   "the link.",),
        ), routes.VERIFY_EMAIL
    if link.purpose == EMAIL_CHANGE_NOTICE:
        return LinkContent(
            subject=f"Your {PRODUCT_NAME} email address is about to change",
            paragraphs=(
                f"Someone asked to change your {PRODUCT_NAME} email to "
                f"{mask_email(link.new_email)}. It changes only when the link we mailed to "
                "that address is opened.",
            ),
            button="Reset my password",
            after=("If it wasn't you, reset your password: that stops the change and signs "
                   "you out everywhere.",),
        ), routes.FORGOT_PASSWORD
    if link.purpose == VERIFY_EMAIL and link.sets_password:
        return LinkContent(
            subject=f"Finish creating your {PRODUCT_NAME} account",
            paragraphs=(
                f"Someone, hopefully you, asked to create a {PRODUCT_NAME} account with this "
                "email address, which already has lessons booked with it. Open the link "
                "below to finish: the account gets the password chosen when signing up, and "
                f"its lessons are yours. The link works once, for {_lifetime(VERIFY_EMAIL)}.",
            ),
            button="Finish creating my account",
            after=("If you did not ask for this, ignore this email and do not open the link: "
                   "nothing changes without it.",),
        ), routes.VERIFY_EMAIL
    if link.purpose == VERIFY_EMAIL:
        return LinkContent(
            subject=f"Confirm your email address for {PRODUCT_NAME}",
            paragraphs=(
                f"Please confirm that this is your email address for {PRODUCT_NAME}: open the "
                f"link below. It works once, for {_lifetime(VERIFY_EMAIL)}.",
            ),
            button="Confirm my email address",
            after=(f"If you did not create a {PRODUCT_NAME} account, ignore this email.",),
        ), routes.VERIFY_EMAIL
    raise ValueError(f"no email for link purpose {link.purpose!r}")


def compose(link: OutgoingLink) -> Email:
    """The message carrying `link`, in plain text and HTML."""
    content, path = _content(link)
    url = link_url(path, link.token) if link.token else f"{get_settings().app_url}{path}"
    return render_link_mail(to=link.to, name=link.name, content=content, url=url)


def render_link_mail(*, to: str, name: str, content: LinkContent, url: str) -> Email:
    """A one-link email to `to`, greeting `name`, in plain text and HTML (also used by the
    tutor invitation, `mail.tutor_invite_mail`)."""
    greeting = f"Hi {name.strip()}," if name.strip() else "Hello,"
    text = "\n".join([
        greeting, "", *[f"{p}\n" for p in content.paragraphs], f"{content.button}: {url}", "",
        *content.after, "", f"— {PRODUCT_NAME}", "",
    ])
    e = html.escape
    body = "".join(f"<p>{e(p)}</p>" for p in content.paragraphs)
    after = "".join(f'<p style="color:#666">{e(p)}</p>' for p in content.after)
    html_part = (
        "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\">"
        f"<p>{e(greeting)}</p>{body}"
        f'<p><a href="{e(url)}">{e(content.button)}</a></p>'
        f'<p style="color:#666">Or paste this address into your browser: {e(url)}</p>'
        f"{after}<p style=\"color:#666\">— {PRODUCT_NAME}</p></body></html>"
    )
    return Email(to=to, subject=content.subject, text=text, html=html_part)


def send_link(link: OutgoingLink) -> None:
    """Send the message carrying `link` now; MailError when the server cannot take it."""
    message = compose(link)
    send_mail(to=message.to, subject=message.subject, text=message.text, html=message.html)

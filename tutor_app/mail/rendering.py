"""What every lesson email is made of: one `Email` value, written as plain text and as HTML
from the same parts (a greeting, an intro, a table of facts, notes, links).

Shared by the student's emails and the tutor's (`notifications`, `tutor_mail`), so both read
alike and escape the same way.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.integrations.mail_transport import Attachment

Rows = list[tuple[str, str]]
Links = list[tuple[str, str]]


class NoRecipient(Exception):
    """The email has nobody to go to (no address, a deleted account, no tutor account)."""


@dataclass(frozen=True)
class Email:
    """A rendered message, ready for `send_mail`."""

    to: str
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


def greeting(name: str) -> str:
    return f"Hi {name}," if name else "Hello,"


def render_text(greet: str, intro: str, rows: Rows, extra: list[str], links: Links) -> str:
    lines = [greet, "", intro, ""]
    lines += [f"{label}: {value}" for label, value in rows]
    if extra:
        lines += ["", *extra]
    lines += [""] + [f"{label}: {url}" for label, url in links]
    lines += ["", f"— {PRODUCT_NAME}", ""]
    return "\n".join(lines)


def render_html(greet: str, intro: str, rows: Rows, extra: list[str], links: Links) -> str:
    e = html.escape
    table = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{e(label)}</th>'
        f"<td>{e(value)}</td></tr>"
        for label, value in rows
    )
    notes = "".join(f"<p>{e(line)}</p>" for line in extra)
    buttons = " &middot; ".join(f'<a href="{e(url)}">{e(label)}</a>' for label, url in links)
    return (
        "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\">"
        f"<p>{e(greet)}</p><p>{e(intro)}</p>"
        f"<table>{table}</table>{notes}<p>{buttons}</p>"
        f"<p style=\"color:#666\">— {PRODUCT_NAME}</p></body></html>"
    )

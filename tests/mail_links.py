"""Reading the links the app mails: the token of a `/verify-email` or `/reset-password` link."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.smtp_server import ReceivedMail


def link_in(mail: ReceivedMail, path: str) -> str:
    """The one address in the mail's plain text that opens the app's page `path`."""
    body = mail.message.get_body(("plain",))
    assert body is not None, "the mail has no plain-text part"
    text = body.get_content()
    found = set(re.findall(r"https?://\S+" + re.escape(path) + r"\?token=[\w%-]+", text))
    assert len(found) == 1, f"expected one {path} link in the mail, found {sorted(found)}"
    return found.pop()


def token_in(mail: ReceivedMail, path: str) -> str:
    """The token of the mail's link to `path`."""
    return unquote(parse_qs(urlsplit(link_in(mail, path)).query)["token"][0])

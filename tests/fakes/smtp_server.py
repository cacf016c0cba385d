"""A real SMTP server for tests (aiosmtpd), collecting what the app sends.

    with SmtpServer() as smtp:
        configure(SMTP_URL=smtp.url)
        ...
        [message] = smtp.wait_for(1)
        message["Subject"], message.get_body(("plain",)).get_content()

It runs on 127.0.0.1 on a free port in aiosmtpd's own thread. Messages are parsed with the
stdlib `email` package (policy `default`, so `get_body`, `iter_attachments` work).
`fail_with = "451 4.3.0 try later"` makes it refuse every message with that reply, until set
back to None; `.stop()` makes it unreachable.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.fakes.server import StartStop, free_port

__all__ = ["ReceivedMail", "SmtpServer"]


@dataclass(frozen=True)
class ReceivedMail:
    """One accepted message: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes

    def __getitem__(self, header: str) -> Any:
        return self.message[header]


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_DATA(self, _server: Any, session: Any, envelope: Any) -> str:
        if self._server.username is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        if self._server.fail_with:
            self._server.refused += 1
            return self._server.fail_with
        raw = bytes(envelope.original_content or envelope.content)
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self._server._add(
            ReceivedMail(
                mail_from=envelope.mail_from,
                rcpt_tos=tuple(envelope.rcpt_tos),
                message=message,
                raw=raw,
            )
        )
        return "250 Message accepted for delivery"


class SmtpServer(StartStop):
    """An aiosmtpd server on 127.0.0.1; optionally requiring AUTH LOGIN/PLAIN credentials."""

    def __init__(self, *, username: str | None = None, password: str | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = free_port(self.host)
        self.username = username
        self.password = password
        self.fail_with: str | None = None
        self.refused = 0
        self._messages: list[ReceivedMail] = []
        self._cond = threading.Condition()
        kwargs: dict[str, Any] = {}
        if username is not None:
            # AUTH over plain TCP: fine on 127.0.0.1. (aiosmtpd's own `auth_required` warns
            # about exactly that, so handle_DATA enforces it instead.)
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port,
                                      **kwargs)

    def _authenticate(self, _server: Any, _session: Any, _envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    @property
    def url(self) -> str:
        """The `SMTP_URL` that reaches this server (with the credentials, when it wants some)."""
        auth = f"{self.username}:{self.password}@" if self.username is not None else ""
        return f"smtp://{auth}{self.host}:{self.port}"

    def _add(self, mail: ReceivedMail) -> None:
        with self._cond:
            self._messages.append(mail)
            self._cond.notify_all()

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._cond:
            return list(self._messages)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMail]:
        """The messages once at least `count` have arrived; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} messages, got {len(self._messages)}"
                    )
                self._cond.wait(left)
            return list(self._messages)

    def clear(self) -> None:
        with self._cond:
            self._messages.clear()
        self.refused = 0
        self.fail_with = None

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


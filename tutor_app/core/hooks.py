"""One function a lower layer calls and a higher one provides, registered at start-up.

Accounts and tutors cannot import `mail` (it sits above them), yet they must send mails the
moment a link is issued. They hold a `Hook`; `wiring.register_all()` fills it with the mail
module's sender. Registering again replaces the function, so start-up may run twice.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

F = TypeVar("F")


class Hook(Generic[F]):
    """A slot for one function; `get()` is None until something is registered."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._fn: F | None = None
        self._lock = threading.Lock()

    def register(self, fn: F) -> None:
        with self._lock:
            self._fn = fn

    def get(self) -> F | None:
        with self._lock:
            return self._fn

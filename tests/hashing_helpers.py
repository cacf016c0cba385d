"""Every password-hashing turn of this process taken, so the next hash finds the queue full.

The API server of the tests runs in the test process, so it shares the same turns.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tutor_app.accounts import passwords
from tutor_app.core.settings import get_settings


@contextmanager
def hashing_turns_taken(monkeypatch: pytest.MonkeyPatch, *, wait: float = 0.05) -> Iterator[None]:
    """Hold all of the process's hashing turns; a hash waits `wait` seconds before giving up."""
    monkeypatch.setattr(passwords, "SLOT_WAIT_SECONDS", wait)
    size = get_settings().password_hash_concurrency
    turns = passwords._turns(size)
    for _ in range(size):
        assert turns.acquire(timeout=5), "a hashing turn was never given back"
    try:
        yield
    finally:
        for _ in range(size):
            turns.release()

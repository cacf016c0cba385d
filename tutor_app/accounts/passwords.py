"""Password hashing with Argon2id (argon2-cffi), the OWASP-recommended memory-hard hash.

The hasher's parameters are argon2-cffi's defaults (RFC 9106's low-memory profile); when a
later release raises them, `needs_rehash` says so and sign-in upgrades the stored hash.

Each hash or verification takes tens of MiB for tens of milliseconds, so a flood of sign-ins
must not run them all at once: a process-wide bounded semaphore lets at most
`PASSWORD_HASH_CONCURRENCY` run together. A caller that waits longer than SLOT_WAIT_SECONDS
for a turn gets `HashingBusy` ("try again in a moment") rather than queueing without end.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tutor_app.core.settings import get_settings

BUSY_MESSAGE = "We're busy right now. Please try again in a moment."
# How long a caller waits for a hashing turn before giving up, and how long it is told to wait
# before trying again (the API's Retry-After).
SLOT_WAIT_SECONDS = 5.0
BUSY_RETRY_AFTER = 5

_hasher = PasswordHasher()


class HashingBusy(Exception):
    """No hashing turn came free in time; `retry_after` is in whole seconds."""

    def __init__(self) -> None:
        super().__init__(BUSY_MESSAGE)
        self.retry_after = BUSY_RETRY_AFTER


_turns_lock = threading.Lock()
_turns_by_size: dict[int, threading.BoundedSemaphore] = {}


def _turns(size: int) -> threading.BoundedSemaphore:
    """The process's semaphore for a bound: one per configured size, so one in the app (made
    under a lock: two first callers must not each get a semaphore of their own)."""
    with _turns_lock:
        turns = _turns_by_size.get(size)
        if turns is None:
            turns = _turns_by_size[size] = threading.BoundedSemaphore(size)
        return turns


@contextmanager
def _hashing_turn() -> Iterator[None]:
    """Hold one of the process's hashing turns; HashingBusy when none frees up in time."""
    turns = _turns(get_settings().password_hash_concurrency)
    if not turns.acquire(timeout=SLOT_WAIT_SECONDS):
        raise HashingBusy()
    try:
        yield
    finally:
        turns.release()


def hash_password(password: str) -> str:
    """The encoded Argon2id hash (salt and parameters included) to store for `password`.

    Raises HashingBusy when no hashing turn frees up in time.
    """
    with _hashing_turn():
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches `password_hash`; a malformed hash is a mismatch, not an error.

    A damaged stored hash must lock that account out rather than crash the sign-in page.
    Raises HashingBusy when no hashing turn frees up in time.
    """
    with _hashing_turn():
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def dummy_verify(password: str) -> None:
    """Spend the time of one real verification, for an email that has no password.

    Without it, "unknown email" would answer in microseconds and "wrong password" in tens of
    milliseconds, and the difference would tell an attacker which emails have accounts.
    """
    verify_password(_dummy_hash(), password)

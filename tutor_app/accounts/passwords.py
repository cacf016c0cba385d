"""Password hashing with Argon2id (argon2-cffi), the OWASP-recommended memory-hard hash.

The hasher's parameters are argon2-cffi's defaults (RFC 9106's low-memory profile); when a
later release raises them, `needs_rehash` says so and sign-in upgrades the stored hash.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """The encoded Argon2id hash (salt and parameters included) to store for `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches `password_hash`; a malformed hash is a mismatch, not an error.

    A damaged stored hash must lock that account out rather than crash the sign-in page.
    """
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
    return _hasher.hash(secrets.token_urlsafe(16))


def dummy_verify(password: str) -> None:
    """Spend the time of one real verification, for an email that has no password.

    Without it, "unknown email" would answer in microseconds and "wrong password" in tens of
    milliseconds, and the difference would tell an attacker which emails have accounts.
    """
    verify_password(_dummy_hash(), password)

"""Password hashing: Argon2id, salted, verifiable, upgradeable, and never crashing on bad data."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from tutor_app.accounts import passwords

# The app's own Argon2 costs, not the suite's cheap ones.
pytestmark = pytest.mark.real_password_hashing


class CountingHasher(PasswordHasher):
    """The real hasher, counting verifications (to see that dummy_verify does the work)."""

    def __init__(self) -> None:
        super().__init__()
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # type: ignore[override]
        self.verifications += 1
        return super().verify(hash, password)


def test_these_tests_use_the_real_costs() -> None:
    default = PasswordHasher()

    assert passwords._hasher.time_cost == default.time_cost
    assert passwords._hasher.memory_cost == default.memory_cost


def test_hash_is_argon2id_and_salted() -> None:
    first = passwords.hash_password("correct horse")
    second = passwords.hash_password("correct horse")

    assert first.startswith("$argon2id$")
    assert "correct horse" not in first
    assert first != second  # a fresh salt each time


def test_verify_accepts_only_the_right_password() -> None:
    stored = passwords.hash_password("correct horse")

    assert passwords.verify_password(stored, "correct horse") is True
    assert passwords.verify_password(stored, "correct horsE") is False
    assert passwords.verify_password(stored, "") is False


@pytest.mark.parametrize("stored", ["", "plaintext", "$argon2id$v=19$m=1$broken"])
def test_a_malformed_stored_hash_is_a_mismatch_not_a_crash(stored: str) -> None:
    assert passwords.verify_password(stored, "anything") is False
    assert passwords.needs_rehash(stored) is True


def test_hashes_made_with_weaker_parameters_need_a_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse")

    assert passwords.verify_password(weak, "correct horse") is True
    assert passwords.needs_rehash(weak) is True
    assert passwords.needs_rehash(passwords.hash_password("correct horse")) is False


def test_dummy_verify_does_a_real_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    hasher = CountingHasher()
    monkeypatch.setattr(passwords, "_hasher", hasher)
    passwords._dummy_hash.cache_clear()

    passwords.dummy_verify("whatever")

    assert hasher.verifications == 1
    passwords._dummy_hash.cache_clear()

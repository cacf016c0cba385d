"""Password hashing: Argon2id, salted, verifiable, upgradeable, never crashing on bad data, and
never more hashes at once than the process allows."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from argon2 import PasswordHasher

from tests.hashing_helpers import hashing_turns_taken
from tests.money_helpers import run_concurrently
from tutor_app.accounts import passwords
from tutor_app.core.settings import Settings, get_settings

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


class OverlapCountingHasher(PasswordHasher):
    """A cheap hasher that records how many hashes and verifications run at the same moment
    (each lasts a few milliseconds, so unbounded callers would overlap)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self._lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0

    def _measured(self, work: Callable[[], object]) -> object:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            time.sleep(0.02)
            return work()
        finally:
            with self._lock:
                self.running -= 1

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        return str(self._measured(lambda: PasswordHasher.hash(self, password)))

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # type: ignore[override]
        return bool(self._measured(lambda: PasswordHasher.verify(self, hash, password)))


def test_many_threads_hashing_at_once_never_exceed_the_bound(
    monkeypatch: pytest.MonkeyPatch, configure: Callable[..., Settings]
) -> None:
    configure(PASSWORD_HASH_CONCURRENCY="3")
    hasher = OverlapCountingHasher()
    monkeypatch.setattr(passwords, "_hasher", hasher)
    stored = hasher.hash("correct horse")
    hasher.most_at_once = 0

    def sign_in_or_up(i: int) -> object:
        if i % 2:
            return passwords.verify_password(stored, "correct horse")
        return passwords.hash_password(f"password {i}")

    outcomes = run_concurrently(24, sign_in_or_up)

    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert hasher.most_at_once == 3  # the bound was reached, and never passed


def test_waiting_too_long_for_a_turn_is_busy_not_a_queue_without_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with hashing_turns_taken(monkeypatch):
        started = time.monotonic()
        with pytest.raises(passwords.HashingBusy) as busy:
            passwords.hash_password("correct horse")
        with pytest.raises(passwords.HashingBusy):
            passwords.verify_password("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "x")

    assert time.monotonic() - started < 2
    assert str(busy.value) == "We're busy right now. Please try again in a moment."
    assert busy.value.retry_after == passwords.BUSY_RETRY_AFTER
    assert passwords.hash_password("correct horse").startswith("$argon2id$")  # turns are back


def test_a_turn_freed_while_waiting_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    with hashing_turns_taken(monkeypatch, wait=10):
        turns = passwords._turns(get_settings().password_hash_concurrency)
        threading.Timer(0.2, turns.release).start()

        assert passwords.hash_password("correct horse").startswith("$argon2id$")

        turns.acquire()  # hand the turn back to the helper, which releases them all

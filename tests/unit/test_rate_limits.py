"""Rate limits: counted in the database per (action, key), refused past the limit with the
wait, forgotten once the window passes; the same counters for every worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests.money_helpers import run_concurrently
from tutor_app.core import clock, rate_limits
from tutor_app.core import db as app_db
from tutor_app.core.models import RateLimitCounter
from tutor_app.core.rate_limits import Limit, RateLimited

THREE_PER_TEN_MINUTES = Limit("test", 3, timedelta(minutes=10))


def _hit(key: str, limit: Limit = THREE_PER_TEN_MINUTES) -> None:
    with app_db.session() as db:
        rate_limits.check(db, (limit, key))


def _refused(key: str, limit: Limit = THREE_PER_TEN_MINUTES) -> RateLimited:
    with pytest.raises(RateLimited) as info:
        _hit(key, limit)
    return info.value


@pytest.fixture
def frozen(database: sa.Engine) -> None:
    """The app's clock stopped where the test starts, so waits come out exact."""
    clock.freeze(clock.now())


@pytest.mark.parametrize(
    ("seconds", "message"),
    [
        (1, "Too many attempts. Try again in 1 second."),
        (59, "Too many attempts. Try again in 59 seconds."),
        (60, "Too many attempts. Try again in 1 minute."),
        (61, "Too many attempts. Try again in 2 minutes."),
        (900, "Too many attempts. Try again in 15 minutes."),
    ],
)
def test_the_wait_is_said_in_minutes_or_under_a_minute_in_seconds(
    seconds: int, message: str
) -> None:
    assert rate_limits.retry_message(seconds) == message
    assert str(RateLimited(seconds)) == message


def test_hits_past_the_limit_are_refused_with_the_wait(frozen: None) -> None:
    for _ in range(3):
        _hit("198.51.100.1")
    clock.freeze(clock.now() + timedelta(minutes=4))

    refused = _refused("198.51.100.1")

    assert refused.retry_after == 6 * 60
    assert str(refused) == "Too many attempts. Try again in 6 minutes."


def test_keys_and_actions_are_counted_apart(frozen: None) -> None:
    other_action = Limit("other", 3, timedelta(minutes=10))
    for _ in range(3):
        _hit("198.51.100.1")

    _hit("198.51.100.2")
    _hit("198.51.100.1", other_action)
    _refused("198.51.100.1")


def test_keys_are_compared_trimmed_and_lower_case(frozen: None) -> None:
    for key in ("Ann@Example.com", " ann@example.com", "ANN@EXAMPLE.COM"):
        _hit(key)

    _refused("ann@example.com")


def test_the_window_passes_with_the_clock(frozen: None) -> None:
    for _ in range(3):
        _hit("198.51.100.1")
    _refused("198.51.100.1")

    clock.freeze(clock.now() + THREE_PER_TEN_MINUTES.window)
    for _ in range(3):
        _hit("198.51.100.1")  # a new window, counted from one again

    assert _refused("198.51.100.1").retry_after == 10 * 60


def test_refused_hits_do_not_stretch_the_window(frozen: None) -> None:
    for _ in range(3):
        _hit("198.51.100.1")
    for minute in range(1, 10):
        clock.freeze(clock.now() + timedelta(minutes=1))
        assert _refused("198.51.100.1").retry_after == (10 - minute) * 60

    clock.freeze(clock.now() + timedelta(minutes=1))
    _hit("198.51.100.1")


def test_the_longest_wait_of_several_limits_is_the_answer(frozen: None) -> None:
    per_hour = Limit("hourly", 1, timedelta(hours=1))
    with app_db.session() as db:
        rate_limits.check(db, (THREE_PER_TEN_MINUTES, "k"), (per_hour, "k"))

    with pytest.raises(RateLimited) as refused, app_db.session() as db:
        rate_limits.check(db, (THREE_PER_TEN_MINUTES, "k"), (per_hour, "k"))

    assert refused.value.retry_after == 60 * 60


def test_a_hit_counts_even_when_the_caller_rolls_back(session: Session) -> None:
    with app_db.session() as db:
        rate_limits.check(db, (THREE_PER_TEN_MINUTES, "k"))
        db.rollback()

    session.expire_all()
    row = session.get(RateLimitCounter, ("test", "k"))
    assert row is not None and row.hits == 1


def test_concurrent_hits_are_all_counted(database: sa.Engine) -> None:
    limit = Limit("burst", 10, timedelta(minutes=10))

    outcomes = run_concurrently(25, lambda _: _hit("198.51.100.1", limit))

    assert outcomes.count(None) == 10
    assert sum(isinstance(o, RateLimited) for o in outcomes) == 15
    with app_db.read_session() as db:
        assert db.exec(select(RateLimitCounter.hits)).one() == 25


@pytest.mark.parametrize(
    ("limit_fn", "per_client", "per_subject", "subject"),
    [
        (rate_limits.limit_sign_up, rate_limits.SIGN_UP_PER_ADDRESS,
         rate_limits.SIGN_UP_PER_EMAIL, "email"),
        (rate_limits.limit_password_reset, rate_limits.PASSWORD_RESET_PER_ADDRESS,
         rate_limits.PASSWORD_RESET_PER_EMAIL, "email"),
        (rate_limits.limit_email_change, rate_limits.EMAIL_CHANGE_PER_ADDRESS,
         rate_limits.EMAIL_CHANGE_PER_ACCOUNT, "user_id"),
        (rate_limits.limit_checkout, rate_limits.CHECKOUT_PER_ADDRESS,
         rate_limits.CHECKOUT_PER_ACCOUNT, "user_id"),
        (rate_limits.limit_consultation, rate_limits.CONSULTATION_PER_ADDRESS,
         rate_limits.CONSULTATION_PER_ACCOUNT, "user_id"),
    ],
)
def test_each_action_is_limited_per_address_and_per_email_or_account(
    frozen: None, limit_fn: object, per_client: Limit, per_subject: Limit, subject: str
) -> None:
    def call(ip: str, who: str) -> None:
        with app_db.session() as db:
            limit_fn(db, ip=ip, **{subject: who})  # type: ignore[operator]

    # One address, a different email (account) each time.
    for i in range(per_client.max_hits):
        call("198.51.100.1", f"someone{i}@example.com")
    with pytest.raises(RateLimited):
        call("198.51.100.1", "fresh@example.com")
    # One email (account), a different address each time.
    for i in range(per_subject.max_hits):
        call(f"192.0.2.{i}", "ann@example.com")
    with pytest.raises(RateLimited) as refused:
        call("192.0.2.250", "ann@example.com")
    assert refused.value.retry_after == int(per_subject.window.total_seconds())
    call("192.0.2.251", "bob@example.com")  # neither the address nor the email is worn out


def test_an_address_key_is_short_and_never_empty() -> None:
    assert rate_limits.address_key("2001:DB8::1") == "2001:db8::1"
    assert rate_limits.address_key("") == rate_limits.address_key(None) == "unknown"
    assert len(rate_limits.address_key("x" * 500)) == rate_limits.MAX_ADDRESS_LENGTH

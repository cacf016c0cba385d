"""The one clock: every "now" the app decides with comes from `now()`.

Business time (what is upcoming, what is past, notice and horizons, hold and session expiry,
reminders, refund windows) must be pinnable, so tests and demos can run the app as if it
were any date: a month's last day, a daylight-saving change, 29 February. Two ways to move it:

- `shift_to(at)`: from now on the clock reads `at` and ticks on in real time. Processes given
  the same `CLOCK_SHIFT_SECONDS` read the same time (the browser tests run the app that way).
- `freeze(at)`: the clock reads `at` until told otherwise (unit tests of exact instants).

Protocol timestamps are not business time and keep the real clock: a webhook signature's
timestamp, an OAuth token's expiry and a JWT's `iat`/`exp` are checked by the other side
against its own real clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tutor_app.core.settings import get_settings

_frozen: datetime | None = None
_shift: timedelta | None = None


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    if _frozen is not None:
        return _frozen
    shift = _shift if _shift is not None else get_settings().clock_shift
    return datetime.now(UTC) + shift


def real_now() -> datetime:
    """The machine's own time, for protocol timestamps only (see the module doc)."""
    return datetime.now(UTC)


def shift() -> timedelta:
    """How far the clock is from the machine's; give it to another process of the app as
    `CLOCK_SHIFT_SECONDS` and both read the same time (a frozen clock counts as shifted to
    its instant)."""
    if _frozen is not None:
        return _frozen - datetime.now(UTC)
    return _shift if _shift is not None else get_settings().clock_shift


def shift_to(at: datetime) -> timedelta:
    """Make the clock read `at` now and tick on from there; return the shift applied."""
    global _frozen, _shift
    _frozen = None
    _shift = _aware(at) - datetime.now(UTC)
    return _shift


def shift_by(delta: timedelta) -> None:
    """Make the clock run `delta` from the machine's, ticking (as `CLOCK_SHIFT_SECONDS`)."""
    global _frozen, _shift
    _frozen = None
    _shift = delta


def freeze(at: datetime) -> None:
    """Stop the clock at `at` until `shift_to`, `freeze` or `reset` is called again."""
    global _frozen
    _frozen = _aware(at).astimezone(UTC)


def reset() -> None:
    """Back to the configured clock (`CLOCK_SHIFT_SECONDS`, zero by default)."""
    global _frozen, _shift
    _frozen = None
    _shift = None


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("the clock takes timezone-aware datetimes only")
    return at

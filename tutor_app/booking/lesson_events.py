"""What happens after a booking changes: the one place the booking write side calls.

The write side (the payment webhook, cancel, reschedule, a refund made in Stripe) commits the
booking first and then calls `after_booking_created/canceled/rescheduled(booking_id)`. Those
run every follow-up registered for the event and never raise: the booking is already
committed and paid for, so a follow-up failure is logged and left to that follow-up's retry
job. They are safe to call twice (a webhook delivered twice): every follow-up dedupes by
booking id (notification keys, the stored calendar event id).

This module knows no follow-up itself, so the booking side depends on neither email nor
calendars: `tutor_app.wiring` registers them (the student's emails, the tutor's Google
Calendar) at start-up with

    lesson_events.register_follow_up(lesson_events.BOOKING_CREATED, fn, name="...")

Follow-ups are queued on a small thread pool and the call returns at once, so a webhook or a
UI event never waits on SMTP or Google; they run in registration order. `wait=True` runs them
in the caller's thread instead (tests, and jobs that are themselves off the request path).
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from tutor_app.core import request_context

log = logging.getLogger(__name__)

BOOKING_CREATED = "booking_created"
BOOKING_CANCELED = "booking_canceled"
BOOKING_RESCHEDULED = "booking_rescheduled"
EVENTS = (BOOKING_CREATED, BOOKING_CANCELED, BOOKING_RESCHEDULED)

FollowUp = Callable[[str], object]

_registry: dict[str, dict[str, FollowUp]] = {event: {} for event in EVENTS}
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pending: set[Future[None]] = set()


def _name(fn: FollowUp) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def register_follow_up(event: str, fn: FollowUp, *, name: str | None = None) -> str:
    """Run `fn(booking_id)` after every `event`; returns the follow-up's name.

    Registering the same name again replaces it (in its place), so registering twice is
    harmless.
    `fn` must be idempotent per booking: events can be delivered more than once.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown lesson event {event!r}; known: {', '.join(EVENTS)}")
    key = name or _name(fn)
    with _lock:
        _registry[event][key] = fn
    return key


def unregister_follow_up(event: str, name: str) -> bool:
    """Remove a follow-up by the name it was registered under; True when there was one."""
    with _lock:
        return _registry.get(event, {}).pop(name, None) is not None


def follow_ups(event: str) -> list[tuple[str, FollowUp]]:
    """The follow-ups of `event`, in order."""
    with _lock:
        return list(_registry[event].items())


def _run(event: str, booking_id: str) -> None:
    # Every line a follow-up logs names the booking (and keeps the caller's request id).
    with request_context.bound_fields(booking_id=booking_id):
        for name, fn in follow_ups(event):
            try:
                fn(booking_id)
            except Exception:
                # The booking is committed; the follow-up's own retry job picks this up.
                log.exception("%s follow-up %s failed for booking %s", event, name, booking_id)


def _dispatch(event: str, booking_id: str, wait: bool) -> None:
    try:
        if wait:
            _run(event, booking_id)
            return
        global _pool
        with _lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lesson-events")
            pool = _pool
        # In the caller's context: the follow-ups log under the request id that caused them.
        future = pool.submit(contextvars.copy_context().run, _run, event, booking_id)
        with _lock:
            _pending.add(future)
        future.add_done_callback(_forget)
    except Exception:
        log.exception("%s follow-ups could not run for booking %s", event, booking_id)


def _forget(future: Future[None]) -> None:
    with _lock:
        _pending.discard(future)


def wait_idle(timeout: float = 30.0) -> bool:
    """Wait until every queued follow-up has finished; False if some still run at `timeout`.

    For orderly shutdown and for tests, which must not reset the database under a follow-up.
    """
    with _lock:
        pending = list(_pending)
    _done, not_done = wait(pending, timeout=timeout)
    return not not_done


def after_booking_created(booking_id: str, *, wait: bool = False) -> None:
    """Call after the new booking is committed: confirmation email, calendar event. Never raises."""
    _dispatch(BOOKING_CREATED, booking_id, wait)


def after_booking_canceled(booking_id: str, *, wait: bool = False) -> None:
    """Call after the cancel is committed (status CANCELED, sequence bumped). Never raises."""
    _dispatch(BOOKING_CANCELED, booking_id, wait)


def after_booking_rescheduled(booking_id: str, *, wait: bool = False) -> None:
    """Call after the new time is committed (sequence bumped). Never raises."""
    _dispatch(BOOKING_RESCHEDULED, booking_id, wait)


"""Signals that "the booking for this checkout session exists now", for the success page.

The webhook commits in a worker thread; the success page waits in the event loop of the
process that serves the student. `notify_booked` may be called from any thread: it wakes each
waiter through its own loop's `call_soon_threadsafe`. With several workers the webhook may run
in another process and nobody here is notified, so a waiter always re-checks the database when
this returns (a timeout just means "look again"); the signal only makes the common case instant.

Across processes and nodes: when `REDIS_URL` is set, `notify_booked` also publishes the session
id on the Redis channel `CHANNEL`, and every process runs `relay_booked_signals` (a lifespan
task of the app) which wakes its own waiters for each id it hears. Publishing never blocks and
never fails the webhook (`integrations.redis_bus`); a lost message costs the database re-check.

A notification that lands a moment before its waiter registers is remembered for a short while
(`RECENT_SECONDS`), so the check-then-wait sequence of a caller cannot miss it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from tutor_app.core.settings import get_settings
from tutor_app.integrations import redis_bus

RECENT_SECONDS = 120.0
CHANNEL = "tutor_app:booked"
_MAX_RECENT = 10_000

_lock = threading.Lock()
_waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
_recent: OrderedDict[str, float] = OrderedDict()


def _was_notified(session_id: str, now: float) -> bool:
    stamp = _recent.get(session_id)
    return stamp is not None and now - stamp <= RECENT_SECONDS


def notify_booked(checkout_session_id: str) -> None:
    """Wake everything waiting on this session in this process, and in every other one when
    `REDIS_URL` is set. Thread-safe, never blocks, never raises."""
    wake_local(checkout_session_id)
    redis_url = get_settings().redis_url
    if redis_url:
        redis_bus.publish(redis_url, CHANNEL, checkout_session_id)


def wake_local(checkout_session_id: str) -> None:
    """Wake everything waiting on this session in this process only. Thread-safe."""
    now = time.monotonic()
    with _lock:
        _recent[checkout_session_id] = now
        _recent.move_to_end(checkout_session_id)
        while len(_recent) > _MAX_RECENT or (
            _recent and now - next(iter(_recent.values())) > RECENT_SECONDS
        ):
            _recent.popitem(last=False)
        waiters = _waiters.pop(checkout_session_id, set())
    for loop, event in waiters:
        with contextlib.suppress(RuntimeError):  # that loop has closed: nobody is waiting
            loop.call_soon_threadsafe(event.set)


async def wait_for_booking(checkout_session_id: str, timeout: float) -> bool:
    """True as soon as this process is told the booking exists; False after `timeout` seconds.

    Callers re-check the database either way (the webhook may have run in another worker).
    """
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    entry = (loop, event)
    with _lock:
        if _was_notified(checkout_session_id, time.monotonic()):
            return True
        _waiters.setdefault(checkout_session_id, set()).add(entry)
    try:
        await asyncio.wait_for(event.wait(), timeout)
        return True
    except TimeoutError:
        return False
    finally:
        with _lock:
            waiting = _waiters.get(checkout_session_id)
            if waiting is not None:
                waiting.discard(entry)
                if not waiting:
                    del _waiters[checkout_session_id]


async def relay_booked_signals(*, subscribed: Callable[[], None] | None = None) -> None:
    """Wake this process's waiters for every session booked on any node (a lifespan task).

    Returns at once when `REDIS_URL` is not set: there is nothing to listen to.
    """
    redis_url = get_settings().redis_url
    if not redis_url:
        return
    await redis_bus.listen(redis_url, CHANNEL, wake_local, subscribed=subscribed)

"""Busy times from a tutor's connected Google Calendar, for the slot picker.

A tutor with a dentist appointment in their own calendar should not be offered for a lesson
then. `calendar_busy` asks Calendar's freeBusy for the tutor's primary calendar and returns the
busy spans as `availability.Busy`, to be subtracted like bookings and holds (but without the
tutor's lesson buffer around them: `buffered=False`).

The wizard recomputes slots on every step, so answers are cached per tutor, in this process,
for `CACHE_TTL` (60 s): a fetch covers a window a day wider than asked, so the next request a
few seconds later (whose window has moved with the clock) is served from it. Concurrent misses
for one tutor wait for a single fetch. Any failure gives [] (logged, and remembered for
`FAILURE_TTL` so a Google outage does not slow every page): a calendar problem may offer a slot
the tutor is busy in, it never blocks booking.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from tutor_app.core import db as app_db
from tutor_app.integrations.google_calendar import CalendarApiError
from tutor_app.scheduling.availability import Busy
from tutor_app.tutor_calendar import connections
from tutor_app.tutor_calendar.connections import ConnectionRef, ConnectionStatus

log = logging.getLogger(__name__)

CACHE_TTL = 60.0
FAILURE_TTL = 30.0
FETCH_TIMEOUT = 5.0  # seconds: the wizard waits for this
_PAD = timedelta(days=1)


@dataclass(frozen=True)
class _Entry:
    fetched_at: float
    ttl: float
    start: datetime
    end: datetime
    busy: tuple[Busy, ...]

    def covers(self, start: datetime, end: datetime, now: float) -> bool:
        return now - self.fetched_at < self.ttl and self.start <= start and end <= self.end


_cache: dict[str, _Entry] = {}
_cache_lock = threading.Lock()
_tutor_locks: dict[str, threading.Lock] = {}


def _lock_for(tutor_id: str) -> threading.Lock:
    with _cache_lock:
        return _tutor_locks.setdefault(tutor_id, threading.Lock())


def clear_cache() -> None:
    """Forget every cached answer (tests; after a tutor connects or disconnects, optionally)."""
    with _cache_lock:
        _cache.clear()


def calendar_busy(tutor_id: str, start: datetime, end: datetime) -> list[Busy]:
    """The tutor's busy spans in their Google Calendar overlapping `[start, end)`, UTC.

    [] when the tutor has no working connection or anything fails. Opens its own database
    session when it needs one; thread-safe.
    """
    if end <= start:
        return []
    lock = _lock_for(tutor_id)
    with lock:
        with _cache_lock:
            entry = _cache.get(tutor_id)
        if entry is None or not entry.covers(start, end, time.monotonic()):
            entry = _fetch(tutor_id, start, end + _PAD)
            with _cache_lock:
                _cache[tutor_id] = entry
    return [b for b in entry.busy if b.start < end and b.end > start]


def _fetch(tutor_id: str, start: datetime, end: datetime) -> _Entry:
    fetched_at = time.monotonic()
    try:
        # Runs inside the caller's write transaction (checkout): read without the write lock.
        with app_db.read_session() as db:
            row = connections.connection_for_tutor(db, tutor_id=tutor_id)
            conn = ConnectionRef.of(row) if row is not None else None
        if conn is None or conn.status != ConnectionStatus.CONNECTED:
            return _Entry(fetched_at, CACHE_TTL, start, end, ())
        with connections.open_calendar(conn, timeout=FETCH_TIMEOUT) as client:
            spans = client.freebusy(start, end)
    except CalendarApiError as exc:
        log.warning("calendar busy times for tutor %s unavailable: %s", tutor_id, exc)
        return _Entry(fetched_at, FAILURE_TTL, start, end, ())
    except Exception:
        log.exception("calendar busy times for tutor %s failed", tutor_id)
        return _Entry(fetched_at, FAILURE_TTL, start, end, ())
    # The tutor sets these spans themselves: the lesson buffer is not added around them.
    busy = tuple(Busy(s, e, buffered=False) for s, e in spans if e > s)
    return _Entry(fetched_at, CACHE_TTL, start, end, busy)

"""Lessons whose end has passed become COMPLETED: a periodic, idempotent step.

One conditional UPDATE (`SCHEDULED` and `end_time <= now`), so running it twice, or in two
workers at once, completes each lesson once and never touches a canceled one. A lesson is
complete only once its end has passed, not at its start: the dashboard's "Past" already shows
a started lesson, but a cancel or a refund during the lesson must still see it SCHEDULED.
"""

from __future__ import annotations

import logging
from datetime import datetime

from tutor_app.booking import transitions
from tutor_app.core import clock
from tutor_app.core import db as app_db

log = logging.getLogger(__name__)


def complete_past_lessons(*, now: datetime | None = None) -> int:
    """Mark every SCHEDULED lesson that has ended as COMPLETED; how many changed.

    Owns its transaction.
    """
    now = now or clock.now()
    with app_db.write_session() as db:
        result = db.execute(transitions.complete_ended(now))
        db.commit()
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        log.info("lesson completion: %d lessons completed", count)
    return count

"""After a lesson begins, its tutor says how it went: attended, or the student did not come.

The mark is the tutor's record (the earnings count an attended lesson as completed at once,
without waiting for the completion job); it changes nothing a calendar or the student sees.
Only the lesson's tutor (or an admin) may set it, only once the lesson has begun, and never
for a canceled lesson; it can be corrected (attended <-> no-show) any time after.
"""

from __future__ import annotations

import logging
from datetime import datetime

from tutor_app.booking import transitions
from tutor_app.booking.access import NotFound, tutor_booking
from tutor_app.booking.transitions import ATTENDANCE, ATTENDED, NO_SHOW
from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.models import BookingStatus, Role, User

__all__ = ["ATTENDED", "NO_SHOW", "CannotMarkAttendance", "NotFound", "mark_attendance"]

log = logging.getLogger(__name__)

NOT_STARTED = "You can mark attendance once the lesson has started."
CANCELED = "This lesson was canceled, so there is no attendance to mark."
UNKNOWN_MARK = "Choose attended or no-show."


class CannotMarkAttendance(ValueError):
    """The mark does not apply to this lesson (yet); str() is for people."""


def why_not_markable(status: str, start: datetime, now: datetime) -> str | None:
    """Why a lesson's attendance cannot be marked at `now`, or None when it can (the pages
    show the buttons by the same rule)."""
    if status == BookingStatus.CANCELED:
        return CANCELED
    if start > now:
        return NOT_STARTED
    return None


def mark_attendance(
    *, booking_id: str, user: User, attendance: str, now: datetime | None = None,
    in_transaction: transitions.InTransaction | None = None,
) -> str:
    """Set the lesson's attendance (ATTENDED or NO_SHOW) for its tutor; returns it.

    Raises NotFound (not this tutor's lesson, or no such lesson) or CannotMarkAttendance.
    Setting the same mark again changes nothing. `in_transaction` (an admin's audit entry)
    runs in the mark's transaction.
    """
    now = now or clock.now()
    if attendance not in ATTENDANCE:
        raise CannotMarkAttendance(UNKNOWN_MARK)
    with app_db.write_session() as db:
        booking = tutor_booking(db, booking_id=booking_id, user=user, lock=True)
        problem = why_not_markable(booking.status, booking.start_time, now)
        if problem is not None:
            raise CannotMarkAttendance(problem)
        if booking.attendance != attendance:
            role = "admin" if user.role == Role.ADMIN else "tutor"
            transitions.mark_attendance(booking, attendance=attendance, now=now,
                                        actor=transitions.Actor(role, user.id))
            db.add(booking)
            if in_transaction is not None:
                in_transaction(db, booking)
            db.commit()
            log.info("booking %s marked %s by user %s", booking_id, attendance, user.id)
    return attendance

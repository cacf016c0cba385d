"""Who may change a lesson, until when, and whom to tell afterwards.

Cancel, reschedule and refunds share these rules, kept here so they cannot drift apart:

- A student reaches only their own bookings. Someone else's booking and a booking that does not
  exist look the same (`NotFound`, which routes answer with 404), so an id never reveals
  whether another student's lesson exists, let alone its details.
- A tutor reaches the bookings of the profile they run (an admin, any tutor's), through
  `tutors.access.tutor_for_user`; anything else is the same `NotFound`.
- The policy window (`settings.refund_window_hours`, 24 h by default) is measured back from the
  lesson's start: outside it a cancel is refunded and a reschedule is allowed.
- Once a change is committed, the callers tell `lesson_events` (emails, calendars); a
  follow-up's failure is logged there and never undoes the change the student made.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from tutor_app.core.models import Booking, User
from tutor_app.core.settings import get_settings
from tutor_app.tutors.access import tutor_for_user


class NotFound(LookupError):
    """No booking with that id belongs to this user (unknown and foreign look the same)."""


def owned_booking(db: Session, *, booking_id: str, user_id: str, lock: bool = False) -> Booking:
    """The user's booking by id, else NotFound; `lock` takes the row lock for the transaction.

    The lock is `SELECT ... FOR UPDATE` on PostgreSQL; SQLite has no row locks, and its callers
    run inside `app_db.write_session()` (BEGIN IMMEDIATE), which already serializes every writer.
    """
    if not booking_id or not user_id:
        raise NotFound(booking_id)
    query = select(Booking).where(Booking.id == booking_id, Booking.user_id == user_id)
    if lock:
        query = query.with_for_update()
    booking = db.exec(query).first()
    if booking is None:
        raise NotFound(booking_id)
    return booking


def tutor_booking(db: Session, *, booking_id: str, user: User | None, lock: bool = False
                  ) -> Booking:
    """A booking of the tutor profile `user` runs (any, for an admin), else NotFound; `lock` as
    in `owned_booking`."""
    if not booking_id or user is None:
        raise NotFound(booking_id)
    query = select(Booking).where(Booking.id == booking_id)
    if lock:
        query = query.with_for_update()
    booking = db.exec(query).first()
    if booking is None or tutor_for_user(db, user, tutor_id=booking.tutor_id) is None:
        raise NotFound(booking_id)
    return booking


def policy_window() -> timedelta:
    """How long before its start a lesson can still be refunded or moved."""
    return timedelta(hours=get_settings().refund_window_hours)


def within_policy(start: datetime, now: datetime) -> bool:
    """Whether `now` is at least the policy window before `start` (the boundary counts)."""
    return now <= start - policy_window()


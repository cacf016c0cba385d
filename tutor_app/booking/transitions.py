"""Every change of a booking's status, time or refunded amount, in one place.

A paid booking starts SCHEDULED (or CANCELED with `slot_taken`, when its slot was taken before
the payment landed). From SCHEDULED it is moved to another time, CANCELED (by its student, by
its tutor, or by a refund made in Stripe) or, once its end has passed, COMPLETED; a COMPLETED
lesson can still be CANCELED by a full refund. A CANCELED booking never changes status again.
Once a lesson has begun its tutor records its attendance (attended or no-show), whatever its
status but canceled.

`sequence` is the iCalendar SEQUENCE of the lesson's calendar entries (the student's .ics, the
tutor's Google Calendar): every change those copies must follow (a cancel, a move) raises it,
so a calendar replaces its older copy. Completion changes nothing a calendar shows, and a
booking canceled at birth never had a copy, so neither bumps it.

The functions change the row in the caller's transaction; the caller decides whether the
change is allowed (policy, ownership) and commits. Each change also appends a `BookingEvent`
(what changed, and who did it: `Actor`) to the same transaction, so the admin's timeline of a
booking is written by the one place that changes it. A booking being built (not yet in a db
session) has no history yet; its creation is recorded by its writer (`record_created`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Update, update
from sqlalchemy.orm import object_session
from sqlmodel import Session, col

from tutor_app.core.models import Booking, BookingEvent, BookingStatus

# Booking.cancel_reason codes (the dashboard words them for the student: cancellation).
SLOT_TAKEN_REASON = "slot_taken"  # paid, but another booking had the slot: refunded in full
STUDENT_CANCELED_REASON = "student_canceled"
REFUNDED_IN_STRIPE_REASON = "refunded_in_stripe"  # a refund made outside the app
TUTOR_CANCELED_REASON = "tutor_canceled"  # the tutor called it off: refunded in full
ADMIN_CANCELED_REASON = "admin_canceled"  # the business called it off: refund as it decided

# Booking.attendance: what the tutor (or an admin) says happened once the lesson began.
ATTENDED = "attended"
NO_SHOW = "no_show"
ATTENDANCE = (ATTENDED, NO_SHOW)


# BookingEvent.kind: one per kind of change.
CREATED = "created"
CANCELED = "canceled"
MOVED = "rescheduled"
ATTENDANCE_MARKED = "attendance"
REFUNDED = "refunded"
REFUND_REQUESTED = "refund_requested"
CONFIRMATION_RESENT = "confirmation_resent"


@dataclass(frozen=True)
class Actor:
    """Who changed a booking: "student", "tutor", "admin" or "system" (webhook, jobs), and the
    user when one acted."""

    role: str = "system"
    user_id: str | None = None


SYSTEM = Actor()

# Runs inside the transaction of a booking change, after the change (an admin action's audit
# entry, so the action and its record commit together).
InTransaction = Callable[[Session, Booking], None]


def add_event(db: Session, *, booking_id: str, kind: str, now: datetime, actor: Actor = SYSTEM,
              detail: dict[str, Any] | None = None) -> None:
    """Append one step to the booking's history, in the caller's transaction."""
    db.add(BookingEvent(booking_id=booking_id, kind=kind, actor_role=actor.role,
                        actor_id=actor.user_id, detail=detail or {}, created_at=now))


def _log(booking: Booking, kind: str, now: datetime, actor: Actor,
         detail: dict[str, Any]) -> None:
    db = object_session(booking)
    if isinstance(db, Session):
        add_event(db, booking_id=booking.id, kind=kind, now=now, actor=actor, detail=detail)


class InvalidTransition(ValueError):
    """The change does not apply to the booking's current status (a bug in the caller)."""


def new_booking_values(*, canceled_reason: str | None, now: datetime) -> dict[str, Any]:
    """The status columns of a booking being inserted: SCHEDULED, or CANCELED at once with
    `canceled_reason` (a paid session whose slot was taken)."""
    canceled = canceled_reason is not None
    return {
        "status": BookingStatus.CANCELED if canceled else BookingStatus.SCHEDULED,
        "canceled_at": now if canceled else None,
        "cancel_reason": canceled_reason,
        "sequence": 0,
    }


def cancel(booking: Booking, *, reason: str, now: datetime, note: str = "",
           actor: Actor = SYSTEM) -> None:
    """Make the booking CANCELED for `reason` (a code), with the canceler's own words `note`;
    its calendar entries are withdrawn."""
    if booking.status == BookingStatus.CANCELED:
        raise InvalidTransition(f"booking {booking.id} is already canceled")
    booking.status = BookingStatus.CANCELED
    booking.canceled_at = now
    booking.cancel_reason = reason
    booking.cancel_note = note
    booking.sequence += 1
    booking.updated_at = now
    _log(booking, CANCELED, now, actor, {"reason": reason, "note": note})


def move(booking: Booking, *, start: datetime, now: datetime, actor: Actor = SYSTEM) -> None:
    """Move a SCHEDULED booking to `start`, keeping its length; its calendar entries follow."""
    if booking.status != BookingStatus.SCHEDULED:
        raise InvalidTransition(f"booking {booking.id} is {booking.status}, not scheduled")
    length = booking.end_time - booking.start_time
    old_start = booking.start_time
    booking.start_time = start
    booking.end_time = start + length
    booking.sequence += 1
    booking.updated_at = now
    _log(booking, MOVED, now, actor, {"from": old_start.isoformat(), "to": start.isoformat()})


def mark_attendance(booking: Booking, *, attendance: str, now: datetime,
                    actor: Actor = SYSTEM) -> None:
    """Record how a lesson that has begun went (ATTENDED or NO_SHOW; it may be corrected).

    Nothing a calendar shows changes, so `sequence` stays. A canceled lesson, or one that has
    not begun, has no attendance.
    """
    if attendance not in ATTENDANCE:
        raise InvalidTransition(f"unknown attendance {attendance!r}")
    if booking.status == BookingStatus.CANCELED:
        raise InvalidTransition(f"booking {booking.id} is canceled")
    if booking.start_time > now:
        raise InvalidTransition(f"booking {booking.id} has not started")
    before = booking.attendance
    booking.attendance = attendance
    booking.updated_at = now
    _log(booking, ATTENDANCE_MARKED, now, actor, {"from": before, "to": attendance})


def record_refunded(booking: Booking, *, refunded_cents: int, now: datetime,
                    actor: Actor = SYSTEM) -> None:
    """Raise the refunded amount to what Stripe confirmed (it never goes down: refund events
    arrive in any order, each with its own view of the total)."""
    before = booking.refunded_cents
    booking.refunded_cents = max(booking.refunded_cents, refunded_cents)
    booking.updated_at = now
    if booking.refunded_cents > before:
        _log(booking, REFUNDED, now, actor, {"refunded_cents": booking.refunded_cents,
                                             "amount_cents": booking.refunded_cents - before})


def record_created(db: Session, *, booking_id: str, now: datetime, actor: Actor = SYSTEM,
                   detail: dict[str, Any] | None = None) -> None:
    """The first step of a booking's history, by the writer that inserted it."""
    add_event(db, booking_id=booking_id, kind=CREATED, now=now, actor=actor, detail=detail)


def complete_ended(now: datetime) -> Update:
    """One conditional UPDATE making every SCHEDULED booking whose end has passed COMPLETED.

    The condition is the whole rule, so running it twice, or in two workers at once,
    completes each lesson once and never touches a canceled one.
    """
    return (
        update(Booking)
        .where(
            col(Booking.status) == BookingStatus.SCHEDULED,
            col(Booking.end_time) <= now,
        )
        .values(status=BookingStatus.COMPLETED, updated_at=now)
    )

"""What an admin may do to a booking, each through the service students and tutors use, each
with a reason written to the audit log in the action's own transaction.

- cancel, with a full, partial or no refund: `cancellation.cancel_by_admin`;
- refund part or the rest without canceling: `refunds.refund_part` (never twice: see there);
- reschedule on the student's behalf, by the student's rules: `reschedule.reschedule_lesson`;
- mark attended / no-show: `attendance.mark_attendance`;
- resend the confirmation email: a new dedupe key per resend,
  `<booking id>:confirmation:resend:<n>` (`mail.notifications.send_once`).

Each function takes the admin (`access.admin_user` has let them in) and refuses an empty reason
before anything changes (`audit.ReasonRequired`). The audit entry's `before` is the booking as
read just before the action; its `after`, as the action left it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, col, func, select

from tutor_app.admin import audit
from tutor_app.admin.booking_history import BOOKING_TARGET
from tutor_app.booking import attendance, cancellation, refunds, reschedule, transitions
from tutor_app.booking.access import NotFound
from tutor_app.booking.cancellation import CancelResult
from tutor_app.booking.refunds import RefundAttempt
from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.models import Booking, BookingStatus, Notification, User
from tutor_app.mail import notifications

CANCEL = "booking.cancel"
REFUND = "booking.refund"
RESCHEDULE = "booking.reschedule"
ATTENDANCE = "booking.attendance"
RESEND_CONFIRMATION = "booking.resend_confirmation"

BAD_AMOUNT = "Write the amount like 30 or 30.00."
CANCELED_NO_RESEND = "This booking is canceled; its confirmation is not sent again."


class ActionRefused(ValueError):
    """The action does not apply to this booking; str() is for people."""


def parse_amount(text: str) -> int:
    """Cents from "30", "30.5" or "$30.00"; ActionRefused for anything else."""
    cleaned = (text or "").strip().lstrip("$").replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ActionRefused(BAD_AMOUNT) from None
    if not value.is_finite() or value < 0 or value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ActionRefused(BAD_AMOUNT)
    return int(value * 100)


def snapshot(booking: Booking) -> dict[str, Any]:
    """The fields an admin action may change, for the audit entry."""
    return {
        "status": booking.status, "start": booking.start_time.isoformat(),
        "end": booking.end_time.isoformat(), "refunded_cents": booking.refunded_cents,
        "attendance": booking.attendance, "cancel_reason": booking.cancel_reason,
    }


def _before(booking_id: str) -> dict[str, Any]:
    with app_db.session() as db:
        booking = db.get(Booking, booking_id) if booking_id else None
        if booking is None:
            raise NotFound(booking_id)
        return snapshot(booking)


def _audited(admin: User, action: str, reason: str, before: dict[str, Any],
             **extra: Any) -> transitions.InTransaction:
    def write(db: Session, booking: Booking) -> None:
        audit.record(db, actor=admin, action=action, target_type=BOOKING_TARGET,
                     target_id=booking.id, reason=reason, before=before,
                     after={**snapshot(booking), **extra})
    return write


def _actor(admin: User) -> transitions.Actor:
    return transitions.Actor("admin", admin.id)


def cancel(*, booking_id: str, admin: User, reason: str, refund_cents: int,
           now: datetime | None = None) -> CancelResult:
    """Cancel a lesson still to come, refunding `refund_cents` (0 to what is left)."""
    reason = audit.clean_reason(reason)
    before = _before(booking_id)
    try:
        return cancellation.cancel_by_admin(
            booking_id=booking_id, actor=_actor(admin), note=reason, refund_cents=refund_cents,
            in_transaction=_audited(admin, CANCEL, reason, before, refund_cents=refund_cents),
            now=now,
        )
    except ValueError as exc:
        if isinstance(exc, audit.ReasonRequired):
            raise
        raise ActionRefused(refunds.AMOUNT_OUT_OF_RANGE) from exc


def refund(*, booking_id: str, admin: User, reason: str, amount_cents: int,
           expected_refunded_cents: int, now: datetime | None = None) -> RefundAttempt:
    """Refund part or the rest of a booking without canceling it (see `refunds.refund_part`)."""
    reason = audit.clean_reason(reason)
    before = _before(booking_id)
    try:
        return refunds.refund_part(
            booking_id=booking_id, amount_cents=amount_cents,
            expected_refunded_cents=expected_refunded_cents, actor=_actor(admin),
            in_transaction=_audited(admin, REFUND, reason, before, refund_cents=amount_cents),
            now=now,
        )
    except refunds.RefundRefused as exc:
        raise ActionRefused(str(exc)) from exc
    except LookupError as exc:
        raise NotFound(booking_id) from exc


def reschedule_for_student(*, booking_id: str, admin: User, reason: str, new_start: datetime,
                           now: datetime | None = None) -> reschedule.RescheduleResult:
    """Move the student's lesson by the student's own rules (raises what they would meet)."""
    reason = audit.clean_reason(reason)
    with app_db.session() as db:
        booking = db.get(Booking, booking_id) if booking_id else None
        if booking is None or booking.user_id is None:
            raise NotFound(booking_id)
        owner, before = booking.user_id, snapshot(booking)
    return reschedule.reschedule_lesson(
        booking_id=booking_id, user_id=owner, new_start=new_start, now=now, actor=_actor(admin),
        in_transaction=_audited(admin, RESCHEDULE, reason, before),
    )


def mark_attendance(*, booking_id: str, admin: User, reason: str, value: str,
                    now: datetime | None = None) -> str:
    """Attended / no-show, by the tutor's rule (only once the lesson began, never canceled)."""
    reason = audit.clean_reason(reason)
    before = _before(booking_id)
    try:
        return attendance.mark_attendance(
            booking_id=booking_id, user=admin, attendance=value, now=now,
            in_transaction=_audited(admin, ATTENDANCE, reason, before),
        )
    except attendance.CannotMarkAttendance as exc:
        raise ActionRefused(str(exc)) from exc


def resend_key(booking_id: str, number: int) -> str:
    return f"{notifications.confirmation_key(booking_id)}:resend:{number}"


def resend_confirmation(*, booking_id: str, admin: User, reason: str,
                        now: datetime | None = None) -> bool:
    """Send the confirmation again under a new dedupe key; True when it went out."""
    reason = audit.clean_reason(reason)
    now = now or clock.now()
    with app_db.write_session() as db:
        booking = db.get(Booking, booking_id) if booking_id else None
        if booking is None:
            raise NotFound(booking_id)
        if booking.status == BookingStatus.CANCELED:
            raise ActionRefused(CANCELED_NO_RESEND)
        earlier = db.exec(select(func.count()).select_from(Notification).where(
            col(Notification.dedupe_key).like(resend_key(booking_id, 0)[:-1] + "%"))).one()
        key = resend_key(booking_id, int(earlier) + 1)
        transitions.add_event(db, booking_id=booking_id, kind=transitions.CONFIRMATION_RESENT,
                              now=now, actor=_actor(admin), detail={"key": key})
        snap = snapshot(booking)
        audit.record(db, actor=admin, action=RESEND_CONFIRMATION, target_type=BOOKING_TARGET,
                     target_id=booking_id, reason=reason, before=snap,
                     after={**snap, "email": key}, now=now)
        db.commit()
    return notifications.send_once(booking_id=booking_id, kind=notifications.CONFIRMATION,
                                   key=key, now=now)

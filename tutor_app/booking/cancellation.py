"""A student cancels their own upcoming lesson (the policy decides what comes back), or a tutor
cancels one of theirs (the student gets everything back).

The policy lives in settings: cancel at least `refund_window_hours` (24) before the start and
`refund_share_percent` (100) of the price is refunded; later than that the student may still
cancel, and the dialog says that no refund is due.

Never two refunds, whatever the clicking: the booking row is locked (SELECT ... FOR UPDATE on
PostgreSQL, the `BEGIN IMMEDIATE` write lock on SQLite) and flipped to CANCELED, with the refund
it owes written as a pending row, in one transaction *before* Stripe is called. Of ten
concurrent cancels one flips the row and sends the refund; the other nine find it CANCELED and
report the refund as it stands. If Stripe fails after the flip, the lesson stays CANCELED with
its refund pending; the next cancel call or the refund retry job sends it (see `refunds`).

A tutor's cancel (illness, an emergency) takes the same path with the code `tutor_canceled`,
the tutor's reason kept as the booking's `cancel_note` (the student's email quotes it) and
the whole amount still held refunded, whatever the policy window says. Only a lesson still to
come can be canceled by its tutor, and only by them (or an admin): anyone else's attempt is
the same `NotFound` as an unknown id.
An admin's cancel (`cancel_by_admin`) takes the same path too, with the code `admin_canceled`
and the refund the admin chose (any amount up to what is still refundable, none included),
its audit entry written in the cancel's own transaction.
A free consultation is canceled under the same rules; nothing was paid, so it owes no refund
(`refunds.is_free_booking`) and Stripe is never called.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from tutor_app.booking import consultations, lesson_events, refunds, transitions
from tutor_app.booking.access import NotFound, owned_booking, tutor_booking, within_policy
from tutor_app.booking.refunds import RefundStatus
from tutor_app.booking.transitions import (
    ADMIN_CANCELED_REASON,
    STUDENT_CANCELED_REASON,
    TUTOR_CANCELED_REASON,
    Actor,
    InTransaction,
)
from tutor_app.catalog import pricing
from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.models import Booking, BookingStatus, Role, User
from tutor_app.core.settings import PRODUCT_NAME, get_settings

__all__ = [
    "STUDENT_CANCELED_REASON",
    "TUTOR_CANCELED_REASON",
    "CancelPreview",
    "CancelResult",
    "CannotCancel",
    "NotFound",
    "ReasonRequired",
    "cancel_by_admin",
    "cancel_by_tutor",
    "cancel_lesson",
    "cancel_line_for_student",
    "cancel_preview",
    "cancel_reason_for_student",
    "cancel_reason_for_tutor",
    "policy_refund_cents",
]

log = logging.getLogger(__name__)

# What each cancel reason code means, in the words of the student's dashboard.
_REASONS_FOR_STUDENT = {
    STUDENT_CANCELED_REASON: "Canceled by you",
    transitions.SLOT_TAKEN_REASON: (
        "Someone else booked this time before your payment went through"
    ),
    transitions.REFUNDED_IN_STRIPE_REASON: f"Canceled and refunded by {PRODUCT_NAME}",
    TUTOR_CANCELED_REASON: "Canceled by your tutor",
    ADMIN_CANCELED_REASON: f"Canceled by {PRODUCT_NAME}",
}
# What a tutor's cancel says on the student's card, once the money is back and until then.
TUTOR_CANCELED_REFUNDED = "Canceled by your tutor \u2014 refunded in full"
TUTOR_CANCELED_REFUND_PENDING = "Canceled by your tutor \u2014 your full refund is on its way"
# The tutor's reason is required (the student is told it) and kept to this length.
REASON_REQUIRED = "Please tell the student why you are canceling."
REASON_MAX_LENGTH = 500
REASON_TOO_LONG = f"Please keep the reason under {REASON_MAX_LENGTH} characters."


# The same codes as the tutor's portal words them.
_REASONS_FOR_TUTOR = {
    STUDENT_CANCELED_REASON: "Canceled by the student",
    TUTOR_CANCELED_REASON: "Canceled by the tutor",
    transitions.SLOT_TAKEN_REASON: "Paid after the time was taken; refunded, never booked",
    transitions.REFUNDED_IN_STRIPE_REASON: f"Canceled and refunded by {PRODUCT_NAME}",
    ADMIN_CANCELED_REASON: f"Canceled by {PRODUCT_NAME}",
}


def cancel_reason_for_tutor(reason: str | None) -> str:
    """A booking's `cancel_reason` as the tutor's portal shows it (free text unchanged)."""
    if not reason:
        return ""
    return _REASONS_FOR_TUTOR.get(reason, reason)


def cancel_reason_for_student(reason: str | None) -> str:
    """A booking's `cancel_reason` as the student reads it (free text passes unchanged)."""
    if not reason:
        return ""
    return _REASONS_FOR_STUDENT.get(reason, reason)


def cancel_line_for_student(
    *, reason: str | None, refunded_cents: int, price_cents: int, currency: str
) -> str:
    """The line under a canceled (or refunded) lesson on the student's card: "Refunded $60.00 ·
    Canceled by you", "Refunded $30.00 of $60.00" for a partial refund, or for a tutor's
    cancel "Canceled by your tutor — refunded in full"."""
    if reason == TUTOR_CANCELED_REASON:
        full = refunded_cents >= price_cents
        return TUTOR_CANCELED_REFUNDED if full else TUTOR_CANCELED_REFUND_PENDING
    line = refunded_line(refunded_cents=refunded_cents, price_cents=price_cents,
                         currency=currency)
    words = cancel_reason_for_student(reason)
    return f"{line} · {words}" if line and words else line or words


def refunded_line(*, refunded_cents: int, price_cents: int, currency: str) -> str:
    """"Refunded $60.00" (all of it), "Refunded $30.00 of $60.00" (part), or "" (none)."""
    if refunded_cents <= 0:
        return ""
    if refunded_cents >= price_cents:
        return f"Refunded {_money(refunded_cents, currency)}"
    return f"Refunded {_money(refunded_cents, currency)} of {_money(price_cents, currency)}"


class ReasonRequired(ValueError):
    """A tutor's cancel without a usable reason; str() is for people (beside the field)."""


class CannotCancel(Exception):
    """The lesson can no longer be canceled (it has started or is over); str() is for people."""


@dataclass(frozen=True)
class CancelPreview:
    """What canceling now would do, for the confirmation dialog."""

    refund_cents: int
    message: str
    currency: str = "usd"
    can_cancel: bool = True


@dataclass(frozen=True)
class CancelResult:
    """What a cancel call found or did.

    `refund_status` is where the money stands: "refunded" (Stripe confirmed), "pending" (owed,
    to be retried), "in_progress" (another request is sending it) or "none".
    """

    booking_id: str
    status: str
    refund_cents: int
    refund_status: str
    already_canceled: bool
    message: str
    currency: str = "usd"


def policy_refund_cents(booking: Booking, now: datetime) -> int:
    """What the policy refunds for canceling `booking` at `now` (never more than is left)."""
    if not within_policy(booking.start_time, now):
        return 0
    share = booking.price_cents * get_settings().refund_share_percent // 100
    return max(0, min(share, booking.price_cents - booking.refunded_cents))


def _money(cents: int, currency: str) -> str:
    return pricing.format_money(cents, currency)


# A free consultation: nothing was paid, nothing comes back, whenever it is canceled.
FREE_CANCEL_PREVIEW = "This free consultation cost nothing, so there is nothing to refund."
FREE_CANCELED = "Your free consultation is canceled."


def _refund_message(booking: Booking, refund_cents: int) -> str:
    if consultations.is_consultation(booking):
        return FREE_CANCEL_PREVIEW
    if refund_cents <= 0:
        hours = get_settings().refund_window_hours
        return (
            f"This lesson starts in less than {hours} hours, so no refund is due. "
            "You can still cancel it."
            if get_settings().refund_share_percent > 0
            else "No refund is due under the cancellation policy. You can still cancel it."
        )
    if refund_cents >= booking.price_cents:
        return f"You'll get a full refund of {_money(refund_cents, booking.currency)}."
    return (
        f"You'll get a refund of {_money(refund_cents, booking.currency)} "
        f"(of {_money(booking.price_cents, booking.currency)} paid)."
    )


def _cancelable(booking: Booking, now: datetime) -> str | None:
    """Why the lesson cannot be canceled, or None when it can."""
    if booking.status == BookingStatus.COMPLETED or booking.start_time <= now:
        return "This lesson has already started, so it can no longer be canceled."
    return None


def cancel_preview(
    db: Session, *, booking_id: str, user_id: str, now: datetime | None = None
) -> CancelPreview:
    """The refund canceling now would bring, and the sentence the dialog shows.

    Raises NotFound unless the booking is the user's.
    """
    now = now or clock.now()
    booking = owned_booking(db, booking_id=booking_id, user_id=user_id)
    if booking.status == BookingStatus.CANCELED:
        return CancelPreview(0, "This lesson is already canceled.", booking.currency, False)
    reason = _cancelable(booking, now)
    if reason is not None:
        return CancelPreview(0, reason, booking.currency, False)
    refund = policy_refund_cents(booking, now)
    return CancelPreview(refund, _refund_message(booking, refund), booking.currency, True)


def cancel_lesson(*, booking_id: str, user_id: str, now: datetime | None = None) -> CancelResult:
    """Cancel the user's lesson and refund what the policy says; owns its transactions.

    Idempotent: a retried or concurrent call for a canceled lesson returns its state (and, if
    its refund is still owed and nobody is sending it, sends it). Raises NotFound (not the
    user's booking) or CannotCancel (already started or completed).
    """
    now = now or clock.now()
    flipped = False
    with app_db.write_session() as db:
        booking = owned_booking(db, booking_id=booking_id, user_id=user_id, lock=True)
        if booking.status != BookingStatus.CANCELED:
            reason = _cancelable(booking, now)
            if reason is not None:
                raise CannotCancel(reason)
            refund = policy_refund_cents(booking, now)
            transitions.cancel(booking, reason=STUDENT_CANCELED_REASON, now=now,
                               actor=Actor("student", user_id))
            db.add(booking)
            refunds.owe_refund(
                db, booking=booking, amount_cents=refund, reason=STUDENT_CANCELED_REASON
            )
            db.commit()
            flipped = True
            log.info("booking %s canceled by its student; refund owed %d", booking_id, refund)
    return _after_cancel(booking_id, flipped=flipped, now=now, message=_result_message)


def _decided_refund(db: Session, booking: Booking, attempt: refunds.RefundAttempt) -> int:
    if attempt.status in (RefundStatus.PENDING, RefundStatus.IN_PROGRESS):
        pending = refunds.pending_refund(db, booking_id=booking.id)
        return pending.amount_cents if pending is not None else attempt.amount_cents
    return booking.refunded_cents


def _result_message(booking: Booking, refund_cents: int, status: RefundStatus) -> str:
    if consultations.is_consultation(booking):
        return FREE_CANCELED
    if refund_cents <= 0:
        return "Your lesson is canceled. No refund is due."
    amount = _money(refund_cents, booking.currency)
    if status is RefundStatus.REFUNDED:
        return f"Your lesson is canceled and {amount} has been refunded."
    return (
        f"Your lesson is canceled. Your refund of {amount} is being processed; "
        "it will reach you shortly."
    )


def _tutor_reason(reason: str) -> str:
    text = " ".join(reason.split()) if isinstance(reason, str) else ""
    if not text:
        raise ReasonRequired(REASON_REQUIRED)
    if len(text) > REASON_MAX_LENGTH:
        raise ReasonRequired(REASON_TOO_LONG)
    return text


def cancel_by_tutor(
    *, booking_id: str, user: User, reason: str, now: datetime | None = None
) -> CancelResult:
    """The tutor (or an admin) calls off a lesson still to come: CANCELED with the code
    `tutor_canceled` and `reason` as its note, everything still held refunded through the
    once-only refund path, then the usual follow-ups (the student's email with the reason, the
    tutor's email, the calendar event removed). Owns its transactions.

    Idempotent like `cancel_lesson`: clicked twice, or at once in two tabs, one call flips the
    row and the other reports it (`already_canceled`), with one refund at Stripe. Raises
    NotFound (not this tutor's lesson), ReasonRequired, or CannotCancel (started or over).
    """
    now = now or clock.now()
    note = _tutor_reason(reason)
    flipped = False
    with app_db.write_session() as db:
        booking = tutor_booking(db, booking_id=booking_id, user=user, lock=True)
        if booking.status != BookingStatus.CANCELED:
            why_not = _cancelable(booking, now)
            if why_not is not None:
                raise CannotCancel(why_not)
            owed = max(0, booking.price_cents - booking.refunded_cents)
            transitions.cancel(booking, reason=TUTOR_CANCELED_REASON, note=note, now=now,
                               actor=Actor("admin" if user.role == Role.ADMIN else "tutor",
                                           user.id))
            db.add(booking)
            refunds.owe_refund(db, booking=booking, amount_cents=owed,
                               reason=TUTOR_CANCELED_REASON)
            db.commit()
            flipped = True
            log.info("booking %s canceled by its tutor (user %s); refund owed %d",
                     booking_id, user.id, owed)
    return _after_cancel(booking_id, flipped=flipped, now=now,
                         message=lambda stored, decided, status: _tutor_result_message(
                             stored, decided, status, flipped))


def cancel_by_admin(
    *, booking_id: str, actor: Actor, note: str, refund_cents: int,
    in_transaction: InTransaction, now: datetime | None = None,
) -> CancelResult:
    """The business calls off a lesson still to come: CANCELED with the code `admin_canceled`
    and `note` (the admin's reason), `refund_cents` (0 up to what is still refundable) owed
    through the once-only refund path, `in_transaction` (the audit entry) in the same
    transaction, then the usual follow-ups. Owns its transactions.

    Clicked twice, one call flips the row and the other reports it (`already_canceled`), with
    one refund at Stripe. Raises NotFound, CannotCancel (started, over) or ValueError for an
    amount out of range.
    """
    now = now or clock.now()
    flipped = False
    with app_db.write_session() as db:
        booking = db.get(Booking, booking_id, with_for_update=True) if booking_id else None
        if booking is None:
            raise NotFound(booking_id)
        if booking.status != BookingStatus.CANCELED:
            why_not = _cancelable(booking, now)
            if why_not is not None:
                raise CannotCancel(why_not)
            if not 0 <= refund_cents <= refunds.refundable_cents(db, booking=booking):
                raise ValueError(f"refund {refund_cents} out of range")
            transitions.cancel(booking, reason=ADMIN_CANCELED_REASON, note=note, now=now,
                               actor=actor)
            db.add(booking)
            refunds.owe_refund(db, booking=booking, amount_cents=refund_cents,
                               reason=ADMIN_CANCELED_REASON)
            in_transaction(db, booking)
            db.commit()
            flipped = True
            log.info("booking %s canceled by admin %s; refund owed %d", booking_id,
                     actor.user_id, refund_cents)
    return _after_cancel(booking_id, flipped=flipped, now=now,
                         message=lambda stored, decided, status: _tutor_result_message(
                             stored, decided, status, flipped))


def _after_cancel(
    booking_id: str, *, flipped: bool, now: datetime,
    message: Callable[[Booking, int, RefundStatus], str],
) -> CancelResult:
    """After the cancel committed (or was found done): send the refund owed, fire the
    follow-ups when this call canceled it, and report what was decided."""
    try:
        attempt = refunds.send_pending_refund(booking_id=booking_id, claimed=flipped, now=now)
    finally:
        if flipped:
            lesson_events.after_booking_canceled(booking_id)
    with app_db.session() as db:
        stored = db.get(Booking, booking_id)
        assert stored is not None  # a booking is never deleted
        decided = _decided_refund(db, stored, attempt)
    return CancelResult(
        booking_id=booking_id,
        status=stored.status,
        refund_cents=decided,
        refund_status=attempt.status.value,
        already_canceled=not flipped,
        message=message(stored, decided, attempt.status),
        currency=stored.currency,
    )


def _tutor_result_message(booking: Booking, refund_cents: int, status: RefundStatus,
                          flipped: bool) -> str:
    if not flipped:
        return "This lesson was already canceled."
    if refund_cents <= 0:
        return "The lesson is canceled. The student had nothing left to refund."
    amount = _money(refund_cents, booking.currency)
    if status is RefundStatus.REFUNDED:
        return f"The lesson is canceled and the student has been refunded {amount}."
    return (f"The lesson is canceled. The student's refund of {amount} is being processed; "
            "they have been told.")

"""Free 15-minute consultations ("intros"): a student meets a tutor before paying for a lesson.

A tutor offers one when `Tutor.offers_consultation` is set; a student books it in the wizard
and it is confirmed at once, without Stripe: `book_consultation` writes a SCHEDULED booking of
kind `consultation`, price 0 in the tutor's currency, in one write transaction of its own. It
is a booking like any other afterwards: the same follow-ups (confirmation and reminder emails
with a calendar file, the tutor's Google Calendar event), the same cancel and reschedule
policy (with nothing to refund), completion, the dashboard.

The rules, and what keeps each:

- The slot: the same availability, live holds, notice and horizon as a paid lesson
  (`slots.check_slot`, for CONSULTATION_MINUTES), re-checked inside the write transaction.
  The student's own unpaid holds count as busy too: a consultation never lands on the slot of
  their own checkout in progress (paying it would then be refunded as a taken slot). No
  double booking: PostgreSQL's `ex_bookings_no_overlap` exclusion constraint (a violation is
  reported as `slots.SlotTaken`, with alternatives), SQLite's `BEGIN IMMEDIATE` (the check
  inside the transaction is authoritative).
- One per student and tutor, a canceled one not counting: the partial unique index
  `ux_bookings_one_consultation`. It is checked first for a clear answer and is the arbiter
  when requests race (double clicks, several workers): `AlreadyHadConsultation`, "You already
  had your free intro with <tutor>. Book a lesson instead."
- At most MAX_UPCOMING_CONSULTATIONS upcoming consultations per account across tutors, so one
  account cannot fill tutors' calendars for free: counted after locking the student's `users`
  row (`SELECT ... FOR UPDATE` on PostgreSQL, the write lock on SQLite), as checkout counts
  holds, so two requests at once cannot both see room.
- A rate limit per account and per address (`rate_limits.limit_consultation`), counted before
  anything else.
- Never Stripe: no checkout session, hold or webhook. `stripe_checkout_session_id` (unique and
  required) is `free_<booking id>` (`core.ids.FREE_BOOKING_SESSION_PREFIX`), no payment intent,
  no customer; `refunds` owes nothing on a free booking, and reconcile only books sessions
  Stripe lists. A consultation is never revenue: its price is 0, and any sum over lessons
  counts kind `lesson` only.

A tutor who stops offering consultations hides the option (directory, profile, wizard) and
refuses new ones here; consultations already booked stay as they are.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from tutor_app.booking import lesson_events, transitions
from tutor_app.catalog import tutor_catalog
from tutor_app.catalog.pricing import CONSULTATION_MINUTES
from tutor_app.core import clock, metrics, rate_limits
from tutor_app.core import db as app_db
from tutor_app.core.ids import FREE_BOOKING_SESSION_PREFIX, new_id
from tutor_app.core.models import Booking, BookingKind, BookingStatus, SyncStatus, Tutor, User
from tutor_app.scheduling import holds, slots

log = logging.getLogger(__name__)

MAX_UPCOMING_CONSULTATIONS = 3
MAX_NOTE_LENGTH = 2000
ONE_CONSULTATION_INDEX = "ux_bookings_one_consultation"
NO_OVERLAP_CONSTRAINT = "ex_bookings_no_overlap"
# SQLite names the columns of a violated unique index, not the index.
_SQLITE_ONE_CONSULTATION = "UNIQUE constraint failed: bookings.user_id, bookings.tutor_id"

# What people read.
CONSULTATION_LABEL = "Free consultation"
FREE_LABEL = "Free"
NOT_OFFERED = "This tutor does not offer a free consultation. You can book a lesson instead."
TOO_MANY = (
    f"You already have {MAX_UPCOMING_CONSULTATIONS} free consultations coming up. Have one "
    "(or cancel one) before booking another."
)
CHOOSE_START = "Please choose a start time."
NOT_ON_SCHEDULE = (
    "That start time is not available with this tutor. Please pick one of the times offered."
)


def already_had_message(tutor_name: str) -> str:
    """ "You already had your free intro with Ana Diaz. Book a lesson instead." """
    return f"You already had your free intro with {tutor_name}. Book a lesson instead."


class ConsultationError(Exception):
    """The consultation could not be booked; str() is a message for the student."""


class ConsultationNotOffered(ConsultationError):
    """The tutor is unknown, hidden, or does not offer free consultations (any more)."""


class AlreadyHadConsultation(ConsultationError):
    """The student has (or had) their one free consultation with this tutor."""

    def __init__(self, tutor_id: str, tutor_name: str) -> None:
        super().__init__(already_had_message(tutor_name))
        self.tutor_id = tutor_id


class TooManyConsultations(ConsultationError):
    """The student already has MAX_UPCOMING_CONSULTATIONS upcoming consultations."""


class InvalidConsultation(ConsultationError):
    """The start or the note is not one that can be booked (bad input, not bad luck)."""


def is_consultation(booking: Booking) -> bool:
    """Whether the booking is a free consultation rather than a paid lesson."""
    return booking.kind == BookingKind.CONSULTATION


def offers_consultation(tutor: Tutor | None) -> bool:
    """Whether students can book a free consultation with this tutor now."""
    return tutor is not None and tutor.active and tutor.offers_consultation


def had_consultation(db: Session, *, user_id: str, tutor_id: str) -> bool:
    """Whether the student has a consultation with the tutor that is not canceled (upcoming or
    done): the one the partial unique index allows."""
    return db.exec(
        select(Booking.id).where(
            col(Booking.user_id) == user_id,
            col(Booking.tutor_id) == tutor_id,
            col(Booking.kind) == BookingKind.CONSULTATION,
            col(Booking.status) != BookingStatus.CANCELED,
        )
    ).first() is not None


def upcoming_consultations(db: Session, *, user_id: str, now: datetime) -> int:
    """How many scheduled consultations the student has that have not started yet."""
    return db.exec(
        select(func.count()).select_from(Booking).where(
            col(Booking.user_id) == user_id,
            col(Booking.kind) == BookingKind.CONSULTATION,
            col(Booking.status) == BookingStatus.SCHEDULED,
            col(Booking.start_time) >= now,
        )
    ).one()


def book_consultation(
    *,
    user: User,
    tutor_id: str,
    start: datetime,
    ip: str,
    note: str = "",
    now: datetime | None = None,
) -> str:
    """Book the student's free consultation with the tutor at `start`; the booking's id.

    Owns its transactions; the follow-ups (emails, the tutor's calendar) run after the commit.
    Raises `rate_limits.RateLimited`, ConsultationNotOffered, AlreadyHadConsultation,
    TooManyConsultations, InvalidConsultation, or `slots.SlotTaken` (with alternatives) when
    someone else has the time.
    """
    now = now or clock.now()
    if not isinstance(start, datetime) or start.utcoffset() is None:
        raise InvalidConsultation(CHOOSE_START)
    start = start.astimezone(UTC)
    note = (note or "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidConsultation(f"The note is too long ({MAX_NOTE_LENGTH} characters at most).")
    with app_db.session() as db:
        rate_limits.limit_consultation(db, user_id=user.id, ip=ip, now=now)
    try:
        booking_id = _insert(user=user, tutor_id=tutor_id, start=start, note=note, now=now)
    except IntegrityError as exc:
        refusal = _refusal(exc, tutor_id=tutor_id, start=start, now=now)
        if refusal is None:
            raise
        raise refusal from exc
    log.info("consultation %s booked: tutor %s user %s at %s", booking_id, tutor_id, user.id,
             start.isoformat(), extra={"booking_id": booking_id})
    metrics.booking_created(kind="consultation", source="consultation")
    lesson_events.after_booking_created(booking_id)
    return booking_id


def _insert(*, user: User, tutor_id: str, start: datetime, note: str, now: datetime) -> str:
    """The write transaction: lock the student, check every rule, insert the booking."""
    with app_db.write_session() as db:
        db.exec(select(User.id).where(col(User.id) == user.id).with_for_update()).first()
        tutor = tutor_catalog.get_tutor(db, tutor_id)
        if tutor is None or not offers_consultation(tutor):
            raise ConsultationNotOffered(NOT_OFFERED)
        if had_consultation(db, user_id=user.id, tutor_id=tutor.id):
            raise AlreadyHadConsultation(tutor.id, tutor.name)
        if upcoming_consultations(db, user_id=user.id, now=now) >= MAX_UPCOMING_CONSULTATIONS:
            raise TooManyConsultations(TOO_MANY)
        try:
            # user_id=None: the student's own unpaid holds are busy for a consultation too.
            slots.check_slot(db, tutor_id=tutor.id, start=start,
                             duration_minutes=CONSULTATION_MINUTES, user_id=None, now=now)
        except slots.SlotNotOffered as exc:
            raise InvalidConsultation(NOT_ON_SCHEDULE) from exc
        booking_id = new_id()
        db.add(Booking(
            id=booking_id,
            user_id=user.id,
            tutor_id=tutor.id,
            start_time=start,
            end_time=start + timedelta(minutes=CONSULTATION_MINUTES),
            price_cents=0,
            currency=tutor.currency,
            stripe_checkout_session_id=FREE_BOOKING_SESSION_PREFIX + booking_id,
            customer_email=user.email,
            note=note,
            kind=BookingKind.CONSULTATION,
            calendar_sync_status=SyncStatus.NONE,
            created_at=now,
            updated_at=now,
            **transitions.new_booking_values(canceled_reason=None, now=now),
        ))
        db.flush()  # the unique index, and PostgreSQL's exclusion constraint, answer here
        transitions.record_created(db, booking_id=booking_id, now=now,
                                   actor=transitions.Actor("student", user.id),
                                   detail={"kind": BookingKind.CONSULTATION})
        db.commit()
    return booking_id


def _refusal(
    exc: IntegrityError, *, tutor_id: str, start: datetime, now: datetime
) -> ConsultationError | slots.SlotTaken | None:
    """What a constraint's refusal means for the student; None when it is a bug."""
    name = holds.violated_constraint(exc)
    if name == ONE_CONSULTATION_INDEX or _SQLITE_ONE_CONSULTATION in str(exc.orig):
        with app_db.session() as db:
            tutor = tutor_catalog.get_tutor(db, tutor_id, include_inactive=True)
        return AlreadyHadConsultation(tutor_id, tutor.name if tutor else "this tutor")
    if name == NO_OVERLAP_CONSTRAINT:
        with app_db.session() as db:
            tutor = tutor_catalog.get_tutor(db, tutor_id)
            alternatives = (
                slots.alternatives_for(db, tutor=tutor, start=start,
                                       duration_minutes=CONSULTATION_MINUTES, now=now)
                if tutor is not None else []
            )
        return slots.SlotTaken("Sorry, that time was just taken.", alternatives)
    return None


def set_offers_consultation(*, tutor_id: str, offers: bool) -> bool:
    """Turn the tutor's free consultation on or off; False for an unknown tutor. Owns its
    transaction. Booked consultations are left as they are."""
    with app_db.session() as db:
        tutor = db.get(Tutor, tutor_id)
        if tutor is None:
            return False
        tutor.offers_consultation = offers
        tutor.updated_at = clock.now()
        db.add(tutor)
        db.commit()
    log.info("tutor %s %s free consultations", tutor_id, "offers" if offers else "stopped")
    return True

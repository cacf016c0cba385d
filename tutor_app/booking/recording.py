"""Writing bookings: a paid checkout session becomes exactly one booking.

The only way a booking comes to exist (bookings are the source of truth): the Stripe
webhook, and later reconciliation, hand a paid session to `record_paid_session`. The booking is
built from the session's own amount, currency, ids and metadata, never from the browser.

Guarantees, from the database rather than from timing:

- One booking per session: the UNIQUE index on `stripe_checkout_session_id`, as the arbiter of
  `INSERT ... ON CONFLICT DO NOTHING`: of concurrent deliveries, the later ones insert nothing
  and report DUPLICATE.
- No double-booking: on PostgreSQL the `ex_bookings_no_overlap` exclusion constraint, on
  SQLite an overlap check inside the `BEGIN IMMEDIATE` transaction (writes are serialized).
  A paid session whose slot was taken meanwhile is recorded CANCELED with reason
  `slot_taken` and reported REFUND_NEEDED, so the money is not forgotten.
- Only what was offered is booked: the session's `livemode` must match the configured key's
  mode, and its amount and currency those of its slot hold (found by session id, else by the
  `holdId` metadata) or, for a session without a hold, the catalog price of that tutor and
  length. Anything else is not booked and not refunded: it is logged at ERROR for a person
  and reported MISMATCH (the webhook's event is still recorded, so Stripe stops retrying).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tutor_app.accounts import users
from tutor_app.booking import checkout, lesson_events, refunds, signals, transitions
from tutor_app.booking.transitions import SLOT_TAKEN_REASON
from tutor_app.catalog import pricing, tutor_catalog
from tutor_app.core import clock, metrics
from tutor_app.core import db as app_db
from tutor_app.core.ids import new_id
from tutor_app.core.models import (
    Booking,
    BookingEvent,
    BookingStatus,
    SlotHold,
    SyncStatus,
    User,
)
from tutor_app.integrations import stripe_gateway
from tutor_app.scheduling import holds

log = logging.getLogger(__name__)

_MAX_LESSON = timedelta(hours=24)


class BookingOutcome(StrEnum):
    """What `record_paid_session` did with a checkout session."""

    CREATED = "created"  # a new SCHEDULED booking
    DUPLICATE = "duplicate"  # the session already had its booking: nothing written
    NOT_PAID = "not_paid"  # payment_status is not "paid" (a delayed method): nothing yet
    REFUND_NEEDED = "refund_needed"  # paid, but the slot was taken: booked as CANCELED
    INVALID = "invalid"  # the session lacks what a booking needs: logged for a person
    MISMATCH = "payment_mismatch"  # amount, currency or mode not as offered: logged, no booking
    ALREADY_HANDLED = "already_handled"  # `claim` refused: this delivery was processed


class InvalidSession(ValueError):
    """A paid checkout session whose metadata cannot describe a lesson."""


@dataclass(frozen=True)
class PaidLesson:
    """What a booking is made of, read from a checkout session."""

    session_id: str
    tutor_id: str
    start: datetime
    end: datetime
    price_cents: int
    currency: str
    payment_intent_id: str | None
    customer_id: str | None
    user_id: str | None
    email: str | None
    customer_name: str
    hold_id: str | None = None
    livemode: bool | None = None  # None: the session did not say


def stripe_id(value: Any) -> str | None:
    """A Stripe reference that may come as an id or as an expanded object."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _parse_start(text: Any) -> datetime:
    if not isinstance(text, str) or not text.strip():
        raise InvalidSession("metadata.startDateTimeISO is missing")
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidSession(f"metadata.startDateTimeISO is not ISO-8601: {text!r}") from exc
    # The metadata holds `Date.toISOString()` form, always UTC; a bare value can only mean UTC.
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_paid_session(session: Mapping[str, Any]) -> PaidLesson:
    """Read a checkout session dict (webhook payload or API object) into a PaidLesson.

    Accepts the fixed metadata keys, with `tutorSlug` as an older name of `tutorId`, and a
    lesson length from `durationMinutes` or, failing that, from `endDateTimeISO`.
    """
    session_id = session.get("id")
    if not isinstance(session_id, str) or not session_id:
        raise InvalidSession("session has no id")
    raw_meta = session.get("metadata")
    meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
    tutor_id = meta.get("tutorId") or meta.get("tutorSlug")
    if not isinstance(tutor_id, str) or not tutor_id.strip():
        raise InvalidSession("metadata.tutorId is missing")
    start = _parse_start(meta.get("startDateTimeISO"))
    duration: timedelta | None = None
    raw_duration = meta.get("durationMinutes")
    if raw_duration not in (None, ""):
        try:
            duration = timedelta(minutes=int(str(raw_duration)))
        except ValueError as exc:
            raise InvalidSession(f"metadata.durationMinutes is not a number: {raw_duration!r}") \
                from exc
    elif meta.get("endDateTimeISO"):
        duration = _parse_start(meta.get("endDateTimeISO")) - start
    if duration is None or not timedelta(0) < duration <= _MAX_LESSON:
        raise InvalidSession("the lesson length is missing or out of range")
    amount = session.get("amount_total")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise InvalidSession("amount_total is missing")
    currency = session.get("currency")
    if not isinstance(currency, str) or len(currency) != 3:
        raise InvalidSession("currency is missing")
    details = session.get("customer_details")
    details = details if isinstance(details, Mapping) else {}
    email = next(
        (
            e.strip()
            for e in (meta.get("userEmail"), details.get("email"), session.get("customer_email"))
            if isinstance(e, str) and e.strip()
        ),
        None,
    )
    user_id = meta.get("userId") or session.get("client_reference_id")
    name = details.get("name")
    hold_id = meta.get("holdId")
    livemode = session.get("livemode")
    return PaidLesson(
        session_id=session_id,
        tutor_id=tutor_id.strip(),
        start=start,
        end=start + duration,  # real time: a lesson across a DST change keeps its length
        price_cents=amount,
        currency=currency.lower(),
        payment_intent_id=stripe_id(session.get("payment_intent")),
        customer_id=stripe_id(session.get("customer")),
        user_id=user_id if isinstance(user_id, str) and user_id else None,
        email=email,
        customer_name=name if isinstance(name, str) else "",
        hold_id=hold_id if isinstance(hold_id, str) and hold_id else None,
        livemode=livemode if isinstance(livemode, bool) else None,
    )


def booking_for_session(db: Session, *, session_id: str) -> Booking | None:
    """The booking made from a checkout session, if any."""
    return db.exec(
        select(Booking).where(Booking.stripe_checkout_session_id == session_id)
    ).first()


def booking_for_payment_intent(db: Session, *, payment_intent: str) -> Booking | None:
    """The (first) booking paid by a PaymentIntent, if any."""
    return db.exec(
        select(Booking).where(Booking.stripe_payment_intent_id == payment_intent)
        .order_by(col(Booking.created_at))
    ).first()


def record_paid_session(
    session: Mapping[str, Any],
    *,
    source: str,
    claim: Callable[[Session], bool] | None = None,
    now: datetime | None = None,
) -> BookingOutcome:
    """Make the booking for a paid checkout session, once; owns its transaction.

    `source` ("webhook", "reconcile", ...) is for the logs. `claim`, when given, runs first
    inside the same transaction (the webhook records its event id there), so the booking and
    the record that the event was handled commit together or not at all; if it returns False
    nothing is written and ALREADY_HANDLED is returned. A database failure raises, leaving
    nothing written, so the caller can answer 5xx and Stripe retries.
    """
    now = now or clock.now()
    session_id = session.get("id")
    if session.get("payment_status") != "paid":
        return _counted(BookingOutcome.NOT_PAID)
    try:
        lesson = parse_paid_session(session)
    except InvalidSession as exc:
        # Paid but unbookable: a person must look (and refund). Never logs card data.
        log.error("paid session %s from %s cannot be booked: %s", session_id, source, exc,
                  extra={"session_id": session_id})
        return _counted(BookingOutcome.INVALID)
    live = stripe_gateway.live_mode()

    # On SQLite the overlap check under the write lock decides whether the slot is taken; on
    # PostgreSQL the exclusion constraint does, and a violation aborts the transaction, so the
    # whole transaction (claim included) is redone once, recording the booking as taken. The
    # common case pays for no savepoint and no pre-check.
    taken: bool | None = None
    while True:
        with app_db.writer_turn(), app_db.write_session() as db:
            if claim is not None and not claim(db):
                db.rollback()
                return _counted(BookingOutcome.ALREADY_HANDLED)
            facts = _read_facts(db, lesson, overlap=taken is None)
            mismatch = _payment_mismatch(db, lesson, live=live, facts=facts)
            if mismatch is not None:
                db.commit()  # the claim only: this delivery is handled, nothing is booked
                # Not refunded on purpose: a person decides. Ids and amounts only.
                log.error(
                    "paid session %s from %s NOT booked, not refunded, needs a person: %s",
                    lesson.session_id, source, mismatch, extra={"session_id": lesson.session_id},
                )
                return _counted(BookingOutcome.MISMATCH)
            try:
                outcome, booking_id, displaced = _insert_booking(
                    db, lesson, now=now, taken=taken, facts=facts
                )
            except IntegrityError as exc:
                if taken or holds.violated_constraint(exc) != "ex_bookings_no_overlap":
                    raise
                taken = True  # another session's booking holds the slot (PostgreSQL)
                continue
            db.commit()
        break

    log.info(
        "booking %s: session %s from %s -> %s", booking_id, lesson.session_id, source, outcome,
        extra={"booking_id": booking_id, "session_id": lesson.session_id},
    )
    _counted(outcome)
    if outcome is BookingOutcome.CREATED:
        # The label is the source's first word ("webhook", "reconcile", "charge.refunded"):
        # the rest names one event, which would make a series per event.
        metrics.booking_created(kind="lesson", source=source.split(" ", 1)[0])
    if outcome in (BookingOutcome.CREATED, BookingOutcome.REFUND_NEEDED):
        signals.notify_booked(lesson.session_id)
    if outcome is BookingOutcome.CREATED and booking_id is not None:
        # Email and calendar run after the commit, off the webhook's thread: Stripe gets its
        # answer at once, and their failures are retried by their own jobs.
        lesson_events.after_booking_created(booking_id)
    if outcome is BookingOutcome.REFUND_NEEDED and booking_id is not None:
        refund_needed(booking_id=booking_id, session_id=lesson.session_id)
    if displaced:
        checkout.expire_sessions(displaced)
    return outcome


def _counted(outcome: BookingOutcome) -> BookingOutcome:
    """`outcome`, counted in `tutorly_paid_sessions_total`."""
    metrics.paid_session(outcome.value)
    return outcome


_bookings = Booking.__table__  # type: ignore[attr-defined]
_holds = SlotHold.__table__  # type: ignore[attr-defined]
_users = User.__table__  # type: ignore[attr-defined]
_events = BookingEvent.__table__  # type: ignore[attr-defined]
# Every column a booking row needs, given as bound values: the insert is built once.
_BOOKING_VALUES = (
    "id", "user_id", "tutor_id", "start_time", "end_time", "status", "price_cents", "currency",
    "stripe_checkout_session_id", "stripe_payment_intent_id", "stripe_customer_id",
    "customer_email", "refunded_cents", "canceled_at", "cancel_reason", "sequence",
    "calendar_sync_status", "calendar_sync_attempts", "created_at", "updated_at",
)
_SLOT_TAKEN = (
    sa.select(_bookings.c.id)
    .where(
        _bookings.c.tutor_id == sa.bindparam("tutor"),
        _bookings.c.status == BookingStatus.SCHEDULED,
        _bookings.c.start_time < sa.bindparam("end"),
        _bookings.c.end_time > sa.bindparam("start"),
    )
    .limit(1)
)
# The booking's first history row (what `transitions.record_created` adds), as bound values
# named `event_<column>` so that they travel in the same parameters as the booking's.
_EVENT_COLUMNS = ("id", "booking_id", "kind", "actor_role", "actor_id", "detail", "created_at")


def _event_param(name: str) -> Any:
    return sa.bindparam(f"event_{name}", type_=_events.c[name].type)


_EVENT_INSERT = _events.insert().values({name: _event_param(name) for name in _EVENT_COLUMNS})
_BOOKING_FOR_SESSION = sa.select(_bookings.c.id).where(
    _bookings.c.stripe_checkout_session_id == sa.bindparam("session")
)
_HOLD_PRICE_BY_ID = sa.select(_holds.c.price_cents, _holds.c.currency).where(
    _holds.c.id == sa.bindparam("hold")
)


@dataclass(frozen=True)
class _Facts:
    """What the booking transaction needs to know before it writes, read in one statement."""

    hold_price: tuple[int, str] | None  # (price_cents, currency) of the session's hold
    user_found: bool  # the metadata's user exists
    slot_taken: bool | None  # a SCHEDULED booking overlaps (SQLite only; None: not asked)


@functools.cache
def _facts_statement(overlap: bool) -> Any:
    """`SELECT (hold price), (hold currency), (user id)[, EXISTS (overlap)]`: scalar
    subqueries on unique keys, so one round trip replaces a query each."""
    by_session = _holds.c.checkout_session_id == sa.bindparam("session")
    columns: list[Any] = [
        sa.select(_holds.c.price_cents).where(by_session).scalar_subquery().label("price"),
        sa.select(_holds.c.currency).where(by_session).scalar_subquery().label("currency"),
        sa.select(_users.c.id).where(_users.c.id == sa.bindparam("user"))
        .scalar_subquery().label("user_id"),
    ]
    if overlap:
        columns.append(_SLOT_TAKEN.exists().label("taken"))
    return sa.select(*columns)


def _read_facts(db: Session, lesson: PaidLesson, *, overlap: bool) -> _Facts:
    """The hold's price, whether the user exists and, on SQLite when `overlap` (the write
    lock makes the answer authoritative), whether the slot is taken."""
    conn = db.connection()
    overlap = overlap and conn.dialect.name == "sqlite"
    row = conn.execute(_facts_statement(overlap), {
        "session": lesson.session_id, "user": lesson.user_id, "tutor": lesson.tutor_id,
        "start": lesson.start, "end": lesson.end,
    }).one()
    return _Facts(
        hold_price=None if row.price is None else (int(row.price), str(row.currency)),
        user_found=row.user_id is not None,
        slot_taken=bool(row.taken) if overlap else None,
    )


def _payment_mismatch(
    db: Session, lesson: PaidLesson, *, live: bool, facts: _Facts
) -> str | None:
    """Why the paid session is not what the app offered, or None when it is.

    The mode must be the configured key's (a test payment never books in live mode, nor the
    reverse). The amount and currency must be the slot hold's, the hold being found by the
    session id or else by the `holdId` metadata; a session without a hold (made by the earlier
    app, or healed by reconciliation) must carry the catalog price of its tutor and length.
    """
    if lesson.livemode is not live:
        mode = "missing" if lesson.livemode is None else str(lesson.livemode).lower()
        return f"livemode is {mode}, the configured key is {'live' if live else 'test'} mode"
    hold_price = facts.hold_price
    if hold_price is None and lesson.hold_id is not None:
        row = db.connection().execute(_HOLD_PRICE_BY_ID, {"hold": lesson.hold_id}).first()
        hold_price = None if row is None else (int(row.price_cents), str(row.currency))
    if hold_price is not None:
        expected, source = (hold_price[0], hold_price[1].lower()), "its hold"
    else:
        quote = _catalog_quote(db, lesson)
        if quote is None:
            return (f"no hold and no catalog price for tutor {lesson.tutor_id}, "
                    f"{(lesson.end - lesson.start).total_seconds() / 60:g} minutes")
        expected, source = (quote.total_cents, quote.currency), "the catalog price"
    if (lesson.price_cents, lesson.currency) != expected:
        return (f"paid {lesson.price_cents} {lesson.currency}, "
                f"{source} is {expected[0]} {expected[1]}")
    return None


def _catalog_quote(db: Session, lesson: PaidLesson) -> pricing.Quote | None:
    """The catalog price of the lesson's tutor and length, or None when there is none (also
    for a length the tutor does not offer)."""
    tutor = tutor_catalog.get_tutor(db, lesson.tutor_id, include_inactive=True)
    seconds = (lesson.end - lesson.start).total_seconds()
    minutes = int(seconds // 60)
    if tutor is None or seconds % 60 or minutes not in tutor_catalog.lesson_lengths(tutor):
        return None
    try:
        return pricing.quote(
            tutor_id=tutor.id, hourly_rate_cents=tutor.hourly_rate_cents,
            currency=tutor.currency, duration_minutes=minutes,
        )
    except ValueError:  # a rate no lesson can be sold at
        return None


@functools.cache
def _insert_statement(dialect_name: str) -> Any:
    """`INSERT INTO bookings ... ON CONFLICT (session) DO NOTHING RETURNING id` for a dialect;
    on PostgreSQL, as a data-modifying CTE whose new row also gets its first history row
    (`_EVENT_INSERT`'s) in the same statement, one round trip fewer (`booking_events_inline`).

    The unique index on the session id is the guard against a second booking for a session:
    a concurrent delivery's insert waits for ours (PostgreSQL) or for the write lock (SQLite)
    and then inserts nothing (and, on PostgreSQL, no history row either: the CTE returned
    nothing). The student's note travels on the hold (checkout wrote it there), not through
    Stripe, so it is read by a subquery of the same statement.
    """
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    note = (
        sa.select(_holds.c.note)
        .where(_holds.c.checkout_session_id == sa.bindparam("stripe_checkout_session_id"))
        .scalar_subquery()
    )
    booking = (
        dialect.insert(_bookings)
        .values({
            **{name: sa.bindparam(name, type_=_bookings.c[name].type) for name in _BOOKING_VALUES},
            "note": sa.func.coalesce(note, ""),
        })
        .on_conflict_do_nothing(index_elements=[_bookings.c.stripe_checkout_session_id])
        .returning(_bookings.c.id)
    )
    if not booking_events_inline(dialect_name):
        return booking
    new = booking.cte("new_booking")
    values = [new.c.id if name == "booking_id" else _event_param(name) for name in _EVENT_COLUMNS]
    return (
        sa.insert(_events)
        .from_select(list(_EVENT_COLUMNS), sa.select(*values))
        .returning(_events.c.booking_id)
    )


def booking_events_inline(dialect_name: str) -> bool:
    """Whether `_insert_statement` writes the history row itself (PostgreSQL's CTEs may
    modify data; SQLite's may not)."""
    return dialect_name == "postgresql"


def _insert_booking(
    db: Session, lesson: PaidLesson, *, now: datetime, taken: bool | None, facts: _Facts
) -> tuple[BookingOutcome, str | None, list[str]]:
    """Insert the booking in the open transaction: (outcome, booking id, displaced sessions).

    A handful of prebuilt statements and no ORM objects: the webhook holds SQLite's write
    lock for exactly this long. `taken` None means "find out": the overlap check on SQLite
    (read with `facts`; the lock makes it authoritative), the exclusion constraint on
    PostgreSQL (IntegrityError, and the caller tries again with `taken=True`).
    """
    conn = db.connection()
    dialect_name = conn.dialect.name
    if taken is None:
        taken = bool(facts.slot_taken)
    booking_id = new_id()
    event = {
        "event_id": new_id(), "event_booking_id": booking_id, "event_kind": transitions.CREATED,
        "event_actor_role": transitions.SYSTEM.role,
        "event_actor_id": transitions.SYSTEM.user_id,
        "event_detail": {
            "checkout_session": lesson.session_id, "price_cents": lesson.price_cents,
            **({"canceled": SLOT_TAKEN_REASON} if taken else {}),
        },
        "event_created_at": now,
    }
    inserted = conn.execute(_insert_statement(dialect_name), {
        **event,
        "id": booking_id,
        "user_id": _resolve_user(db, lesson, user_found=facts.user_found),
        "tutor_id": lesson.tutor_id,
        "start_time": lesson.start,
        "end_time": lesson.end,
        "price_cents": lesson.price_cents,
        "currency": lesson.currency,
        "stripe_checkout_session_id": lesson.session_id,
        "stripe_payment_intent_id": lesson.payment_intent_id,
        "stripe_customer_id": lesson.customer_id,
        "customer_email": lesson.email,
        "refunded_cents": 0,
        **transitions.new_booking_values(
            canceled_reason=SLOT_TAKEN_REASON if taken else None, now=now
        ),
        "calendar_sync_status": SyncStatus.NONE,
        "calendar_sync_attempts": 0,
        "created_at": now,
        "updated_at": now,
    }).scalar_one_or_none()
    if inserted is not None and not booking_events_inline(dialect_name):
        # The row `transitions.record_created` adds, as one prebuilt INSERT instead of an ORM
        # object flushed at commit (a third of this transaction's time).
        conn.execute(_EVENT_INSERT, event)
    if inserted is None:  # the session has its booking (maybe from a concurrent delivery)
        existing = conn.execute(
            _BOOKING_FOR_SESSION, {"session": lesson.session_id}
        ).scalar_one_or_none()
        return BookingOutcome.DUPLICATE, existing, []
    if taken:
        holds.release_by_session(db, session_id=lesson.session_id, now=now)
        log.warning(
            "session %s paid for a taken slot of tutor %s: booking %s canceled, refund needed",
            lesson.session_id, lesson.tutor_id, booking_id,
        )
        return BookingOutcome.REFUND_NEEDED, booking_id, []
    displaced = holds.convert_and_release_overlapping(
        db, session_id=lesson.session_id, tutor_id=lesson.tutor_id, start=lesson.start,
        end=lesson.end, now=now,
    )
    return BookingOutcome.CREATED, booking_id, displaced


def _resolve_user(db: Session, lesson: PaidLesson, *, user_found: bool) -> str | None:
    """The booking's owner: the user in the metadata, else the one the payer's email names.

    By email, only a verified account or an unclaimed user (created when the email has no
    user; nobody can sign in to it) gets the booking (`users.booking_owner_by_email`). An
    account whose email was never verified gets nothing: the booking stays with user None and
    `customer_email`, and joins the account once its email is verified.
    """
    if lesson.user_id is not None and user_found:
        return lesson.user_id
    if lesson.email:
        try:
            owner = users.booking_owner_by_email(
                db, email=lesson.email, name=lesson.customer_name
            )
        except users.AuthError:
            log.warning("session %s: payer email is not usable", lesson.session_id)
            return None
        if owner is None:
            log.info("session %s: payer email has an unverified account; booking kept by email",
                     lesson.session_id)
            return None
        return owner.id
    return None


def refund_needed(*, booking_id: str, session_id: str) -> None:
    """Hook: a paid session could not be booked because its slot was taken.

    The payment is refunded in full automatically (`refunds.refund_taken_slot`: idempotency
    key from the booking id, so a redelivered event never refunds twice; never raises, and
    the refund retry job finishes what fails). The CANCELED `slot_taken` booking is the
    durable record.
    """
    log.warning("refund needed for booking %s (session %s)", booking_id, session_id)
    refunds.refund_taken_slot(booking_id=booking_id)

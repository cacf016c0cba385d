"""Starting a payment: a slot hold plus a Stripe checkout session for it.

One service for the wizard and for `POST /api/stripe/checkout`. The price comes from the
catalog only. The hold keeps the slot for this student for as long as the session can be paid,
so two students cannot pay for the same slot; it is written in one write transaction that
re-checks bookings and live holds (serialized by `BEGIN IMMEDIATE` on SQLite, guarded by the
`ex_slot_holds_no_overlap` exclusion constraint on PostgreSQL). Stripe is called only after
that transaction commits, never while it holds a lock.

Never charge twice: a student who comes back for the same slot gets their still-open session
again (`resumed=True`) instead of a second one, and the session is created with an
idempotency key derived from the hold, so a retried request cannot make two sessions either.
A student who picks a different, overlapping slot of the same tutor replaces their old hold,
and the old session is expired at Stripe.

A student holds at most MAX_OPEN_HOLDS unpaid slots at once, across all tutors, so one account
cannot keep a tutor's calendar blocked with checkouts it never pays. The count is taken in the
hold's write transaction after locking the student's `users` row (`SELECT ... FOR UPDATE` on
PostgreSQL; `BEGIN IMMEDIATE` serialises it on SQLite), so two checkouts at once cannot both
see room for one more.

With dev payments (no Stripe key, APP_ENV=dev) no call is made: the session is the hold itself,
paid on the app's own `/dev/checkout` page (see `dev_payments`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from tutor_app.catalog import pricing, tutor_catalog
from tutor_app.core import clock, rate_limits, request_context, routes
from tutor_app.core import db as app_db
from tutor_app.core.ids import DEV_CHECKOUT_SESSION_PREFIX
from tutor_app.core.models import HoldStatus, SlotHold, User
from tutor_app.core.settings import get_settings
from tutor_app.core.timefmt import format_duration, format_range, to_utc_iso
from tutor_app.integrations import stripe_gateway
from tutor_app.scheduling import holds, slots

log = logging.getLogger(__name__)

# The hold and the session lapse together. Stripe refuses an `expires_at` under 30 minutes
# from when it creates the session, which is a moment after our clock read: one minute of
# slack absorbs that and any clock skew.
HOLD_LIFETIME = timedelta(minutes=holds.HOLD_MINUTES, seconds=60)
# A session about to expire is not worth resuming: the student could not finish paying.
MIN_RESUME_REMAINING = timedelta(minutes=5)
MAX_NOTE_LENGTH = 2000
# Live (active, unexpired) holds one student may have at once, across all tutors.
MAX_OPEN_HOLDS = 3
# Metadata key of the request id that started the checkout (core.request_context): the webhook
# logs under it, so one id follows a booking from the click to its follow-ups. A new key; the
# older ones are a fixed contract.
REQUEST_ID_KEY = "requestId"
TOO_MANY_HOLDS = (
    f"You have {MAX_OPEN_HOLDS} checkouts in progress. Finish or cancel one before starting "
    "another."
)


class CheckoutError(Exception):
    """Checkout could not start; `str()` is a message for the student."""


class UnknownTutor(CheckoutError):
    """The tutor is not (or no longer) in the tutor_catalog."""


class NotTakingBookings(UnknownTutor):
    """The tutor is listed nowhere because their profile is not complete (no hours, no rate,
    no lesson length): `tutor_catalog.taking_bookings`."""


class InvalidLesson(CheckoutError):
    """The lesson asked for is not one that can be sold (length, start time, note)."""


class TooManyHolds(CheckoutError):
    """The student already has MAX_OPEN_HOLDS unpaid checkouts in progress."""


class PaymentProviderError(CheckoutError, stripe_gateway.PaymentProviderError):
    """Stripe failed; nothing was held and nothing charged."""


@dataclass(frozen=True)
class CheckoutStarted:
    """Where to send the student to pay; `resumed` when it is their earlier, still-open session."""

    url: str
    session_id: str
    resumed: bool


@dataclass(frozen=True)
class _Reservation:
    hold: SlotHold
    tutor_name: str
    tutor_timezone: str
    quote: pricing.Quote
    created: bool
    replaced_sessions: tuple[str, ...]


def success_url() -> str:
    """Stripe replaces `{CHECKOUT_SESSION_ID}` with the session id when it redirects."""
    return f"{get_settings().app_url}{routes.PAYMENT_SUCCESS}?session_id={{CHECKOUT_SESSION_ID}}"


def cancel_url(*, tutor_id: str, duration_minutes: int, start: datetime) -> str:
    """Back to the wizard's review step with every choice kept (the wizard URL contract)."""
    query = urlencode(
        {"tutor": tutor_id, "duration": duration_minutes, "start": to_utc_iso(start)}
    )
    return f"{get_settings().app_url}{routes.PAYMENT_CANCEL}?{query}"


def metadata_start(start: datetime) -> str:
    """`2026-12-01T15:00:00.000Z`: JavaScript's `toISOString()` form, fixed for the metadata."""
    utc = start.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def start_checkout(
    *,
    user: User,
    tutor_id: str,
    start: datetime,
    duration_minutes: int,
    note: str = "",
    now: datetime | None = None,
) -> CheckoutStarted:
    """Hold the slot and open (or resume) a checkout session for it; owns its transactions.

    Raises UnknownTutor (NotTakingBookings: the tutor's profile is not complete), InvalidLesson
    (a length the tutor does not offer, a start not offered), TooManyHolds, PaymentProviderError,
    or
    `slots.SlotTaken` (with alternatives) when someone else has the slot.
    On a Stripe failure the hold this call made is released again: nothing is left half-done.
    """
    now = now or clock.now()
    if not isinstance(start, datetime) or start.tzinfo is None or start.utcoffset() is None:
        raise InvalidLesson("Please choose a start time.")
    start = start.astimezone(UTC)
    note = (note or "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidLesson(f"The note is too long ({MAX_NOTE_LENGTH} characters at most).")

    reservation = _reserve_with_retry(
        user=user, tutor_id=tutor_id, start=start, duration_minutes=duration_minutes,
        note=note, now=now,
    )
    hold = reservation.hold
    try:
        if hold.checkout_session_id and hold.checkout_url:
            return CheckoutStarted(
                url=hold.checkout_url, session_id=hold.checkout_session_id, resumed=True
            )
        session_id, url = _open_session(reservation, user=user, now=now)
        return CheckoutStarted(url=url, session_id=session_id, resumed=not reservation.created)
    finally:
        expire_sessions(reservation.replaced_sessions)


def start_client_checkout(
    *,
    user: User,
    ip: str,
    tutor_id: str,
    start: datetime,
    duration_minutes: int,
    note: str = "",
) -> CheckoutStarted:
    """`start_checkout` asked for by a client at address `ip` (the wizard, the API): counted
    against the checkout rate limits first, per address and per account
    (`rate_limits.RateLimited` when over)."""
    with app_db.session() as db:
        rate_limits.limit_checkout(db, user_id=user.id, ip=ip)
    return start_checkout(
        user=user, tutor_id=tutor_id, start=start, duration_minutes=duration_minutes, note=note
    )


def _reserve_with_retry(
    *, user: User, tutor_id: str, start: datetime, duration_minutes: int, note: str,
    now: datetime,
) -> _Reservation:
    # On PostgreSQL two requests of the same student for the same slot (a double click) both
    # insert; the exclusion constraint refuses the second, whose retry then finds and resumes
    # the first hold. A second refusal means someone else really holds the slot.
    for attempt in range(2):
        try:
            return _reserve(
                user=user, tutor_id=tutor_id, start=start, duration_minutes=duration_minutes,
                note=note, now=now,
            )
        except IntegrityError as exc:
            if holds.violated_constraint(exc) != "ex_slot_holds_no_overlap":
                raise
            log.info("checkout: hold refused by exclusion constraint (attempt %d)", attempt + 1)
    with app_db.session() as db:
        tutor = tutor_catalog.get_tutor(db, tutor_id)
        alternatives = (
            slots.alternatives_for(
                db, tutor=tutor, start=start, duration_minutes=duration_minutes, now=now,
                for_user_id=user.id,
            )
            if tutor is not None
            else []
        )
    raise slots.SlotTaken("Sorry, that time was just taken.", alternatives)


def _reserve(
    *, user: User, tutor_id: str, start: datetime, duration_minutes: int, note: str,
    now: datetime,
) -> _Reservation:
    """The write transaction: release lapsed holds, re-check the slot, insert or reuse a hold.

    The student's row is locked first, so their checkouts run one at a time (the hold cap).
    """
    with app_db.write_session() as db:
        db.exec(select(User.id).where(col(User.id) == user.id).with_for_update()).first()
        tutor = tutor_catalog.get_tutor(db, tutor_id)
        if tutor is None:
            raise UnknownTutor("We couldn't find that tutor. Please choose another one.")
        if not tutor_catalog.taking_bookings(db, tutor, now=now):
            raise NotTakingBookings(tutor_catalog.NOT_TAKING_BOOKINGS)
        if duration_minutes not in tutor_catalog.lesson_lengths(tutor):
            raise InvalidLesson(tutor_catalog.lengths_offered_message(tutor))
        try:
            quote = pricing.quote(
                tutor_id=tutor.id, hourly_rate_cents=tutor.hourly_rate_cents,
                currency=tutor.currency, duration_minutes=duration_minutes,
            )
        except pricing.InvalidDuration as exc:  # e.g. 60.0: equal to an offered length
            raise InvalidLesson(tutor_catalog.lengths_offered_message(tutor)) from exc
        end = start + timedelta(minutes=duration_minutes)
        holds.release_lapsed(db, tutor_id=tutor.id, now=now)

        resumable, replaced = _own_holds(
            db, user_id=user.id, tutor_id=tutor.id, start=start, end=end, quote=quote, now=now
        )
        if resumable is not None:
            db.commit()
            return _Reservation(resumable, tutor.name, tutor.timezone, quote, False, replaced)
        if _live_holds(db, user_id=user.id, now=now) >= MAX_OPEN_HOLDS:
            raise TooManyHolds(TOO_MANY_HOLDS)  # the rollback keeps any hold it would replace

        try:
            slots.check_slot(db, tutor_id=tutor.id, start=start,
                             duration_minutes=duration_minutes, user_id=user.id, now=now)
        except slots.SlotNotOffered as exc:
            raise InvalidLesson(
                "That start time is not available with this tutor. Please pick one of the "
                "times offered."
            ) from exc

        hold = SlotHold(
            tutor_id=tutor.id, user_id=user.id, start_time=start, end_time=end,
            expires_at=now + HOLD_LIFETIME, status=HoldStatus.ACTIVE,
            price_cents=quote.total_cents, currency=quote.currency, note=note,
            request_id=request_context.current_request_id(), created_at=now, updated_at=now,
        )
        db.add(hold)
        db.flush()  # on PostgreSQL the exclusion constraint answers here
        db.commit()
        log.info("checkout: hold %s for tutor %s user %s", hold.id, tutor.id, user.id,
                 extra={"hold_id": hold.id})
        return _Reservation(hold, tutor.name, tutor.timezone, quote, True, replaced)


def _live_holds(db: Session, *, user_id: str, now: datetime) -> int:
    """How many unpaid holds (active, unexpired) the student has, across all tutors."""
    return db.exec(
        select(func.count()).select_from(SlotHold).where(
            col(SlotHold.user_id) == user_id,
            col(SlotHold.status) == HoldStatus.ACTIVE,
            col(SlotHold.expires_at) > now,
        )
    ).one()


def _own_holds(
    db: Session,
    *,
    user_id: str,
    tutor_id: str,
    start: datetime,
    end: datetime,
    quote: pricing.Quote,
    now: datetime,
) -> tuple[SlotHold | None, tuple[str, ...]]:
    """The student's live hold for exactly this slot, if worth resuming; release the others.

    A hold is resumed only at today's price: if the catalog price changed meanwhile, the old
    session is replaced rather than sold at a price the catalog no longer shows.

    Overlapping holds of the same student for other starts or lengths are released (they
    changed their mind, and PostgreSQL would refuse the new hold next to them); their session
    ids are returned so those sessions can be expired at Stripe.
    """
    mine = db.exec(
        select(SlotHold).where(
            SlotHold.user_id == user_id,
            SlotHold.tutor_id == tutor_id,
            SlotHold.status == HoldStatus.ACTIVE,
            col(SlotHold.expires_at) > now,
            col(SlotHold.start_time) < end,
            col(SlotHold.end_time) > start,
        )
    ).all()
    resumable = None
    replaced: list[str] = []
    for hold in mine:
        same_slot = (
            hold.start_time == start
            and hold.end_time == end
            and hold.price_cents == quote.total_cents
            and hold.currency == quote.currency
        )
        if same_slot and resumable is None and hold.expires_at > now + MIN_RESUME_REMAINING:
            resumable = hold
            continue
        holds.release(db, hold_id=hold.id, now=now)
        if hold.checkout_session_id:
            replaced.append(hold.checkout_session_id)
    db.flush()
    return resumable, tuple(replaced)


def _open_session(reservation: _Reservation, *, user: User, now: datetime) -> tuple[str, str]:
    """Create the checkout session for a hold and attach it; on failure undo the new hold."""
    hold = reservation.hold
    try:
        if get_settings().dev_payments:
            session_id = DEV_CHECKOUT_SESSION_PREFIX + secrets.token_hex(16)
            url = f"{get_settings().app_url}{routes.DEV_CHECKOUT}?session_id={session_id}"
        else:
            created = stripe_gateway.create_checkout_session(
                session_params(reservation, user=user),
                idempotency_key=f"checkout-hold-{hold.id}",
            )
            session_id, url = str(created["id"]), str(created["url"])
    except stripe_gateway.PaymentProviderError as exc:
        if reservation.created:
            with app_db.write_session() as db:
                holds.release(db, hold_id=hold.id, now=now, only_without_session=True)
                db.commit()
        raise PaymentProviderError(
            "We couldn't reach the payment provider. Nothing was charged; please try again."
        ) from exc
    with app_db.write_session() as db:
        holds.attach_session(db, hold_id=hold.id, session_id=session_id, url=url, now=now)
        db.commit()
        stored = db.get(SlotHold, hold.id)
    if stored is not None and stored.checkout_session_id and stored.checkout_url:
        session_id, url = stored.checkout_session_id, stored.checkout_url
    log.info("checkout: session %s for hold %s", session_id, hold.id,
             extra={"session_id": session_id, "hold_id": hold.id})
    return session_id, url


def session_params(reservation: _Reservation, *, user: User) -> dict[str, Any]:
    """The checkout session request, derived from the hold (the request id that placed it
    included, `requestId` in the metadata).

    Everything, `expires_at` included, comes from the stored hold, so a retry with the same
    idempotency key sends identical parameters (Stripe refuses a key reused with others).
    """
    hold, quote = reservation.hold, reservation.quote
    request_id = hold.request_id
    duration = quote.duration_minutes
    when = format_range(hold.start_time, hold.end_time, reservation.tutor_timezone)
    ids = {
        "tutorId": hold.tutor_id,
        "startDateTimeISO": metadata_start(hold.start_time),
        "durationMinutes": str(duration),
        "userId": user.id,
        "userEmail": user.email,
    }
    metadata = {
        **ids,
        **quote.metadata(),
        "endDateTimeISO": metadata_start(hold.end_time),
        "tutorName": reservation.tutor_name,
        "holdId": hold.id,
    }
    if request_id:
        metadata[REQUEST_ID_KEY] = request_id
    return {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": quote.currency,
                    "unit_amount": quote.total_cents,
                    "product_data": {
                        "name": f"{duration}-minute lesson with {reservation.tutor_name}",
                        "description": f"{format_duration(duration)}, {when}",
                    },
                },
                "quantity": 1,
            }
        ],
        "metadata": metadata,
        "payment_intent_data": {"metadata": {
            **ids, "holdId": hold.id, **({REQUEST_ID_KEY: request_id} if request_id else {}),
        }},
        "client_reference_id": user.id,
        "customer_email": user.email,
        "success_url": success_url(),
        "cancel_url": cancel_url(
            tutor_id=hold.tutor_id, duration_minutes=duration, start=hold.start_time
        ),
        "expires_at": int(hold.expires_at.timestamp()),
    }


def expire_sessions(session_ids: Sequence[str]) -> None:
    """Close sessions whose hold was replaced or displaced, so they cannot be paid (best effort).

    If this fails, a payment on such a session still books only if its slot is free; a
    conflicting one is recorded for refund by the booking path. Dev sessions need no call:
    their page refuses a released hold.
    """
    for session_id in session_ids:
        if session_id.startswith(DEV_CHECKOUT_SESSION_PREFIX) or get_settings().dev_payments:
            continue
        try:
            stripe_gateway.expire_checkout_session(session_id)
        except stripe_gateway.PaymentProviderError:
            log.warning("checkout: could not expire session %s", session_id)

"""Slot holds: a tutor's slot kept for one student while their checkout session is open.

A hold is `active` from checkout until its session is paid (`converted`), or expires, fails or
is replaced (`released`). It blocks the slot only while active *and* unexpired, so a hold
nobody released still frees its slot at `expires_at`; releasing lapsed holds explicitly keeps
PostgreSQL's exclusion constraint (which covers every active hold) from refusing a new one.

Every function here runs inside the caller's transaction and does not commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, case, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tutor_app.core.models import HoldStatus, SlotHold

# How long a student has to pay: Stripe's minimum checkout session lifetime, so the session
# and the hold lapse together.
HOLD_MINUTES = 30

# The statements every paid booking runs inside the webhook's write transaction, built
# once: constructing a statement costs more Python than executing it (and SQLite holds its
# write lock meanwhile). Plain Core on the db session's connection: no ORM objects involved.
_holds = SlotHold.__table__  # type: ignore[attr-defined]
_TO_CONVERT = and_(
    _holds.c.checkout_session_id == bindparam("session_id"),
    _holds.c.status != HoldStatus.CONVERTED,
)
_OVERLAPPING_OTHERS = and_(
    _holds.c.tutor_id == bindparam("tutor"),
    _holds.c.status == HoldStatus.ACTIVE,
    _holds.c.start_time < bindparam("end"),
    _holds.c.end_time > bindparam("start"),
    or_(
        _holds.c.checkout_session_id.is_(None),
        _holds.c.checkout_session_id != bindparam("session_id"),
    ),
)
_CONVERT_BY_SESSION = (
    update(_holds)
    .where(_TO_CONVERT)
    .values(status=HoldStatus.CONVERTED, updated_at=bindparam("now"))
)
_RELEASE_OVERLAPPING = (
    update(_holds)
    .where(_OVERLAPPING_OTHERS)
    .values(status=HoldStatus.RELEASED, updated_at=bindparam("now"))
    .returning(_holds.c.checkout_session_id)
)
# Both at once, for the webhook: one UPDATE converts the paid session's hold and releases the
# other holds on its slot; each row goes where its session says.
_CONVERT_AND_RELEASE = (
    update(_holds)
    .where(or_(_TO_CONVERT, _OVERLAPPING_OTHERS))
    .values(
        status=case(
            (_holds.c.checkout_session_id == bindparam("session_id"), HoldStatus.CONVERTED.value),
            else_=HoldStatus.RELEASED.value,
        ),
        updated_at=bindparam("now"),
    )
    .returning(_holds.c.checkout_session_id, _holds.c.status)
)


def find_by_session(db: Session, *, session_id: str) -> SlotHold | None:
    """The hold created for a checkout session, whatever its status."""
    return db.exec(select(SlotHold).where(SlotHold.checkout_session_id == session_id)).first()


def release_lapsed(db: Session, *, tutor_id: str, now: datetime) -> int:
    """Mark the tutor's active holds whose time ran out as released; how many there were."""
    result = db.execute(
        update(SlotHold)
        .where(
            col(SlotHold.tutor_id) == tutor_id,
            col(SlotHold.status) == HoldStatus.ACTIVE,
            col(SlotHold.expires_at) <= now,
        )
        .values(status=HoldStatus.RELEASED, updated_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def release(
    db: Session, *, hold_id: str, now: datetime, only_without_session: bool = False
) -> bool:
    """Release one active hold; with `only_without_session`, only if no checkout session
    was attached.

    The second form undoes a checkout whose Stripe call failed without touching a hold that a
    concurrent, successful attempt for the same slot has meanwhile given a session.
    """
    query = update(SlotHold).where(
        col(SlotHold.id) == hold_id, col(SlotHold.status) == HoldStatus.ACTIVE
    )
    if only_without_session:
        query = query.where(col(SlotHold.checkout_session_id).is_(None))
    result = db.execute(query.values(status=HoldStatus.RELEASED, updated_at=now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release_by_session(db: Session, *, session_id: str, now: datetime) -> bool:
    """Release the active hold of a checkout session that expired or whose payment failed."""
    result = db.execute(
        update(SlotHold)
        .where(
            col(SlotHold.checkout_session_id) == session_id,
            col(SlotHold.status) == HoldStatus.ACTIVE,
        )
        .values(status=HoldStatus.RELEASED, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def convert_by_session(db: Session, *, session_id: str, now: datetime) -> bool:
    """Mark a paid checkout session's hold converted: the booking now blocks the slot instead."""
    result = db.connection().execute(
        _CONVERT_BY_SESSION, {"session_id": session_id, "now": now}
    )
    return bool(result.rowcount)


def release_overlapping(
    db: Session,
    *,
    tutor_id: str,
    start: datetime,
    end: datetime,
    except_session_id: str,
    now: datetime,
) -> list[str]:
    """Release other students' active holds on a slot that has just been booked.

    Happens only when a payment's webhook arrives after its hold lapsed and someone else
    picked the slot meanwhile. Their sessions are returned so they can be expired at Stripe
    before they pay for a slot that is gone. One UPDATE ... RETURNING: it runs inside the
    webhook's write transaction on every booking, nearly always changing nothing.
    """
    result = db.connection().execute(
        _RELEASE_OVERLAPPING,
        {"tutor": tutor_id, "start": start, "end": end, "session_id": except_session_id,
         "now": now},
    )
    return [session_id for (session_id,) in result if session_id]


def convert_and_release_overlapping(
    db: Session, *, session_id: str, tutor_id: str, start: datetime, end: datetime,
    now: datetime,
) -> list[str]:
    """`convert_by_session` and `release_overlapping` in one statement (one round trip in the
    booking's write transaction); returns the released holds' sessions, as the latter does."""
    result = db.connection().execute(
        _CONVERT_AND_RELEASE,
        {"tutor": tutor_id, "start": start, "end": end, "session_id": session_id, "now": now},
    )
    return [sid for sid, status in result if sid and status == HoldStatus.RELEASED]


def keep_until_paid(db: Session, *, session_id: str, now: datetime) -> bool:
    """Keep an active hold until its lesson starts: the customer paid by a delayed method.

    A completed-but-unpaid session (a bank debit, say) has committed to pay; letting its hold
    lapse after 30 minutes would hand the slot to someone else and turn the eventual payment
    into a refund. `async_payment_succeeded` converts the hold, `async_payment_failed`
    releases it.
    """
    hold = find_by_session(db, session_id=session_id)
    if hold is None or hold.status != HoldStatus.ACTIVE or hold.expires_at <= now:
        return False
    hold.expires_at = max(hold.expires_at, hold.start_time)
    hold.updated_at = now
    db.add(hold)
    return True


def attach_session(db: Session, *, hold_id: str, session_id: str, url: str, now: datetime) -> None:
    """Record the checkout session made for a hold, unless one was recorded first.

    Two concurrent attempts for the same hold send the same idempotency key and get the same
    session from Stripe; in dev both make one, and the first one stored wins.
    """
    db.execute(
        update(SlotHold)
        .where(col(SlotHold.id) == hold_id, col(SlotHold.checkout_session_id).is_(None))
        .values(checkout_session_id=session_id, checkout_url=url, updated_at=now)
    )


def violated_constraint(exc: IntegrityError) -> str | None:
    """The name of the constraint PostgreSQL reported for an IntegrityError (None on SQLite).

    Tells the exclusion constraints (a slot overlap: a business outcome) apart from other
    integrity failures (bugs, which must surface).
    """
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return str(name) if name else None

"""The student's lessons as pages show them: the read side of bookings.

Bookings are written only by the payment webhook; this module reads them for the dashboard and
the success page and joins in what the catalog knows about the tutor. A tutor who has left the
catalog (row deleted, or hidden by the seed) must not break a student's history, so their
lessons still show, with a fallback photo. No Reflex here; states turn these views into text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from tutor_app.catalog.tutor_catalog import FALLBACK_PHOTO
from tutor_app.core import clock
from tutor_app.core.models import Booking, BookingKind, BookingStatus, Tutor

UNKNOWN_TUTOR_NAME = "Former tutor"


@dataclass(frozen=True)
class LessonView:
    """One booking with its tutor's catalog details, ready to be formatted for a viewer."""

    id: str
    tutor_id: str
    tutor_name: str
    tutor_photo_url: str
    tutor_timezone: str
    start: datetime  # UTC
    end: datetime  # UTC
    duration_minutes: int
    price_cents: int
    currency: str
    status: str
    refunded_cents: int
    cancel_reason: str | None
    # False when the tutor is no longer in the catalog: "Book again" has nowhere to go.
    tutor_bookable: bool = True
    note: str = ""
    kind: str = BookingKind.LESSON  # or a free consultation (price 0)


def _view(booking: Booking, tutor: Tutor | None) -> LessonView:
    bookable = tutor is not None and tutor.active
    if tutor is None:
        name, photo, zone = UNKNOWN_TUTOR_NAME, FALLBACK_PHOTO, "UTC"
    else:
        # A hidden tutor keeps their name (the student knows them) but not their photo,
        # whose asset may have left with the catalog entry.
        name = tutor.name
        photo = tutor.photo_url if tutor.active and tutor.photo_url else FALLBACK_PHOTO
        zone = tutor.timezone
    return LessonView(
        id=booking.id,
        tutor_id=booking.tutor_id,
        tutor_name=name,
        tutor_photo_url=photo,
        tutor_timezone=zone,
        start=booking.start_time,
        end=booking.end_time,
        duration_minutes=int((booking.end_time - booking.start_time).total_seconds() // 60),
        price_cents=booking.price_cents,
        currency=booking.currency,
        status=booking.status,
        refunded_cents=booking.refunded_cents,
        cancel_reason=booking.cancel_reason,
        tutor_bookable=bookable,
        note=booking.note,
        kind=booking.kind,
    )


def _views(db: Session, bookings: list[Booking]) -> list[LessonView]:
    tutor_ids = {b.tutor_id for b in bookings}
    tutors: dict[str, Tutor] = {}
    if tutor_ids:
        rows = db.exec(select(Tutor).where(col(Tutor.id).in_(tutor_ids))).all()
        tutors = {t.id: t for t in rows}
    return [_view(b, tutors.get(b.tutor_id)) for b in bookings]


def is_upcoming(lesson: LessonView, now: datetime) -> bool:
    """The rule: upcoming is a scheduled lesson that has not started yet.

    Everything else is past: anything that started before `now`, a lesson already marked
    COMPLETED (even if its slot lies ahead) and a CANCELED one, which will not happen.
    """
    return lesson.status == BookingStatus.SCHEDULED and lesson.start >= now


def dashboard_lessons(
    db: Session, *, user_id: str, now: datetime | None = None
) -> tuple[list[LessonView], list[LessonView]]:
    """(upcoming, past) lessons of one user: upcoming soonest first, past most recent first.

    Only bookings owned by `user_id`; an empty id (signed out) owns nothing.
    """
    if not user_id:
        return [], []
    now = now or clock.now()
    bookings = list(
        db.exec(
            select(Booking)
            .where(Booking.user_id == user_id)
            .order_by(col(Booking.start_time), col(Booking.id))
        ).all()
    )
    upcoming: list[LessonView] = []
    past: list[LessonView] = []
    for lesson in _views(db, bookings):
        (upcoming if is_upcoming(lesson, now) else past).append(lesson)
    past.reverse()
    return upcoming, past


def lesson_for_checkout_session(
    db: Session, *, session_id: str, user_id: str
) -> LessonView | None:
    """The booking a paid checkout session produced, when it exists and belongs to `user_id`.

    None while the webhook has not written it yet, and also when the session is someone
    else's: a session id in a URL must not reveal another student's lesson.
    """
    if not session_id or not user_id:
        return None
    booking = db.exec(
        select(Booking).where(
            Booking.stripe_checkout_session_id == session_id, Booking.user_id == user_id
        )
    ).first()
    if booking is None:
        return None
    return _views(db, [booking])[0]

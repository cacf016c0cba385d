"""Free 15-minute consultations: booking one, the rules that refuse one, and a consultation's
life afterwards (follow-ups, cancel, reschedule, completion) with nothing reaching Stripe.

The fake Stripe is configured (real-keys mode) wherever money could be involved, so "no
request reached Stripe" is something the test sees, not something it assumes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from icalendar import Calendar
from sqlmodel import Session, col, select

from tests.factories import TUTOR, TUTOR_NAME, make_booking, make_hold, make_user
from tests.fakes.fake_stripe import FakeStripe
from tests.fakes.smtp_server import SmtpServer
from tests.money_helpers import booking, refunds_of
from tests.pinned_time import run_cli
from tutor_app.booking import (
    cancellation,
    completion,
    consultations,
    lesson_events,
    refunds,
    reschedule,
)
from tutor_app.booking.consultations import (
    AlreadyHadConsultation,
    ConsultationNotOffered,
    InvalidConsultation,
    TooManyConsultations,
)
from tutor_app.catalog.pricing import CONSULTATION_MINUTES
from tutor_app.core import clock, rate_limits
from tutor_app.core import db as app_db
from tutor_app.core.ids import FREE_BOOKING_SESSION_PREFIX
from tutor_app.core.models import Booking, BookingKind, BookingStatus, SlotHold, Tutor, User
from tutor_app.payments import reconcile
from tutor_app.scheduling import slots

IP = "203.0.113.7"
OFFERING = ("james-okafor", "maria-garcia", "liam-murphy", "sofia-rossi")


@pytest.fixture
def offering(database: object) -> tuple[str, ...]:
    """Four tutors who offer a free consultation (James Okafor first)."""
    for tutor_id in OFFERING:
        assert consultations.set_offers_consultation(tutor_id=tutor_id, offers=True)
    return OFFERING


@pytest.fixture
def created_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The booking ids `lesson_events.after_booking_created` was called with."""
    calls: list[str] = []
    monkeypatch.setattr(lesson_events, "after_booking_created",
                        lambda booking_id, **_: calls.append(booking_id))
    return calls


def _free(session: Session, *, tutor_id: str = TUTOR, days: float = 3, nth: int = 0,
          minutes: int = CONSULTATION_MINUTES) -> datetime:
    """A free start at least `days` ahead (the nth one after that): for an intro, or for a
    lesson of `minutes` with a tutor who offers no intro (its start is free for one too)."""
    starts = slots.free_slots_for(session, tutor_id=tutor_id, duration_minutes=minutes)
    session.commit()
    after = clock.now() + timedelta(days=days)
    return [s for s in starts if s >= after][nth]


def _book(user: User, start: datetime, *, tutor_id: str = TUTOR, note: str = "") -> str:
    return consultations.book_consultation(user=user, tutor_id=tutor_id, start=start, ip=IP,
                                           note=note)


def _posts(fake: FakeStripe) -> list[str]:
    """Every request that would create or change something at Stripe."""
    with fake.lock:
        return [f"{r.method} {r.path}" for r in fake.requests if r.method != "GET"]


# ---------------------------------------------------------------- booking


def test_a_consultation_is_booked_at_once_free_and_without_stripe(
    fake: FakeStripe, session: Session, offering: tuple[str, ...], created_calls: list[str]
) -> None:
    user = make_user(session, email="ann@example.com")
    start = _free(session)

    booking_id = _book(user, start, note="  Help with calculus  ")

    row = booking(session, booking_id=booking_id)
    assert row.kind == BookingKind.CONSULTATION
    assert row.status == BookingStatus.SCHEDULED
    assert (row.user_id, row.tutor_id) == (user.id, TUTOR)
    assert (row.start_time, row.end_time) == (start, start + timedelta(minutes=15))
    assert (row.price_cents, row.currency, row.refunded_cents) == (0, "usd", 0)
    assert row.stripe_checkout_session_id == FREE_BOOKING_SESSION_PREFIX + booking_id
    assert row.stripe_payment_intent_id is None and row.stripe_customer_id is None
    assert row.customer_email == "ann@example.com" and row.note == "Help with calculus"
    assert created_calls == [booking_id]  # the same follow-ups as a paid booking
    assert fake.requests == []  # not a single call to Stripe
    session.commit()
    assert session.exec(select(SlotHold)).all() == []  # no hold, no checkout session
    # The slot is taken for everyone, lessons included.
    assert start not in slots.free_slots_for(session, tutor_id=TUTOR, duration_minutes=60)
    assert start not in slots.free_slots_for(session, tutor_id=TUTOR, duration_minutes=15)


def test_the_follow_ups_mail_a_confirmation_with_a_calendar_file(
    mailbox: SmtpServer, session: Session, offering: tuple[str, ...]
) -> None:
    user = make_user(session, email="ann@example.com", name="Ann", timezone="America/New_York")

    booking_id = _book(user, _free(session))
    assert lesson_events.wait_idle()

    [mail] = mailbox.wait_for(1)
    assert mail.rcpt_tos == ("ann@example.com",)
    assert str(mail["Subject"]).startswith(f"Free consultation booked: {TUTOR_NAME}")
    body = mail.message.get_body(("plain",))
    assert body is not None
    text = str(body.get_content())
    assert f"Your free 15 min consultation with {TUTOR_NAME} is booked." in text
    assert "Free" in text and "$" not in text and "paid" not in text
    [part] = [p for p in mail.message.iter_attachments()
              if p.get_content_type() == "text/calendar"]
    [event] = Calendar.from_ical(part.get_content()).walk("VEVENT")
    assert str(event["SUMMARY"]) == f"Free consultation with {TUTOR_NAME}"
    assert event["DTEND"].dt - event["DTSTART"].dt == timedelta(minutes=15)
    assert f"booking-{booking_id}@" in str(event["UID"])


def test_a_tutor_who_offers_none_is_refused(session: Session, database: object) -> None:
    user = make_user(session)
    start = _free(session, minutes=30)  # James offers no consultation by default

    with pytest.raises(ConsultationNotOffered) as refused:
        _book(user, start)
    assert str(refused.value) == consultations.NOT_OFFERED
    with pytest.raises(ConsultationNotOffered):
        _book(user, start, tutor_id="nobody-by-that-name")
    assert _bookings(session) == []


def test_a_second_consultation_with_the_same_tutor_is_told_it_already_had_one(
    session: Session, offering: tuple[str, ...]
) -> None:
    user = make_user(session)
    _book(user, _free(session))

    with pytest.raises(AlreadyHadConsultation) as refused:
        _book(user, _free(session, nth=4))
    assert str(refused.value) == (
        f"You already had your free intro with {TUTOR_NAME}. Book a lesson instead.")
    assert refused.value.tutor_id == TUTOR
    # Another tutor, or another student with this tutor, is a first consultation.
    _book(user, _free(session, tutor_id="maria-garcia"), tutor_id="maria-garcia")
    _book(make_user(session), _free(session, nth=8))
    assert len(_bookings(session)) == 3


def test_the_unique_index_refuses_the_second_one_when_the_check_misses_it(
    session: Session, offering: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read check only words the answer; the partial unique index is what holds (two
    requests that both passed the check): its refusal is the same message."""
    user = make_user(session)
    _book(user, _free(session))
    monkeypatch.setattr(consultations, "had_consultation", lambda *a, **k: False)

    with pytest.raises(AlreadyHadConsultation) as refused:
        _book(user, _free(session, nth=4))
    assert TUTOR_NAME in str(refused.value)
    assert len(_bookings(session)) == 1


def test_a_canceled_consultation_does_not_count_a_completed_one_does(
    session: Session, offering: tuple[str, ...]
) -> None:
    user = make_user(session)
    first = _book(user, _free(session))
    cancellation.cancel_lesson(booking_id=first, user_id=user.id)

    again = _book(user, _free(session, nth=4))  # the canceled one is not their intro

    done = booking(session, booking_id=again)
    later = done.end_time + timedelta(minutes=1)
    assert completion.complete_past_lessons(now=later) == 1
    assert booking(session, booking_id=again).status == BookingStatus.COMPLETED
    with pytest.raises(AlreadyHadConsultation):
        consultations.book_consultation(user=user, tutor_id=TUTOR, ip=IP, now=later,
                                        start=_free(session, days=4, nth=2))


def test_at_most_three_upcoming_consultations_across_tutors(
    session: Session, offering: tuple[str, ...]
) -> None:
    user = make_user(session)
    for tutor_id in offering[:3]:
        _book(user, _free(session, tutor_id=tutor_id), tutor_id=tutor_id)

    with pytest.raises(TooManyConsultations) as refused:
        _book(user, _free(session, tutor_id=offering[3]), tutor_id=offering[3])
    assert str(refused.value) == consultations.TOO_MANY

    # Canceling one makes room again.
    first = _bookings(session)[0]
    cancellation.cancel_lesson(booking_id=first.id, user_id=user.id)
    _book(user, _free(session, tutor_id=offering[3]), tutor_id=offering[3])


def test_consultations_are_rate_limited_per_account(
    session: Session, offering: tuple[str, ...]
) -> None:
    user = make_user(session)
    with app_db.session() as db:
        for _ in range(rate_limits.CONSULTATION_PER_ACCOUNT.max_hits):
            rate_limits.limit_consultation(db, user_id=user.id, ip="198.51.100.9")

    with pytest.raises(rate_limits.RateLimited):
        _book(user, _free(session))
    assert _bookings(session) == []


def test_the_slot_must_be_free_of_bookings_and_of_everyones_live_holds(
    session: Session, offering: tuple[str, ...]
) -> None:
    user, other = make_user(session), make_user(session)
    booked, held, own = (_free(session, nth=n) for n in (0, 4, 8))
    make_booking(session, start=booked - timedelta(minutes=30), minutes=60)
    make_hold(session, user=other, start=held)
    make_hold(session, user=user, start=own)  # their own checkout in progress counts too

    for start in (booked, held, own):
        with pytest.raises(slots.SlotTaken) as taken:
            _book(user, start)
        assert taken.value.alternatives and start not in taken.value.alternatives
    assert [b.kind for b in _bookings(session)] == [BookingKind.LESSON]


def test_a_time_the_tutor_does_not_offer_is_refused(
    session: Session, offering: tuple[str, ...]
) -> None:
    user = make_user(session)
    start = _free(session)
    for bad in (
        start + timedelta(minutes=15),  # off the half-hour grid
        clock.now() + timedelta(hours=2),  # inside the notice
        start + timedelta(days=90),  # past the horizon
    ):
        with pytest.raises(InvalidConsultation):
            _book(user, bad)
    with pytest.raises(InvalidConsultation):
        _book(user, start.replace(tzinfo=None))
    assert _bookings(session) == []


# ---------------------------------------------------------------- the tutor's opt-out


def test_opting_out_refuses_new_ones_and_keeps_those_booked(
    fake: FakeStripe, session: Session, offering: tuple[str, ...]
) -> None:
    user = make_user(session)
    kept = _book(user, _free(session))

    assert consultations.set_offers_consultation(tutor_id=TUTOR, offers=False)

    with pytest.raises(ConsultationNotOffered):
        _book(make_user(session), _free(session, nth=4, minutes=30))
    row = booking(session, booking_id=kept)
    assert (row.status, row.kind) == (BookingStatus.SCHEDULED, BookingKind.CONSULTATION)
    # The booked one can still be moved and canceled.
    target = _free(session, days=5, minutes=30)
    reschedule.reschedule_lesson(booking_id=kept, user_id=user.id, new_start=target)
    assert booking(session, booking_id=kept).start_time == target
    cancellation.cancel_lesson(booking_id=kept, user_id=user.id)
    assert booking(session, booking_id=kept).status == BookingStatus.CANCELED
    assert not consultations.set_offers_consultation(tutor_id="nobody", offers=True)


# ---------------------------------------------------------------- cancel, move, complete


def test_canceling_owes_no_refund_and_calls_no_stripe(
    fake: FakeStripe, session: Session, offering: tuple[str, ...]
) -> None:
    user = make_user(session)
    booking_id = _book(user, _free(session))

    preview = cancellation.cancel_preview(session, booking_id=booking_id, user_id=user.id)
    assert (preview.can_cancel, preview.refund_cents) == (True, 0)
    assert preview.message == cancellation.FREE_CANCEL_PREVIEW
    result = cancellation.cancel_lesson(booking_id=booking_id, user_id=user.id)

    assert (result.status, result.refund_cents, result.refund_status) == (
        BookingStatus.CANCELED, 0, "none")
    assert result.message == cancellation.FREE_CANCELED
    assert refunds_of(session, booking_id) == []
    # Nothing Stripe-related picks it up later either.
    assert refunds.retry_pending_refunds() == 0
    reconcile.reconcile()
    assert _posts(fake) == []
    assert booking(session, booking_id=booking_id).refunded_cents == 0


def test_a_consultation_is_never_owed_a_refund(
    session: Session, offering: tuple[str, ...]
) -> None:
    """Even a (buggy) caller naming an amount writes no refund for a free booking."""
    booking_id = _book(make_user(session), _free(session))
    row = booking(session, booking_id=booking_id)
    assert refunds.is_free_booking(row)

    assert refunds.owe_refund(session, booking=row, amount_cents=500, reason="x") is False
    session.commit()
    assert refunds_of(session, booking_id) == []


def test_rescheduling_keeps_fifteen_minutes_and_calls_no_stripe(
    fake: FakeStripe, session: Session, offering: tuple[str, ...]
) -> None:
    user = make_user(session)
    booking_id = _book(user, _free(session))
    before = booking(session, booking_id=booking_id)
    start, sequence = before.start_time, before.sequence

    options = reschedule.free_starts_for_booking(session, booking_id=booking_id,
                                                 user_id=user.id)
    session.commit()
    target = next(s for s in options if s >= start + timedelta(days=2))
    result = reschedule.reschedule_lesson(booking_id=booking_id, user_id=user.id,
                                          new_start=target)

    after = booking(session, booking_id=booking_id)
    assert (after.start_time, after.end_time) == (target, target + timedelta(minutes=15))
    assert after.sequence == sequence + 1 == result.sequence
    assert (after.kind, after.price_cents) == (BookingKind.CONSULTATION, 0)
    assert fake.requests == []


def test_consultations_complete_like_lessons(
    session: Session, offering: tuple[str, ...]
) -> None:
    booking_id = _book(make_user(session), _free(session))
    row = booking(session, booking_id=booking_id)

    assert completion.complete_past_lessons(now=row.end_time - timedelta(minutes=1)) == 0
    assert completion.complete_past_lessons(now=row.end_time) == 1
    assert booking(session, booking_id=booking_id).status == BookingStatus.COMPLETED


def _bookings(session: Session) -> list[Booking]:
    session.commit()
    session.expire_all()
    rows = list(session.exec(select(Booking).order_by(col(Booking.start_time))))
    session.commit()
    return rows


def test_the_cli_turns_a_tutors_offer_on_and_off(session: Session) -> None:
    def offers() -> bool:
        session.commit()
        session.expire_all()
        tutor = session.get(Tutor, TUTOR)
        assert tutor is not None
        return tutor.offers_consultation

    done = run_cli("offer-consultation", TUTOR)
    assert done.returncode == 0, done.stderr
    assert f"{TUTOR} offers a free consultation" in done.stdout
    assert offers()
    assert run_cli("offer-consultation", TUTOR, "--off").returncode == 0
    assert not offers()
    unknown = run_cli("offer-consultation", "nobody")
    assert unknown.returncode == 2 and "no tutor 'nobody'" in unknown.stderr

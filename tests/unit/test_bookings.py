"""recording.record_paid_session: one booking per paid checkout session, no double booking.

Also the booking signals the success page waits on, and a lesson across New York's November
DST change going from checkout to booking in correct UTC.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from tests.factories import FIRST_SLOT, TUTOR, make_booking, make_hold, make_user, session_object
from tests.stripe_helpers import all_bookings, bookings_for, hold_by_id
from tutor_app.accounts import email_links, email_verification, users
from tutor_app.booking import checkout, lessons, signals
from tutor_app.booking.recording import BookingOutcome, parse_paid_session, record_paid_session
from tutor_app.core.models import (
    BookingEvent,
    BookingKind,
    BookingStatus,
    HoldStatus,
    SlotHold,
    Tutor,
    User,
)
from tutor_app.core.settings import Settings
from tutor_app.payments import dev_gateway

ConfigureFn = Callable[..., Settings]


def _record(obj: dict) -> BookingOutcome:
    return record_paid_session(obj, source="test")


def test_booking_is_made_from_the_sessions_own_amount_and_ids(session: Session) -> None:
    user = make_user(session)
    # The hold was priced 1234 cents in eur at checkout and the session paid exactly that: the
    # booking takes what was paid, whatever the catalog says now.
    hold = make_hold(session, user=user, start=FIRST_SLOT, minutes=90, session_id="cs_test_own",
                     price_cents=1234, currency="eur", note="Bring the worksheet")
    obj = session_object(session_id="cs_test_own", user_id=user.id, email=user.email,
                         amount=1234, currency="eur", minutes=90)
    assert _record(obj) is BookingOutcome.CREATED
    (booking,) = bookings_for(session, "cs_test_own")
    assert booking.status == BookingStatus.SCHEDULED
    assert (booking.price_cents, booking.currency) == (1234, "eur")
    assert booking.tutor_id == TUTOR
    assert booking.start_time == FIRST_SLOT
    assert booking.end_time == FIRST_SLOT + timedelta(minutes=90)
    assert booking.stripe_payment_intent_id == obj["payment_intent"]
    assert booking.stripe_customer_id == obj["customer"]
    assert booking.user_id == user.id
    assert booking.customer_email == user.email
    assert booking.note == "Bring the worksheet"
    assert hold_by_id(session, hold.id).status == HoldStatus.CONVERTED


def test_session_without_hold_books_only_at_the_catalog_price(session: Session) -> None:
    user = make_user(session)
    # James: $60 an hour, so 90 minutes cost 9000 cents; no hold (an earlier app's session).
    right = session_object(user_id=user.id, minutes=90, amount=9000)
    assert _record(right) is BookingOutcome.CREATED
    wrong_amount = session_object(user_id=user.id, start=FIRST_SLOT + timedelta(days=1),
                                  minutes=90, amount=6000)
    wrong_currency = session_object(user_id=user.id, start=FIRST_SLOT + timedelta(days=2),
                                    amount=6000, currency="eur")
    not_offered = session_object(user_id=user.id, start=FIRST_SLOT + timedelta(days=3),
                                 minutes=45, amount=4500)
    unknown_tutor = session_object(tutor_id="nobody-here", user_id=user.id)
    for obj in (wrong_amount, wrong_currency, not_offered, unknown_tutor):
        assert _record(obj) is BookingOutcome.MISMATCH, obj["metadata"]
    assert [b.stripe_checkout_session_id for b in all_bookings(session)] == [right["id"]]


def test_session_without_livemode_is_not_booked(session: Session) -> None:
    obj = session_object()
    del obj["livemode"]
    assert _record(obj) is BookingOutcome.MISMATCH
    assert all_bookings(session) == []


def test_user_found_by_id_even_when_paying_with_another_email(session: Session) -> None:
    user = make_user(session, email="owner@example.com")
    obj = session_object(user_id=user.id, email=None, customer_email="card-holder@example.com")
    assert _record(obj) is BookingOutcome.CREATED
    (booking,) = bookings_for(session, obj["id"])
    assert booking.user_id == user.id


def test_user_found_by_email_when_the_id_is_unknown(session: Session) -> None:
    user = make_user(session, email="known@example.com")
    obj = session_object(user_id="c_no_such_user", email="Known@Example.com")
    assert _record(obj) is BookingOutcome.CREATED
    assert bookings_for(session, obj["id"])[0].user_id == user.id


def test_unknown_email_creates_an_unclaimed_user(session: Session) -> None:
    obj = session_object(email=None, customer_email="new-student@example.com")
    assert _record(obj) is BookingOutcome.CREATED
    (booking,) = bookings_for(session, obj["id"])
    user = session.get(User, booking.user_id)
    assert user is not None
    assert user.email == "new-student@example.com"
    assert user.password_hash is None  # unclaimed until that person signs up
    assert booking.customer_email == "new-student@example.com"


def test_a_booking_by_email_skips_an_account_whose_email_was_never_verified(
    session: Session,
) -> None:
    # Whoever signed up with the address may not own it: the lesson is not theirs to see.
    squatter = users.sign_up(session, email="payer@example.com", password="squatter's pass")
    session.commit()
    obj = session_object(email=None, customer_email="Payer@example.com")

    assert _record(obj) is BookingOutcome.CREATED

    (booking,) = bookings_for(session, obj["id"])
    assert booking.user_id is None
    assert booking.customer_email == "Payer@example.com"
    assert lessons.dashboard_lessons(session, user_id=squatter.id) == ([], [])


def test_a_booking_by_email_goes_to_a_verified_account(session: Session) -> None:
    user = make_user(session, email="payer@example.com", password_hash="x", email_verified=True)
    obj = session_object(email=None, customer_email="payer@example.com")

    assert _record(obj) is BookingOutcome.CREATED

    assert bookings_for(session, obj["id"])[0].user_id == user.id


def test_a_booking_kept_by_email_joins_the_account_once_its_email_is_verified(
    session: Session,
) -> None:
    account = users.sign_up(session, email="payer@example.com", password="correct horse")
    token = email_links.issue_link(session, user_id=account.id,
                                   purpose=email_links.VERIFY_EMAIL, email=account.email)
    session.commit()
    obj = session_object(email=None, customer_email="payer@example.com")
    assert _record(obj) is BookingOutcome.CREATED

    assert email_verification.verify_email(token) is not None

    session.expire_all()
    assert bookings_for(session, obj["id"])[0].user_id == account.id


def test_no_user_and_no_email_leaves_the_booking_unclaimed(session: Session) -> None:
    obj = session_object(email=None)
    obj["customer_details"] = None
    assert _record(obj) is BookingOutcome.CREATED
    (booking,) = bookings_for(session, obj["id"])
    assert booking.user_id is None


def test_seed_alias_tutor_slug_is_accepted(session: Session) -> None:
    obj = session_object()
    obj["metadata"]["tutorSlug"] = obj["metadata"].pop("tutorId")
    assert _record(obj) is BookingOutcome.CREATED
    assert bookings_for(session, obj["id"])[0].tutor_id == TUTOR


def test_duplicate_delivery_books_once(session: Session) -> None:
    obj = session_object()
    assert _record(obj) is BookingOutcome.CREATED
    assert _record(obj) is BookingOutcome.DUPLICATE
    assert len(bookings_for(session, obj["id"])) == 1


def test_concurrent_duplicates_book_once(session: Session) -> None:
    obj = session_object()
    outcomes: list[BookingOutcome] = []
    barrier = threading.Barrier(20)

    def deliver() -> None:
        barrier.wait()
        outcomes.append(_record(obj))

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == sorted([BookingOutcome.CREATED] + [BookingOutcome.DUPLICATE] * 19)
    assert len(bookings_for(session, obj["id"])) == 1


def test_unpaid_or_invalid_sessions_book_nothing(session: Session) -> None:
    assert _record(session_object(paid=False)) is BookingOutcome.NOT_PAID
    broken = session_object()
    del broken["metadata"]["startDateTimeISO"]
    assert _record(broken) is BookingOutcome.INVALID
    no_amount = session_object()
    no_amount["amount_total"] = None
    assert _record(no_amount) is BookingOutcome.INVALID
    assert all_bookings(session) == []


def test_paid_session_for_a_taken_slot_is_not_double_booked(session: Session) -> None:
    first = make_booking(session, start=FIRST_SLOT)
    late = make_user(session)
    hold = make_hold(session, user=late, start=FIRST_SLOT + timedelta(minutes=30),
                     session_id="cs_test_late")
    obj = session_object(session_id="cs_test_late", user_id=late.id,
                         start=FIRST_SLOT + timedelta(minutes=30))
    assert _record(obj) is BookingOutcome.REFUND_NEEDED
    scheduled = [b for b in all_bookings(session) if b.status == BookingStatus.SCHEDULED]
    assert [b.id for b in scheduled] == [first.id]
    (refund,) = bookings_for(session, "cs_test_late")
    assert refund.status == BookingStatus.CANCELED
    assert refund.cancel_reason == "slot_taken"
    assert refund.canceled_at is not None
    assert refund.price_cents == obj["amount_total"]  # the amount to refund is on record
    assert hold_by_id(session, hold.id).status == HoldStatus.RELEASED
    assert _record(obj) is BookingOutcome.DUPLICATE  # a redelivery changes nothing


def test_concurrent_payments_for_one_slot_schedule_one_booking(session: Session) -> None:
    sessions = [session_object(user_id=make_user(session).id) for _ in range(10)]
    outcomes: list[BookingOutcome] = []
    barrier = threading.Barrier(len(sessions))

    def deliver(obj: dict) -> None:
        barrier.wait()
        outcomes.append(_record(obj))

    threads = [threading.Thread(target=deliver, args=(o,)) for o in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == sorted(
        [BookingOutcome.CREATED] + [BookingOutcome.REFUND_NEEDED] * 9
    )
    rows = all_bookings(session)
    assert len(rows) == 10
    assert [b.status for b in rows].count(BookingStatus.SCHEDULED) == 1
    assert {b.cancel_reason for b in rows if b.status == BookingStatus.CANCELED} == {"slot_taken"}


def test_start_is_read_as_utc_whatever_the_spelling() -> None:
    obj = session_object()
    for spelling in ("2026-12-01T21:00:00.000Z", "2026-12-01T21:00:00Z",
                     "2026-12-01T16:00:00-05:00", "2026-12-01T21:00:00"):
        obj["metadata"]["startDateTimeISO"] = spelling
        lesson = parse_paid_session(obj)
        assert lesson.start == FIRST_SLOT
        assert lesson.start.tzinfo is not None


def test_lesson_across_the_november_dst_change_is_stored_in_utc(
    session: Session, configure: ConfigureFn
) -> None:
    """A 90-minute lesson at 01:00 EDT on 1 Nov 2026 ends at 01:30 EST, 90 real minutes later."""
    configure(STRIPE_SECRET_KEY=None, STRIPE_WEBHOOK_SECRET=None, APP_ENV="dev")
    session.add(Tutor(
        id="night-owl", name="Night Owl", photo_url="/x.svg", subjects=["Astronomy"],
        hourly_rate_cents=4000, currency="usd", bio="Teaches at night.",
        timezone="America/New_York", weekly_hours={"sun": [["00:00", "04:00"]]},
    ))
    session.commit()
    user = make_user(session)
    new_york = ZoneInfo("America/New_York")
    start = datetime(2026, 11, 1, 1, 0, tzinfo=new_york)  # fold=0: the first 01:00, EDT
    assert start.astimezone(UTC) == datetime(2026, 11, 1, 5, 0, tzinfo=UTC)
    now = datetime(2026, 10, 20, tzinfo=UTC)

    started = checkout.start_checkout(user=user, tutor_id="night-owl", start=start,
                                      duration_minutes=90, now=now)
    hold = session.exec(
        select(SlotHold).where(SlotHold.checkout_session_id == started.session_id)
    ).one()
    obj = dev_gateway.build_session_object(hold, user)
    assert obj["metadata"]["startDateTimeISO"] == "2026-11-01T05:00:00.000Z"
    assert _record(obj) is BookingOutcome.CREATED

    (booking,) = bookings_for(session, started.session_id)
    assert booking.start_time == datetime(2026, 11, 1, 5, 0, tzinfo=UTC)
    assert booking.end_time == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    end_local = booking.end_time.astimezone(new_york)
    assert (end_local.hour, end_local.minute, end_local.tzname()) == (1, 30, "EST")
    assert booking.price_cents == 6000  # 90 minutes at $40/hour


# --- booking signals ---------------------------------------------------------------------


def test_signal_wakes_a_waiter_from_another_thread() -> None:
    async def scenario() -> tuple[bool, float]:
        started = time.monotonic()
        threading.Timer(0.1, signals.notify_booked, args=("cs_sig_1",)).start()
        woke = await signals.wait_for_booking("cs_sig_1", timeout=5)
        return woke, time.monotonic() - started

    woke, waited = asyncio.run(scenario())
    assert woke and waited < 2


def test_signal_times_out_without_a_booking() -> None:
    assert asyncio.run(signals.wait_for_booking("cs_sig_never", timeout=0.1)) is False


def test_signal_just_before_the_wait_is_not_lost() -> None:
    signals.notify_booked("cs_sig_early")
    assert asyncio.run(signals.wait_for_booking("cs_sig_early", timeout=0.01)) is True


def test_recording_a_booking_signals_it(session: Session) -> None:
    obj = session_object()

    async def scenario() -> bool:
        waiter = asyncio.create_task(signals.wait_for_booking(obj["id"], timeout=10))
        await asyncio.sleep(0.05)
        await asyncio.to_thread(_record, obj)
        return await waiter

    assert asyncio.run(scenario()) is True


@pytest.mark.parametrize("status", [BookingStatus.CANCELED, BookingStatus.COMPLETED])
def test_only_scheduled_bookings_block_a_paid_session(session: Session, status: str) -> None:
    make_booking(session, start=FIRST_SLOT, status=status)
    assert _record(session_object()) is BookingOutcome.CREATED


def test_booking_releases_another_students_hold_on_the_same_slot(
    session: Session, configure: ConfigureFn
) -> None:
    """A late webhook (its hold had lapsed) books; whoever picked the slot since loses it."""
    configure(STRIPE_SECRET_KEY=None, STRIPE_WEBHOOK_SECRET=None, APP_ENV="dev")
    late = make_user(session)
    make_hold(session, user=late, start=FIRST_SLOT, session_id="cs_dev_late",
              status=HoldStatus.RELEASED)
    newcomer = make_hold(session, user=make_user(session), start=FIRST_SLOT,
                         session_id="cs_dev_newcomer")
    obj = session_object(session_id="cs_dev_late", user_id=late.id)
    assert _record(obj) is BookingOutcome.CREATED
    assert hold_by_id(session, newcomer.id).status == HoldStatus.RELEASED


def test_a_paid_booking_starts_its_history_once(session: Session) -> None:
    """The webhook writes the booking's first history row in its own statements: one
    "created" row by the system, with the session and the price; a redelivery adds none."""
    make_booking(session, start=FIRST_SLOT)
    booked = session_object(session_id="cs_test_history",
                            start=FIRST_SLOT + timedelta(days=1))
    taken = session_object(session_id="cs_test_history_taken",
                           start=FIRST_SLOT + timedelta(minutes=30))
    for obj in (booked, taken, booked, taken):
        _record(obj)

    for obj, detail in (
        (booked, {"checkout_session": "cs_test_history", "price_cents": booked["amount_total"]}),
        (taken, {"checkout_session": "cs_test_history_taken",
                 "price_cents": taken["amount_total"], "canceled": "slot_taken"}),
    ):
        (booking,) = bookings_for(session, obj["id"])
        assert booking.kind == BookingKind.LESSON
        events = session.exec(
            select(BookingEvent).where(BookingEvent.booking_id == booking.id)
        ).all()
        assert [(e.kind, e.actor_role, e.actor_id, e.detail) for e in events] == [
            ("created", "system", None, detail)
        ]

"""Reconciliation books the paid checkout sessions Stripe has and the database lacks, once.

The "webhook never arrived" case is made literally: the student checks out and pays at the
fake Stripe, and no event is delivered. Reconciliation must find the session by listing
Stripe (all pages) and book it through the webhook's own path.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from tests.factories import TUTOR, first_free, make_booking, make_user
from tests.fakes.fake_stripe import FakeStripe
from tests.money_helpers import ConfigureFn, booking, hold_of, run_concurrently
from tests.pinned_time import app_process_env, run_cli
from tests.stripe_helpers import refund_requests
from tutor_app.booking import checkout, recording
from tutor_app.core import clock, jobs
from tutor_app.core.models import Booking, BookingStatus, HoldStatus
from tutor_app.integrations import stripe_gateway
from tutor_app.payments import reconcile
from tutor_app.scheduling import slots


def _paid_without_webhook(session: Session, fake: FakeStripe, *, days_ahead: float = 3,
                          paid: bool = True) -> str:
    user = make_user(session)
    start = first_free(session, days_ahead=days_ahead)
    started = checkout.start_checkout(user=user, tutor_id=TUTOR, start=start,
                                      duration_minutes=60)
    fake.complete_session(started.session_id, paid=paid)
    return started.session_id


def _bookings(session: Session) -> list[Booking]:
    session.commit()
    session.expire_all()
    return list(session.exec(select(Booking)))


def test_a_paid_session_whose_webhook_never_arrived_is_booked_once(
    fake: FakeStripe, session: Session
) -> None:
    session_id = _paid_without_webhook(session, fake)
    assert _bookings(session) == []

    first = reconcile.reconcile()
    assert (first.listed, first.booked, first.already_booked) == (1, 1, 0)
    lesson = booking(session, session_id=session_id)
    assert lesson.status == BookingStatus.SCHEDULED
    assert lesson.price_cents == fake.sessions[session_id]["amount_total"]
    assert lesson.stripe_payment_intent_id == fake.sessions[session_id]["payment_intent"]
    hold = hold_of(session, session_id)
    assert hold.status == HoldStatus.CONVERTED

    second = reconcile.reconcile()
    assert (second.listed, second.booked, second.already_booked) == (1, 0, 1)
    assert len(_bookings(session)) == 1
    assert "1 already booked" in str(second)


def test_concurrent_runs_and_a_late_webhook_still_book_once(
    fake: FakeStripe, session: Session
) -> None:
    session_id = _paid_without_webhook(session, fake)
    paid = fake.sessions[session_id]

    def run(i: int) -> object:
        if i == 0:  # the webhook finally arrives while reconciliation runs
            return recording.record_paid_session(paid, source="webhook")
        return reconcile.reconcile()

    run_concurrently(4, run)
    (lesson,) = _bookings(session)
    assert lesson.stripe_checkout_session_id == session_id
    assert lesson.status == BookingStatus.SCHEDULED


def test_unpaid_and_open_sessions_are_not_booked(fake: FakeStripe, session: Session) -> None:
    _paid_without_webhook(session, fake, paid=False)  # a delayed payment method
    user = make_user(session)
    checkout.start_checkout(user=user, tutor_id=TUTOR, duration_minutes=60,
                            start=first_free(session, days_ahead=5))  # still open
    report = reconcile.reconcile()
    assert (report.listed, report.unpaid, report.booked) == (1, 1, 0)
    assert _bookings(session) == []


def test_only_the_lookback_window_is_listed(fake: FakeStripe, session: Session) -> None:
    _paid_without_webhook(session, fake)
    later = clock.now() + timedelta(hours=73)  # the session is older than 72 h by then
    report = reconcile.reconcile(now=later)
    assert report.listed == 0 and _bookings(session) == []
    (request,) = [r for r in fake.requests if r.path == "/v1/checkout/sessions"
                  and r.method == "GET"]
    assert request.params["status"] == "complete"
    assert int(request.params["created"]["gte"]) == int((later - timedelta(hours=72))
                                                         .timestamp())


def test_every_page_is_read(fake: FakeStripe, session: Session) -> None:
    """More completed sessions than one page holds (100): all are booked."""
    starts = slots.free_slots_for(session, tutor_id=TUTOR, duration_minutes=30)[:105]
    session.commit()
    user = make_user(session)
    for i, start in enumerate(starts):
        created = stripe_gateway.create_checkout_session(
            {
                "mode": "payment",
                "line_items": [{"quantity": 1, "price_data": {
                    "currency": "usd", "unit_amount": 3000,
                    "product_data": {"name": "30-minute lesson"}}}],
                "metadata": {"tutorId": TUTOR, "durationMinutes": "30", "userId": user.id,
                             "startDateTimeISO": checkout.metadata_start(start)},
                "success_url": "http://localhost/payment/success",
            },
            idempotency_key=f"test-page-{i}",
        )
        fake.complete_session(created["id"])

    report = reconcile.reconcile()

    assert (report.listed, report.booked) == (105, 105)
    pages = [r for r in fake.requests if r.path == "/v1/checkout/sessions" and r.method == "GET"]
    assert len(pages) == 2 and "starting_after" in pages[1].params
    assert len(_bookings(session)) == 105


def test_a_session_paid_for_a_slot_taken_meanwhile_is_refunded(
    fake: FakeStripe, session: Session
) -> None:
    session_id = _paid_without_webhook(session, fake)
    start = hold_of(session, session_id).start_time
    # While the webhook was lost, the hold lapsed and someone else booked the slot.
    other = make_booking(session, start=start, user=make_user(session))

    report = reconcile.reconcile()

    assert report.outcomes == {"refund_needed": 1}
    lesson = booking(session, session_id=session_id)
    assert lesson.status == BookingStatus.CANCELED
    assert lesson.cancel_reason == recording.SLOT_TAKEN_REASON
    assert lesson.refunded_cents == lesson.price_cents
    (request,) = refund_requests(fake)
    assert request.idempotency_key == f"refund-{lesson.id}"
    assert booking(session, booking_id=other.id).status == BookingStatus.SCHEDULED
    reconcile.reconcile()
    assert len(refund_requests(fake)) == 1


def test_dev_payments_have_nothing_to_reconcile(session: Session, configure: ConfigureFn
                                                ) -> None:
    configure(STRIPE_SECRET_KEY=None, STRIPE_API_BASE=None, APP_ENV="dev")
    report = reconcile.reconcile()
    assert report.skipped and report.listed == 0
    assert "skipped" in str(report)


def test_it_runs_as_a_leased_periodic_job(fake: FakeStripe, session: Session) -> None:
    registry = jobs.JOBS
    job = registry["reconcile"]
    assert job.interval == 600  # every 10 minutes
    assert {"reconcile", "refund_retry", "lesson_completion"} <= set(registry)
    _paid_without_webhook(session, fake)
    assert job.run_once() is not None
    assert len(_bookings(session)) == 1
    assert job.run_once() is None  # nothing new: nothing to report


def test_make_reconcile_command(fake: FakeStripe, session: Session,
                                configure: ConfigureFn, database_url: str) -> None:
    session_id = _paid_without_webhook(session, fake)
    settings = configure()
    env = app_process_env({
        "PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "APP_ENV": "dev",
        "STRIPE_SECRET_KEY": settings.stripe_secret_key or "",
        "STRIPE_API_BASE": settings.stripe_api_base or "",
    })
    done = run_cli("reconcile", env=env)
    assert done.returncode == 0, done.stderr
    assert "created 1" in done.stdout
    assert booking(session, session_id=session_id).status == BookingStatus.SCHEDULED

    env["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # Stripe unreachable: a clear failure
    failed = run_cli("reconcile", env=env)
    assert failed.returncode == 1 and "error:" in failed.stderr

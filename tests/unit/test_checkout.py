"""checkout.start_checkout with the real stripe SDK against the local fake Stripe API.

Each test asserts what reached "Stripe" over HTTP (the fake records every request) and what
was written to the database (the slot hold).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session, select

from tests.factories import (
    TUTOR,
    TUTOR_NAME,
    first_free,
    first_free_overlapped,
    make_hold,
    make_user,
)
from tests.fakes.fake_stripe import FakeStripe
from tests.fakes.server import free_port
from tests.schedule_helpers import add_override, local_date, set_rules
from tests.stripe_helpers import STRIPE_KEY, checkout_requests, hold_by_id
from tutor_app.booking import checkout
from tutor_app.core import clock
from tutor_app.core.models import HoldStatus, SlotHold, User
from tutor_app.core.settings import Settings
from tutor_app.integrations import stripe_gateway
from tutor_app.scheduling import slots

ConfigureFn = Callable[..., Settings]


def _holds(session: Session, user: User | None = None) -> list[SlotHold]:
    session.commit()  # end the read snapshot (SQLite WAL keeps one per transaction)
    session.expire_all()
    query = select(SlotHold)
    if user is not None:
        query = query.where(SlotHold.user_id == user.id)
    return list(session.exec(query))


def _start(user: User, start: datetime, minutes: int = 60, **kw: Any) -> checkout.CheckoutStarted:
    return checkout.start_checkout(
        user=user, tutor_id=kw.pop("tutor_id", TUTOR), start=start,
        duration_minutes=minutes, **kw,
    )


def test_session_request_carries_server_price_metadata_urls_and_key(
    fake: FakeStripe, session: Session, configure: ConfigureFn
) -> None:
    app_url = configure().app_url
    user = make_user(session, email="ada@example.com", name="Ada")
    start = first_free(session)
    before = clock.now()
    started = _start(user, start, note="Algebra, please")

    requests = checkout_requests(fake)
    assert len(requests) == 1
    req = requests[0]
    params = req.params
    assert req.api_key == STRIPE_KEY
    (hold,) = _holds(session)
    assert req.idempotency_key == f"checkout-hold-{hold.id}"
    assert params["mode"] == "payment"
    (item,) = params["line_items"]
    assert item["quantity"] == "1"
    assert item["price_data"]["currency"] == "usd"
    assert item["price_data"]["unit_amount"] == "6000"  # catalog: $60/hour, 60 minutes
    assert item["price_data"]["product_data"]["name"] == f"60-minute lesson with {TUTOR_NAME}"
    meta = params["metadata"]
    assert meta["tutorId"] == TUTOR
    assert meta["startDateTimeISO"] == start.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert meta["durationMinutes"] == "60"
    assert meta["userId"] == user.id
    assert meta["userEmail"] == "ada@example.com"
    assert meta["priceCents"] == "6000"
    assert meta["currency"] == "usd"
    assert meta["hourlyRateCents"] == "6000"
    assert meta["holdId"] == hold.id
    pi_meta = params["payment_intent_data"]["metadata"]
    assert pi_meta["userId"] == user.id and pi_meta["tutorId"] == TUTOR
    assert params["client_reference_id"] == user.id
    assert params["customer_email"] == "ada@example.com"
    assert params["success_url"] == f"{app_url}/payment/success?session_id={{CHECKOUT_SESSION_ID}}"
    cancel = urlsplit(params["cancel_url"])
    assert f"{cancel.scheme}://{cancel.netloc}{cancel.path}" == f"{app_url}/payment/cancel"
    assert parse_qs(cancel.query) == {
        "tutor": [TUTOR], "duration": ["60"], "start": [start.strftime("%Y-%m-%dT%H:%M:%SZ")],
    }
    expires = int(params["expires_at"])
    assert before.timestamp() + 30 * 60 <= expires <= clock.now().timestamp() + 32 * 60

    # What was written: the hold, tied to the session Stripe made.
    assert started.resumed is False
    assert started.session_id in fake.sessions
    assert started.url == fake.sessions[started.session_id]["url"]
    assert hold.status == HoldStatus.ACTIVE
    assert hold.user_id == user.id and hold.tutor_id == TUTOR
    assert hold.start_time == start and hold.end_time == start + timedelta(minutes=60)
    assert hold.checkout_session_id == started.session_id
    assert hold.checkout_url == started.url
    assert hold.price_cents == 6000 and hold.currency == "usd"
    assert hold.note == "Algebra, please"
    assert int(hold.expires_at.timestamp()) == expires


def test_same_student_same_slot_resumes_the_open_session(
    fake: FakeStripe, session: Session
) -> None:
    user = make_user(session)
    start = first_free(session)
    first = _start(user, start)
    second = _start(user, start)
    assert second.resumed is True
    assert (second.session_id, second.url) == (first.session_id, first.url)
    assert len(checkout_requests(fake)) == 1  # never two open sessions for one slot
    assert [h.status for h in _holds(session)] == [HoldStatus.ACTIVE]


def test_another_student_gets_slot_taken_with_alternatives(
    fake: FakeStripe, session: Session
) -> None:
    start = first_free_overlapped(session)
    _start(make_user(session), start)
    other = make_user(session)
    for taken in (start, start + timedelta(minutes=30)):  # the same slot, and an overlap
        with pytest.raises(slots.SlotTaken) as caught:
            _start(other, taken)
        assert caught.value.alternatives
        assert all(
            a >= start + timedelta(minutes=60) or a + timedelta(minutes=60) <= start
            for a in caught.value.alternatives
        )
    assert len(checkout_requests(fake)) == 1
    assert _holds(session, other) == []


def test_stripe_down_leaves_no_hold(
    fake: FakeStripe, session: Session, configure: ConfigureFn
) -> None:
    configure(STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    user = make_user(session)
    start = first_free(session)
    with pytest.raises(checkout.PaymentProviderError) as caught:
        _start(user, start)
    assert isinstance(caught.value, checkout.CheckoutError)
    assert isinstance(caught.value, stripe_gateway.PaymentProviderError)
    assert "Nothing was charged" in str(caught.value)
    assert [h.status for h in _holds(session)] == [HoldStatus.RELEASED]
    assert start in slots.free_slots_for(session, tutor_id=TUTOR, duration_minutes=60)
    # Stripe back: the slot can be bought by anyone.
    configure(STRIPE_API_BASE=fake.url)
    assert _start(make_user(session), start).resumed is False


def test_stripe_refusal_is_a_provider_error(
    fake: FakeStripe, session: Session, configure: ConfigureFn
) -> None:
    configure(STRIPE_SECRET_KEY="pk_test_not_a_secret_key")  # the fake answers 401
    with pytest.raises(checkout.PaymentProviderError):
        _start(make_user(session), first_free(session))
    assert [h.status for h in _holds(session)] == [HoldStatus.RELEASED]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"tutor_id": "nobody"}, checkout.UnknownTutor, "couldn't find that tutor"),
        ({"minutes": 45}, checkout.InvalidLesson, "30, 60, 90"),
        ({"shift": timedelta(minutes=10)}, checkout.InvalidLesson, "not available"),
        ({"shift": -timedelta(days=30)}, checkout.InvalidLesson, "not available"),
        ({"naive": True}, checkout.InvalidLesson, "choose a start"),
        ({"note": "x" * 2001}, checkout.InvalidLesson, "too long"),
    ],
)
def test_bad_input_is_refused_before_anything_is_held(
    fake: FakeStripe, session: Session, kwargs: dict[str, Any], error: type, message: str
) -> None:
    start = first_free(session) + kwargs.pop("shift", timedelta(0))
    if kwargs.pop("naive", False):
        start = start.replace(tzinfo=None)
    with pytest.raises(error, match=message):
        _start(make_user(session), start, kwargs.pop("minutes", 60), **kwargs)
    assert _holds(session) == []
    assert checkout_requests(fake) == []


def test_lapsed_hold_of_another_student_is_released_and_the_slot_sold(
    fake: FakeStripe, session: Session
) -> None:
    start = first_free(session)
    stale = make_hold(session, user=make_user(session), start=start,
                      expires_at=clock.now() - timedelta(minutes=1), session_id="cs_test_stale")
    started = _start(make_user(session), start)
    assert started.resumed is False
    assert hold_by_id(session, stale.id).status == HoldStatus.RELEASED


def test_own_hold_about_to_lapse_is_replaced_not_resumed(
    fake: FakeStripe, session: Session
) -> None:
    user = make_user(session)
    start = first_free(session)
    first = _start(user, start)
    (old,) = _holds(session)
    old.expires_at = clock.now() + timedelta(minutes=2)
    session.add(old)
    session.commit()
    second = _start(user, start)
    assert second.session_id != first.session_id and second.resumed is False
    assert hold_by_id(session, old.id).status == HoldStatus.RELEASED
    # The replaced session was closed at Stripe, so it cannot be paid as well.
    assert fake.sessions[first.session_id]["status"] == "expired"


def test_choosing_another_overlapping_slot_replaces_the_own_hold(
    fake: FakeStripe, session: Session
) -> None:
    user = make_user(session)
    start = first_free_overlapped(session)
    first = _start(user, start)
    second = _start(user, start + timedelta(minutes=30))
    assert second.session_id != first.session_id
    statuses = {h.start_time: h.status for h in _holds(session)}
    assert statuses == {start: HoldStatus.RELEASED,
                        start + timedelta(minutes=30): HoldStatus.ACTIVE}
    expire_calls = [r for r in fake.requests if r.path.endswith("/expire")]
    assert [r.path for r in expire_calls] == [f"/v1/checkout/sessions/{first.session_id}/expire"]
    assert fake.sessions[first.session_id]["status"] == "expired"


def test_dev_payments_make_no_stripe_call(
    fake: FakeStripe, session: Session, configure: ConfigureFn
) -> None:
    settings = configure(STRIPE_SECRET_KEY=None, STRIPE_API_BASE=None, STRIPE_WEBHOOK_SECRET=None)
    assert settings.dev_payments
    user = make_user(session)
    started = _start(user, first_free(session))
    assert started.session_id.startswith("cs_dev_")
    assert started.url == f"{settings.app_url}/dev/checkout?session_id={started.session_id}"
    assert fake.requests == []
    (hold,) = _holds(session)
    assert (hold.checkout_session_id, hold.checkout_url) == (started.session_id, started.url)
    assert _start(user, hold.start_time).resumed is True


def test_students_racing_for_one_slot_get_one_hold(fake: FakeStripe, session: Session) -> None:
    start = first_free(session)
    users = [make_user(session) for _ in range(10)]
    results: list[object] = []
    barrier = threading.Barrier(len(users))

    def attempt(user: User) -> None:
        barrier.wait()
        try:
            results.append(_start(user, start))
        except (checkout.CheckoutError, slots.SlotTaken) as exc:
            results.append(exc)

    threads = [threading.Thread(target=attempt, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [r for r in results if isinstance(r, checkout.CheckoutStarted)]
    lost = [r for r in results if isinstance(r, slots.SlotTaken)]
    assert (len(won), len(lost)) == (1, 9), results
    assert [h.status for h in _holds(session)] == [HoldStatus.ACTIVE]
    assert len(fake.sessions) == 1


def test_double_click_makes_one_session(fake: FakeStripe, session: Session) -> None:
    user = make_user(session)
    start = first_free(session)
    results: list[object] = []
    barrier = threading.Barrier(5)

    def attempt() -> None:
        barrier.wait()
        try:
            results.append(_start(user, start))
        except (checkout.CheckoutError, slots.SlotTaken) as exc:
            results.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, checkout.CheckoutStarted) for r in results), results
    assert len({r.session_id for r in results}) == 1  # type: ignore[attr-defined]
    assert len(fake.sessions) == 1
    assert [h.status for h in _holds(session)] == [HoldStatus.ACTIVE]


# -- at most three unpaid checkouts per student ------------------------------------------------

OTHER_TUTOR = "maria-garcia"


def _apart(session: Session, count: int, *, tutor_id: str = TUTOR) -> list[datetime]:
    """`count` offered starts of the tutor, each a day after the last (no two overlap)."""
    starts = slots.free_slots_for(session, tutor_id=tutor_id, duration_minutes=60)
    session.commit()
    chosen = [starts[0]]
    for start in starts:
        if len(chosen) == count:
            break
        if start >= chosen[-1] + timedelta(days=1):
            chosen.append(start)
    assert len(chosen) == count
    return chosen


def test_a_fourth_unpaid_checkout_is_refused_across_tutors(
    fake: FakeStripe, session: Session
) -> None:
    user = make_user(session)
    first, second, fourth = _apart(session, 3)
    (third,) = _apart(session, 1, tutor_id=OTHER_TUTOR)
    for start, tutor_id in ((first, TUTOR), (second, TUTOR), (third, OTHER_TUTOR)):
        _start(user, start, tutor_id=tutor_id)

    with pytest.raises(checkout.TooManyHolds) as refused:
        _start(user, fourth)

    assert str(refused.value) == (
        "You have 3 checkouts in progress. Finish or cancel one before starting another."
    )
    assert len(_holds(session, user)) == 3
    assert len(checkout_requests(fake)) == 3
    # Another student is not held back by them.
    assert _start(make_user(session), fourth).resumed is False


def test_resuming_or_replacing_an_own_hold_is_not_a_new_one(
    fake: FakeStripe, session: Session
) -> None:
    user = make_user(session)
    overlapped = first_free_overlapped(session)
    later = [s for s in _apart(session, 4) if s >= overlapped + timedelta(hours=2)][:2]
    started = [_start(user, start) for start in (overlapped, *later)]

    again = _start(user, overlapped)
    moved = _start(user, overlapped + timedelta(minutes=30))

    assert again.resumed is True and again.session_id == started[0].session_id
    assert moved.session_id not in {s.session_id for s in started}
    live = [h for h in _holds(session, user) if h.status == HoldStatus.ACTIVE]
    assert sorted(h.start_time for h in live) == [overlapped + timedelta(minutes=30), *later]


def test_lapsed_and_paid_holds_leave_room_for_a_new_one(
    fake: FakeStripe, session: Session
) -> None:
    user = make_user(session)
    starts = _apart(session, 4)
    make_hold(session, user=user, start=starts[0], expires_at=clock.now() - timedelta(minutes=1))
    make_hold(session, user=user, start=starts[1], status=HoldStatus.CONVERTED)
    make_hold(session, user=user, start=starts[2], status=HoldStatus.RELEASED)

    assert _start(user, starts[3]).resumed is False


def test_a_refused_checkout_keeps_the_hold_it_would_have_replaced(
    fake: FakeStripe, session: Session
) -> None:
    user = make_user(session)
    overlapped = first_free_overlapped(session)
    later = [s for s in _apart(session, 4) if s >= overlapped + timedelta(hours=2)][:2]
    for start in (overlapped, *later):
        _start(user, start)
    # A fourth, from before there was a cap.
    make_hold(session, user=user, start=later[-1] + timedelta(days=1))

    with pytest.raises(checkout.TooManyHolds):
        _start(user, overlapped + timedelta(minutes=30))

    live = [h for h in _holds(session, user) if h.status == HoldStatus.ACTIVE]
    assert overlapped in {h.start_time for h in live}
    assert not [r for r in fake.requests if r.path.endswith("/expire")]


# -- the tutor's own rules -------------------------------------------------------------------


def test_a_start_on_a_day_the_tutor_took_off_is_refused_before_anything_is_held(
    fake: FakeStripe, session: Session
) -> None:
    start = first_free(session)
    add_override(session, local_date(start, db=session), [], note="Dentist")

    with pytest.raises(checkout.InvalidLesson, match="not available"):
        _start(make_user(session), start)
    assert _holds(session) == []
    assert checkout_requests(fake) == []


def test_a_start_inside_the_buffer_of_a_lesson_is_taken(
    fake: FakeStripe, session: Session
) -> None:
    # A start whose next hour is offered too: without the buffer, that hour would be free.
    start = first_free_overlapped(session, by=timedelta(hours=1))
    _start(make_user(session), start)  # held 60 minutes from `start`
    set_rules(session, buffer_minutes=15)

    with pytest.raises(slots.SlotTaken):
        _start(make_user(session), start + timedelta(hours=1))  # begins as the hold ends


def test_a_length_the_tutor_does_not_offer_is_refused_with_the_lengths_they_do(
    fake: FakeStripe, session: Session
) -> None:
    set_rules(session, lesson_durations=[45, 120])
    start = first_free(session, minutes=45)

    with pytest.raises(checkout.InvalidLesson, match="offers lessons of 45, 120 minutes"):
        _start(make_user(session), start, 60)
    assert _holds(session) == []
    started = _start(make_user(session), start, 45)
    # 45 minutes at $60 an hour.
    assert fake.sessions[started.session_id]["amount_total"] == 4500


def test_a_tutor_not_taking_bookings_is_refused(fake: FakeStripe, session: Session) -> None:
    start = first_free(session)
    set_rules(session, hourly_rate_cents=0)

    with pytest.raises(checkout.NotTakingBookings, match="not taking bookings"):
        _start(make_user(session), start)
    assert _holds(session) == []
    assert checkout_requests(fake) == []

"""The dashboard's and the payment pages' handlers, driven without a browser."""

from __future__ import annotations

import asyncio
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from tests.factories import lesson_start, make_booking, signed_in_user
from tests.state.handlers import run, state_on
from tutor_app.booking import signals
from tutor_app.catalog.tutor_catalog import FALLBACK_PHOTO
from tutor_app.core import routes, timefmt
from tutor_app.core.models import Booking, BookingStatus, User
from tutor_app.state.dashboard import DashboardState
from tutor_app.state.payment import CONFIRMED, PROCESSING, PaymentState, wait_for_lesson

NY = "America/New_York"


def _book(db: Session, user: User | None, days: float, *, tutor_id: str = "james-okafor",
          session_id: str = "", **fields: Any) -> Booking:
    """A one-hour booking `days` from now."""
    return make_booking(db, user=user, start=lesson_start(days=days), tutor_id=tutor_id,
                        price_cents=6000, session_id=session_id or f"cs_test_{tutor_id}_{days}",
                        **fields)


def _is_call_script(event: Any) -> bool:
    return event.handler.fn.__qualname__ == "_call_script"


# --- dashboard ------------------------------------------------------------------------------


def test_dashboard_shows_only_the_signed_in_users_lessons(
    database: sa.Engine, session: Session
) -> None:
    me, cookie = signed_in_user(session, email="me@example.com")
    other, _ = signed_in_user(session, email="other@example.com")
    soon = _book(session, me, 2)
    later = _book(session, me, 9, tutor_id="maria-garcia")
    done = _book(session, me, -3)
    canceled = _book(session, me, 5, tutor_id="aiko-tanaka", status=BookingStatus.CANCELED,
                     refunded_cents=6000, cancel_reason="Tutor ill")
    gone = _book(session, me, -10, tutor_id="left-the-catalog")
    _book(session, other, 3, tutor_id="liam-murphy")

    state = state_on(DashboardState, "/dashboard", cookie=cookie)
    event = run(state.load())

    assert _is_call_script(event)
    assert state.loaded and not state.is_empty
    assert [c["id"] for c in state.upcoming] == [soon.id, later.id]
    assert [c["id"] for c in state.past] == [canceled.id, done.id, gone.id]
    first = state.upcoming[0]
    assert first["tutor_name"] == "James Okafor"
    assert first["price"] == "$60.00" and first["duration"] == "1 hour"
    assert first["status"] == "Scheduled"
    assert first["book_again_url"] == routes.book_now("james-okafor")
    assert first["when"] == timefmt.format_range(soon.start_time, soon.end_time, "UTC")
    refunded = state.past[0]
    assert refunded["status"] == "Canceled"
    assert refunded["refund"] == "Refunded $60.00 \u00b7 Tutor ill"
    orphan = state.past[2]
    assert orphan["tutor_photo_url"] == FALLBACK_PHOTO and orphan["book_again_url"] == ""

    state.set_viewer_tz(NY)
    assert state.upcoming[0]["when"] == timefmt.format_range(
        soon.start_time, soon.end_time, NY
    )
    assert state.zone_label.startswith(NY)


def test_dashboard_of_a_new_student_is_empty(database: sa.Engine, session: Session) -> None:
    _, cookie = signed_in_user(session, email="new@example.com")
    state = state_on(DashboardState, "/dashboard", cookie=cookie)
    run(state.load())
    assert state.loaded and state.is_empty
    assert state.upcoming == [] and state.past == []


def test_dashboard_signed_out_shows_nothing(database: sa.Engine, session: Session) -> None:
    me, _ = signed_in_user(session, email="me@example.com")
    _book(session, me, 2)
    state = state_on(DashboardState, "/dashboard")
    assert run(state.load()) is None
    assert state.upcoming == [] and state.past == []


# --- payment success and cancel -----------------------------------------------------------


def test_success_page_confirms_at_once_when_the_booking_exists(
    database: sa.Engine, session: Session
) -> None:
    me, cookie = signed_in_user(session, email="me@example.com")
    booking = _book(session, me, 4, session_id="cs_test_paid")
    state = state_on(PaymentState, "/payment/success?session_id=cs_test_paid", cookie=cookie)

    events = run(state.load_success())

    assert state.status == CONFIRMED
    assert state.tutor_name == "James Okafor" and state.price == "$60.00"
    assert state.duration == "1 hour"
    assert state.when == timefmt.format_range(booking.start_time, booking.end_time, "UTC")
    assert all(_is_call_script(e) for e in events)  # no watch needed
    state.set_viewer_tz(NY)
    assert state.when.endswith(f"({NY})")


def test_success_page_waits_while_the_webhook_has_not_booked(
    database: sa.Engine, session: Session
) -> None:
    _, cookie = signed_in_user(session, email="me@example.com")
    other, _ = signed_in_user(session, email="other@example.com")
    _book(session, other, 4, session_id="cs_test_theirs")

    state = state_on(PaymentState, "/payment/success?session_id=cs_test_theirs", cookie=cookie)
    events = run(state.load_success())

    assert state.status == PROCESSING and state.tutor_name == ""
    assert PaymentState.watch_booking in events
    assert session.query(Booking).count() == 1  # the page itself never books


def test_success_page_ignores_a_malformed_session_id(
    database: sa.Engine, session: Session
) -> None:
    _, cookie = signed_in_user(session, email="me@example.com")
    state = state_on(PaymentState, "/payment/success?session_id=%27%3Bdrop", cookie=cookie)
    assert run(state.load_success()) is None
    assert state.session_id == "" and state.status == PROCESSING


@pytest.mark.asyncio
async def test_the_watch_wakes_when_the_webhook_signals(
    database: sa.Engine, session: Session
) -> None:
    me, _ = signed_in_user(session, email="me@example.com")

    def webhook() -> None:
        _book(session, me, 4, session_id="cs_test_signal")
        signals.notify_booked("cs_test_signal")

    loop = asyncio.get_running_loop()
    loop.call_later(0.3, lambda: threading.Thread(target=webhook).start())
    started = loop.time()
    lesson = await wait_for_lesson(
        session_id="cs_test_signal", user_id=me.id, timeout=20, check_every=10
    )
    assert lesson is not None and lesson.tutor_id == "james-okafor"
    assert loop.time() - started < 5  # woken by the signal, not the 10-second re-check


@pytest.mark.asyncio
async def test_the_watch_rechecks_the_database_and_gives_up(
    database: sa.Engine, session: Session
) -> None:
    me, _ = signed_in_user(session, email="me@example.com")
    loop = asyncio.get_running_loop()
    # Booked by "another worker": no signal in this process, found by the re-check.
    loop.call_later(0.2, lambda: _book(session, me, 4, session_id="cs_test_elsewhere"))
    lesson = await wait_for_lesson(
        session_id="cs_test_elsewhere", user_id=me.id, timeout=10, check_every=0.1
    )
    assert lesson is not None

    started = loop.time()
    nothing = await wait_for_lesson(
        session_id="cs_test_never", user_id=me.id, timeout=0.5, check_every=0.1
    )
    assert nothing is None and 0.4 < loop.time() - started < 3


def test_cancel_page_leads_back_to_the_review(database: sa.Engine) -> None:
    state = state_on(
        PaymentState,
        "/payment/cancel?tutor=james-okafor&duration=60&start=2026-12-01T15:00:00Z",
    )
    state.load_cancel()
    parts = urlsplit(state.back_url)
    assert parts.path == "/book-now"
    assert parse_qs(parts.query) == {
        "tutor": ["james-okafor"], "duration": ["60"], "start": ["2026-12-01T15:00:00Z"],
        "step": ["4"],
    }

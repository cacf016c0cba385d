"""`/admin/bookings` and a booking's admin page, driven without a browser: an admin filters the
table and refunds half of a paid lesson with a reason; every handler gives anybody else
nothing and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from tests.factories import (
    first_free,
    lesson_start,
    make_booking,
    make_tutor_user,
    make_user,
    paid_booking,
    session_cookie,
)
from tests.fakes.fake_stripe import FakeStripe
from tests.money_helpers import booking
from tests.state.handlers import ORIGIN, run, state_on
from tests.stripe_helpers import refund_requests
from tutor_app.admin import audit, booking_actions
from tutor_app.booking import lesson_events
from tutor_app.core import routes, timefmt
from tutor_app.core.models import AuditEntry, Booking, BookingStatus, Refund, Role, User
from tutor_app.state.admin_bookings import AdminBookingsState, AdminBookingState

REASON = "Half back: the tutor's camera failed"


def _table(session: Session, user: User | None) -> AdminBookingsState:
    cookie = session_cookie(session, user) if user else ""
    return state_on(AdminBookingsState, ORIGIN + routes.ADMIN_BOOKINGS, cookie=cookie)


def _page(session: Session, user: User | None, booking_id: str) -> AdminBookingState:
    cookie = session_cookie(session, user) if user else ""
    return state_on(AdminBookingState, ORIGIN + routes.admin_booking(booking_id),
                    cookie=cookie, route=routes.ADMIN_BOOKING)


def _not_admins(session: Session) -> list[User | None]:
    return [None, make_user(session), make_tutor_user(session)]


def test_an_admin_filters_the_table_by_a_students_email(session: Session) -> None:
    admin = make_user(session, role=Role.ADMIN)
    ann = make_user(session, email="ann@example.com")
    mine = make_booking(session, user=ann, start=lesson_start(days=2))
    make_booking(session, user=make_user(session), start=lesson_start(days=3))
    state = _table(session, admin)

    run(state.load_page())
    assert (state.allowed, len(state.rows)) == (True, 2)
    run(state.apply_filters({"q": "ann@example.com", "status": "SCHEDULED"}))

    assert [r["id"] for r in state.rows] == [mine.id]
    assert state.rows[0]["url"] == routes.admin_booking(mine.id)
    assert state.count_label == "1 bookings"
    assert state.csv_url == ("/api/admin/bookings.csv?status=SCHEDULED&q=ann%40example.com"
                             "&sort=start&dir=desc")


def test_the_table_shows_nothing_to_anybody_else(session: Session) -> None:
    make_booking(session, user=make_user(session), start=lesson_start(days=2))
    for user in _not_admins(session):
        state = _table(session, user)
        run(state.load_page())
        run(state.apply_filters({"q": ""}))
        run(state.go_to_page(1))
        assert (state.loaded, state.allowed, state.rows, state.count_label) == (
            True, False, [], "")


def test_an_admin_refunds_half_with_a_reason(fake: FakeStripe, session: Session) -> None:
    admin = make_user(session, role=Role.ADMIN)
    lesson = paid_booking(session, fake)
    lesson_events.wait_idle()
    state = _page(session, admin, lesson.id)
    run(state.load_page())
    assert state.found and state.half == "30.00"

    state.open_action("refund")
    run(state.submit_action({"amount": "", "reason": REASON}))
    assert state.action_error == booking_actions.BAD_AMOUNT
    run(state.submit_action({"amount": state.half, "reason": " "}))
    assert state.action_error == audit.REASON_REQUIRED
    run(state.submit_action({"amount": state.half, "reason": REASON}))

    assert (state.action, state.action_error) == ("", "")
    assert state.notice == "The refund went through."
    assert [int(r.params["amount"]) for r in refund_requests(fake)] == [3000]
    assert booking(session, booking_id=lesson.id).refunded_cents == 3000
    assert any(REASON in e["detail"] for e in state.timeline if e["source"] == "admin")


@pytest.mark.parametrize("action", ["refund", "cancel", "attended", "resend"])
def test_every_booking_handler_refuses_anybody_else(session: Session, action: str) -> None:
    lesson = make_booking(session, user=make_user(session), start=lesson_start(days=2),
                          stripe_payment_intent_id="pi_test_1")
    form: dict[str, Any] = {"amount": "10", "reason": REASON}
    for user in _not_admins(session):
        state = _page(session, user, lesson.id)
        run(state.load_page())
        assert (state.loaded, state.allowed, state.found, state.facts, state.timeline) == (
            True, False, False, [], [])
        state.open_action(action)
        assert state.action == ""
        state.action, state.booking_id = action, lesson.id  # as a forged event would
        run(state.submit_action(form))
        state.set_action_open(False)

    session.commit()
    session.expire_all()
    stored = session.get(Booking, lesson.id)
    assert stored is not None and stored.status == BookingStatus.SCHEDULED
    assert session.exec(select(Refund)).all() == []
    assert session.exec(select(AuditEntry)).all() == []


NEW_YORK = "America/New_York"


def test_an_admin_reads_and_filters_in_their_own_zone(session: Session) -> None:
    """Times and the filters' days are the admin's (their account's zone), not UTC; the CSV
    link carries the zone so the export holds the same rows."""
    admin = make_user(session, role=Role.ADMIN, timezone=NEW_YORK)
    # Late on a New York evening: already the next day in UTC.
    start = lesson_start(days=5, hour=1)
    lesson = make_booking(session, user=make_user(session), start=start)
    ny_day = timefmt.local(start, NEW_YORK).date()
    state = _table(session, admin)

    run(state.load_page())
    assert state.viewer_tz == NEW_YORK
    assert state.rows[0]["when"] == timefmt.format_range(start, lesson.end_time, NEW_YORK)
    run(state.apply_filters({"from": ny_day.isoformat(), "to": ny_day.isoformat()}))
    assert [r["id"] for r in state.rows] == [lesson.id]
    assert "tz=America%2FNew_York" in state.csv_url
    run(state.apply_filters({"from": start.date().isoformat(), "to": start.date().isoformat()}))
    assert state.rows == []  # its UTC day is not its day in New York


def test_an_admin_reschedules_on_their_own_wall_clock(session: Session) -> None:
    admin = make_user(session, role=Role.ADMIN, timezone=NEW_YORK)
    lesson = make_booking(session, user=make_user(session), start=lesson_start(days=2))
    new_start = first_free(session, days_ahead=4)
    typed = timefmt.local(new_start, NEW_YORK).strftime("%Y-%m-%dT%H:%M")
    state = _page(session, admin, lesson.id)
    run(state.load_page())
    assert any(f["value"].endswith(f"({NEW_YORK})") for f in state.facts
               if f["label"] == "When")

    state.open_action("reschedule")
    run(state.submit_action({"start": typed, "reason": "The student asked by phone"}))

    assert state.action_error == ""
    moved = booking(session, booking_id=lesson.id)
    assert moved.start_time == new_start

"""`/admin` and `/admin/payments` driven without a browser: an admin sees the figures and acts
with a reason; every handler refuses a signed-out visitor, a student and a tutor (nothing
shown, nothing done, nothing audited)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.factories import lesson_start, make_booking, make_tutor_user, make_user, session_cookie
from tests.state.handlers import run, state_on
from tutor_app.admin import audit
from tutor_app.core.models import AuditEntry, BookingKind, Role, SyncStatus, User
from tutor_app.state.admin_overview import AdminOverviewState
from tutor_app.state.admin_payments import AdminPaymentsState

NY = "America/New_York"


def _overview(session: Session, user: User | None) -> AdminOverviewState:
    cookie = session_cookie(session, user) if user else ""
    return state_on(AdminOverviewState, "/admin", cookie=f"{cookie}; tz={NY}".lstrip("; "))


def _payments(session: Session, user: User | None) -> AdminPaymentsState:
    cookie = session_cookie(session, user) if user else ""
    return state_on(AdminPaymentsState, "/admin/payments", cookie=cookie)


def _admin(session: Session) -> User:
    return make_user(session, email="owner@example.com", role=Role.ADMIN)


@pytest.mark.clock_at(datetime(2026, 6, 10, 9, tzinfo=UTC))  # the figures are June's
def test_an_admin_sees_this_months_figures_in_their_zone(session: Session) -> None:
    admin = _admin(session)
    make_booking(session, start=lesson_start(days=3), price_cents=6000,
                 created_at=datetime(2026, 6, 2, 12, tzinfo=UTC))
    make_booking(session, start=lesson_start(days=4), price_cents=0,
                 kind=BookingKind.CONSULTATION, created_at=datetime(2026, 6, 2, 12, tzinfo=UTC))
    state = _overview(session, admin)

    run(state.load())

    assert state.allowed and state.loaded
    assert (state.first_day, state.last_day, state.days_zone) == ("2026-06-01", "2026-06-10", NY)
    figures = {f["key"]: f["value"] for f in state.figures}
    assert figures["bookings"] == "2 (1 lessons, 1 consultations)"
    assert figures["revenue"] == "$60.00"
    assert {"day": "Jun 2", "lessons": 1, "consultations": 1} in state.per_day
    assert state.per_week[0] == {"week": "Jun 1", "revenue": 60.0, "refunds": 0.0}

    run(state.choose_preset("last_12_months"))
    assert state.first_day == "2025-07-01" and state.preset == "last_12_months"
    run(state.apply_custom({"from": "2026-06-05", "to": "2026-06-01"}))
    assert state.range_error and state.first_day == "2025-07-01"
    run(state.apply_custom({"from": "2026-06-02", "to": "2026-06-02"}))
    assert (state.range_error, state.first_day, len(state.per_day)) == ("", "2026-06-02", 1)


def test_reconcile_now_needs_a_reason_and_shows_its_result(session: Session) -> None:
    admin = _admin(session)
    make_booking(session, start=lesson_start(days=3), calendar_sync_status=SyncStatus.FAILED,
                 calendar_sync_error="gone")
    state = _payments(session, admin)
    run(state.load())
    assert state.allowed and len(state.syncs) == 1

    run(state.run_reconciliation())
    assert state.error == audit.REASON_REQUIRED and state.result == ""

    state.set_reason("webhook endpoint was down")
    run(state.run_reconciliation())

    assert state.error == "" and state.result.startswith("reconcile skipped")
    assert state.reason == ""
    session.rollback()
    [entry] = session.exec(select(AuditEntry)).all()
    assert (entry.action, entry.reason) == ("payments.reconcile", "webhook endpoint was down")


def _overview_calls(state: AdminOverviewState) -> list[Callable[[], Any]]:
    return [state.load, lambda: state.choose_preset("last_30_days"),
            lambda: state.apply_custom({"from": "2026-06-01", "to": "2026-06-02"}),
            lambda: state.choose_currency("usd")]


def _payments_calls(state: AdminPaymentsState, booking_id: str) -> list[Callable[[], Any]]:
    return [state.load, state.run_reconciliation, lambda: state.retry_refund(booking_id),
            lambda: state.retry_notification("n1"), lambda: state.retry_sync(booking_id)]


@pytest.mark.parametrize("who", ["signed out", "student", "tutor"])
def test_every_handler_refuses_a_non_admin(session: Session, who: str) -> None:
    user = {"signed out": lambda: None, "student": lambda: make_user(session),
            "tutor": lambda: make_tutor_user(session)}[who]()
    booking = make_booking(session, start=lesson_start(days=3), price_cents=6000,
                           calendar_sync_status=SyncStatus.FAILED,
                           created_at=datetime(2026, 6, 2, 12, tzinfo=UTC))
    overview_state = _overview(session, user)
    payments_state = _payments(session, user)
    payments_state.set_reason("let me in")

    for call in _overview_calls(overview_state):
        run(call())
        assert not overview_state.allowed
        assert (overview_state.figures, overview_state.per_day, overview_state.per_week,
                overview_state.per_tutor) == ([], [], [], [])
    for call in _payments_calls(payments_state, booking.id):
        run(call())
        assert not payments_state.allowed
        assert (payments_state.events, payments_state.refunds, payments_state.mails,
                payments_state.syncs, payments_state.result) == ([], [], [], [], "")
    session.rollback()
    assert session.exec(select(AuditEntry)).all() == []
    again = session.get(type(booking), booking.id)
    assert again is not None and again.calendar_sync_status == SyncStatus.FAILED

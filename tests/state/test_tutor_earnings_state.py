"""`/tutor/earnings` driven without a browser: the tutor's months and the CSV link, the range
form, not found for anyone else; and the student's dashboard card after a tutor's cancel."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from tests.factories import (
    TUTOR,
    lesson_start,
    make_booking,
    make_tutor_user,
    make_user,
    session_cookie,
)
from tests.state.handlers import run, state_on
from tutor_app.booking import transitions
from tutor_app.core import timefmt
from tutor_app.core.models import BookingStatus, Role, User
from tutor_app.state.dashboard import DashboardState
from tutor_app.state.tutor_earnings import TutorEarningsState
from tutor_app.tutors import earnings

NY = "America/New_York"  # James Okafor's zone


def _loaded(session: Session, user: User | None, url: str = "/tutor/earnings"
            ) -> TutorEarningsState:
    cookie = session_cookie(session, user) if user else ""
    state = state_on(TutorEarningsState, url, cookie=cookie, route="/tutor/earnings")
    run(state.load())
    return state


def test_the_tutor_sees_the_last_twelve_months_and_a_csv_link(
    session: Session, database: Any
) -> None:
    tutor = make_tutor_user(session)
    start = lesson_start(days=-20)
    make_booking(session, start=start, user=make_user(session), status=BookingStatus.COMPLETED,
                 refunded_cents=1000)
    first, last = earnings.default_range(NY)
    month = timefmt.local(start, NY).date().replace(day=1)

    state = _loaded(session, tutor)

    assert state.found and state.own_portal
    assert (state.first_month, state.last_month) == (earnings.month_key(first),
                                                     earnings.month_key(last))
    assert len(state.months) == 12
    row = next(m for m in state.months if m["month"] == earnings.month_key(month))
    assert row == {"month": earnings.month_key(month), "label": f"{month:%B %Y}",
                   "lessons": "1", "gross": "$60.00", "refunds": "$10.00", "net": "$50.00"}
    [total] = state.total_rows
    assert (total["label"], total["lessons"], total["net"]) == ("Total", "1", "$50.00")
    assert state.csv_url == (f"/api/tutor/earnings.csv?from={earnings.month_key(first)}"
                             f"&to={earnings.month_key(last)}")


def test_the_range_form(session: Session, database: Any) -> None:
    tutor = make_tutor_user(session)
    state = _loaded(session, tutor)

    run(state.apply_range({"from": "2026-04", "to": "2026-05"}))
    assert [m["month"] for m in state.months] == ["2026-04", "2026-05"]
    assert state.csv_url.endswith("from=2026-04&to=2026-05") and state.range_error == ""

    run(state.apply_range({"from": "2026-06", "to": "2026-01"}))
    assert state.range_error == earnings.INVERTED_RANGE
    assert [m["month"] for m in state.months] == ["2026-04", "2026-05"]  # unchanged
    run(state.apply_range({"from": "", "to": "2026-01"}))
    assert state.range_error == earnings.BAD_MONTH


def test_anyone_else_gets_not_found_and_an_admin_names_the_tutor(
    session: Session, database: Any
) -> None:
    student = make_user(session)
    other_tutor = make_tutor_user(session, tutor_id="liam-murphy")
    for user, url in ((student, "/tutor/earnings"), (student, f"/tutor/earnings?tutor={TUTOR}"),
                      (other_tutor, f"/tutor/earnings?tutor={TUTOR}")):
        state = _loaded(session, user, url)
        assert state.loaded and not state.found and state.months == []
        assert state.csv_url == ""

    admin = make_user(session, email="admin@example.com", role=Role.ADMIN)
    state = _loaded(session, admin, f"/tutor/earnings?tutor={TUTOR}")
    assert state.found and not state.own_portal and state.tutor_name == "James Okafor"
    assert state.csv_url.endswith(f"&tutor={TUTOR}")

    signed_out = state_on(TutorEarningsState, "/tutor/earnings", route="/tutor/earnings")
    assert "/login?next=%2Ftutor%2Fearnings" in str(run(signed_out.load()))


def test_the_students_card_after_a_tutors_cancel(session: Session, database: Any) -> None:
    student = make_user(session)
    lesson = make_booking(session, start=lesson_start(days=3), user=student)
    transitions.cancel(lesson, reason=transitions.TUTOR_CANCELED_REASON, note="Flu",
                       now=lesson.created_at)
    lesson.refunded_cents = lesson.price_cents
    session.add(lesson)
    session.commit()

    state = state_on(DashboardState, "/dashboard", cookie=session_cookie(session, student))
    run(state.load())

    [card] = state.past
    assert card["status"] == "Canceled"
    assert card["refund"] == "Canceled by your tutor \u2014 refunded in full"

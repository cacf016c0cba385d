"""The tutor portal's account and calendar (`/tutor`), driven without a browser; the lesson
lists and actions are tests/state/test_tutor_lessons_state.py's."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from tests.factories import lesson_start, make_booking, signed_in_user
from tests.state.handlers import state_on
from tutor_app.core import timefmt
from tutor_app.core.models import Booking, Role, User
from tutor_app.state.tutor_lessons import TutorLessonsState
from tutor_app.tutor_calendar import connections

TUTOR_ID = "aiko-tanaka"  # Asia/Tokyo


def _book(db: Session, student: User, days: int, **fields: Any) -> Booking:
    """A one-hour lesson with the tutor `days` from now."""
    return make_booking(db, user=student, start=lesson_start(days=days), tutor_id=TUTOR_ID,
                        session_id=f"cs_test_portal_{days}", **fields)


def _load(state: TutorLessonsState) -> Any:
    return asyncio.run(state.load_page())  # type: ignore[arg-type]


def test_connected_tutor_sees_the_account_and_each_lessons_sync_state(
    database: sa.Engine, session: Session
) -> None:
    tutor, cookie = signed_in_user(session, email="aiko@example.com", role=Role.TUTOR,
                                   tutor_id=TUTOR_ID)
    student, _ = signed_in_user(session, email="ann@example.com")
    connections.save_connection(
        session, user_id=tutor.id, google_email="aiko.cal@gmail.com",
        token={"access_token": "ya29.x", "refresh_token": "1//y"},
    )
    session.commit()
    synced = _book(session, student, 2, calendar_sync_status="synced")
    failed = _book(session, student, 3, calendar_sync_status="failed",
                   calendar_sync_error="Google Calendar answered 400 (invalid)")
    over = _book(session, student, -2, calendar_sync_status="synced")  # over: under Past
    state = state_on(TutorLessonsState, "/tutor?calendar=connected", cookie=cookie)

    assert _load(state) is None

    assert state.loaded and state.tutor_linked and state.is_tutor
    assert (state.calendar_status, state.google_email) == ("connected", "aiko.cal@gmail.com")
    assert state.notice.startswith("Google Calendar connected")
    assert [row["id"] for row in state.upcoming] == [synced.id, failed.id]
    assert [row["id"] for row in state.past] == [over.id]
    first, second = state.upcoming
    assert first["when"] == timefmt.format_range(synced.start_time, synced.end_time, "Asia/Tokyo")
    assert (first["sync"], first["sync_label"], first["can_retry"]) == (
        "synced", "In calendar", False
    )
    assert (second["sync"], second["sync_label"], second["can_retry"]) == (
        "failed", "Sync failed", True
    )
    assert second["sync_error"] == "Google Calendar answered 400 (invalid)"
    assert (first["student_name"], first["student_email"]) == ("Ann", "ann@example.com")


def test_reconnect_needed_is_shown_and_the_old_success_notice_is_not(
    database: sa.Engine, session: Session
) -> None:
    tutor, cookie = signed_in_user(session, email="aiko@example.com", role=Role.TUTOR,
                                   tutor_id=TUTOR_ID)
    row = connections.save_connection(
        session, user_id=tutor.id, google_email="aiko.cal@gmail.com", token={"access_token": "x"}
    )
    row.status = "reconnect_needed"
    session.add(row)
    session.commit()
    state = state_on(TutorLessonsState, "/tutor?calendar=connected", cookie=cookie)

    _load(state)

    assert state.calendar_status == "reconnect_needed"
    assert state.notice == ""


def test_tutor_without_calendar_is_offered_to_connect_when_google_is_set_up(
    database: sa.Engine, session: Session, configure: Any
) -> None:
    _tutor, cookie = signed_in_user(session, email="aiko@example.com", role=Role.TUTOR,
                                    tutor_id=TUTOR_ID)
    configure(GOOGLE_CLIENT_ID="cid", GOOGLE_CLIENT_SECRET="secret")
    state = state_on(TutorLessonsState, "/tutor?calendar=error", cookie=cookie)

    _load(state)

    assert (state.calendar_status, state.calendar_configured) == ("disconnected", True)
    assert state.notice_is_error and "not connected" in state.notice
    assert state.upcoming == state.past == []


def test_students_get_the_not_found_page_and_no_lessons(
    database: sa.Engine, session: Session
) -> None:
    student, cookie = signed_in_user(session, email="ann@example.com")
    _book(session, student, 2)
    state = state_on(TutorLessonsState, "/tutor?tutor=" + TUTOR_ID, cookie=cookie)

    _load(state)

    assert state.loaded and not state.is_tutor and not state.tutor_linked
    assert not state.portal_found and state.portal_tutor_id == ""
    assert state.upcoming == state.past == []


def test_signed_out_visitor_is_sent_to_sign_in(database: sa.Engine) -> None:
    state = state_on(TutorLessonsState, "/tutor")

    event = _load(state)

    assert event is not None and not state.loaded
    assert "/login?next=%2Ftutor" in str(event)

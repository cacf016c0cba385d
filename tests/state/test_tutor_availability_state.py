"""The `/tutor/availability` page's handlers (`TutorAvailabilityState`), driven without a
browser."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from tests.factories import make_booking, make_tutor_user, session_cookie, signed_in_user
from tests.state.handlers import run, state_on
from tutor_app.admin import audit
from tutor_app.core import timefmt
from tutor_app.core.models import (
    AuditEntry,
    Booking,
    BookingStatus,
    Role,
    Tutor,
    TutorDateOverride,
)
from tutor_app.scheduling import slots
from tutor_app.state.tutor_availability import (
    OTHER_HOURS,
    OVERRIDE_KEY,
    TIME_OFF,
    TutorAvailabilityState,
)
from tutor_app.tutors import hours

TUTOR_ID = "sofia-rossi"  # Europe/Rome (UTC+2 in June), Mon-Fri 10:00-18:00
NOW = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)  # Wednesday 11:00 in Rome
MONDAY = date(2026, 6, 15)

pytestmark = pytest.mark.clock_at(NOW)


def _tutor(session: Session) -> Tutor:
    session.expire_all()
    tutor = session.get(Tutor, TUTOR_ID)
    assert tutor is not None
    session.commit()
    return tutor


def _page(cookie: str, url: str = "/tutor/availability") -> TutorAvailabilityState:
    state = state_on(TutorAvailabilityState, url, cookie=cookie, route="/tutor/availability")
    assert run(state.load()) is None
    assert state.loaded
    return state


def _tutor_page(session: Session) -> TutorAvailabilityState:
    return _page(session_cookie(session, make_tutor_user(session, tutor_id=TUTOR_ID)))


def _rome(day: date, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=2)


def _times_on(state: TutorAvailabilityState, day: date) -> list[str]:
    state.choose_preview_day(day.isoformat())
    return [option["label"] for option in state.preview_times]


def test_the_tutor_finds_their_week_rules_and_a_preview_of_what_students_see(
    session: Session,
) -> None:
    state = _tutor_page(session)

    assert state.found and state.tutor_id == TUTOR_ID
    assert state.week["mon"] == [["10:00", "18:00"]] and state.week["sat"] == []
    assert (state.buffer, state.min_notice, state.horizon) == ("0", "720", "60")
    assert state.today == "2026-06-10"
    assert state.zone_label.startswith("Europe/Rome (")
    assert state.preview_lengths == [30, 60, 90] and state.preview_duration == 60
    # The wizard's own starts, days and times in the tutor's zone.
    wizard = slots.free_slots_for(session, tutor_id=TUTOR_ID, duration_minutes=60)
    assert state._starts == [timefmt.to_utc_iso(s) for s in wizard]
    assert _times_on(state, MONDAY)[:3] == ["10:00", "10:30", "11:00"]
    assert _times_on(state, MONDAY)[-1] == "17:00"
    assert any(c["enabled"] and c["key"] == MONDAY.isoformat() for c in state.preview_calendar)
    assert not any(c["enabled"] and c["key"] == "2026-06-13" for c in state.preview_calendar)


def test_the_week_is_edited_in_the_page_until_saved(session: Session) -> None:
    state = _tutor_page(session)

    state.set_time("mon", 0, 1, "12:00")
    state.add_range("mon")
    state.set_time("mon", 1, 0, "14:00")
    state.add_range("sat")
    state.remove_range("fri", 0)
    state.copy_monday_to_weekdays()
    state.set_time("sun", 0, 0, "09:00")  # no such range: ignored

    expected = [["10:00", "12:00"], ["14:00", "14:00"]]
    assert all(state.week[day] == expected for day in hours.WEEKDAYS)
    assert state.week["sat"] == [["09:00", "17:00"]] and state.week["sun"] == []
    assert _tutor(session).weekly_hours["mon"] == [["10:00", "18:00"]]


def test_saving_stores_the_week_and_rules_and_lists_lessons_left_outside(
    session: Session,
) -> None:
    student, _ = signed_in_user(session, email="ann@example.com", name="Ann Lee")
    early = make_booking(session, user=student, start=_rome(MONDAY, "10:00"), tutor_id=TUTOR_ID)
    make_booking(session, user=student, start=_rome(MONDAY, "14:00"), tutor_id=TUTOR_ID)
    state = _tutor_page(session)
    state.set_time("mon", 0, 0, "12:00")
    state.set_buffer("15")
    state.set_min_notice("1440")
    state.set_horizon("30")

    assert run(state.save_hours()) is None

    tutor = _tutor(session)
    assert tutor.weekly_hours["mon"] == [["12:00", "18:00"]]
    assert (tutor.buffer_minutes, tutor.min_notice_minutes, tutor.horizon_days) == (15, 1440, 30)
    assert state.hours_notice == hours.HOURS_SAVED
    assert state.outside_checked
    assert [row["id"] for row in state.outside] == [early.id]
    assert state.outside[0]["student"] == "Ann Lee (ann@example.com)"
    assert state.outside[0]["when"].endswith("(Europe/Rome)")
    session.expire_all()
    kept = session.get(Booking, early.id)
    assert kept is not None and kept.status == BookingStatus.SCHEDULED
    # The preview reads the saved week.
    wizard = slots.free_slots_for(session, tutor_id=TUTOR_ID, duration_minutes=60)
    assert state._starts == [timefmt.to_utc_iso(s) for s in wizard]


def test_wrong_days_and_rules_are_named_beside_them_and_nothing_is_saved(
    session: Session,
) -> None:
    before = _tutor(session).model_dump()
    state = _tutor_page(session)
    state.set_time("mon", 0, 1, "09:00")  # ends before it starts
    state.add_range("tue")
    state.set_time("tue", 1, 0, "17:00")  # overlaps 10:00-18:00
    state.set_buffer("7")  # not offered

    run(state.save_hours())

    assert state.day_errors["mon"].startswith("A range must end after it starts")
    assert state.day_errors["tue"].startswith("These ranges overlap")
    assert state.day_errors["wed"] == "" and state.buffer_error == hours.UNKNOWN_BUFFER
    assert state.hours_notice == "" and not state.outside_checked
    assert _tutor(session).model_dump() == before
    state.set_time("mon", 0, 1, "18:00")
    assert state.day_errors["mon"] == ""  # changing the day clears its message


def test_a_day_off_is_added_listed_and_removed(session: Session) -> None:
    student, _ = signed_in_user(session, email="ann@example.com")
    lesson = make_booking(session, user=student, start=_rome(MONDAY, "11:00"), tutor_id=TUTOR_ID)
    state = _tutor_page(session)
    state.set_override_date(MONDAY.isoformat())
    state.set_override_note("Holiday")

    run(state.add_override())

    assert state.override_notice == hours.TIME_OFF_SAVED
    assert [(o["day"], o["hours"], o["note"]) for o in state.overrides] == [
        ("Mon 15 Jun 2026", "Day off", "Holiday")
    ]
    assert [row["id"] for row in state.outside] == [lesson.id]
    assert state.override_date == ""  # the form is ready for the next one

    run(state.remove_override(state.overrides[0]["id"]))

    assert state.overrides == [] and state.outside == []
    assert state.override_notice == hours.OVERRIDE_REMOVED
    assert session.exec(select(TutorDateOverride)).all() == []


def test_time_off_and_other_hours_on_one_date(session: Session) -> None:
    state = _tutor_page(session)
    state.set_override_kind(TIME_OFF)
    state.set_override_date("2026-06-16")
    state.set_override_end("2026-06-18")
    run(state.add_override())

    state.set_override_kind(OTHER_HOURS)
    state.set_override_date(MONDAY.isoformat())
    state.set_time(OVERRIDE_KEY, 0, 0, "19:00")
    state.set_time(OVERRIDE_KEY, 0, 1, "21:00")
    state.set_override_keep_weekly(True)
    run(state.add_override())

    assert state.override_notice == hours.CUSTOM_HOURS_SAVED
    assert [(o["day"], o["hours"]) for o in state.overrides] == [
        ("Mon 15 Jun 2026", "10:00\u201318:00, 19:00\u201321:00"),
        ("Tue 16 Jun 2026", "Day off"),
        ("Wed 17 Jun 2026", "Day off"),
        ("Thu 18 Jun 2026", "Day off"),
    ]


@pytest.mark.parametrize(
    ("kind", "fields", "errors"),
    [
        (TIME_OFF, {"date": "2026-06-09", "end": "2026-06-08"},
         {"override_date_error": hours.DATE_PAST,
          "override_end_error": hours.END_BEFORE_START}),
        (OTHER_HOURS, {"date": "", "start": "12:00", "end": "11:00"},
         {"override_date_error": hours.DATE_MISSING,
          "override_hours_error": "A range must end after it starts (12:00\u201311:00)"}),
        ("day_off", {"date": "2026-06-11", "note": "x" * 121},
         {"override_note_error": hours.NOTE_TOO_LONG}),
    ],
)
def test_wrong_override_fields_are_named_and_nothing_is_added(
    session: Session, kind: str, fields: dict[str, str], errors: dict[str, str]
) -> None:
    state = _tutor_page(session)
    state.set_override_kind(kind)
    state.set_override_date(fields["date"])
    state.set_override_end(fields.get("end", ""))
    state.set_override_note(fields.get("note", ""))
    if "start" in fields:
        state.set_time(OVERRIDE_KEY, 0, 0, fields["start"])
        state.set_time(OVERRIDE_KEY, 0, 1, fields["end"])

    run(state.add_override())

    shown = {name: getattr(state, name) for name in (
        "override_date_error", "override_end_error", "override_hours_error",
        "override_note_error")}
    assert shown == {**dict.fromkeys(shown, ""), **errors}
    assert state.override_notice == "" and state.overrides == []
    assert session.exec(select(TutorDateOverride)).all() == []


def test_the_preview_shows_the_length_chosen(session: Session) -> None:
    state = _tutor_page(session)
    hour_long = len(state._starts)

    run(state.choose_preview_length(30))

    assert state.preview_duration == 30
    assert len(state._starts) > hour_long
    assert _times_on(state, MONDAY)[-1] == "17:30"
    run(state.choose_preview_length(45))  # not one the tutor offers
    assert state.preview_duration == 30


def test_students_find_nothing_here_and_signed_out_visitors_sign_in(session: Session) -> None:
    _student, cookie = signed_in_user(session, email="ann@example.com")
    james = make_tutor_user(session, tutor_id="james-okafor")

    assert not _page(cookie).found
    assert not _page(session_cookie(session, james), f"/tutor/availability?tutor={TUTOR_ID}").found
    signed_out = state_on(TutorAvailabilityState, "/tutor/availability",
                          route="/tutor/availability")
    assert "/login?next=" in str(run(signed_out.load()))


def test_an_admin_edits_the_hours_of_the_tutor_named(session: Session) -> None:
    _admin, cookie = signed_in_user(session, email="admin@example.com", role=Role.ADMIN)

    state = _page(cookie, f"/tutor/availability?tutor={TUTOR_ID}")
    assert state.admin_editing
    before = dict(_tutor(session).weekly_hours)
    state.set_time("mon", 0, 0, "08:00")
    run(state.save_hours())

    assert state.reason_error == audit.REASON_REQUIRED  # no reason: nothing saved
    assert _tutor(session).weekly_hours == before

    state.set_edit_reason("The tutor asked by phone")
    run(state.save_hours())
    state.set_override_date(MONDAY.isoformat())
    run(state.add_override())

    assert _tutor(session).weekly_hours["mon"] == [["08:00", "18:00"]]
    entries = session.exec(select(AuditEntry).order_by(col(AuditEntry.created_at))).all()
    assert [(e.action, e.target_id, e.reason) for e in entries] == [
        ("tutor.hours", TUTOR_ID, "The tutor asked by phone")] * 2
    assert entries[0].before is not None and entries[0].after is not None
    assert entries[0].before["weekly_hours"] == before
    assert entries[0].after["weekly_hours"]["mon"] == [["08:00", "18:00"]]
    assert entries[1].after is not None and MONDAY.isoformat() in entries[1].after["overrides"]


def test_the_tutor_saves_their_own_hours_without_a_reason_or_an_audit_entry(
    session: Session,
) -> None:
    state = _tutor_page(session)
    assert not state.admin_editing
    state.set_time("mon", 0, 0, "08:00")
    run(state.save_hours())

    assert _tutor(session).weekly_hours["mon"] == [["08:00", "18:00"]]
    assert session.exec(select(AuditEntry)).all() == []


def test_a_tutor_no_longer_running_the_profile_changes_nothing(session: Session) -> None:
    sofia = make_tutor_user(session, tutor_id=TUTOR_ID)
    state = _page(session_cookie(session, sofia))
    sofia.tutor_id = None
    session.add(sofia)
    session.commit()
    before = _tutor(session).model_dump()
    state.set_time("mon", 0, 0, "08:00")
    state.set_override_date(MONDAY.isoformat())

    run(state.save_hours())
    assert not state.found
    state.found = True  # the page would be gone; the handler must refuse on its own anyway
    run(state.add_override())

    assert not state.found
    assert _tutor(session).model_dump() == before
    assert session.exec(select(TutorDateOverride)).all() == []


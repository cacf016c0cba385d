"""slots with a tutor's connected Google Calendar: its busy times are not offered.

The real google-api-python-client asks `FakeGoogle`'s freeBusy over HTTP, as in production.
A busy span in the tutor's own calendar hides the starts that overlap it, from the picker and
from the final check before payment; once the calendar is free again (and the brief cache is
gone) they come back. Google failing, or unreachable, never takes slots away.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session

from tests.factories import FIRST_SLOT, FIXED_NOW, TUTOR, make_booking
from tests.fakes.fake_google import FakeGoogle
from tests.fakes.server import free_port
from tests.schedule_helpers import set_rules
from tutor_app.core.models import Role, User
from tutor_app.core.settings import Settings
from tutor_app.scheduling import external_busy, slots
from tutor_app.tutor_calendar import connections

NOW = FIXED_NOW
HOUR = timedelta(hours=1)
HALF = timedelta(minutes=30)
CALENDAR_EMAIL = "james.calendar@example.com"
# 17:00-18:00 New York on Tuesday 1 Dec 2026 (the tutor's hours that day are 16:00-21:00).
DENTIST = (FIRST_SLOT + HOUR, FIRST_SLOT + 2 * HOUR)
# 60-minute starts that overlap it; 16:00 (ends as it starts) and 18:00 (starts as it ends) don't.
OVERLAPPING = [FIRST_SLOT + HALF, FIRST_SLOT + HOUR, FIRST_SLOT + HOUR + HALF]


@pytest.fixture
def connected(google: FakeGoogle, session: Session) -> User:
    """James Okafor's tutor account, with his Google Calendar connected."""
    tutor = User(email="james@example.com", name="James Okafor", role=Role.TUTOR,
                 tutor_id=TUTOR)
    session.add(tutor)
    session.commit()
    token = google.issue_token(email=CALENDAR_EMAIL)
    connections.save_connection(
        session, user_id=tutor.id, google_email=CALENDAR_EMAIL, token=token
    )
    session.commit()
    return tutor


def _free(session: Session, minutes: int = 60) -> list[datetime]:
    return slots.free_slots_for(session, tutor_id=TUTOR, duration_minutes=minutes, now=NOW)


def _first_evening(free: list[datetime]) -> list[datetime]:
    return [s for s in free if s < FIRST_SLOT + 6 * HOUR]


def test_busy_time_in_the_tutors_calendar_is_not_offered_until_it_is_free_again(
    google: FakeGoogle, session: Session, connected: User
) -> None:
    google.busy[CALENDAR_EMAIL] = [DENTIST]

    free = _free(session)

    assert not set(OVERLAPPING) & set(free)
    assert FIRST_SLOT in free and FIRST_SLOT + 2 * HOUR in free
    assert FIRST_SLOT + timedelta(days=7) + HOUR in free  # next Tuesday is unaffected
    ninety = _free(session, 90)  # 16:00 .. 17:30 would run into 17:00-18:00
    assert not {FIRST_SLOT + i * HALF for i in range(4)} & set(ninety)
    assert FIRST_SLOT + 2 * HOUR in ninety
    assert FIRST_SLOT + HOUR + HALF not in _free(session, 30)
    assert FIRST_SLOT + HALF in _free(session, 30)  # 16:30-17:00 ends as the dentist starts
    freebusy = google.calls("POST")
    assert freebusy and all(c.path == "/calendar/v3/freeBusy" for c in freebusy)
    assert len(freebusy) == 1  # one fetch, cached, for every length asked above

    # The final check before payment refuses it too, and offers free times instead.
    with pytest.raises(slots.SlotTaken) as refused:
        slots.check_slot(session, tutor_id=TUTOR, start=FIRST_SLOT + HOUR,
                         duration_minutes=60, user_id=None, now=NOW)
    assert refused.value.alternatives
    assert not set(refused.value.alternatives) & set(OVERLAPPING)

    # The tutor cancels the appointment: still hidden while the answer is cached...
    google.busy[CALENDAR_EMAIL] = []
    assert not set(OVERLAPPING) & set(_free(session))
    # ...and offered again once it is fetched afresh.
    external_busy.clear_cache()
    free = _free(session)
    assert set(OVERLAPPING) <= set(free)
    assert _first_evening(free) == [FIRST_SLOT + i * HALF for i in range(9)]
    slots.check_slot(session, tutor_id=TUTOR, start=FIRST_SLOT + HOUR, duration_minutes=60,
                     user_id=None, now=NOW)


def test_google_failing_never_blocks_slots(
    google: FakeGoogle, session: Session, connected: User, configure: Callable[..., Settings]
) -> None:
    google.busy[CALENDAR_EMAIL] = [DENTIST]
    google.fail_next(500)

    free = _free(session)

    assert [c.status for c in google.calls("POST")] == [500]
    assert set(OVERLAPPING) <= set(free)
    assert _first_evening(free) == [FIRST_SLOT + i * HALF for i in range(9)]
    slots.check_slot(session, tutor_id=TUTOR, start=FIRST_SLOT + HOUR, duration_minutes=60,
                     user_id=None, now=NOW)

    # Unreachable (nothing listens at the API address): the same, without a long wait.
    external_busy.clear_cache()
    configure(GOOGLE_API_BASE=f"http://127.0.0.1:{free_port()}/")
    started = time.monotonic()
    assert set(OVERLAPPING) <= set(_free(session))
    assert time.monotonic() - started < external_busy.FETCH_TIMEOUT

    # Google back: the calendar counts again.
    external_busy.clear_cache()
    configure(GOOGLE_API_BASE=google.api_root)
    assert not set(OVERLAPPING) & set(_free(session))


def test_a_tutor_without_a_calendar_asks_google_nothing(
    google: FakeGoogle, session: Session
) -> None:
    google.busy[CALENDAR_EMAIL] = [DENTIST]
    assert set(OVERLAPPING) <= set(_free(session))
    assert google.calendar_calls == []


def test_the_lesson_buffer_is_not_added_around_calendar_events(
    google: FakeGoogle, session: Session, connected: User
) -> None:
    set_rules(session, buffer_minutes=30)
    google.busy[CALENDAR_EMAIL] = [DENTIST]
    make_booking(session, start=FIRST_SLOT + timedelta(days=1) + HOUR)  # the next evening

    free = set(_free(session))

    assert FIRST_SLOT in free and FIRST_SLOT + 2 * HOUR in free  # right up to the dentist
    assert not set(OVERLAPPING) & free
    next_day = FIRST_SLOT + timedelta(days=1)
    assert next_day not in free and next_day + 2 * HOUR not in free  # a lesson is buffered
    assert next_day + 2 * HOUR + HALF in free

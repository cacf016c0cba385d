"""Bookings in the tutor's Google Calendar, asserted request by request against a local fake.

The real google-api-python-client and google-auth talk over HTTP to `FakeGoogle` (the fake
OpenID provider plus Calendar v3), whose access tokens expire and get revoked like Google's,
so refreshes and refused grants go through the same code paths as in production.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from googleapiclient.http import HttpMockSequence
from sqlmodel import Session, select

from tests.factories import make_booking, make_tutor_user, make_user
from tests.fakes.fake_google import FakeGoogle
from tests.fakes.server import free_port
from tutor_app.booking import lesson_events, tutor_lessons
from tutor_app.core import clock, jobs
from tutor_app.core.models import Booking, CalendarConnection, Role, User
from tutor_app.core.settings import Settings
from tutor_app.core.token_crypto import decrypt_token
from tutor_app.integrations.google_calendar import (
    CalendarClient,
    CalendarGone,
    credentials_from_token,
    token_from_credentials,
)
from tutor_app.scheduling import external_busy
from tutor_app.tutor_calendar import calendar_sync, connections
from tutor_app.tutor_calendar.calendar_sync import event_id_for, sync_booking

TUTOR_ID = "james-okafor"  # America/New_York, Mathematics and Physics
TUTOR_EMAIL = "james.calendar@example.com"
START = datetime(2030, 3, 4, 15, 0, tzinfo=UTC)
NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def tutor(session: Session) -> User:
    return make_tutor_user(session, tutor_id=TUTOR_ID, email="james@example.com",
                           name="James Okafor")


@pytest.fixture
def student(session: Session) -> User:
    return make_user(session, email="ann.student@example.com", name="Ann Student")


@pytest.fixture
def booking(session: Session, google: FakeGoogle, tutor: User, student: User) -> Booking:
    """The student's lesson at START with the tutor, whose calendar is connected."""
    connect(session, google, tutor)
    return make_booking(session, user=student, start=START)


def connect(session: Session, google: FakeGoogle, tutor: User, **token_args: Any) -> dict[str, Any]:
    """Store a grant for the tutor as the consent flow would; returns the token."""
    token = google.issue_token(email=TUTOR_EMAIL, **token_args)
    connections.save_connection(
        session, user_id=tutor.id, google_email=TUTOR_EMAIL, token=token
    )
    session.commit()
    return token


def fresh(session: Session, booking: Booking) -> Booking:
    """The booking as committed now (ends the db session's read snapshot first)."""
    session.commit()
    session.expire_all()
    row = session.get(Booking, booking.id)
    assert row is not None
    return row


def connection_of(session: Session, tutor: User) -> CalendarConnection:
    session.commit()
    session.expire_all()
    query = select(CalendarConnection).where(CalendarConnection.user_id == tutor.id)
    return session.exec(query).one()


def events_path(event_id: str | None = None) -> str:
    base = "/calendar/v3/calendars/primary/events"
    return f"{base}/{event_id}" if event_id else base


# -- the event on booking, reschedule and cancel ---------------------------------------------


def test_new_booking_inserts_one_event_with_the_lesson(
    google: FakeGoogle, session: Session, tutor: User, student: User
) -> None:
    connect(session, google, tutor)
    booking = make_booking(session, user=student, start=START, note="Exam on Friday")

    result = sync_booking(booking.id)

    assert (result.status, result.action) == ("synced", "inserted")
    [call] = google.calendar_calls
    assert (call.method, call.path, call.status) == ("POST", events_path(), 200)
    assert call.query["sendUpdates"] == "none"
    body = call.body
    assert body is not None
    assert body["id"] == event_id_for(booking.id)
    assert body["summary"] == "Lesson: Ann Student \u2014 Mathematics, Physics"
    assert body["start"] == {"dateTime": "2030-03-04T15:00:00Z", "timeZone": "America/New_York"}
    assert body["end"] == {"dateTime": "2030-03-04T16:00:00Z", "timeZone": "America/New_York"}
    assert body["attendees"] == [{"email": "ann.student@example.com", "displayName": "Ann Student"}]
    assert "http://app.test/tutor" in body["description"]
    assert "Exam on Friday" in body["description"]
    row = fresh(session, booking)
    assert row.calendar_sync_status == "synced"
    assert row.google_calendar_event_id == event_id_for(booking.id)
    assert row.calendar_sync_attempts == 0 and row.calendar_sync_error is None
    assert set(google.calendar_events(TUTOR_EMAIL)) == {event_id_for(booking.id)}


def test_student_name_and_note_reach_the_event_as_plain_text(
    google: FakeGoogle, session: Session, tutor: User
) -> None:
    connect(session, google, tutor)
    student = make_user(session, email="ann.student@example.com",
                        name="<script>alert(1)</script>Ann <b>Student</b>")
    note = ('<a href="https://evil.example/phish">Open my homework</a>, '
            "x &lt; y &amp;&amp; &lt;img src=x onerror=alert(1)&gt;done")
    booking = make_booking(session, user=student, start=START, note=note)

    sync_booking(booking.id)

    body = google.calendar_calls[0].body or {}
    assert body["summary"] == "Lesson: Ann Student \u2014 Mathematics, Physics"
    assert body["attendees"][0]["displayName"] == "Ann Student"
    description = body["description"]
    assert "Student: Ann Student <ann.student@example.com>" in description
    assert "Note from the student: Open my homework, x < y && done" in description
    for markup in ("<script", "alert(1)", "<a ", "href", "evil.example", "<img", "&lt;", "<b>"):
        assert markup not in description and markup not in body["summary"]


@pytest.mark.parametrize(("raw", "text"), [
    ("<script>alert(1)</script>Ann", "Ann"),
    ('<a href="https://x.test">click</a> me', "click me"),
    ("x &lt; y &amp; z", "x < y & z"),
    ("&lt;b&gt;bold&lt;/b&gt;", "bold"),
    ("a < b and c > d", "a < b and c > d"),
    ("Tom & Jerry", "Tom & Jerry"),
])
def test_plain_text_drops_markup_and_keeps_text(raw: str, text: str) -> None:
    assert calendar_sync.plain_text(raw) == text


def test_event_id_is_deterministic_and_valid_for_google() -> None:
    first, second = event_id_for("cm1booking"), event_id_for("cm2booking")

    assert first == event_id_for("cm1booking") and first != second
    allowed = set("abcdefghijklmnopqrstuv0123456789")
    assert set(first) <= allowed and 5 <= len(first) <= 1024


def test_booking_without_user_uses_the_checkout_email(
    google: FakeGoogle, session: Session, tutor: User
) -> None:
    connect(session, google, tutor)
    booking = make_booking(session, user=None, start=START, customer_email="walk.in@example.com")

    sync_booking(booking.id)

    body = google.calendar_calls[0].body or {}
    assert body["summary"].startswith("Lesson: walk.in@example.com \u2014 ")
    assert body["attendees"][0]["email"] == "walk.in@example.com"


def test_reschedule_patches_the_same_event(
    google: FakeGoogle, session: Session, booking: Booking
) -> None:
    sync_booking(booking.id)
    row = fresh(session, booking)
    row.start_time = START + timedelta(days=1)
    row.end_time = START + timedelta(days=1, minutes=90)
    row.sequence += 1
    session.add(row)
    session.commit()

    result = sync_booking(booking.id)

    assert (result.status, result.action) == ("synced", "patched")
    patch = google.calendar_calls[-1]
    assert (patch.method, patch.path) == ("PATCH", events_path(event_id_for(booking.id)))
    assert patch.body is not None
    assert patch.body["start"]["dateTime"] == "2030-03-05T15:00:00Z"
    assert patch.body["end"]["dateTime"] == "2030-03-05T16:30:00Z"
    assert len(google.calls("POST")) == 1
    event = google.calendar_events(TUTOR_EMAIL)[event_id_for(booking.id)]
    assert event["start"]["dateTime"] == "2030-03-05T15:00:00Z"


def test_cancel_deletes_the_event(
    google: FakeGoogle, session: Session, booking: Booking
) -> None:
    sync_booking(booking.id)
    row = fresh(session, booking)
    row.status = "CANCELED"
    session.add(row)
    session.commit()

    result = sync_booking(booking.id)

    assert (result.status, result.action) == ("synced", "deleted")
    delete = google.calendar_calls[-1]
    assert (delete.method, delete.path, delete.status) == (
        "DELETE", events_path(event_id_for(booking.id)), 204
    )
    assert google.calendar_events(TUTOR_EMAIL)[event_id_for(booking.id)]["status"] == "cancelled"
    assert fresh(session, booking).google_calendar_event_id is None
    # Syncing a canceled, already deleted booking again asks Google nothing.
    calls = len(google.calendar_calls)
    assert sync_booking(booking.id).status == "synced"
    assert len(google.calendar_calls) == calls


def test_delete_of_an_event_already_gone_counts_as_done(
    google: FakeGoogle, session: Session, tutor: User, booking: Booking
) -> None:
    sync_booking(booking.id)
    # The tutor deleted the event in Google Calendar themselves.
    google.calendar_events(TUTOR_EMAIL)[event_id_for(booking.id)]["status"] = "cancelled"
    row = fresh(session, booking)
    row.status = "CANCELED"
    session.add(row)
    session.commit()

    result = sync_booking(booking.id)

    assert google.calendar_calls[-1].status == 410
    assert result.status == "synced"
    assert fresh(session, booking).calendar_sync_error is None


def test_patch_brings_back_an_event_the_tutor_deleted_by_hand(
    google: FakeGoogle, session: Session, booking: Booking
) -> None:
    sync_booking(booking.id)
    google.calendar_events(TUTOR_EMAIL)[event_id_for(booking.id)]["status"] = "cancelled"

    sync_booking(booking.id)

    assert google.calendar_events(TUTOR_EMAIL)[event_id_for(booking.id)]["status"] == "confirmed"


def test_event_missing_from_a_newly_connected_account_is_created_again(
    google: FakeGoogle, session: Session, booking: Booking
) -> None:
    sync_booking(booking.id)
    google.events.clear()  # another Google account connected: the event is not there

    result = sync_booking(booking.id)

    assert [c.status for c in google.calendar_calls[-2:]] == [404, 200]
    assert result.action == "inserted"
    assert event_id_for(booking.id) in google.calendar_events(TUTOR_EMAIL)


def test_booking_of_a_tutor_without_calendar_is_none_and_calls_nothing(
    google: FakeGoogle, session: Session, tutor: User, student: User
) -> None:
    booking = make_booking(session, user=student, start=START)

    result = sync_booking(booking.id)

    assert result.status == "none"
    assert fresh(session, booking).calendar_sync_status == "none"
    assert google.calendar_calls == [] and google.requests == []


def test_unknown_booking_is_reported_not_raised(google: FakeGoogle) -> None:
    assert sync_booking("no-such-booking").status == "missing"


# -- duplicates and races --------------------------------------------------------------------


def test_syncing_twice_makes_one_event(
    google: FakeGoogle, session: Session, booking: Booking
) -> None:
    sync_booking(booking.id)
    sync_booking(booking.id)

    assert [c.method for c in google.calendar_calls] == ["POST", "PATCH"]
    assert len(google.calendar_events(TUTOR_EMAIL)) == 1


def test_two_syncs_at_once_make_one_event(
    google: FakeGoogle, session: Session, booking: Booking
) -> None:
    google.calendar_delay = 0.3  # both inserts are in flight before either is stored
    barrier = threading.Barrier(2)
    results = []

    def run() -> None:
        barrier.wait()
        results.append(sync_booking(booking.id))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)

    created = [c for c in google.calls("POST") if c.status == 200]
    assert len(created) == 1
    assert all(c.status in (200, 409) for c in google.calls("POST"))
    assert len(google.calendar_events(TUTOR_EMAIL)) == 1
    assert sorted(r.status for r in results) == ["synced", "synced"]
    assert fresh(session, booking).google_calendar_event_id == event_id_for(booking.id)


def test_a_reschedule_during_the_insert_is_not_lost(
    google: FakeGoogle, session: Session, booking: Booking
) -> None:
    google.calendar_delay = 0.5
    worker = threading.Thread(target=sync_booking, args=(booking.id,))
    worker.start()
    time.sleep(0.2)  # the insert with the old time is at Google now
    row = fresh(session, booking)
    row.start_time = START + timedelta(hours=2)
    row.end_time = START + timedelta(hours=3)
    session.add(row)
    session.commit()
    worker.join(20)

    event = google.calendar_events(TUTOR_EMAIL)[event_id_for(booking.id)]
    assert event["start"]["dateTime"] == "2030-03-04T17:00:00Z"
    assert fresh(session, booking).calendar_sync_status == "synced"
    assert len(google.calendar_events(TUTOR_EMAIL)) == 1


def test_lesson_events_run_the_sync(
    google: FakeGoogle, session: Session, booking: Booking
) -> None:
    lesson_events.after_booking_created(booking.id, wait=True)
    lesson_events.after_booking_created(booking.id, wait=True)  # the webhook delivered twice

    assert len(google.calendar_events(TUTOR_EMAIL)) == 1
    assert fresh(session, booking).calendar_sync_status == "synced"
    row = fresh(session, booking)
    row.status = "CANCELED"
    session.add(row)
    session.commit()
    lesson_events.after_booking_canceled(booking.id, wait=True)
    assert google.calendar_calls[-1].method == "DELETE"
    assert "calendar-retry" in jobs.JOBS


# -- tokens ----------------------------------------------------------------------------------


def test_expired_token_is_refreshed_and_stored_encrypted(
    google: FakeGoogle, session: Session, tutor: User, student: User
) -> None:
    old = connect(session, google, tutor, expires_in=-60)
    booking = make_booking(session, user=student, start=START)

    result = sync_booking(booking.id)

    assert result.status == "synced"
    refreshes = [p for p in google.requests_to("/token") if p.get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1 and refreshes[0]["refresh_token"] == old["refresh_token"]
    conn = connection_of(session, tutor)
    stored = decrypt_token(conn.encrypted_token)
    assert stored["access_token"] != old["access_token"]
    assert stored["access_token"].startswith("ya29.")
    assert stored["refresh_token"] == old["refresh_token"]
    assert stored["expires_at"] > time.time() + 3000
    assert stored["access_token"] not in conn.encrypted_token
    # The next sync uses the stored token: no second refresh.
    sync_booking(booking.id)
    assert len([p for p in google.requests_to("/token")
                if p.get("grant_type") == "refresh_token"]) == 1


def test_revoked_grant_makes_the_connection_reconnect_needed(
    google: FakeGoogle, session: Session, tutor: User, student: User
) -> None:
    token = connect(session, google, tutor)
    google.revoke_grant(token["refresh_token"])  # the tutor removed the app's access
    booking = make_booking(session, user=student, start=START)

    result = sync_booking(booking.id)

    assert result.status == "failed"
    assert [c.status for c in google.calendar_calls] == [401]  # then the refresh is refused
    row = fresh(session, booking)
    assert row.calendar_sync_status == "failed"
    assert row.calendar_sync_error == calendar_sync.RECONNECT_ERROR
    assert connection_of(session, tutor).status == "reconnect_needed"
    # Later bookings do not call Google while the grant is broken.
    other = make_booking(session, user=student, start=START + timedelta(days=2))
    assert sync_booking(other.id).status == "failed"
    assert len(google.calendar_calls) == 1


def test_401_even_after_refreshing_means_reconnect_needed(
    google: FakeGoogle, session: Session, tutor: User, booking: Booking
) -> None:
    google.fail_next(401, reason="authError", times=3)

    result = sync_booking(booking.id)

    assert result.status == "failed"
    refreshes = [p for p in google.requests_to("/token") if p.get("grant_type") == "refresh_token"]
    assert len(refreshes) >= 1  # google-auth refreshed before giving up
    assert connection_of(session, tutor).status == "reconnect_needed"


def test_reconnecting_requeues_what_failed(
    google: FakeGoogle, session: Session, tutor: User, student: User
) -> None:
    token = connect(session, google, tutor)
    google.revoke_grant(token["refresh_token"])
    booking = make_booking(session, user=student, start=START)
    sync_booking(booking.id)
    assert fresh(session, booking).calendar_sync_status == "failed"

    connect(session, google, tutor)
    queued = connections.queue_upcoming_bookings(session, tutor_id=TUTOR_ID)
    session.commit()
    summary = calendar_sync.retry_due()

    assert queued == 1
    assert "1 synced" in summary
    assert fresh(session, booking).calendar_sync_status == "synced"
    assert connection_of(session, tutor).status == "connected"


def test_undecryptable_token_means_reconnect_needed(
    google: FakeGoogle, session: Session, tutor: User, configure: Callable[..., Settings],
    booking: Booking
) -> None:
    configure(SECRET_KEY="a-different-secret-key-than-before-1234")

    result = sync_booking(booking.id)

    assert result.status == "failed"
    assert connection_of(session, tutor).status == "reconnect_needed"
    assert google.calendar_calls == []


# -- transient failures and the retry job ----------------------------------------------------


def test_server_error_leaves_it_pending_with_backoff_then_the_retry_syncs(
    google: FakeGoogle, session: Session, booking: Booking
) -> None:
    google.fail_next(500)

    result = sync_booking(booking.id, now=NOW)

    assert result.status == "pending"
    row = fresh(session, booking)
    assert row.calendar_sync_attempts == 1
    assert row.calendar_sync_next_at == NOW + timedelta(seconds=30)
    assert "500" in (row.calendar_sync_error or "")
    assert google.calendar_events(TUTOR_EMAIL) == {}

    assert calendar_sync.retry_due(now=NOW + timedelta(seconds=29)) == ""  # not due yet
    assert len(google.calendar_calls) == 1

    assert "1 synced" in calendar_sync.retry_due(now=NOW + timedelta(seconds=31))
    row = fresh(session, booking)
    assert (row.calendar_sync_status, row.calendar_sync_attempts) == ("synced", 0)
    assert row.calendar_sync_next_at is None and row.calendar_sync_error is None
    assert len(google.calendar_events(TUTOR_EMAIL)) == 1


def test_backoff_doubles_to_an_hour_and_gives_up_after_max_attempts(
    google: FakeGoogle, session: Session, tutor: User, booking: Booking
) -> None:
    assert [calendar_sync.backoff(n).total_seconds() for n in range(9)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600
    ]
    google.fail_next(503, times=calendar_sync.MAX_ATTEMPTS)
    waits = []
    for _ in range(calendar_sync.MAX_ATTEMPTS - 1):
        assert sync_booking(booking.id, now=NOW).status == "pending"
        waits.append((fresh(session, booking).calendar_sync_next_at - NOW).total_seconds())

    last = sync_booking(booking.id, now=NOW)

    assert waits == [30, 60, 120, 240, 480, 960, 1920]
    assert last.status == "failed"
    row = fresh(session, booking)
    assert row.calendar_sync_attempts == calendar_sync.MAX_ATTEMPTS
    assert row.calendar_sync_next_at is None
    assert connection_of(session, tutor).status == "connected"  # not the grant's fault


def test_rate_limit_is_transient(
    google: FakeGoogle, session: Session, tutor: User, booking: Booking
) -> None:
    google.fail_next(429, reason="rateLimitExceeded")

    assert sync_booking(booking.id).status == "pending"
    google.fail_next(403, reason="userRateLimitExceeded")
    assert sync_booking(booking.id).status == "pending"
    assert connection_of(session, tutor).status == "connected"


def test_network_failure_is_transient(
    session: Session, configure: Callable[..., Settings], booking: Booking
) -> None:
    configure(GOOGLE_API_BASE=f"http://127.0.0.1:{free_port()}/")  # nothing listens there

    result = sync_booking(booking.id)

    assert result.status == "pending"
    assert fresh(session, booking).calendar_sync_attempts == 1


def test_bad_request_fails_without_retrying(
    google: FakeGoogle, session: Session, booking: Booking
) -> None:
    google.fail_next(400, reason="invalid")

    result = sync_booking(booking.id)

    assert result.status == "failed"
    assert "400" in (fresh(session, booking).calendar_sync_error or "")
    assert calendar_sync.retry_due() == ""


def test_retry_job_picks_up_bookings_whose_follow_up_never_ran(
    google: FakeGoogle, session: Session, tutor: User, student: User
) -> None:
    connect(session, google, tutor)
    now = clock.now()
    missed = make_booking(session, user=student, start=START,
                          created_at=now - timedelta(minutes=10))
    just_made = make_booking(session, user=student, start=START + timedelta(days=1))

    calendar_sync.retry_due(now=now)

    assert fresh(session, missed).calendar_sync_status == "synced"
    assert fresh(session, just_made).calendar_sync_status == "none"  # its follow-up is running


# -- what the tutor sees ---------------------------------------------------------------------


def test_tutor_lessons_show_each_sync_state(
    google: FakeGoogle, session: Session, tutor: User, student: User
) -> None:
    connect(session, google, tutor)
    ok = make_booking(session, user=student, start=START)
    broken = make_booking(session, user=student, start=START + timedelta(days=1))
    sync_booking(ok.id)
    google.fail_next(500)
    sync_booking(broken.id)
    session.commit()
    session.expire_all()

    lessons, _past = tutor_lessons.tutor_lessons(session, tutor_id=TUTOR_ID, now=NOW)

    assert [(lesson.id, lesson.sync_status) for lesson in lessons] == [
        (ok.id, "synced"), (broken.id, "pending")
    ]
    assert (lessons[0].student_name, lessons[0].student_email) == (
        "Ann Student", "ann.student@example.com")
    assert "500" in (lessons[1].sync_error or "")


def test_retry_now_is_only_for_the_tutors_own_lessons(
    session: Session, tutor: User, student: User, booking: Booking
) -> None:
    other_tutor = User(email="maria@example.com", role=Role.TUTOR, tutor_id="maria-garcia")
    session.add(other_tutor)
    session.commit()

    assert calendar_sync.retry_now(user=other_tutor, booking_id=booking.id) is None
    assert calendar_sync.retry_now(user=student, booking_id=booking.id) is None
    result = calendar_sync.retry_now(user=tutor, booking_id=booking.id)
    assert result is not None and result.status == "synced"


# -- busy times ------------------------------------------------------------------------------


def test_calendar_busy_reads_freebusy_and_caches_it(
    google: FakeGoogle, session: Session, tutor: User
) -> None:
    connect(session, google, tutor)
    dentist = (START, START + timedelta(hours=1))
    google.busy[TUTOR_EMAIL] = [dentist, (START + timedelta(days=90), START + timedelta(days=91))]
    window = (START - timedelta(days=1), START + timedelta(days=2))

    busy = external_busy.calendar_busy(TUTOR_ID, *window)
    again = external_busy.calendar_busy(TUTOR_ID, window[0] + timedelta(seconds=5),
                                        window[1] + timedelta(seconds=5))

    assert [(b.start, b.end) for b in busy] == [dentist]
    assert again == busy
    [call] = google.calls("POST")
    assert call.path == "/calendar/v3/freeBusy"
    assert call.body is not None and call.body["items"] == [{"id": "primary"}]
    assert call.body["timeMin"] == "2030-03-03T15:00:00Z"


def test_calendar_busy_is_empty_on_any_failure_or_without_calendar(
    google: FakeGoogle, session: Session, tutor: User
) -> None:
    window = (START, START + timedelta(days=1))
    assert external_busy.calendar_busy(TUTOR_ID, *window) == []  # not connected
    assert google.calendar_calls == []

    external_busy.clear_cache()
    connect(session, google, tutor)
    google.busy[TUTOR_EMAIL] = [(START, START + timedelta(hours=1))]
    google.fail_next(500)
    assert external_busy.calendar_busy(TUTOR_ID, *window) == []

    external_busy.clear_cache()
    assert len(external_busy.calendar_busy(TUTOR_ID, *window)) == 1


# -- the client with an injected transport (HttpMockSequence) --------------------------------


def _google_error(status: int, reason: str) -> str:
    return json.dumps({"error": {"code": status, "errors": [{"reason": reason}]}})


def _mock_credentials() -> Any:
    token = {"access_token": "ya29.old", "refresh_token": "1//r", "expires_at": None}
    return token, credentials_from_token(
        token, token_uri="https://oauth2.example/token", client_id="cid", client_secret="sec"
    )


def test_client_accepts_an_injected_http_and_refreshes_on_401() -> None:
    token, credentials = _mock_credentials()
    http = HttpMockSequence([
        ({"status": "401"}, _google_error(401, "authError")),
        ({"status": "200"}, json.dumps({"access_token": "ya29.new", "expires_in": 3600})),
        ({"status": "200"}, "echo_request_body"),
    ])
    client = CalendarClient(credentials, http=http, api_root="https://calendar.example/")

    created = client.insert_event({"id": "abcde12345", "summary": "Lesson"})

    assert created == {"id": "abcde12345", "summary": "Lesson"}
    refreshed = token_from_credentials(credentials, token)
    assert refreshed is not None and refreshed["access_token"] == "ya29.new"
    assert refreshed["refresh_token"] == "1//r"


def test_client_reports_410_on_delete_as_gone() -> None:
    _token, credentials = _mock_credentials()
    http = HttpMockSequence([
        ({"status": "410"}, _google_error(410, "deleted")),
    ])
    client = CalendarClient(credentials, http=http)

    with pytest.raises(CalendarGone):
        client.delete_event("abcde12345")


def test_static_discovery_document_is_bundled() -> None:
    # build(..., static_discovery=True) reads this file; nothing is fetched at run time.
    from importlib import resources

    document = resources.files("googleapiclient").joinpath(
        "discovery_cache/documents/calendar.v3.json"
    )
    assert json.loads(document.read_text())["rootUrl"] == "https://www.googleapis.com/"

"""`POST /api/bookings/{id}/cancel` and `/reschedule` over real HTTP.

The routes run under uvicorn (`api_server`); the student is signed in with a real session
cookie; lessons are paid at the local fake Stripe API. What a client depends on: the status
codes, the JSON, and that another student's booking answers exactly like a missing one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from tests.factories import TUTOR, make_booking, make_user, paid_booking, session_cookie
from tests.fakes.fake_stripe import FakeStripe
from tests.fakes.server import ThreadedServer
from tests.money_helpers import booking
from tests.stripe_helpers import refund_requests
from tutor_app.accounts import sign_in_sessions
from tutor_app.core import clock
from tutor_app.core.models import BookingStatus, User
from tutor_app.core.timefmt import to_utc_iso
from tutor_app.scheduling import slots


def _owner(session: Session, lesson: Any) -> dict[str, str]:
    user = session.get(User, lesson.user_id)
    assert user is not None
    return {"cookie": session_cookie(session, user)}


def _cancel(client: httpx.Client, booking_id: str, headers: dict[str, str] | None = None
            ) -> httpx.Response:
    return client.post(f"/api/bookings/{booking_id}/cancel", headers=headers or {})


def _reschedule(client: httpx.Client, booking_id: str, body: Any,
                headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post(f"/api/bookings/{booking_id}/reschedule", json=body,
                       headers=headers or {})


def _later_free(session: Session, after: Any, days: int = 2) -> Any:
    starts = slots.free_slots_for(session, tutor_id=TUTOR, duration_minutes=60)
    session.commit()
    return next(s for s in starts if s >= after + timedelta(days=days))


def test_cancel_own_lesson_refunds_and_repeats_safely(
    client: httpx.Client, fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    headers = _owner(session, lesson)

    response = _cancel(client, lesson.id, headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "id": lesson.id, "status": "CANCELED", "refundCents": 6000, "currency": "usd",
        "refundStatus": "refunded", "alreadyCanceled": False,
        "message": "Your lesson is canceled and $60.00 has been refunded.",
    }
    again = _cancel(client, lesson.id, headers)
    assert again.status_code == 200
    assert again.json()["alreadyCanceled"] is True and again.json()["refundCents"] == 6000
    assert len(refund_requests(fake)) == 1
    assert booking(session, booking_id=lesson.id).status == BookingStatus.CANCELED


def test_signed_out_gets_401_and_nothing_changes(
    client: httpx.Client, fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    target = _later_free(session, lesson.start_time)
    bad_token = {"cookie": f"{sign_in_sessions.session_cookie_name()}=not-a-session"}
    for headers in ({}, bad_token):
        assert _cancel(client, lesson.id, headers).status_code == 401
        assert _reschedule(client, lesson.id, {"startDateTimeISO": to_utc_iso(target)},
                           headers).status_code == 401
    assert booking(session, booking_id=lesson.id).status == BookingStatus.SCHEDULED


def test_another_students_booking_is_404_exactly_like_a_missing_one(
    client: httpx.Client, fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    target = _later_free(session, lesson.start_time)
    stranger = {"cookie": session_cookie(session, make_user(session, email="mallory@example.com"))}

    theirs = _cancel(client, lesson.id, stranger)
    missing = _cancel(client, "c" + "0" * 24, stranger)
    moved = _reschedule(client, lesson.id, {"startDateTimeISO": to_utc_iso(target)}, stranger)

    assert theirs.status_code == missing.status_code == moved.status_code == 404
    assert theirs.json() == missing.json() == moved.json() == {"error": "no such booking"}
    for response in (theirs, moved):  # nothing of the lesson leaks
        assert lesson.id not in response.text and TUTOR not in response.text
    after = booking(session, booking_id=lesson.id)
    assert (after.status, after.start_time) == (BookingStatus.SCHEDULED, lesson.start_time)
    assert refund_requests(fake) == []


def test_a_started_lesson_cannot_be_canceled(
    client: httpx.Client, session: Session, api_server: ThreadedServer
) -> None:
    user = make_user(session)
    lesson = make_booking(session, start=clock.now() - timedelta(minutes=10), user=user)
    response = _cancel(client, lesson.id, {"cookie": session_cookie(session, user)})
    assert response.status_code == 409
    assert "already started" in response.json()["error"]


def test_reschedule_own_lesson_to_a_free_slot(
    client: httpx.Client, fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    target = _later_free(session, lesson.start_time)

    response = _reschedule(client, lesson.id, {"startDateTimeISO": to_utc_iso(target)},
                           _owner(session, lesson))

    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": lesson.id, "status": "SCHEDULED", "startDateTimeISO": to_utc_iso(target),
        "endDateTimeISO": to_utc_iso(target + timedelta(hours=1)), "sequence": 1,
    }
    assert booking(session, booking_id=lesson.id).start_time == target


def test_reschedule_to_a_taken_slot_is_409_with_alternatives(
    client: httpx.Client, fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    taken = _later_free(session, lesson.start_time)
    make_booking(session, start=taken, user=make_user(session))

    response = _reschedule(client, lesson.id, {"startDateTimeISO": to_utc_iso(taken)},
                           _owner(session, lesson))

    assert response.status_code == 409
    body = response.json()
    assert "already taken" in body["error"]
    assert body["alternatives"] and to_utc_iso(taken) not in body["alternatives"]
    assert all(a.endswith("Z") for a in body["alternatives"])
    assert booking(session, booking_id=lesson.id).start_time == lesson.start_time


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({}, 400, "startDateTimeISO"),
        ({"startDateTimeISO": "2026-12-01T15:00:00"}, 400, "with a zone"),  # no zone
        ({"startDateTimeISO": "tomorrow"}, 400, "ISO-8601"),
        (["not", "an", "object"], 400, "startDateTimeISO"),
    ],
)
def test_reschedule_bad_bodies_are_400(
    client: httpx.Client, fake: FakeStripe, session: Session, body: Any, status: int,
    fragment: str
) -> None:
    lesson = paid_booking(session, fake)
    response = _reschedule(client, lesson.id, body, _owner(session, lesson))
    assert response.status_code == status
    assert fragment in response.json()["error"]


def test_reschedule_needs_a_json_body(
    client: httpx.Client, fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    headers = _owner(session, lesson)
    form = client.post(f"/api/bookings/{lesson.id}/reschedule",
                       data={"startDateTimeISO": "2026-12-01T15:00:00Z"}, headers=headers)
    assert form.status_code == 415
    broken = client.post(f"/api/bookings/{lesson.id}/reschedule", content=b"{nope",
                         headers={**headers, "content-type": "application/json"})
    assert broken.status_code == 400


def test_reschedule_inside_the_window_is_400(
    client: httpx.Client, session: Session, api_server: ThreadedServer
) -> None:
    user = make_user(session)
    soon = clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=20)
    lesson = make_booking(session, start=soon, user=user)
    response = _reschedule(client, lesson.id,
                           {"startDateTimeISO": to_utc_iso(soon + timedelta(days=3))},
                           {"cookie": session_cookie(session, user)})
    assert response.status_code == 400
    assert "24 hours before" in response.json()["error"]


def test_a_cross_site_request_is_refused(
    client: httpx.Client, fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    headers = {**_owner(session, lesson), "origin": "https://evil.example"}
    assert _cancel(client, lesson.id, headers).status_code == 403
    assert booking(session, booking_id=lesson.id).status == BookingStatus.SCHEDULED
    same_site = {**_owner(session, lesson), "origin": client.base_url.scheme + "://"
                 + client.base_url.netloc.decode()}
    assert _cancel(client, lesson.id, same_site).status_code == 200

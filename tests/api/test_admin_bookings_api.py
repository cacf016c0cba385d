"""GET /api/admin/bookings.csv over real HTTP: the filtered bookings streamed as an attachment
to an admin; the same 404 as a missing route for everyone else, signed out included."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from sqlmodel import Session

from tests.factories import lesson_start, make_booking, make_tutor_user, make_user, session_cookie
from tutor_app.core.models import BookingStatus, Role

URL = "/api/admin/bookings.csv"


def test_an_admin_downloads_the_filtered_bookings(client: httpx.Client, session: Session
                                                  ) -> None:
    cookie = session_cookie(session, make_user(session, role=Role.ADMIN))
    ann = make_user(session, email="ann@example.com")
    kept = [make_booking(session, user=ann, start=lesson_start(days=d)) for d in (1, 2)]
    make_booking(session, user=ann, start=lesson_start(days=3), status=BookingStatus.CANCELED)
    make_booking(session, user=make_user(session), start=lesson_start(days=4))

    with client.stream("GET", URL, params={"email": "ann@example.com", "status": "SCHEDULED",
                                           "sort": "start", "dir": "asc"},
                       headers={"cookie": cookie}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == (
            'attachment; filename="bookings-start-to-now.csv"')
        assert "no-store" in response.headers["cache-control"]
        assert "content-length" not in response.headers  # streamed
        body = response.read().decode()

    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:3] == ["booking_id", "start_utc", "end_utc"]
    assert [r[0] for r in rows[1:]] == [b.id for b in kept]


@pytest.mark.parametrize("who", ["signed_out", "student", "tutor"])
def test_anyone_else_gets_not_found(client: httpx.Client, session: Session, who: str) -> None:
    make_booking(session, user=make_user(session), start=lesson_start(days=1))
    headers = {}
    if who == "student":
        headers["cookie"] = session_cookie(session, make_user(session))
    elif who == "tutor":
        headers["cookie"] = session_cookie(session, make_tutor_user(session))

    response = client.get(URL, headers=headers)

    assert response.status_code == 404
    assert "booking_id" not in response.text

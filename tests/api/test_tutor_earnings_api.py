"""GET /api/tutor/earnings.csv over real HTTP: the tutor's months as an attachment, streamed;
404 for everyone who does not run that tutor profile, signed out included; 400 for bad months."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
import pytest
from sqlmodel import Session

from tests.factories import TUTOR, make_booking, make_tutor_user, make_user, session_cookie
from tutor_app.core.models import BookingStatus, Role

URL = "/api/tutor/earnings.csv"


def _lessons(session: Session) -> None:
    for start, refunded in ((datetime(2026, 4, 14, 22, 0, tzinfo=UTC), 0),
                            (datetime(2026, 5, 1, 3, 30, tzinfo=UTC), 1500),  # 30 April in NY
                            (datetime(2026, 5, 20, 22, 0, tzinfo=UTC), 0)):
        make_booking(session, start=start, user=make_user(session),
                     status=BookingStatus.COMPLETED, refunded_cents=refunded)
    make_booking(session, start=datetime(2026, 5, 21, 22, 0, tzinfo=UTC), user=make_user(session),
                 status=BookingStatus.CANCELED, refunded_cents=6000)
    make_booking(session, start=datetime(2026, 5, 22, 22, 0, tzinfo=UTC), user=make_user(session),
                 tutor_id="aiko-tanaka", status=BookingStatus.COMPLETED)


def test_the_tutor_downloads_their_months(client: httpx.Client, session: Session) -> None:
    cookie = session_cookie(session, make_tutor_user(session))
    _lessons(session)

    response = client.get(URL, params={"from": "2026-03", "to": "2026-05"},
                          headers={"cookie": cookie})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="earnings-{TUTOR}-2026-03-to-2026-05.csv"')
    assert "no-store" in response.headers["cache-control"]
    assert "content-length" not in response.headers  # streamed
    assert list(csv.reader(io.StringIO(response.text))) == [
        ["month", "lessons_completed", "gross", "refunds", "net", "currency"],
        ["2026-03", "0", "0.00", "0.00", "0.00", "USD"],
        ["2026-04", "2", "120.00", "15.00", "105.00", "USD"],
        ["2026-05", "1", "60.00", "0.00", "60.00", "USD"],
    ]


def test_without_a_range_it_is_the_last_twelve_months(
    client: httpx.Client, session: Session
) -> None:
    cookie = session_cookie(session, make_tutor_user(session))

    response = client.get(URL, headers={"cookie": cookie})

    assert response.status_code == 200
    assert len(response.text.strip().splitlines()) == 1 + 12


@pytest.mark.parametrize("who", ["signed out", "student", "other tutor", "unknown session"])
def test_anyone_else_gets_404_with_nothing_in_it(
    client: httpx.Client, session: Session, who: str
) -> None:
    _lessons(session)
    cookie = {
        "signed out": lambda: "",
        "student": lambda: session_cookie(session, make_user(session)),
        "other tutor": lambda: session_cookie(session, make_tutor_user(session,
                                                                       tutor_id="liam-murphy")),
        "unknown session": lambda: "tutor_session=not-a-session",
    }[who]()

    # A tutor's own earnings are theirs to see; another tutor's, never.
    for params in ({"tutor": TUTOR},) if who == "other tutor" else ({}, {"tutor": TUTOR}):
        response = client.get(URL, params=params, headers={"cookie": cookie} if cookie else {})
        assert response.status_code == 404
        assert "2026" not in response.text and "content-disposition" not in response.headers


def test_an_admin_names_the_tutor(client: httpx.Client, session: Session) -> None:
    cookie = session_cookie(session, make_user(session, role=Role.ADMIN))
    _lessons(session)

    named = client.get(URL, params={"tutor": TUTOR, "from": "2026-04", "to": "2026-04"},
                       headers={"cookie": cookie})
    unnamed = client.get(URL, headers={"cookie": cookie})

    assert named.status_code == 200 and "2026-04,2,120.00" in named.text
    assert unnamed.status_code == 404


@pytest.mark.parametrize(("first", "last"), [("2026-13", "2026-12"), ("2026-05", "2026-01"),
                                            ("2020-01", "2026-01"), ("june", "")])
def test_bad_months_are_a_400(client: httpx.Client, session: Session, first: str,
                              last: str) -> None:
    cookie = session_cookie(session, make_tutor_user(session))

    response = client.get(URL, params={"from": first, "to": last}, headers={"cookie": cookie})

    assert response.status_code == 400
    assert response.json()["error"]

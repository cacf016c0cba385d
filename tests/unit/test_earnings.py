"""Earnings per month in the tutor's zone: which lessons count as completed, gross, refunds
(in the lesson's month, across months), net, and the CSV lines."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlmodel import Session

from tests.factories import make_booking, make_user
from tutor_app.core.models import BookingKind, BookingStatus, Tutor
from tutor_app.tutors import earnings
from tutor_app.tutors.earnings import InvalidRange, MonthEarnings

TUTOR_ID = "james-okafor"  # America/New_York, $60/hour


def _tutor(session: Session) -> Tutor:
    tutor = session.get(Tutor, TUTOR_ID)
    assert tutor is not None
    return tutor


def _lesson(session: Session, start: datetime, status: str = BookingStatus.COMPLETED, *,
            tutor_id: str = TUTOR_ID, **fields: Any) -> None:
    make_booking(session, start=start, user=make_user(session), tutor_id=tutor_id,
                 status=status, **fields)


def _months(session: Session, first: str, last: str) -> dict[str, MonthEarnings]:
    found = earnings.monthly_earnings(session, tutor=_tutor(session),
                                      first=earnings.parse_month(first) or date.min,
                                      last=earnings.parse_month(last) or date.min)
    return {m.month: m for m in found}


def test_months_are_the_tutors_and_only_lessons_that_took_place_count(
    session: Session
) -> None:
    may_31_evening_ny = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 21:00 on 31 May in New York
    _lesson(session, may_31_evening_ny)  # completed: May
    _lesson(session, datetime(2026, 5, 10, 20, 0, tzinfo=UTC), minutes=90)  # $90: May
    _lesson(session, datetime(2026, 6, 2, 22, 0, tzinfo=UTC), BookingStatus.SCHEDULED,
            attendance="attended")  # marked before the completion job ran: June
    _lesson(session, datetime(2026, 6, 3, 22, 0, tzinfo=UTC), BookingStatus.SCHEDULED,
            attendance="no_show")  # the student paid for the time: June
    _lesson(session, datetime(2026, 6, 4, 22, 0, tzinfo=UTC), BookingStatus.SCHEDULED)  # not yet
    _lesson(session, datetime(2026, 6, 5, 22, 0, tzinfo=UTC), BookingStatus.CANCELED,
            refunded_cents=6000, attendance="attended")  # canceled: never counts
    _lesson(session, datetime(2026, 6, 6, 22, 0, tzinfo=UTC), tutor_id="aiko-tanaka")  # theirs
    _lesson(session, datetime(2026, 6, 7, 22, 0, tzinfo=UTC), kind=BookingKind.CONSULTATION,
            minutes=15, price_cents=0)  # a free intro: never revenue, not a lesson

    months = _months(session, "2026-04", "2026-06")

    assert list(months) == ["2026-04", "2026-05", "2026-06"]
    assert months["2026-04"] == MonthEarnings("2026-04", "usd", 0, 0, 0)
    assert months["2026-05"] == MonthEarnings("2026-05", "usd", 2, 6000 + 9000, 0)
    assert months["2026-06"] == MonthEarnings("2026-06", "usd", 2, 12000, 0)
    assert months["2026-06"].net_cents == 12000


def test_refunds_belong_to_their_lessons_month_and_net_subtracts_them(
    session: Session
) -> None:
    _lesson(session, datetime(2026, 3, 31, 23, 30, tzinfo=UTC), refunded_cents=2000)  # 19:30 ET
    _lesson(session, datetime(2026, 4, 1, 3, 59, tzinfo=UTC), refunded_cents=500)  # 23:59 ET
    _lesson(session, datetime(2026, 4, 1, 4, 0, tzinfo=UTC))  # midnight in New York: April
    _lesson(session, datetime(2026, 4, 20, 14, 0, tzinfo=UTC), BookingStatus.CANCELED,
            refunded_cents=6000)  # a refund of a lesson that never counted: not here

    months = _months(session, "2026-03", "2026-04")

    march, april = months["2026-03"], months["2026-04"]
    assert (march.lessons_completed, march.gross_cents, march.refunds_cents) == (2, 12000, 2500)
    assert march.net_cents == 9500
    assert (april.lessons_completed, april.gross_cents, april.refunds_cents) == (1, 6000, 0)


def test_one_row_per_currency_in_a_month(session: Session) -> None:
    _lesson(session, datetime(2026, 5, 5, 20, 0, tzinfo=UTC))
    _lesson(session, datetime(2026, 5, 6, 20, 0, tzinfo=UTC), currency="eur", price_cents=5000)

    found = earnings.monthly_earnings(session, tutor=_tutor(session), first=date(2026, 5, 1),
                                      last=date(2026, 5, 1))

    assert found == [MonthEarnings("2026-05", "eur", 1, 5000, 0),
                     MonthEarnings("2026-05", "usd", 1, 6000, 0)]


def test_the_csv_lines() -> None:
    rows = [MonthEarnings("2026-05", "usd", 2, 15000, 2500),
            MonthEarnings("2026-06", "jpy", 1, 1200, 0)]

    text = "".join(earnings.csv_rows(rows))

    assert text.startswith("month,lessons_completed,gross,refunds,net,currency\r\n")
    assert list(csv.reader(io.StringIO(text))) == [
        list(earnings.CSV_HEADER),
        ["2026-05", "2", "150.00", "25.00", "125.00", "USD"],
        ["2026-06", "1", "1200", "0", "1200", "JPY"],
    ]


def test_ranges_default_to_the_last_twelve_months_in_the_tutors_zone() -> None:
    new_years_eve_ny = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)  # still 2026 in New York
    assert earnings.default_range("America/New_York", new_years_eve_ny) == (
        date(2026, 1, 1), date(2026, 12, 1))
    assert earnings.default_range("UTC", new_years_eve_ny) == (date(2026, 2, 1), date(2027, 1, 1))
    assert earnings.read_range("2026-02", "2026-02", "UTC") == (date(2026, 2, 1),
                                                                date(2026, 2, 1))
    assert earnings.months(date(2026, 11, 1), date(2027, 2, 1)) == [
        date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)]


@pytest.mark.parametrize(("first", "last", "message"), [
    ("2026-13", "2027-01", earnings.BAD_MONTH),
    ("2026-1", "2026-02", earnings.BAD_MONTH),
    ("June", "2026-02", earnings.BAD_MONTH),
    ("2026-05", "2026-04", earnings.INVERTED_RANGE),
    ("2020-01", "2025-01", earnings.RANGE_TOO_LONG),
])
def test_bad_ranges_are_refused(first: str, last: str, message: str) -> None:
    with pytest.raises(InvalidRange) as raised:
        earnings.read_range(first, last, "UTC")
    assert str(raised.value) == message


def test_a_lesson_just_outside_the_range_is_left_out(session: Session) -> None:
    _lesson(session, datetime(2026, 5, 1, 3, 59, tzinfo=UTC))  # 23:59 on 30 April in New York
    _lesson(session, datetime(2026, 6, 1, 4, 0, tzinfo=UTC))  # midnight on 1 June there

    months = _months(session, "2026-05", "2026-05")

    assert months["2026-05"].lessons_completed == 0
    assert earnings.next_month(date(2026, 12, 1)) == date(2027, 1, 1)

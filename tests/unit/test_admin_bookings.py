"""The admin's bookings table: filters, sorting, search, pages, the capped count and the CSV,
all done by the database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import inspect
from sqlmodel import Session

from tests.factories import TUTOR, lesson_start, make_booking, make_user
from tutor_app.admin import bookings
from tutor_app.admin.bookings import BookingFilter
from tutor_app.core.models import BookingKind, BookingStatus

OTHER_TUTOR = "aiko-tanaka"


def _ids(page: bookings.BookingPage) -> list[str]:
    return [r.id for r in page.rows]


def test_filters_combine_status_tutor_email_days_and_kind(session: Session) -> None:
    ann = make_user(session, email="ann@example.com")
    bob = make_user(session, email="bob@example.com")
    day = lesson_start(days=5, hour=15)
    wanted = make_booking(session, user=ann, start=day)
    make_booking(session, user=ann, start=day + timedelta(days=3))  # outside the days
    make_booking(session, user=ann, start=day + timedelta(hours=2),
                 status=BookingStatus.CANCELED)
    make_booking(session, user=bob, start=day + timedelta(hours=4))
    make_booking(session, user=ann, start=day, tutor_id=OTHER_TUTOR)
    make_booking(session, user=ann, start=day + timedelta(hours=6), price_cents=0,
                 kind=BookingKind.CONSULTATION)

    found = bookings.booking_page(session, BookingFilter(
        status=BookingStatus.SCHEDULED, tutor_id=TUTOR, student_email=" ANN@example.com ",
        first_day=day.date(), last_day=day.date(), paid="paid",
    ))

    assert _ids(found) == [wanted.id]
    assert (found.count, found.count_is_estimate) == (1, False)
    assert found.rows[0].student_email == "ann@example.com"
    free = bookings.booking_page(session, BookingFilter(paid="free"))
    assert [r.kind for r in free.rows] == [BookingKind.CONSULTATION]


def test_search_finds_by_email_booking_id_or_checkout_session(session: Session) -> None:
    ann = make_user(session, email="ann@example.com")
    lesson = make_booking(session, user=ann, start=lesson_start(days=2), session_id="cs_test_x1")
    kept_by_email = make_booking(session, start=lesson_start(days=3),
                                 customer_email="payer@example.com")
    make_booking(session, start=lesson_start(days=4))

    assert _ids(bookings.booking_page(session, BookingFilter(search="ann@example.com"))) == [
        lesson.id]
    assert _ids(bookings.booking_page(session, BookingFilter(search=lesson.id))) == [lesson.id]
    assert _ids(bookings.booking_page(session, BookingFilter(search="cs_test_x1"))) == [
        lesson.id]
    assert _ids(bookings.booking_page(session, BookingFilter(search="payer@example.com"))) == [
        kept_by_email.id]


@pytest.mark.parametrize(("sort", "key"), [("start", "start"), ("price", "price_cents")])
def test_sorting_both_ways(session: Session, sort: str, key: str) -> None:
    for days, price in ((3, 9000), (1, 3000), (2, 6000)):
        make_booking(session, start=lesson_start(days=days), price_cents=price)

    up = bookings.booking_page(session, BookingFilter(sort=sort, descending=False)).rows
    down = bookings.booking_page(session, BookingFilter(sort=sort, descending=True)).rows

    values = [getattr(r, key) for r in up]
    assert values == sorted(values)
    assert [r.id for r in down] == [r.id for r in reversed(up)]


def test_pages_of_fifty_and_a_count_capped_as_an_estimate(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = lesson_start(days=1, hour=1)
    for i in range(bookings.PAGE_SIZE + 5):
        make_booking(session, start=start + timedelta(hours=2 * i))

    first = bookings.booking_page(session, BookingFilter(descending=False), page=1)
    second = bookings.booking_page(session, BookingFilter(descending=False), page=2)

    assert (len(first.rows), len(second.rows)) == (bookings.PAGE_SIZE, 5)
    assert not set(_ids(first)) & set(_ids(second))
    assert (first.count, first.pages, first.count_is_estimate) == (55, 2, False)
    monkeypatch.setattr(bookings, "COUNT_LIMIT", 10)
    assert bookings.count_bookings(session, BookingFilter()) == (10, True)


def test_the_csv_has_a_header_and_one_line_per_filtered_booking(session: Session) -> None:
    ann = make_user(session, email="ann@example.com")
    lesson = make_booking(session, user=ann, start=lesson_start(days=2), price_cents=4500)
    make_booking(session, start=lesson_start(days=3))

    lines = list(bookings.csv_lines(BookingFilter(student_email="ann@example.com")))

    assert lines[0].startswith("booking_id,start_utc,")
    assert len(lines) == 2
    assert lines[1].startswith(f"{lesson.id},") and ",ann@example.com," in lines[1]
    assert ",45.00,0.00,USD," in lines[1]


def test_filters_read_from_parameters_and_back() -> None:
    params = {"status": "CANCELED", "tutor": TUTOR, "email": "a@b.c", "from": "2026-06-01",
              "to": "2026-06-30", "paid": "free", "q": "x", "sort": "price", "dir": "asc",
              "tz": "America/New_York"}
    wanted = bookings.read_filter(params)
    assert wanted.first_day == date(2026, 6, 1) and not wanted.descending
    assert wanted.zone == "America/New_York"
    assert bookings.filter_params(wanted) == params
    assert bookings.read_filter({"status": "nope", "from": "junk", "sort": "x",
                                 "tz": "Mars/Olympus"}) == (
        BookingFilter())


def test_the_status_and_start_filter_has_its_index(session: Session) -> None:
    indexes = {i["name"]: i["column_names"]
               for i in inspect(session.get_bind()).get_indexes("bookings")}
    assert indexes["ix_bookings_status_start"] == ["status", "start_time"]
    assert indexes["ix_bookings_start"] == ["start_time"]

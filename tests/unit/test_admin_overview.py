"""The admin overview's figures: revenue from paid lessons only, per currency with USD first,
confirmed refunds only, new students, and days counted on the admin's wall clock."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from tests.factories import TUTOR, lesson_start, make_booking, make_user
from tutor_app.admin import overview
from tutor_app.booking import refunds
from tutor_app.core.models import BookingKind, BookingStatus, Refund, Role

NY = "America/New_York"
KOLKATA = "Asia/Kolkata"


_SLOTS = itertools.count(20)


def _booked_at(session: Session, at: datetime) -> None:
    """A lesson booked at `at` (each in a slot of its own: a tutor's lessons never overlap)."""
    make_booking(session, start=lesson_start(days=next(_SLOTS)), created_at=at)


def _refund(session: Session, booking_id: str, cents: int, at: datetime, *,
            refund_id: str, currency: str = "usd") -> None:
    session.add(Refund(booking_id=booking_id, stripe_refund_id=refund_id, amount_cents=cents,
                       currency=currency, created_at=at))
    session.commit()


def test_revenue_is_paid_lessons_per_currency_usd_first_and_refunds_are_confirmed_ones(
    session: Session,
) -> None:
    day = datetime(2026, 6, 3, 15, tzinfo=UTC)
    student = make_user(session, created_at=datetime(2026, 1, 5, tzinfo=UTC))
    lesson = make_booking(session, start=lesson_start(days=5), user=student, price_cents=6000,
                          created_at=day)
    make_booking(session, start=lesson_start(days=6), price_cents=4000, currency="eur",
                 created_at=day)
    make_booking(session, start=lesson_start(days=7), price_cents=2500, currency="aud",
                 created_at=day, status=BookingStatus.CANCELED)
    make_booking(session, start=lesson_start(days=8), price_cents=0, created_at=day,
                 kind=BookingKind.CONSULTATION)
    make_booking(session, start=lesson_start(days=9), price_cents=9999, created_at=day,
                 kind=BookingKind.CONSULTATION)  # never revenue, whatever it carries
    _refund(session, lesson.id, 1500, day + timedelta(hours=1), refund_id="re_1")
    other = make_booking(session, start=lesson_start(days=10), price_cents=3000, created_at=day)
    _refund(session, other.id, 3000, day, refund_id=refunds.pending_refund_id(other.id))
    make_user(session, created_at=day)
    make_user(session, role=Role.TUTOR, tutor_id=TUTOR, created_at=day)

    found = overview.overview(session, overview.DayRange(date(2026, 6, 1), date(2026, 6, 10),
                                                         "UTC"))

    assert (found.lessons, found.consultations, found.bookings) == (4, 2, 6)
    assert [(m.currency, m.cents) for m in found.revenue] == [
        ("usd", 6000 + 3000), ("aud", 2500), ("eur", 4000)]
    assert [(m.currency, m.cents) for m in found.refunds] == [("usd", 1500), ("aud", 0),
                                                              ("eur", 0)]
    assert found.new_students == 1  # the tutor's account is not a student
    per_day = {d.day: (d.lessons, d.consultations) for d in found.per_day}
    assert per_day[date(2026, 6, 3)] == (4, 2) and per_day[date(2026, 6, 4)] == (0, 0)
    assert len(found.per_day) == 10
    usd_weeks = {w.week: (w.revenue_cents, w.refunds_cents) for w in found.per_week
                 if w.currency == "usd"}
    assert usd_weeks == {date(2026, 6, 1): (9000, 1500), date(2026, 6, 8): (0, 0)}
    [james] = found.per_tutor
    assert (james.tutor_id, james.lessons) == (TUTOR, 3)  # the canceled lesson is left out


def test_the_range_is_whole_days_on_the_admins_wall_clock(session: Session) -> None:
    # 03:30 UTC on 1 July is 23:30 on 30 June in New York.
    _booked_at(session, datetime(2026, 7, 1, 3, 30, tzinfo=UTC))
    _booked_at(session, datetime(2026, 7, 1, 4, 30, tzinfo=UTC))  # 00:30 on 1 July there

    june = overview.overview(session, overview.DayRange(date(2026, 6, 1), date(2026, 6, 30), NY))
    july = overview.overview(session, overview.DayRange(date(2026, 7, 1), date(2026, 7, 31), NY))
    in_utc = overview.overview(session, overview.DayRange(date(2026, 7, 1), date(2026, 7, 1),
                                                          "UTC"))

    assert (june.zone, june.lessons, july.lessons, in_utc.lessons) == (NY, 1, 1, 2)
    assert june.per_day[-1] == overview.DayBookings(date(2026, 6, 30), 1, 0)
    assert july.per_day[0] == overview.DayBookings(date(2026, 7, 1), 1, 0)


def test_a_zone_off_the_hour_counts_utc_days_and_says_so(session: Session) -> None:
    _booked_at(session, datetime(2026, 6, 2, 20, tzinfo=UTC))

    found = overview.overview(session, overview.DayRange(date(2026, 6, 1), date(2026, 6, 5),
                                                         KOLKATA))

    assert found.zone == "UTC" and found.range.zone == "UTC"
    assert {d.day: d.lessons for d in found.per_day}[date(2026, 6, 2)] == 1


@pytest.mark.clock_at(datetime(2026, 6, 10, 2, tzinfo=UTC))
def test_presets_end_today_in_the_zone() -> None:
    # 02:00 UTC on 10 June is still 9 June in New York.
    assert overview.preset_range(overview.THIS_MONTH, NY) == overview.DayRange(
        date(2026, 6, 1), date(2026, 6, 9), NY)
    assert overview.preset_range(overview.LAST_30_DAYS, NY) == overview.DayRange(
        date(2026, 5, 11), date(2026, 6, 9), NY)
    assert overview.preset_range(overview.LAST_12_MONTHS, "UTC") == overview.DayRange(
        date(2025, 7, 1), date(2026, 6, 10), "UTC")


def test_custom_ranges_are_checked() -> None:
    assert overview.custom_range("2026-01-01", "2026-01-31", NY) == overview.DayRange(
        date(2026, 1, 1), date(2026, 1, 31), NY)
    for first, last, error in (("2026-1-1", "2026-01-31", overview.BAD_DAY),
                               ("2026-02-01", "2026-01-31", overview.INVERTED_RANGE),
                               ("2020-01-01", "2026-01-31", overview.RANGE_TOO_LONG)):
        with pytest.raises(overview.InvalidRange, match=error):
            overview.custom_range(first, last, NY)

"""Wall-clock text for UTC instants: viewer vs tutor zone, DST, and the URL wire form."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from tutor_app.core.timefmt import (
    day_key,
    format_datetime,
    format_duration,
    format_range,
    format_time,
    format_with_zone,
    parse_day_key,
    parse_utc_iso,
    safe_zone,
    to_utc_iso,
    zone_from_cookie_header,
    zone_label,
)

NY = "America/New_York"
MADRID = "Europe/Madrid"


def test_the_same_instant_reads_in_the_viewers_and_the_tutors_zone() -> None:
    start = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)

    assert format_with_zone(start, NY) == "Tue 1 Dec 2026, 10:00 (America/New_York)"
    assert format_with_zone(start, MADRID) == "Tue 1 Dec 2026, 16:00 (Europe/Madrid)"
    assert format_with_zone(start, "Asia/Tokyo") == "Wed 2 Dec 2026, 00:00 (Asia/Tokyo)"


def test_dst_changes_the_offset_not_the_instant() -> None:
    # New York springs forward on 8 March 2026 (02:00 EST -> 03:00 EDT).
    before = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
    after = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert format_time(before, NY) == "01:30"
    assert format_time(after, NY) == "03:30"
    # Same UTC time of day, a week apart, one hour apart on the wall clock.
    assert format_time(datetime(2026, 3, 2, 15, tzinfo=UTC), NY) == "10:00"
    assert format_time(datetime(2026, 3, 9, 15, tzinfo=UTC), NY) == "11:00"
    # Europe changes three weeks later: for those weeks New York is 5 h from Madrid, not 6.
    mid_march = datetime(2026, 3, 16, 15, tzinfo=UTC)
    assert (format_time(mid_march, NY), format_time(mid_march, MADRID)) == ("11:00", "16:00")
    assert zone_label(NY, before) == "America/New_York (EST, UTC-05:00)"
    assert zone_label(NY, after) == "America/New_York (EDT, UTC-04:00)"


def test_a_range_across_fall_back_shows_the_real_end() -> None:
    # 1 November 2026 in New York: 01:00 EDT -> 01:00 EST; a 90-minute lesson from 00:30.
    start = datetime(2026, 11, 1, 4, 30, tzinfo=UTC)  # 00:30 EDT
    end = start + timedelta(minutes=90)
    assert format_range(start, end, NY) == "Sun 1 Nov 2026, 00:30\u201301:00 (America/New_York)"
    overnight = datetime(2026, 11, 1, 3, 30, tzinfo=UTC)  # 23:30 EDT on the 31st
    assert format_range(overnight, overnight + timedelta(hours=1), NY) == (
        "Sat 31 Oct 2026, 23:30\u2013Sun 1 Nov 2026, 00:30 (America/New_York)"
    )


def test_days_are_grouped_by_the_viewers_date() -> None:
    late = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert day_key(late, "UTC") == "2026-12-02"
    assert day_key(late, NY) == "2026-12-01"
    assert parse_day_key("2026-12-01") == date(2026, 12, 1)
    assert parse_day_key("2026-13-01") is None
    assert parse_day_key("") is None


def test_bad_zones_fall_back_to_utc() -> None:
    assert safe_zone(NY) == NY
    for bad in (None, "", "Mars/Olympus", "../../etc/passwd", "x" * 100):
        assert safe_zone(bad) == "UTC"
    start = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    assert format_with_zone(start, "Not/AZone") == "Tue 1 Dec 2026, 15:00 (UTC)"


def test_the_zone_cookie_is_read_from_a_raw_cookie_header_and_validated() -> None:
    # Written by the head script with encodeURIComponent; other cookies around it.
    assert zone_from_cookie_header("tutor_session=abc; tz=America%2FNew_York; x=1") == NY
    assert zone_from_cookie_header('tz="Europe%2FMadrid"') == MADRID
    assert zone_from_cookie_header("broken; tz=UTC") == "UTC"
    # Missing, empty, unknown, look-alike names or a tampered value: None, so the page asks.
    for header in (None, "", "tz=", "tz=Not%2FAZone", "tzx=Europe%2FMadrid",
                   "xtz=Europe%2FMadrid", "tz=Europe%2FMadrid%3Bpath%3D%2F", "tz=../etc"):
        assert zone_from_cookie_header(header) is None, header


def test_the_wire_form_round_trips_and_refuses_naive_times() -> None:
    start = datetime(2026, 12, 1, 10, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert to_utc_iso(start) == "2026-12-01T15:00:00Z"
    assert parse_utc_iso("2026-12-01T15:00:00Z") == datetime(2026, 12, 1, 15, tzinfo=UTC)
    assert parse_utc_iso("2026-12-01T10:00:00-05:00") == datetime(2026, 12, 1, 15, tzinfo=UTC)
    assert parse_utc_iso(to_utc_iso(start)) == start
    # Seconds only, so a start read back from a URL equals the listed one; years padded.
    assert to_utc_iso(datetime(2026, 12, 1, 15, 0, 59, 999_999, tzinfo=UTC)) == (
        "2026-12-01T15:00:59Z")
    assert to_utc_iso(datetime(999, 1, 1, tzinfo=UTC)) == "0999-01-01T00:00:00Z"
    for bad in (None, "", "2026-12-01T15:00:00", "tomorrow", "2026-02-30T10:00:00Z"):
        assert parse_utc_iso(bad) is None
    with pytest.raises(ValueError):
        to_utc_iso(datetime(2026, 12, 1, 15))
    with pytest.raises(ValueError):
        format_datetime(datetime(2026, 12, 1, 15), NY)


def test_durations() -> None:
    assert [format_duration(m) for m in (30, 60, 90, 120)] == [
        "30 min", "1 hour", "1 h 30 min", "2 hours"
    ]

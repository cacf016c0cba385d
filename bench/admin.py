"""The admin portal's reads at scale, on PostgreSQL: 1,000,000 bookings, 100,000 students and
500 tutors, generated in the database with `generate_series` (about a minute).

- A student's dashboard query (`booking.lessons.dashboard_lessons`): target < 5 ms.
- The overview's figures and charts over a year (`admin.overview.overview`, the last 12
  months, in UTC and in New York): target < 200 ms. It reads the roll-ups the triggers on
  `bookings` keep (`admin/overview.py`); the generator's bulk insert goes through the same
  triggers, so the data generation's time includes what they cost the writes.
- The admin bookings table (`admin.bookings`), filtered by a status and three months of start
  days, sorted by start (the page's default, newest first), 50 runs each: the first page as
  the page loads it (`booking_page`: 50 rows and the capped count), target < 50 ms; and the
  count alone (`count_bookings`, exact up to COUNT_LIMIT, "10,000+" beyond), target < 100 ms.
  Once for COMPLETED over the three months before this one, once for SCHEDULED over this
  month and the next two.
- The CSV export of the COMPLETED filter (over 100,000 rows): `csv_lines` consumed to the
  end, its rows and time; then its peak memory under tracemalloc beside the peak of the same
  lines kept in a list. Streaming holds one chunk of rows at a time (a server-side cursor read
  CSV_CHUNK rows at a go), so its peak stays a small fraction of the list's, whatever the row
  count. tracemalloc sees Python's allocations only, which is where rows and lines live.

The EXPLAIN (ANALYZE, BUFFERS) of every statement of the overview and of the table's first
page goes to `test-artifacts/bench-admin-plans.log`, to read when a figure misses its target.

The data: booking i belongs to tutor i % 500, in the tutor's slot i / 500 (one hour every nine
hours from two years ago, so no tutor's lessons overlap); one in twenty is a free
consultation (each by a different student), one in twenty is canceled and refunded in full a
day after it was booked; 90% USD, the rest EUR and GBP; booked 1 to 30 days ahead.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bench import Report, Row, fresh_database, median, ms, percentile, verdict

if TYPE_CHECKING:
    from tutor_app.admin.bookings import BookingFilter

BOOKINGS = 1_000_000
STUDENTS = 100_000
TUTORS = 500
NOW = datetime(2026, 6, 10, 9, tzinfo=UTC)
DASHBOARD_RUNS = 200
OVERVIEW_RUNS = 15
DASHBOARD_TARGET_S = 0.005
OVERVIEW_TARGET_S = 0.200
TABLE_RUNS = 50
PAGE_TARGET_S = 0.050
COUNT_TARGET_S = 0.100
CSV_MIN_ROWS = 100_000
CSV_MEMORY_SHARE = 0.10  # the streamed export's peak, at most this share of the list's
PLANS_LOG = Path(__file__).resolve().parent.parent / "test-artifacts" / "bench-admin-plans.log"
# Three months of start days (UTC): the three before NOW's month, all in the past (COMPLETED,
# about 116,000 bookings), and NOW's month and the next two (SCHEDULED, what is left of the
# generated lessons: about 25,000).
PAST_MONTHS = (date(2026, 3, 1), date(2026, 5, 31))
COMING_MONTHS = (date(2026, 6, 1), date(2026, 8, 31))

_TUTORS_SQL = """
INSERT INTO tutors (id, name, photo_url, subjects, hourly_rate_cents, currency, bio, timezone,
  weekly_hours, active, updated_at, headline, lesson_durations, buffer_minutes,
  min_notice_minutes, horizon_days, offers_consultation)
SELECT 'bench-tutor-' || n, 'Bench Tutor ' || n, '', '["Maths"]', 6000, 'usd', '',
  'America/New_York', '{}', true, :now, '', '[30, 60, 90]', 0, 720, 60, true
FROM generate_series(0, :tutors - 1) AS n
"""
_STUDENTS_SQL = """
INSERT INTO users (id, email, name, email_verified, role, created_at, updated_at)
SELECT 'u' || n, 'student-' || n || '@bench.test', 'Student ' || n, true, 'student',
  :now - (n % 730) * interval '1 day', :now
FROM generate_series(0, :students - 1) AS n
"""
_BOOKINGS_SQL = """
INSERT INTO bookings (id, user_id, tutor_id, start_time, end_time, status, price_cents, currency,
  stripe_checkout_session_id, note, refunded_cents, sequence, calendar_sync_status,
  calendar_sync_attempts, created_at, updated_at, kind, cancel_note)
SELECT 'b' || i,
  'u' || CASE WHEN i % 20 = 0 THEN (i / 20) % :students ELSE (i * 7919) % :students END,
  'bench-tutor-' || (i % :tutors),
  s.start, s.start + interval '1 hour',
  CASE WHEN i % 20 = 1 THEN 'CANCELED' WHEN s.start < :now THEN 'COMPLETED'
       ELSE 'SCHEDULED' END,
  CASE WHEN i % 20 = 0 THEN 0 ELSE 2500 + (i % 14) * 500 END,
  CASE WHEN i % 10 = 3 THEN 'eur' WHEN i % 20 = 7 THEN 'gbp' ELSE 'usd' END,
  'cs_bench_' || i, '',
  CASE WHEN i % 20 = 1 THEN 2500 + (i % 14) * 500 ELSE 0 END,
  0, 'none', 0, s.start - (1 + i % 30) * interval '1 day', :now,
  CASE WHEN i % 20 = 0 THEN 'consultation' ELSE 'lesson' END, ''
FROM generate_series(0::bigint, :bookings - 1) AS i,
  LATERAL (SELECT :now - interval '730 days' + (i / :tutors) * interval '9 hours' AS start) s
"""
_REFUNDS_SQL = """
INSERT INTO refunds (id, booking_id, stripe_refund_id, amount_cents, currency, reason,
  created_at)
SELECT 'r' || b.id, b.id, 're_bench_' || b.id, b.refunded_cents, b.currency, 'bench',
  b.created_at + interval '1 day'
FROM bookings b WHERE b.refunded_cents > 0
"""


def _generate(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    params = {"now": NOW, "tutors": TUTORS, "students": STUDENTS, "bookings": BOOKINGS}
    started = time.monotonic()
    with engine.begin() as conn:
        for sql in (_TUTORS_SQL, _STUDENTS_SQL, _BOOKINGS_SQL, _REFUNDS_SQL):
            conn.execute(sa.text(sql), params)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    print(f"admin: generated {BOOKINGS:,} bookings, {STUDENTS:,} students, {TUTORS} tutors "
          f"in {time.monotonic() - started:.0f} s", flush=True)


def _time(fn: Callable[[], object], runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def _row(report: Report, measure: str, samples: list[float], target_s: float) -> None:
    p50, p95 = median(samples), percentile(samples, 95)
    report.add(Row(bench="admin", measure=measure, value=f"p50 {ms(p50)}, p95 {ms(p95)}",
                   target=f"< {ms(target_s)}", verdict=verdict(p50 < target_s)))


def run(report: Report, backends: tuple[str, ...] = ("postgresql",)) -> None:
    if "postgresql" not in backends:
        report.note("admin: PostgreSQL only; not run")
        return
    from tutor_app.admin import overview
    from tutor_app.booking import lessons
    from tutor_app.core import db as app_db

    with fresh_database("postgresql") as url:
        _generate(url)
        engine = app_db.build_engine(url)
        app_db.use_engine(engine)
        plans: list[str] = []
        try:
            def dashboard() -> object:
                with app_db.session() as db:
                    return lessons.dashboard_lessons(db, user_id="u4242", now=NOW)

            _row(report, "student's dashboard query", _time(dashboard, DASHBOARD_RUNS),
                 DASHBOARD_TARGET_S)
            for zone in ("UTC", "America/New_York"):
                year = overview.preset_range(overview.LAST_12_MONTHS, zone, now=NOW)

                def charts(year: overview.DayRange = year) -> object:
                    with app_db.session() as db:
                        return overview.overview(db, year)

                _row(report, f"overview over a year ({zone})", _time(charts, OVERVIEW_RUNS),
                     OVERVIEW_TARGET_S)
            plans += _plans(engine, "overview over a year (America/New_York)", charts)
            plans += _bookings_table(report, engine)
        finally:
            app_db.use_engine(None)
            engine.dispose()
        PLANS_LOG.parent.mkdir(parents=True, exist_ok=True)
        PLANS_LOG.write_text("\n\n".join(plans) + "\n")
        report.note(f"admin: the query plans (EXPLAIN ANALYZE) are in {PLANS_LOG.name}")

def _filters() -> dict[str, BookingFilter]:
    from tutor_app.admin.bookings import BookingFilter
    from tutor_app.core.models import BookingStatus

    return {
        "COMPLETED, Mar-May": BookingFilter(
            status=BookingStatus.COMPLETED, first_day=PAST_MONTHS[0], last_day=PAST_MONTHS[1]),
        "SCHEDULED, Jun-Aug": BookingFilter(
            status=BookingStatus.SCHEDULED, first_day=COMING_MONTHS[0],
            last_day=COMING_MONTHS[1]),
    }


def _bookings_table(report: Report, engine: sa.Engine) -> list[str]:
    """The table's first page and count for each filter, then the CSV export; their plans."""
    from tutor_app.admin import bookings
    from tutor_app.core import db as app_db

    plans: list[str] = []
    filters = _filters()
    for label, wanted in filters.items():
        def first_page(wanted: BookingFilter = wanted) -> object:
            with app_db.session() as db:
                return bookings.booking_page(db, wanted)

        def count(wanted: BookingFilter = wanted) -> tuple[int, bool]:
            with app_db.session() as db:
                return bookings.count_bookings(db, wanted)

        _row(report, f"bookings table, first page ({label})", _time(first_page, TABLE_RUNS),
             PAGE_TARGET_S)
        shown, estimate = count()
        _row(report, f"filtered count ({label}: {shown:,}{'+' if estimate else ''})",
             _time(count, TABLE_RUNS), COUNT_TARGET_S)
        plans += _plans(engine, f"first page ({label})", first_page)
    _csv_export(report, next(iter(filters.values())), next(iter(filters)))
    return plans


def _plans(engine: sa.Engine, label: str, fn: Callable[[], object]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement `fn` sends, as it sent them."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                _executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    out = []
    with engine.connect() as conn:
        for n, (statement, parameters) in enumerate(sent, 1):
            plan = conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars().all()
            out.append(f"== {label}, statement {n}\n{statement}\n{parameters}\n"
                       + "\n".join(plan))
    return out


def _csv_export(report: Report, wanted: BookingFilter, label: str) -> None:
    """The export's rows and time, then its peak memory beside the same lines held in a list."""
    from tutor_app.admin import bookings

    started = time.perf_counter()
    rows = size = 0
    for line in bookings.csv_lines(wanted):
        rows += 1
        size += len(line)
    elapsed = time.perf_counter() - started
    rows -= 1  # the header
    report.add(Row(bench="admin", measure=f"CSV export ({label})",
                   value=f"{rows:,} rows, {size / 1e6:.1f} MB in {elapsed:.1f} s "
                         f"({rows / elapsed:,.0f} rows/s)",
                   target=f">= {CSV_MIN_ROWS:,} rows, streamed",
                   verdict=verdict(rows >= CSV_MIN_ROWS)))

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _line in bookings.csv_lines(wanted):
            pass
        streamed = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        held = list(bookings.csv_lines(wanted))
        listed = tracemalloc.get_traced_memory()[1] - before
        del held
    finally:
        tracemalloc.stop()
    share = streamed / listed
    report.add(Row(bench="admin", measure=f"CSV export peak memory ({label})",
                   value=f"{streamed / 1e6:.1f} MB streamed",
                   reference=f"{listed / 1e6:.1f} MB as a list", ratio=f"{share:.3f}x",
                   target=f"< {CSV_MEMORY_SHARE}x the list",
                   verdict=verdict(share < CSV_MEMORY_SHARE)))

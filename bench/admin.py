"""The admin portal's reads at scale, on PostgreSQL: 1,000,000 bookings, 100,000 students and
500 tutors, generated in the database with `generate_series` (about a minute).

- A student's dashboard query (`booking.lessons.dashboard_lessons`): target < 5 ms.
- The overview's figures and charts over a year (`admin.overview.overview`, the last 12
  months, in UTC and in New York): target < 200 ms. Plain indexed aggregates, no roll-up
  table (`admin/overview.py` says why); this figure is what decides it.

The admin bookings table (first page, filtered count) and its CSV export are measured once
`admin/bookings.py` exists; until then the report says they were not.

The data: booking i belongs to tutor i % 500, in the tutor's slot i / 500 (one hour every nine
hours from two years ago, so no tutor's lessons overlap); one in twenty is a free
consultation (each by a different student), one in twenty is canceled and refunded in full a
day after it was booked; 90% USD, the rest EUR and GBP; booked 1 to 30 days ahead.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bench import Report, Row, fresh_database, median, ms, percentile, verdict

BOOKINGS = 1_000_000
STUDENTS = 100_000
TUTORS = 500
NOW = datetime(2026, 6, 10, 9, tzinfo=UTC)
DASHBOARD_RUNS = 200
OVERVIEW_RUNS = 15
DASHBOARD_TARGET_S = 0.005
OVERVIEW_TARGET_S = 0.200

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
            if importlib.util.find_spec("tutor_app.admin.bookings") is None:
                report.note("admin: the bookings table (first page, filtered count) and its "
                            "CSV export are not measured: tutor_app/admin/bookings.py is not "
                            "there yet")
        finally:
            app_db.use_engine(None)
            engine.dispose()

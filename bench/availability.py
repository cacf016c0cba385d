"""Free slots for one tutor over 60 days with 1,000 existing bookings (target: under 10 ms).

Three figures: the pure domain function (`availability.free_slots`, busy intervals already in
memory), the whole read the wizard makes (`slots.free_slots_for`: load the tutor, its date
overrides, scheduled bookings and live holds from the database, then compute) on SQLite and
PostgreSQL, and the same read once the tutor also has 50 date overrides (days off, a holiday
week, changed and extra hours) and a 15-minute buffer between lessons.
The bookings are 30-minute lessons at distinct half-hour starts spread over the whole horizon,
a third of them inside the tutor's hours, so the merge and the per-start search both work.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from bench import Report, Row, fresh_database, median, ms, percentile, verdict

TUTOR_ID = "liam-murphy"  # 45 h a week, Europe/London (a DST zone)
BOOKINGS = 1_000
OVERRIDES = 50
BUFFER_MINUTES = 15
RUNS = 200
TARGET_S = 0.010
STUCK_S = 2.0
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a span that crosses the UK's spring change


def _booking_starts(seed: int = 7) -> list[datetime]:
    grid = [NOW + timedelta(minutes=30 * i) for i in range(60 * 48)]
    return sorted(random.Random(seed).sample(grid, BOOKINGS))


def _overrides(seed: int = 11) -> dict[date, list[list[str]]]:
    """50 dates of the 60 days: a holiday week off, single days off, shorter, changed and
    extra hours (weekends included), as a tutor's year looks."""
    rng = random.Random(seed)
    first = NOW.date()
    chosen: dict[date, list[list[str]]] = {first + timedelta(days=d): [] for d in range(20, 27)}
    shapes: list[list[list[str]]] = [
        [], [["08:00", "12:00"]], [["13:00", "19:00"]], [["07:00", "10:00"], ["16:00", "21:00"]],
        [["10:00", "14:00"]], [["00:00", "02:00"], ["20:00", "24:00"]],
    ]
    days = [first + timedelta(days=d) for d in range(60) if first + timedelta(days=d)
            not in chosen]
    for day in rng.sample(days, OVERRIDES - len(chosen)):
        chosen[day] = rng.choice(shapes)
    return chosen


def _time(fn: Callable[[], object], runs: int = RUNS, warmup: int = 10) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def _row(report: Report, measure: str, samples: list[float], slots: int) -> None:
    p50, p95 = median(samples), percentile(samples, 95)
    report.add(Row(
        bench="availability", measure=f"{measure}: median / p95 ({slots} free starts)",
        value=f"{ms(p50)} / {ms(p95)}", target="< 10 ms", verdict=verdict(p95 < TARGET_S),
    ))


def bench_pure(report: Report) -> None:
    from tutor_app.catalog import tutor_catalog
    from tutor_app.scheduling import availability

    tutor = next(t for t in tutor_catalog.load_catalog() if t.id == TUTOR_ID)
    busy = [availability.Busy(s, s + timedelta(minutes=30)) for s in _booking_starts()]

    def run() -> list[datetime]:
        return availability.free_slots(
            weekly_hours=tutor.weekly_hours, tutor_tz=tutor.timezone,
            duration=timedelta(minutes=60), busy=busy, now=NOW,
        )

    slots = run()
    _row(report, "free_slots (in memory, 60 min)", _time(run), len(slots))


def bench_db(report: Report, backend: str) -> None:
    from sqlmodel import Session

    from tutor_app.core import db as app_db
    from tutor_app.core.models import Booking, BookingStatus, Tutor, TutorDateOverride
    from tutor_app.scheduling import slots as slot_service

    with fresh_database(backend) as url:
        engine = app_db.build_engine(url)
        app_db.use_engine(engine)  # what the services' own db sessions open, as in the app
        try:
            with Session(engine) as db:
                for i, start in enumerate(_booking_starts()):
                    db.add(Booking(
                        tutor_id=TUTOR_ID, start_time=start,
                        end_time=start + timedelta(minutes=30),
                        status=BookingStatus.SCHEDULED, price_cents=2500, currency="gbp",
                        stripe_checkout_session_id=f"cs_bench_{i:05d}",
                    ))
                db.commit()

            def run() -> list[datetime]:
                # The wizard's read: a db session of the app's own per page event.
                with app_db.session() as db:
                    return slot_service.free_slots_for(
                        db, tutor_id=TUTOR_ID, duration_minutes=60, now=NOW
                    )

            if not _measure(report, f"slots.free_slots_for ({backend}, through the DB)", run):
                return
            with Session(engine) as db:
                for day, windows in _overrides().items():
                    db.add(TutorDateOverride(tutor_id=TUTOR_ID, on_date=day, windows=windows))
                tutor = db.get(Tutor, TUTOR_ID)
                assert tutor is not None
                tutor.buffer_minutes = BUFFER_MINUTES
                db.add(tutor)
                db.commit()
            _measure(report, f"slots.free_slots_for ({backend}, DB, {OVERRIDES} overrides, "
                             f"{BUFFER_MINUTES} min buffer)", run)
        finally:
            app_db.use_engine(None)


def _measure(report: Report, measure: str, run: Callable[[], list[datetime]]) -> bool:
    """Time `run` (once first: a stuck database is reported, not repeated 200 times)."""
    started = time.perf_counter()
    slots = run()
    first = time.perf_counter() - started
    if first > STUCK_S:  # e.g. waiting on a database lock: 200 runs would take hours
        report.add(Row(bench="availability", measure=f"{measure}: one run",
                       value=ms(first), target="< 10 ms", verdict=verdict(False)))
        report.note(f"{measure} took {first:.1f} s once; not repeated")
        return False
    _row(report, measure, _time(run), len(slots))
    return True


def run(report: Report, backends: tuple[str, ...] = ("sqlite", "postgresql")) -> None:
    print(f"availability: {BOOKINGS} bookings (then {OVERRIDES} overrides), 60-day horizon, "
          f"{RUNS} runs", flush=True)
    bench_pure(report)
    try:
        import tutor_app.scheduling.slots  # noqa: F401
    except ImportError as exc:
        report.note(f"availability through the DB not measured: {exc}")
        return
    for backend in backends:
        bench_db(report, backend)

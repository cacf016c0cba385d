"""Benchmarks of the booking app (`make bench` = `python -m bench`): figures, printed as tables.

Each module measures one performance promise beside a reference measured in the same run on the
same machine, so a figure reads as "how far from what is possible here" rather than as an
absolute number that only means something on the machine it came from:

- `availability`: free slots of one tutor over 60 days with 1,000 bookings, then with 50
  date overrides and a buffer too (target < 10 ms).
- `webhook`: paid events per second through the real Stripe webhook route, beside a bare
  Starlette route doing the same single insert (target >= half of it, p99 < 100 ms).
- `wizard`: a wizard step change in Chromium and the time to an interactive `/book-now`,
  beside a blank Reflex app with one counter button (target within 1.3x).
- `admin`: on 1,000,000 generated bookings, a student's dashboard query (< 5 ms), the admin
  overview over a year (< 200 ms), the admin bookings table's first page (< 50 ms) and
  filtered count (< 100 ms), and its CSV export streamed (peak memory beside a list's), on
  PostgreSQL.

This module holds what they share: percentiles, the table printer and throw-away databases.
"""

from __future__ import annotations

import math
import os
import statistics
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_ADMIN_URL",
    os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)


def percentile(values: Sequence[float], pct: float) -> float:
    """The `pct`th percentile (nearest rank), the convention latency figures are quoted in."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


@dataclass
class Row:
    """One line of a result table: a measured figure, its reference and its target."""

    bench: str
    measure: str
    value: str
    reference: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""


@dataclass
class Report:
    """Rows collected from every benchmark, printed together at the end."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(f"  {row.bench}: {row.measure} = {row.value}"
              + (f" (reference {row.reference}, {row.ratio})" if row.reference else ""),
              flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def render(self) -> str:
        headers = ("benchmark", "measure", "value", "reference", "ratio", "target", "")
        lines = [
            (r.bench, r.measure, r.value, r.reference, r.ratio, r.target, r.verdict)
            for r in self.rows
        ]
        widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
                  for i, h in enumerate(headers)]

        def fmt(cells: Sequence[str]) -> str:
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        out = [fmt(headers), fmt(["-" * w for w in widths])]
        out += [fmt(line) for line in lines]
        out += [f"* {n}" for n in self.notes]
        return "\n".join(out)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """A new, migrated database with the tutor catalog loaded; its URL. Dropped afterwards.

    Made the way tests/conftest.py makes the test database: a file for SQLite, a database of
    its own on the local PostgreSQL (from the `test` database) for PostgreSQL.
    """
    from alembic import command
    from sqlmodel import Session

    from tutor_app.catalog.tutor_catalog import seed_catalog
    from tutor_app.cli import alembic_config
    from tutor_app.core import db as app_db

    def prepare(url: str) -> None:
        command.upgrade(alembic_config(url), "head")
        engine = app_db.build_engine(url)
        try:
            with Session(engine) as db:
                seed_catalog(db)
                db.commit()
        finally:
            engine.dispose()

    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="tutor-bench-") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            prepare(url)
            yield url
        return
    if backend != "postgresql":
        raise ValueError(f"backend must be sqlite or postgresql, not {backend!r}")
    name = f"tutor_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        prepare(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

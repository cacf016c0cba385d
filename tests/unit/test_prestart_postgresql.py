"""`make run` on `DATABASE_URL=postgresql://...`, as the README advertises: `prestart` migrates
a fresh PostgreSQL database and loads the catalog, and the same URL opens for Reflex too; a
later `prestart` (the next deploy) leaves the tutors as they are.

PostgreSQL runs only: a fresh database is made from the test server's admin connection and
dropped at the end; the URL handed to the app is the plain `postgresql://` form users write.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from tests.conftest import PG_ADMIN_URL
from tests.pinned_time import app_process_env, run_cli
from tutor_app.catalog.tutor_catalog import load_catalog
from tutor_app.core import models  # noqa: F401  (registers every table on the metadata)
from tutor_app.core.settings import Settings


@pytest.fixture
def plain_postgresql_url() -> Iterator[str]:
    """A fresh, empty database's URL in the `postgresql://` form, without a driver."""
    name = f"tutor_prestart_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_ADMIN_URL).set(drivername="postgresql", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_prestart_migrates_and_seeds_a_plain_postgresql_url(plain_postgresql_url: str) -> None:
    assert plain_postgresql_url.startswith("postgresql://")

    done = run_cli(
        "prestart", env=app_process_env(DATABASE_URL=plain_postgresql_url, APP_ENV="dev"),
        timeout=180,
    )
    assert done.returncode == 0, done.stderr

    # What rxconfig.py hands Reflex, opened the way Reflex opens it (a bare create_engine).
    reflex_url = Settings.from_env({"DATABASE_URL": plain_postgresql_url}).database_url
    engine = sa.create_engine(reflex_url)
    try:
        inspector = sa.inspect(engine)
        assert set(SQLModel.metadata.tables) <= set(inspector.get_table_names())
        with engine.connect() as conn:
            tutors = conn.exec_driver_sql("SELECT count(*) FROM tutors").scalar_one()
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            guards = set(conn.exec_driver_sql(
                "SELECT conname FROM pg_constraint WHERE contype = 'x'"
            ).scalars())
    finally:
        engine.dispose()
    assert tutors == len(load_catalog())
    assert version is not None
    assert "ex_bookings_no_overlap" in guards


def test_a_second_prestart_keeps_what_tutors_saved(plain_postgresql_url: str) -> None:
    env = app_process_env(DATABASE_URL=plain_postgresql_url, APP_ENV="dev")
    first = run_cli("prestart", env=env, timeout=180)
    assert first.returncode == 0, first.stderr
    reflex_url = Settings.from_env({"DATABASE_URL": plain_postgresql_url}).database_url
    engine = sa.create_engine(reflex_url)
    try:
        with engine.begin() as conn:  # a tutor edits their profile; an admin hides another
            conn.exec_driver_sql(
                "UPDATE tutors SET hourly_rate_cents = 7100 WHERE id = 'james-okafor'")
            conn.exec_driver_sql("DELETE FROM tutors WHERE id = 'aiko-tanaka'")

        again = run_cli("prestart", env=env, timeout=180)
        assert again.returncode == 0, again.stderr
        assert "not loaded" in again.stderr

        with engine.connect() as conn:
            rate = conn.exec_driver_sql(
                "SELECT hourly_rate_cents FROM tutors WHERE id = 'james-okafor'").scalar_one()
            count = conn.exec_driver_sql("SELECT count(*) FROM tutors").scalar_one()
    finally:
        engine.dispose()
    assert rate == 7100
    assert count == len(load_catalog()) - 1

"""Shared fixtures: a migrated database per test run, on SQLite or PostgreSQL.

`TEST_DATABASE=sqlite` (default) or `TEST_DATABASE=postgresql` picks the backend; `make test`
runs the suite once on each. The schema is built with `alembic upgrade head`, so every test also
exercises the migrations. PostgreSQL gets a fresh database per run (from the `test` database on
127.0.0.1), dropped at the end, so parallel runs never share rows.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from alembic import command
from argon2 import PasswordHasher
from sqlmodel import Session, SQLModel

from tests.fakes.fake_google import FakeGoogle
from tests.fakes.fake_stripe import FakeStripe
from tests.fakes.smtp_server import SmtpServer
from tests.pinned_time import MACHINE_DATE, TEST_CATALOG_FILE, TEST_NOW
from tests.stripe_helpers import fake_stripe_configured
from tutor_app import wiring
from tutor_app.accounts import email_links, passwords
from tutor_app.booking import lesson_events
from tutor_app.catalog.tutor_catalog import seed_catalog
from tutor_app.cli import alembic_config
from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.settings import Settings, get_settings, reload_settings
from tutor_app.integrations import oauth
from tutor_app.scheduling import external_busy

# Before any settings are read: a developer's `.env` (Stripe keys, a database) must never reach
# the tests, and the tests seed their own copy of the catalog, never the product's.
os.environ["ENV_FILE"] = ""
os.environ["CATALOG_FILE"] = str(TEST_CATALOG_FILE)
get_settings.cache_clear()
BACKEND = os.environ.get("TEST_DATABASE", "sqlite")
# Scale-out mode (PostgreSQL + Redis + several workers) is tested in the PostgreSQL run.
# So does `make run` on a plain postgresql:// URL. Neither is collected (nor skipped) on SQLite.
POSTGRESQL_ONLY = ["e2e/test_scale_out.py", "e2e/test_multi_node.py",
                   "e2e/test_load_smoke.py",
                   "unit/test_prestart_postgresql.py", "unit/test_hold_cap_postgresql.py",
                   "unit/test_tutor_invites_postgresql.py",
                   "unit/test_admin_rollups_postgresql.py",
                   # Faults: an own PostgreSQL cluster restarted, nodes killed, Redis down.
                   "e2e/test_faults_postgres.py", "e2e/test_faults_nodes.py",
                   "e2e/test_faults_redis.py"]
# `make dev` runs on its own SQLite database whatever the run's backend: once is enough.
SQLITE_ONLY = ["e2e/test_make_dev.py"]
collect_ignore = SQLITE_ONLY if BACKEND == "postgresql" else POSTGRESQL_ONLY
PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real_password_hashing: hash passwords with the app's real Argon2 costs"
    )
    if MACHINE_DATE:
        time_machine.travel(datetime.fromisoformat(MACHINE_DATE), tick=True).start()


def pytest_report_header() -> str:
    machine = f"; the machine's date is moved to {MACHINE_DATE}" if MACHINE_DATE else ""
    return (f"database backend: {BACKEND}; the app's clock starts at {TEST_NOW.isoformat()}"
            + machine)


@pytest.fixture(scope="session", autouse=True)
def wired() -> None:
    """The follow-ups and periodic jobs, registered as the app and the CLI register them."""
    wiring.register_all()


@pytest.fixture(autouse=True)
def pinned_clock(request: pytest.FixtureRequest) -> Iterator[datetime]:
    """The app's clock reads TEST_NOW at the start of every test and ticks on from there; a
    test whose data is laid out for one instant says so with `@pytest.mark.clock_at(instant)`."""
    marker = request.node.get_closest_marker("clock_at")
    start: datetime = marker.args[0] if marker else TEST_NOW
    clock.shift_to(start)
    yield start
    clock.reset()


@pytest.fixture(autouse=True)
def fast_password_hashing(request: pytest.FixtureRequest) -> Iterator[None]:
    """Argon2id with tiny costs in every test (the API server runs in this process and reads the
    same hasher): the rules under test do not depend on the hash's strength, and the real costs
    take tens of milliseconds per hash. Tests of the hashing itself opt out with
    `@pytest.mark.real_password_hashing`."""
    if request.node.get_closest_marker("real_password_hashing"):
        yield
        return
    real = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    passwords._dummy_hash.cache_clear()
    yield
    passwords._hasher = real
    passwords._dummy_hash.cache_clear()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: the fast suites report first, and the live app (which shares the
    test database) never runs while other tests reset it."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/e2e/"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for this test run; its URL."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.db"
        url = f"sqlite:///{path}"
        _migrate(url)
        yield url
        return
    if BACKEND != "postgresql":
        raise pytest.UsageError(f"TEST_DATABASE must be sqlite or postgresql, not {BACKEND!r}")
    with postgres_database("tutor_test") as url:
        try:
            _migrate(url)
            yield url
        finally:
            app_db.use_engine(None)


@contextlib.contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database of its own (named `prefix_...`), dropped on exit; its
    URL. For the test run's database, and for tests whose processes need a database no other
    app of the run uses."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _migrate(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


@pytest.fixture(scope="session")
def _engine(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    os.environ["DATABASE_URL"] = database_url
    # Mails written in dev mode go to a throwaway outbox, never the project's var/outbox.
    os.environ.setdefault("OUTBOX_DIR", str(tmp_path_factory.mktemp("outbox")))
    reload_settings()
    engine = app_db.build_engine(database_url)
    app_db.use_engine(engine)
    yield engine
    app_db.use_engine(None)


def reset_database(engine: sa.Engine) -> None:
    """Empty every table and load the test catalog: where every test (and the browser tests'
    app) starts. The seed loads only into an empty tutors table, so emptying comes first:
    tutors a test edited are back as the catalog has them."""
    lesson_events.wait_idle()  # a previous test's mail/calendar follow-ups must not race this
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with app_db.write_session() as session:
        conn = session.connection()
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("TRUNCATE " + ", ".join(tables) + " CASCADE")
        else:
            for table in tables:
                conn.exec_driver_sql(f"DELETE FROM {table}")
        seed_catalog(session)
        session.commit()
    external_busy.clear_cache()  # its answers are per tutor, and tutors are reused across tests


@pytest.fixture
def database(_engine: sa.Engine) -> sa.Engine:
    """An empty database (tutor catalog loaded) for one test; the engine the app uses."""
    reset_database(_engine)
    return _engine


@pytest.fixture
def session(database: sa.Engine) -> Iterator[Session]:
    """A db session on the clean test database, for arranging and asserting rows."""
    with Session(database, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Settings]]:
    """Set environment variables for the app's settings for one test: configure(KEY=value)."""

    def apply(**env: str | None) -> Settings:
        for key, value in env.items():
            if value is None:
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, value)
        return reload_settings()

    yield apply
    monkeypatch.undo()
    reload_settings()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where browser tests save screenshots (kept by CI as test artifacts)."""
    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def running_google() -> Iterator[FakeGoogle]:
    """One local fake Google (OAuth consent + Calendar API) for the whole run."""
    with FakeGoogle() as google:
        yield google


@pytest.fixture
def google(
    running_google: FakeGoogle, database: sa.Engine, configure: Callable[..., Settings]
) -> Iterator[FakeGoogle]:
    """The fake Google, reset and configured as the app's Google, with no cached answers."""
    running_google.reset()
    configure(
        GOOGLE_CLIENT_ID=running_google.client_id,
        GOOGLE_CLIENT_SECRET=running_google.client_secret,
        OIDC_DISCOVERY_URL=running_google.discovery_url,
        GOOGLE_API_BASE=running_google.api_root,
        APP_URL="http://app.test",
        APP_ENV="dev",
    )
    oauth.clear_caches()
    external_busy.clear_cache()
    yield running_google
    oauth.clear_caches()
    external_busy.clear_cache()


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[FakeStripe]:
    """One local fake Stripe API for the whole run (the real `stripe` SDK talks to it)."""
    # The fake dates its checkout sessions by the app's clock, as Stripe and the app share
    # real time.
    with FakeStripe(clock=lambda: clock.now().timestamp()) as server:
        yield server


@pytest.fixture
def fake(
    stripe_server: FakeStripe, database: sa.Engine, configure: Callable[..., Settings]
) -> Iterator[FakeStripe]:
    """The fake Stripe API, reset, with the app's Stripe settings pointing at it."""
    with fake_stripe_configured(stripe_server, configure) as configured:
        yield configured


@pytest.fixture(scope="session")
def _mailbox_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def mailbox(
    _mailbox_server: SmtpServer, database: sa.Engine, configure: Callable[..., Settings]
) -> Iterator[SmtpServer]:
    """A real SMTP server the app's mail goes to in this test, empty at its start. Mail handed
    to a worker thread (`email_links.mail_link_soon`) has arrived or failed by its end."""
    email_links.wait_idle()
    _mailbox_server.clear()
    configure(SMTP_URL=_mailbox_server.url)
    yield _mailbox_server
    email_links.wait_idle()

"""The single database engine and the db sessions the services use.

SQLite is the embedded default; PostgreSQL is the scale-out database. Writes that must not
overlap (bookings, slot holds) open their transaction with `write_session()`, which on SQLite
takes the write lock at BEGIN (`BEGIN IMMEDIATE`) so that check-then-insert runs serialized;
on PostgreSQL the constraints in the schema do that job.

`session()` starts IMMEDIATE on SQLite as well: in WAL mode a deferred transaction that reads
and then writes fails at once with "database is locked" (its snapshot went stale) when another
connection committed in between, instead of waiting its turn — a sign-up that checks the email
and then inserts would fail under load. `read_session()` stays deferred, for reads that run
while the same thread already holds a write transaction (they must not wait on their caller).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from tutor_app.core.settings import get_settings

_engine: Engine | None = None
CONNECT_TIMEOUT_SECONDS = 5
_IMMEDIATE = "tutor_app_immediate"


def build_engine(url: str) -> Engine:
    """Create an engine with the per-dialect settings the app relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20,
            max_overflow=40,
        )
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg"))
    # pool_pre_ping: a pooled connection that died with a database restart is replaced before
    # use, so the app recovers by itself once PostgreSQL is back. connect_timeout: while the
    # database cannot be reached, a request fails (503, `api.unavailable`) in seconds rather
    # than hanging on the network. Pool: 30 connections at most per process, as before, but 20
    # kept: a connection past the kept ones is closed when it is returned, and under a burst of
    # webhooks (50 in flight) reopening them (a PostgreSQL backend each) cost more than the
    # bookings themselves; with 20 kept the webhook bench went from 238 to 291 events/s.
    return create_engine(
        url, pool_pre_ping=True, pool_size=20, max_overflow=10,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling cannot express BEGIN IMMEDIATE, so we take over
    # BEGIN ourselves (SQLAlchemy's documented recipe) and pick the mode per connection.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def engine() -> Engine:
    """The process-wide engine, built from settings on first use."""
    global _engine
    if _engine is None:
        _engine = build_engine(get_settings().database_url)
    return _engine


def use_engine(new_engine: Engine | None) -> None:
    """Swap the process-wide engine (tests, benchmarks); None rebuilds it from settings."""
    global _engine
    if _engine is not None and _engine is not new_engine:
        _engine.dispose()
    _engine = new_engine


def is_sqlite() -> bool:
    return engine().dialect.name == "sqlite"


@contextmanager
def session() -> Iterator[Session]:
    """A db session for reads and ordinary writes; the caller commits."""
    with Session(_immediate(), expire_on_commit=False) as db:
        yield db


@contextmanager
def read_session() -> Iterator[Session]:
    """A db session that only reads; on SQLite it never waits for the write lock."""
    with Session(engine(), expire_on_commit=False) as db:
        yield db


def _immediate() -> Engine:
    return engine().execution_options(**{_IMMEDIATE: True})


@contextmanager
def write_session() -> Iterator[Session]:
    """A db session whose transaction holds the write lock from its start on SQLite."""
    with Session(_immediate(), expire_on_commit=False) as db:
        yield db


# SQLite lets one writer in at a time; the others retry inside `busy_timeout` with sleeps that
# grow to 100 ms, so under a burst of webhooks a few unlucky ones lose the race again and
# again for seconds. Queueing this process's hot writers on a lock instead hands the write
# lock over the moment it is free; other processes still meet the busy timeout, as before.
# PostgreSQL writers run concurrently: no lock there.
_sqlite_writers = threading.Lock()


@contextmanager
def writer_turn() -> Iterator[None]:
    """Hold this process's SQLite writer turn around a short write transaction (no-op on
    PostgreSQL). Never around anything slow, nor around a read another writer waits for."""
    if not is_sqlite():
        yield
        return
    with _sqlite_writers:
        yield

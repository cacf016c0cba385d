"""The migrations and the models describe the same schema, on the database under test.

`alembic upgrade head` built the test database (tests/conftest.py); here Alembic compares it
with `SQLModel.metadata`. Any difference (a column added to a model without a migration, a
changed type or index) fails, naming what differs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from tutor_app.core import models


def _schema_diff(engine: sa.Engine, metadata: sa.MetaData) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_models_match_the_migrated_schema(_engine: sa.Engine) -> None:
    assert _schema_diff(_engine, SQLModel.metadata) == []


def test_a_model_change_without_a_migration_is_caught(_engine: sa.Engine) -> None:
    # The same comparison must see a drift: a column the migrations never created.
    drifted = sa.MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables[models.Booking.__tablename__].append_column(
        sa.Column("drift_probe", sa.Integer, nullable=True)
    )
    diff = _schema_diff(_engine, drifted)
    assert any("drift_probe" in repr(change) for change in diff), diff


def test_overlap_guards_exist_on_postgresql(_engine: sa.Engine) -> None:
    """No double-booking is the database's job on PostgreSQL: the exclusion constraints."""
    if _engine.dialect.name != "postgresql":
        with _engine.connect() as conn:  # SQLite: the time-order checks are in place instead
            sql = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'bookings'"
            ).scalar_one()
        assert "ck_bookings_time_order" in sql
        return
    with _engine.connect() as conn:
        names = set(
            conn.exec_driver_sql(
                "SELECT conname FROM pg_constraint WHERE contype = 'x'"
            ).scalars()
        )
    assert {"ex_bookings_no_overlap", "ex_slot_holds_no_overlap"} <= names

"""admin overview roll-ups: bookings per hour, live lessons per tutor and day, kept by triggers

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 19:00:00.000000

The roll-ups are written by triggers on `bookings`, in the transaction of the write itself,
whoever writes (the webhook, a consultation, reconciliation, the CLI, a bulk load). They
assume what the app keeps true: a booking's `created_at`, `kind`, `price_cents`, `currency`
and `tutor_id` never change after insert, and bookings are never deleted (an account's
deletion anonymises its bookings). Only `status` moves, and only a lesson's cancel (or the
reverse) changes `tutor_lesson_days`.

SQLite's batch mode rebuilds a table by copying it, which drops its triggers: a later
migration that batch-alters `bookings` must create these triggers again (`_create_triggers`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tutor_app.core.models

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A busy hour's PostgreSQL counts are spread over this many rows (models.BookingHour).
SHARDS = 8

_PG_FUNCTION = f"""
CREATE FUNCTION bookings_rollups() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_live boolean := TG_OP = 'UPDATE' AND OLD.kind = 'lesson' AND OLD.status <> 'CANCELED';
  new_live boolean := NEW.kind = 'lesson' AND NEW.status <> 'CANCELED';
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO booking_hours (hour, kind, currency, shard, bookings, price_cents)
    VALUES (date_trunc('hour', NEW.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
            NEW.kind, NEW.currency, hashtext(NEW.id) & {SHARDS - 1}, 1, NEW.price_cents)
    ON CONFLICT (hour, kind, currency, shard) DO UPDATE
      SET bookings = booking_hours.bookings + 1,
          price_cents = booking_hours.price_cents + EXCLUDED.price_cents;
  END IF;
  IF old_live = new_live THEN
    RETURN NULL;
  END IF;
  INSERT INTO tutor_lesson_days (tutor_id, day, lessons)
  VALUES (NEW.tutor_id, (NEW.created_at AT TIME ZONE 'UTC')::date,
          CASE WHEN new_live THEN 1 ELSE -1 END)
  ON CONFLICT (tutor_id, day) DO UPDATE
    SET lessons = tutor_lesson_days.lessons + EXCLUDED.lessons;
  RETURN NULL;
END $$
"""
# Deferred to the commit: the roll-up rows (shared by every booking of an hour, or of a tutor's
# day) are locked only while the transaction commits, never while a webhook's transaction
# waits on anything else, so one slow booking write holds no other one up.
_PG_TRIGGER = """
CREATE CONSTRAINT TRIGGER bookings_rollups AFTER INSERT OR UPDATE OF status ON bookings
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION bookings_rollups()
"""

# SQLite stores UTC instants as 'YYYY-MM-DD HH:MM:SS.ffffff' (models.UTCDateTime).
_LIVE = "{row}.kind = 'lesson' AND {row}.status <> 'CANCELED'"
_SQLITE_TRIGGERS = [
    f"""
CREATE TRIGGER bookings_rollups_insert AFTER INSERT ON bookings BEGIN
  INSERT INTO booking_hours (hour, kind, currency, shard, bookings, price_cents)
  VALUES (strftime('%Y-%m-%d %H:00:00.000000', NEW.created_at), NEW.kind, NEW.currency, 0, 1,
          NEW.price_cents)
  ON CONFLICT (hour, kind, currency, shard) DO UPDATE
    SET bookings = bookings + 1, price_cents = price_cents + excluded.price_cents;
  INSERT INTO tutor_lesson_days (tutor_id, day, lessons)
  SELECT NEW.tutor_id, date(NEW.created_at), 1 WHERE {_LIVE.format(row="NEW")}
  ON CONFLICT (tutor_id, day) DO UPDATE SET lessons = lessons + 1;
END
""",
    f"""
CREATE TRIGGER bookings_rollups_status AFTER UPDATE OF status ON bookings
WHEN ({_LIVE.format(row="OLD")}) <> ({_LIVE.format(row="NEW")}) BEGIN
  INSERT INTO tutor_lesson_days (tutor_id, day, lessons)
  SELECT NEW.tutor_id, date(NEW.created_at),
         CASE WHEN {_LIVE.format(row="NEW")} THEN 1 ELSE -1 END WHERE true
  ON CONFLICT (tutor_id, day) DO UPDATE SET lessons = lessons + excluded.lessons;
END
""",
]

_PG_BACKFILL = [
    f"""
INSERT INTO booking_hours (hour, kind, currency, shard, bookings, price_cents)
SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', kind, currency,
       hashtext(id) & {SHARDS - 1}, count(*), sum(price_cents)
FROM bookings GROUP BY 1, 2, 3, 4
""",
    """
INSERT INTO tutor_lesson_days (tutor_id, day, lessons)
SELECT tutor_id, (created_at AT TIME ZONE 'UTC')::date, count(*)
FROM bookings WHERE kind = 'lesson' AND status <> 'CANCELED' GROUP BY 1, 2
""",
]
_SQLITE_BACKFILL = [
    """
INSERT INTO booking_hours (hour, kind, currency, shard, bookings, price_cents)
SELECT strftime('%Y-%m-%d %H:00:00.000000', created_at), kind, currency, 0, count(*),
       sum(price_cents)
FROM bookings GROUP BY 1, 2, 3
""",
    """
INSERT INTO tutor_lesson_days (tutor_id, day, lessons)
SELECT tutor_id, date(created_at), count(*)
FROM bookings WHERE kind = 'lesson' AND status <> 'CANCELED' GROUP BY 1, 2
""",
]


def _create_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def upgrade() -> None:
    op.create_table('booking_hours',
    sa.Column('hour', tutor_app.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('shard', sa.Integer(), nullable=False),
    sa.Column('bookings', sa.Integer(), nullable=False),
    sa.Column('price_cents', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('hour', 'kind', 'currency', 'shard')
    )
    op.create_table('tutor_lesson_days',
    sa.Column('tutor_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('lessons', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('tutor_id', 'day')
    )
    # Triggers first, then the backfill, in this migration's transaction: a booking written
    # meanwhile waits for it (PostgreSQL's DDL locks `bookings`), so none is counted twice or
    # missed.
    _create_triggers()
    backfill = _PG_BACKFILL if op.get_bind().dialect.name == "postgresql" else _SQLITE_BACKFILL
    for statement in backfill:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS bookings_rollups ON bookings")
        op.execute("DROP FUNCTION IF EXISTS bookings_rollups()")
    else:
        op.execute("DROP TRIGGER IF EXISTS bookings_rollups_insert")
        op.execute("DROP TRIGGER IF EXISTS bookings_rollups_status")
    op.drop_table('tutor_lesson_days')
    op.drop_table('booking_hours')

"""rate limit counters; sign-in throttles keyed per (email, address)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:00:00.000000

`login_throttles` is dropped and created again with the client's address in its key rather
than altered: an old row (per email only) would never match an (email, address) pair, and the
rows are short-lived failure counts anyway, so there is nothing worth moving.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tutor_app.core.models


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rate_limit_counters',
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('window_start', tutor_app.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('action', 'key')
    )
    op.drop_table('login_throttles')
    op.create_table('login_throttles',
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', tutor_app.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('email', 'ip')
    )


def downgrade() -> None:
    op.drop_table('login_throttles')
    op.create_table('login_throttles',
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', tutor_app.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('email')
    )
    op.drop_table('rate_limit_counters')

"""browser-bound sign-in: the pre-sign-in cookie's hash on handoff tickets and OpenID states

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: existing sessions have none, and tickets or states made before this revision
    # (at most minutes old) are refused like any other unbound one.
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('browser_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))

    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.add_column(sa.Column('browser_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.drop_column('browser_hash')

    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.drop_column('browser_hash')

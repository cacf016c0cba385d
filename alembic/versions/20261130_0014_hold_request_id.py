"""the request id that placed a hold, sent again with any retried checkout session request

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # add_column, not batch mode: SQLite adds a nullable column in place (no table copy).
    op.add_column('slot_holds', sa.Column(
        'request_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('slot_holds', schema=None) as batch_op:
        batch_op.drop_column('request_id')

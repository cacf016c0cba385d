"""free consultations

Revision ID: 0007
Revises: 0006
A booking is a paid lesson or a free consultation; one live consultation per student and
tutor, kept by a partial unique index.

Create Date: 2026-11-30 15:54:01.741735
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tutor_app.core.models


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), server_default='lesson', nullable=False))
        batch_op.create_index('ux_bookings_one_consultation', ['user_id', 'tutor_id'], unique=True, sqlite_where=sa.text("kind = 'consultation' AND status <> 'CANCELED'"), postgresql_where=sa.text("kind = 'consultation' AND status <> 'CANCELED'"))

    with op.batch_alter_table('tutors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offers_consultation', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('tutors', schema=None) as batch_op:
        batch_op.drop_column('offers_consultation')

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ux_bookings_one_consultation', sqlite_where=sa.text("kind = 'consultation' AND status <> 'CANCELED'"), postgresql_where=sa.text("kind = 'consultation' AND status <> 'CANCELED'"))
        batch_op.drop_column('kind')


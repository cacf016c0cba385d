"""tutor portal: profile rules, date overrides, invites, attendance

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 15:39:05.678206

Existing tutors keep today's behaviour: lengths 30/60/90, no buffer, 12 hours' notice,
60 days ahead.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tutor_app.core.models


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tutor_date_overrides',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('tutor_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('windows', sa.JSON(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('created_at', tutor_app.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tutor_id'], ['tutors.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tutor_id', 'on_date', name='uq_tutor_date_overrides_tutor_date')
    )
    with op.batch_alter_table('tutor_date_overrides', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tutor_date_overrides_tutor_id'), ['tutor_id'], unique=False)

    op.create_table('tutor_invites',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('tutor_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('invited_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('accepted_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('created_at', tutor_app.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', tutor_app.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', tutor_app.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['accepted_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['invited_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['tutor_id'], ['tutors.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tutor_invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tutor_invites_token_hash'), ['token_hash'], unique=True)

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attendance', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))

    with op.batch_alter_table('tutors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('headline', sqlmodel.sql.sqltypes.AutoString(length=120), server_default='', nullable=False))
        # Existing tutors keep the lengths every tutor offered until now.
        batch_op.add_column(sa.Column('lesson_durations', sa.JSON(), server_default='[30, 60, 90]', nullable=False))
        batch_op.add_column(sa.Column('buffer_minutes', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('min_notice_minutes', sa.Integer(), server_default='720', nullable=False))
        batch_op.add_column(sa.Column('horizon_days', sa.Integer(), server_default='60', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('tutors', schema=None) as batch_op:
        batch_op.drop_column('horizon_days')
        batch_op.drop_column('min_notice_minutes')
        batch_op.drop_column('buffer_minutes')
        batch_op.drop_column('lesson_durations')
        batch_op.drop_column('headline')

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('attendance')

    with op.batch_alter_table('tutor_invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tutor_invites_token_hash'))

    op.drop_table('tutor_invites')
    with op.batch_alter_table('tutor_date_overrides', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tutor_date_overrides_tutor_id'))

    op.drop_table('tutor_date_overrides')

"""admin overview index and payments health: failed Stripe events

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tutor_app.core.models


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('stripe_event_failures',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('object_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
    sa.Column('failed_at', tutor_app.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stripe_event_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stripe_event_failures_event_id'), ['event_id'],
                              unique=False)
        batch_op.create_index('ix_stripe_event_failures_failed', ['failed_at'], unique=False)

    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.create_index('ix_stripe_events_received', ['received_at'], unique=False)

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('ix_bookings_created', ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_created')

    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.drop_index('ix_stripe_events_received')

    with op.batch_alter_table('stripe_event_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_stripe_event_failures_failed')
        batch_op.drop_index(batch_op.f('ix_stripe_event_failures_event_id'))

    op.drop_table('stripe_event_failures')

"""admin bookings table indexes

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 18:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('ix_bookings_status_start', ['status', 'start_time'], unique=False)
        batch_op.create_index('ix_bookings_start', ['start_time'], unique=False)
        batch_op.create_index('ix_bookings_customer_email', ['customer_email'], unique=False)
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.create_index('ix_stripe_events_object', ['object_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.drop_index('ix_stripe_events_object')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_customer_email')
        batch_op.drop_index('ix_bookings_start')
        batch_op.drop_index('ix_bookings_status_start')

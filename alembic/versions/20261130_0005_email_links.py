"""email links: email verification and password reset

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tutor_app.core.models


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('email_links',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('pending_password_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', tutor_app.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', tutor_app.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', tutor_app.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('email_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_links_token_hash'), ['token_hash'], unique=True)
        batch_op.create_index(batch_op.f('ix_email_links_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('email_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_links_user_id'))
        batch_op.drop_index(batch_op.f('ix_email_links_token_hash'))

    op.drop_table('email_links')

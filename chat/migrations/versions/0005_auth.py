"""second factor and forced password change on accounts

Revision ID: 0005_auth
Revises: 0002b_audit
Create Date: 2026-11-23
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0005_auth'
down_revision = '0002b_audit'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('totp_secret', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('totp_pending', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('must_change_password')
        batch.drop_column('totp_last_step')
        batch.drop_column('totp_pending')
        batch.drop_column('totp_secret')

"""opening hours

Revision ID: 0003_opening_hours
Revises: 0005_auth
Create Date: 2026-11-23
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0003_opening_hours'
down_revision = '0005_auth'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('opening_hours',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('schedule', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('opening_hours')

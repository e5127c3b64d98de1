"""trainees: the shifts a trainee shadowed, as a supervisor marked them

Revision ID: 0014_trainees
Revises: 0011_survey
Create Date: 2026-12-03

The ``trainee`` role needs no schema change (``accounts.role`` is a string). The
training record gains ``shadowed_shifts``: one row per trainee and day, with the
account that marked it. Nothing in it points to a chat.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0014_trainees'
down_revision = '0011_survey'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'shadowed_shifts',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('account_id', sa.String(32), sa.ForeignKey('accounts.id', ondelete='CASCADE'), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('marked_by', sa.String(32), nullable=False),
        sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('account_id', 'day', name='uq_shadowed_shifts_account_day'),
    )
    op.create_index('ix_shadowed_shifts_account_id', 'shadowed_shifts', ['account_id'])


def downgrade() -> None:
    op.drop_index('ix_shadowed_shifts_account_id', table_name='shadowed_shifts')
    op.drop_table('shadowed_shifts')

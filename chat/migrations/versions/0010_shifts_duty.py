"""shifts and on-duty time: booked shifts; minutes on duty per account and day

Revision ID: 0010_shifts_duty
Revises: 0008_monthly_rollup
Create Date: 2026-12-03

``shifts`` (volunteer/shifts.py): an account's booked span of time, UTC.
``volunteer_duty`` (volunteer/duty.py): minutes on duty and in a chat per account
and local day; never a chat id, never a time of day.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010_shifts_duty'
down_revision = '0008_monthly_rollup'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'shifts',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('account_id', sa.String(32), sa.ForeignKey('accounts.id', ondelete='CASCADE'), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_shifts_account_id', 'shifts', ['account_id'])
    op.create_index('ix_shifts_starts_at', 'shifts', ['starts_at'])
    op.create_table(
        'volunteer_duty',
        sa.Column('account_id', sa.String(32), sa.ForeignKey('accounts.id', ondelete='CASCADE'), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('on_duty_min', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('in_chat_min', sa.Integer(), nullable=False, server_default='0'),
        sa.PrimaryKeyConstraint('account_id', 'day'),
    )
    op.create_index('ix_volunteer_duty_day', 'volunteer_duty', ['day'])


def downgrade() -> None:
    op.drop_index('ix_volunteer_duty_day', table_name='volunteer_duty')
    op.drop_table('volunteer_duty')
    op.drop_index('ix_shifts_starts_at', table_name='shifts')
    op.drop_index('ix_shifts_account_id', table_name='shifts')
    op.drop_table('shifts')

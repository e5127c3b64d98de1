"""care: escalations, debrief requests and heavy chats counted in the record

Revision ID: 0015_care
Revises: 0010_shifts_duty
Create Date: 2026-12-03

Four columns on ``chat_records`` (docs/record.md): ``escalations_help`` and
``escalations_acute`` (how often the volunteer called a supervisor for help or
flagged acute danger), ``debrief`` (the volunteer asked for a debrief after the
chat) and ``heavy`` (marked heavy in the wrap-up, an acute escalation, or the topic
uses_violence). Counts and flags only, never a reason. Plain ADD COLUMN with a
server default (no batch alter), so the roll-up triggers of 0007 stay in place on
SQLite; records written before read as 0 / false.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0015_care'
down_revision = '0010_shifts_duty'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('chat_records', sa.Column('escalations_help', sa.SmallInteger(), nullable=False,
                                            server_default='0'))
    op.add_column('chat_records', sa.Column('escalations_acute', sa.SmallInteger(), nullable=False,
                                            server_default='0'))
    op.add_column('chat_records', sa.Column('debrief', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('chat_records', sa.Column('heavy', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35 and PostgreSQL): a batch alter would rebuild the
    # table on SQLite and lose the roll-up triggers of 0007.
    for column in ('heavy', 'debrief', 'escalations_acute', 'escalations_help'):
        op.execute(f"ALTER TABLE chat_records DROP COLUMN {column}")

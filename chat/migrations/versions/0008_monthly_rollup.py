"""statistics: monthly roll-up rows for the per-volunteer split; an index on the roll-up's day

Revision ID: 0008_monthly_rollup
Revises: 0007_statistics
Create Date: 2026-11-24

No schema change: ``stats_daily`` now also holds, for splits with many rows a day
(``referral.stats.rollup.MONTHLY``), one row per calendar month. Reads expect them for
every month, so every day that has records is marked changed and the next sync
rebuilds the roll-up, months included. No batch alter, so the roll-up triggers
of 0007 stay in place on SQLite.

The index on ``stats_daily.day``: a sync deletes the rows of the changed days in
every scope, and the primary key begins with the scope, so without it each sync
read the whole roll-up (~0.5 s at a million records).
"""
from __future__ import annotations

from alembic import op


revision = '0008_monthly_rollup'
down_revision = '0007_statistics'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_stats_daily_day', 'stats_daily', ['day'])
    op.execute("INSERT INTO stats_dirty (day) SELECT DISTINCT day FROM chat_records")


def downgrade() -> None:
    op.execute("DELETE FROM stats_daily WHERE split = 'volunteers:m'")
    op.drop_index('ix_stats_daily_day', table_name='stats_daily')

"""statistics: monthly roll-up rows for the per-volunteer split

Revision ID: 0008_monthly_rollup
Revises: 0007_statistics
Create Date: 2026-11-24

No schema change: ``stats_daily`` now also holds, for splits with many rows a day
(``referral.rollup.MONTHLY``), one row per calendar month. Reads expect them for
every month, so every day that has records is marked changed and the next sync
rebuilds the roll-up, months included. Only an INSERT: no batch alter, so the
roll-up triggers of 0007 stay in place on SQLite.
"""
from __future__ import annotations

from alembic import op


revision = '0008_monthly_rollup'
down_revision = '0007_statistics'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("INSERT INTO stats_dirty (day) SELECT DISTINCT day FROM chat_records")


def downgrade() -> None:
    op.execute("DELETE FROM stats_daily WHERE split = 'volunteers:m'")

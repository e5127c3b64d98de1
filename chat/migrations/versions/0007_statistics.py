"""statistics: partnerships (parties, channels, goals), the report's covering index, the daily roll-up

Revision ID: 0007_statistics
Revises: 0006_console
Create Date: 2026-11-23
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0007_statistics'
down_revision = '0006_console'
branch_labels = None
depends_on = None

# The report reads chat_records by day range only through this index: every column a
# statistics query touches is in it, so a period is one range scan of the index and
# never a row lookup per record (an index on the day alone made SQLite slower: it
# then fetches every row of the period from the table in rowid order).
REPORT_INDEX = 'ix_chat_records_report'
REPORT_KEY = ['day']
REPORT_COLUMNS = [
    'outcome', 'non_data', 'channel', 'municipality', 'age', 'gender', 'topic', 'district',
    'first_contact', 'v_physical', 'v_psychological', 'v_sexual', 'v_digital', 'v_economic',
    'v_honour', 'wait_s', 'duration_s', 'volunteer', 'id',
]


def upgrade() -> None:
    op.create_table(
        'partnerships',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('first_term_ends_on', sa.Date(), nullable=False),
        sa.Column('renew_until', sa.Date(), nullable=True),
        sa.Column('notice_by', sa.String(length=5), nullable=True),
        sa.Column('notice_given_on', sa.Date(), nullable=True),
        sa.Column('age_min', sa.SmallInteger(), nullable=True),
        sa.Column('age_max', sa.SmallInteger(), nullable=True),
        sa.Column('municipalities', sa.String(length=200), nullable=False),
        sa.Column('reporting', sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'partnership_parties',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('partnership_id', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('org_number', sa.String(length=11), nullable=False),
        sa.Column('sector', sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(['partnership_id'], ['partnerships.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_partnership_parties_partnership_id', 'partnership_parties', ['partnership_id'])
    op.create_table(
        'partnership_channels',
        sa.Column('partnership_id', sa.String(length=40), nullable=False),
        sa.Column('channel', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['partnership_id'], ['partnerships.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('partnership_id', 'channel'),
    )
    op.create_table(
        'partnership_goals',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('partnership_id', sa.String(length=40), nullable=False),
        sa.Column('position', sa.SmallInteger(), nullable=False),
        sa.Column('text', sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(['partnership_id'], ['partnerships.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_partnership_goals_partnership_id', 'partnership_goals', ['partnership_id'])
    create_report_indexes()
    op.create_table(
        'stats_daily',
        sa.Column('scope', sa.String(length=48), nullable=False),
        sa.Column('split', sa.String(length=16), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('k1', sa.String(length=40), nullable=False),
        sa.Column('k2', sa.String(length=40), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('keysum', sa.BigInteger(), nullable=False),
        sa.Column('extra', sa.BigInteger(), nullable=False),
        sa.Column('extra_key', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('scope', 'split', 'day', 'k1', 'k2'),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'stats_dirty',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    for sql in trigger_sql(op.get_bind().dialect.name):
        op.execute(sql)
    # records written before this revision: their days are rebuilt at the first sync
    op.execute("INSERT INTO stats_dirty (day) SELECT DISTINCT day FROM chat_records")


def trigger_sql(dialect: str) -> list[str]:
    """Triggers that mark the day of every changed record or referral row (referral/stats/rollup.py)."""
    if dialect == 'postgresql':
        return [
            """CREATE FUNCTION stats_mark_records() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP IN ('INSERT', 'UPDATE') THEN
                INSERT INTO stats_dirty (day) SELECT DISTINCT day FROM new_rows;
              END IF;
              IF TG_OP IN ('DELETE', 'UPDATE') THEN
                INSERT INTO stats_dirty (day) SELECT DISTINCT day FROM old_rows;
              END IF;
              RETURN NULL;
            END $$""",
            """CREATE FUNCTION stats_mark_referrals() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP IN ('INSERT', 'UPDATE') THEN
                INSERT INTO stats_dirty (day) SELECT DISTINCT c.day FROM new_rows r JOIN chat_records c ON c.id = r.record_id;
              END IF;
              IF TG_OP IN ('DELETE', 'UPDATE') THEN
                INSERT INTO stats_dirty (day) SELECT DISTINCT c.day FROM old_rows r JOIN chat_records c ON c.id = r.record_id;
              END IF;
              RETURN NULL;
            END $$""",
            "CREATE TRIGGER stats_dirty_records_ins AFTER INSERT ON chat_records "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_mark_records()",
            "CREATE TRIGGER stats_dirty_records_upd AFTER UPDATE ON chat_records "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_mark_records()",
            "CREATE TRIGGER stats_dirty_records_del AFTER DELETE ON chat_records "
            "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_mark_records()",
            "CREATE TRIGGER stats_dirty_referrals_ins AFTER INSERT ON record_referrals "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_mark_referrals()",
            "CREATE TRIGGER stats_dirty_referrals_upd AFTER UPDATE ON record_referrals "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_mark_referrals()",
            "CREATE TRIGGER stats_dirty_referrals_del AFTER DELETE ON record_referrals "
            "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_mark_referrals()",
        ]
    return [
        "CREATE TRIGGER stats_dirty_records_ins AFTER INSERT ON chat_records "
        "BEGIN INSERT INTO stats_dirty (day) VALUES (NEW.day); END",
        "CREATE TRIGGER stats_dirty_records_upd AFTER UPDATE ON chat_records "
        "BEGIN INSERT INTO stats_dirty (day) VALUES (OLD.day); INSERT INTO stats_dirty (day) VALUES (NEW.day); END",
        "CREATE TRIGGER stats_dirty_records_del AFTER DELETE ON chat_records "
        "BEGIN INSERT INTO stats_dirty (day) VALUES (OLD.day); END",
        "CREATE TRIGGER stats_dirty_referrals_ins AFTER INSERT ON record_referrals "
        "BEGIN INSERT INTO stats_dirty (day) SELECT day FROM chat_records WHERE id = NEW.record_id; END",
        "CREATE TRIGGER stats_dirty_referrals_upd AFTER UPDATE ON record_referrals "
        "BEGIN INSERT INTO stats_dirty (day) SELECT day FROM chat_records WHERE id IN (OLD.record_id, NEW.record_id); END",
        "CREATE TRIGGER stats_dirty_referrals_del AFTER DELETE ON record_referrals "
        "BEGIN INSERT INTO stats_dirty (day) SELECT day FROM chat_records WHERE id = OLD.record_id; END",
    ]


TRIGGERS = ['stats_dirty_records_ins', 'stats_dirty_records_upd', 'stats_dirty_records_del',
            'stats_dirty_referrals_ins', 'stats_dirty_referrals_upd', 'stats_dirty_referrals_del']


def create_report_indexes() -> None:
    """Also used by bench/report.py, so the benchmark measures exactly this index."""
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.create_index(REPORT_INDEX, 'chat_records', REPORT_KEY, postgresql_include=REPORT_COLUMNS)
    else:
        op.create_index(REPORT_INDEX, 'chat_records', REPORT_KEY + REPORT_COLUMNS)
    # Referrals are counted by joining on the record: (record_id, service_id, redeemed_on)
    # answers the join without touching the table.
    op.create_index('ix_record_referrals_report', 'record_referrals', ['record_id', 'service_id', 'redeemed_on'])


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name in TRIGGERS:
        table = 'chat_records' if 'records' in name else 'record_referrals'
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if dialect == 'postgresql' else ''))
    if dialect == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS stats_mark_records()")
        op.execute("DROP FUNCTION IF EXISTS stats_mark_referrals()")
    op.drop_table('stats_dirty')
    op.drop_table('stats_daily')
    op.drop_index('ix_record_referrals_report', table_name='record_referrals')
    op.drop_index(REPORT_INDEX, table_name='chat_records')
    op.drop_index('ix_partnership_goals_partnership_id', table_name='partnership_goals')
    op.drop_table('partnership_goals')
    op.drop_table('partnership_channels')
    op.drop_index('ix_partnership_parties_partnership_id', table_name='partnership_parties')
    op.drop_table('partnership_parties')
    op.drop_table('partnerships')

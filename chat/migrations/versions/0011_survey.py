"""survey: one-time survey tokens, the answers beside the record, ``chat_records.survey_offered``

Revision ID: 0011_survey
Revises: 0009_topics_skills
Create Date: 2026-12-03

``survey_tokens`` keeps a token's keyed hash, its expiry (to the minute) and the
record id it answers for until it is used or expires (referral.survey).
``survey_responses`` keeps the fixed-choice answers keyed by the record id only.
``chat_records.survey_offered`` says the visitor was offered the survey (the
response rate's denominator). Adding a column leaves the roll-up triggers of
0007 in place on SQLite.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0011_survey'
down_revision = '0009_topics_skills'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'survey_tokens',
        sa.Column('token_hash', sa.String(64), primary_key=True),
        sa.Column('record_id', sa.String(32), nullable=True),
        sa.Column('expires', sa.Integer(), nullable=False),
        sa.Column('used', sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index('ix_survey_tokens_expires', 'survey_tokens', ['expires'])
    op.create_table(
        'survey_responses',
        sa.Column('record_id', sa.String(32), primary_key=True),
        sa.Column('helped', sa.String(8), nullable=True),
        sa.Column('knows_where_to_turn', sa.String(8), nullable=True),
        sa.Column('would_return', sa.String(8), nullable=True),
    )
    op.add_column('chat_records', sa.Column('survey_offered', sa.Boolean(), nullable=False,
                                            server_default=sa.false()))


def downgrade() -> None:
    op.drop_column('chat_records', 'survey_offered')     # ALTER TABLE ... DROP COLUMN: triggers stay
    op.drop_table('survey_responses')
    op.drop_index('ix_survey_tokens_expires', table_name='survey_tokens')
    op.drop_table('survey_tokens')

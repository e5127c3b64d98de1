"""topics: volunteers' skills; the record's intake topic and whether a specialist took the chat

Revision ID: 0009_topics_skills
Revises: 0013b_canned
Create Date: 2026-12-03

``accounts.skills``: comma-separated words from the topic and violence vocabularies
(topic routing). ``chat_records.intake_topic``: the topic the young person chose in
the widget (the wrap-up's ``topic`` stays the volunteer's judgement);
``chat_records.specialist``: whether the volunteer who took the chat held that topic
as a skill (null when there was no intake topic or no volunteer). Plain
``add_column`` (no batch alter), so the roll-up triggers of 0007 stay in place on SQLite.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0009_topics_skills'
down_revision = '0013b_canned'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('accounts', sa.Column('skills', sa.String(length=200), nullable=False, server_default=''))
    op.add_column('chat_records', sa.Column('intake_topic', sa.String(length=20), nullable=True))
    op.add_column('chat_records', sa.Column('specialist', sa.Boolean(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35 and PostgreSQL): a batch alter would rebuild the
    # table on SQLite, which the roll-up triggers of 0007 (on chat_records) do not survive.
    op.drop_column('chat_records', 'specialist')
    op.drop_column('chat_records', 'intake_topic')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('skills')

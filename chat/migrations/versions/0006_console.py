"""console: canned replies (snippets) and follow-up codes

Revision ID: 0006_console
Revises: 0004_directory
Create Date: 2026-11-23
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0006_console'
down_revision = '0004_directory'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'snippets',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('lang', sa.String(length=8), nullable=False),
        sa.Column('title', sa.String(length=80), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'followup_codes',
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('account_id', sa.String(length=32), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('hash'),
    )
    op.create_index('ix_followup_codes_account_id', 'followup_codes', ['account_id'])
    op.create_index('ix_followup_codes_expires_at', 'followup_codes', ['expires_at'])


def downgrade() -> None:
    op.drop_index('ix_followup_codes_expires_at', table_name='followup_codes')
    op.drop_index('ix_followup_codes_account_id', table_name='followup_codes')
    op.drop_table('followup_codes')
    op.drop_table('snippets')

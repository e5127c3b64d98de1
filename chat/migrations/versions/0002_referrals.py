"""referral tables: record_referrals, referral_codes

Revision ID: 0002_referrals
Revises: 0001
Create Date: 2026-11-23
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002_referrals'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'record_referrals',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('record_id', sa.String(length=32), nullable=False),
        sa.Column('service_id', sa.String(length=40), nullable=False),
        sa.Column('redeemed_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['record_id'], ['chat_records.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_record_referrals_record_id', 'record_referrals', ['record_id'])
    op.create_table(
        'referral_codes',
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('service_id', sa.String(length=40), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=False),
        sa.Column('expires_on', sa.Date(), nullable=False),
        sa.Column('referral_id', sa.Integer(), nullable=True),
        sa.Column('redeemed_on', sa.Date(), nullable=True),
        sa.Column('partner_id', sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(['referral_id'], ['record_referrals.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('code_hash'),
    )
    op.create_index('ix_referral_codes_expires_on', 'referral_codes', ['expires_on'])
    op.create_index('ix_referral_codes_referral_id', 'referral_codes', ['referral_id'])


def downgrade() -> None:
    op.drop_index('ix_referral_codes_referral_id', table_name='referral_codes')
    op.drop_index('ix_referral_codes_expires_on', table_name='referral_codes')
    op.drop_table('referral_codes')
    op.drop_index('ix_record_referrals_record_id', table_name='record_referrals')
    op.drop_table('record_referrals')

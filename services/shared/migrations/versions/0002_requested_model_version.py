"""transcripts.requested_model_version: the model version a re-run asked for

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 09:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transcripts') as batch_op:
        batch_op.add_column(sa.Column('requested_model_version', sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('transcripts') as batch_op:
        batch_op.drop_column('requested_model_version')

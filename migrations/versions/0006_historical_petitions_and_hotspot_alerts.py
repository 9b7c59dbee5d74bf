"""Historical petitions (petitioner, likes, import source) and hotspot alerts

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-25 11:14:10.723405
"""
from alembic import op
import sqlalchemy as sa

from engine.db import UTCDateTime


revision = '0006'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hotspot_alert',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('topic_key', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=255), nullable=False),
    sa.Column('recent', sa.Integer(), nullable=False),
    sa.Column('previous', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hotspot_alert')),
    sa.UniqueConstraint('topic_key', 'period', name='uq_hotspot_alert_topic_period')
    )
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('petitioner_ref', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('likes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('dislikes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('import_source', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('source_id', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_petition_import_source_id', ['import_source', 'source_id'])



def downgrade() -> None:
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.drop_constraint('uq_petition_import_source_id', type_='unique')
        batch_op.drop_column('source_id')
        batch_op.drop_column('import_source')
        batch_op.drop_column('dislikes')
        batch_op.drop_column('likes')
        batch_op.drop_column('petitioner_ref')

    op.drop_table('hotspot_alert')

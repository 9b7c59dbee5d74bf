"""Triage classifier: stored models (one active) and the suggestion made for each petition

Revision ID: 0010
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

from engine.db import UTCDateTime


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

ACTIVE = sa.text("active")


def upgrade() -> None:
    op.create_table('router_model',
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('pipeline', sa.LargeBinary(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_router_model'))
    )
    op.create_index('uq_router_model_active', 'router_model', ['active'], unique=True,
                    postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    op.create_table('triage_suggestion',
    sa.Column('petition_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('model_version', sa.Integer(), nullable=False),
    sa.Column('ranking', sa.JSON(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['model_version'], ['router_model.version'],
                            name=op.f('fk_triage_suggestion_model_version_router_model')),
    sa.ForeignKeyConstraint(['petition_id'], ['petition.id'], name=op.f('fk_triage_suggestion_petition_id_petition'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('petition_id', name=op.f('pk_triage_suggestion'))
    )


def downgrade() -> None:
    op.drop_table('triage_suggestion')
    op.drop_index('uq_router_model_active', table_name='router_model', postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    op.drop_table('router_model')

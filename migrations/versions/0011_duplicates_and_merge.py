"""Near-duplicate petitions (signature terms of open petitions, candidates found at intake) and
merged petitions (the original a duplicate follows)

Revision ID: 0011
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

from engine.db import UTCDateTime


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('duplicate_term',
    sa.Column('petition_id', ID, nullable=False),
    sa.Column('term', sa.String(length=32), nullable=False),
    sa.Column('is_place', sa.Boolean(), nullable=False),
    sa.Column('has_place', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petition.id'], name=op.f('fk_duplicate_term_petition_id_petition'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('petition_id', 'term', name=op.f('pk_duplicate_term'))
    )
    op.create_index('ix_duplicate_term_lookup', 'duplicate_term', ['term', 'created_at', 'petition_id'], unique=False)
    op.create_table('duplicate_candidate',
    sa.Column('petition_id', ID, nullable=False),
    sa.Column('candidate_id', ID, nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('found_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['petition.id'], name=op.f('fk_duplicate_candidate_candidate_id_petition'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['petition_id'], ['petition.id'], name=op.f('fk_duplicate_candidate_petition_id_petition'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('petition_id', 'candidate_id', name=op.f('pk_duplicate_candidate'))
    )
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_petition_merged_into_id_petition'), 'petition', ['merged_into_id'], ['id'])
        batch_op.create_index('ix_petition_merged_into', ['merged_into_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.drop_index('ix_petition_merged_into')
        batch_op.drop_constraint(batch_op.f('fk_petition_merged_into_id_petition'), type_='foreignkey')
        batch_op.drop_column('merged_into_id')
    op.drop_table('duplicate_candidate')
    op.drop_index('ix_duplicate_term_lookup', table_name='duplicate_term')
    op.drop_table('duplicate_term')

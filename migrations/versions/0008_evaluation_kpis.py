"""Evaluation facts: one row per assignment of a petition to a department (kpi_assignment)

Filled as petitions move from now on; `minyi kpi rebuild` fills it for petitions that moved
before (it replays their audit log).

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

from engine.db import UTCDateTime


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kpi_assignment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('petition_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('department_code', sa.String(length=32), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('assigned_at', UTCDateTime(), nullable=False),
    sa.Column('sign_due_at', UTCDateTime(), nullable=True),
    sa.Column('sign_outcome', sa.String(length=16), nullable=True),
    sa.Column('sign_on_time', sa.Boolean(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('due_at', UTCDateTime(), nullable=True),
    sa.Column('replied_at', UTCDateTime(), nullable=True),
    sa.Column('reply_on_time', sa.Boolean(), nullable=True),
    sa.Column('reply_workdays', sa.Integer(), nullable=True),
    sa.Column('extended', sa.Boolean(), nullable=False),
    sa.Column('reopens', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('solved', sa.Boolean(), nullable=True),
    sa.Column('urges', sa.Integer(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('notices', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petition.id'], name=op.f('fk_kpi_assignment_petition_id_petition'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kpi_assignment'))
    )
    with op.batch_alter_table('kpi_assignment', schema=None) as batch_op:
        batch_op.create_index('ix_kpi_assignment_petition', ['petition_id', 'id'], unique=False)
        batch_op.create_index('ix_kpi_assignment_received_department', ['received_on', 'department_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kpi_assignment', schema=None) as batch_op:
        batch_op.drop_index('ix_kpi_assignment_received_department')
        batch_op.drop_index('ix_kpi_assignment_petition')
    op.drop_table('kpi_assignment')

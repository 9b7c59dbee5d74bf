"""Third-party panel (sampling seeds, score sets) and stored quarterly circulars

Revision ID: 0009
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

from engine.db import UTCDateTime


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('panel_period',
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('period', name=op.f('pk_panel_period'))
    )
    op.create_table('panel_score',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('department_code', sa.String(length=32), nullable=False),
    sa.Column('evaluator_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('topic_quality', sa.Integer(), nullable=False),
    sa.Column('organisation', sa.Integer(), nullable=False),
    sa.Column('reply_quality', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('submitted_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('revisions', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_code'], ['department.code'], name=op.f('fk_panel_score_department_code_department')),
    sa.ForeignKeyConstraint(['evaluator_id'], ['staff.id'], name=op.f('fk_panel_score_evaluator_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_panel_score')),
    sa.UniqueConstraint('period', 'department_code', 'evaluator_id', name='uq_panel_score_period_department_evaluator')
    )
    op.create_table('quarterly_report',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('quarter', sa.String(length=8), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('generated_at', UTCDateTime(), nullable=False),
    sa.Column('generated_by', sa.String(length=255), nullable=False),
    sa.Column('generator', sa.String(length=64), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('pdf_pages', sa.Integer(), nullable=False),
    sa.Column('pdf_bytes', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarterly_report')),
    sa.UniqueConstraint('quarter', 'version', name='uq_quarterly_report_quarter_version')
    )
    op.create_index('ix_quarterly_report_generated', 'quarterly_report', ['generated_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_quarterly_report_generated', table_name='quarterly_report')
    op.drop_table('quarterly_report')
    op.drop_table('panel_score')
    op.drop_table('panel_period')

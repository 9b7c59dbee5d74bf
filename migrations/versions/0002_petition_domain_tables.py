"""Petition domain tables: departments, routing rules, business calendar, petitions, escalations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:27:39.711083
"""
from alembic import op
import sqlalchemy as sa

from engine.db import UTCDateTime


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_workday', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_day'))
    )
    op.create_table('calendar_year',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('official', sa.Boolean(), nullable=False),
    sa.Column('loaded_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_calendar_year'))
    )
    op.create_table('department',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('parent_code', sa.String(length=32), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['department.code'], name=op.f('fk_department_parent_code_department')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_department'))
    )
    op.create_table('routing_rule',
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('department_code', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['department_code'], ['department.code'], name=op.f('fk_routing_rule_department_code_department')),
    sa.PrimaryKeyConstraint('category', name=op.f('pk_routing_rule'))
    )
    op.create_table('petition',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tracking_no', sa.String(length=24), nullable=False),
    sa.Column('access_token_hash', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('location', sa.String(length=255), nullable=True),
    sa.Column('category', sa.String(length=64), nullable=True),
    sa.Column('contact_name', sa.String(length=64), nullable=True),
    sa.Column('contact_phone', sa.String(length=32), nullable=True),
    sa.Column('contact_email', sa.String(length=255), nullable=True),
    sa.Column('emergency', sa.Boolean(), nullable=False),
    sa.Column('department_code', sa.String(length=32), nullable=True),
    sa.Column('status', sa.Enum('received', 'triage', 'rejected', 'diverted', 'signing', 'returned', 'handling', 'awaiting_info', 'extension_requested', 'reviewing', 'replied', 'escalated', 'closed', name='petitionstatus', native_enum=False, length=24), nullable=False),
    sa.Column('public_status', sa.Enum('received', 'in_progress', 'replied', 'closed', name='publicstatus', native_enum=False, length=24), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('sign_due_at', UTCDateTime(), nullable=True),
    sa.Column('due_at', UTCDateTime(), nullable=True),
    sa.Column('reject_reason', sa.String(length=64), nullable=True),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('solved', sa.Boolean(), nullable=True),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('extension_days', sa.Integer(), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('replied_at', UTCDateTime(), nullable=True),
    sa.Column('closed_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['department_code'], ['department.code'], name=op.f('fk_petition_department_code_department')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_petition_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_petition')),
    sa.UniqueConstraint('tracking_no', name=op.f('uq_petition_tracking_no'))
    )
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.create_index('ix_petition_created', ['created_at'], unique=False)
        batch_op.create_index('ix_petition_department_created', ['department_code', 'created_at'], unique=False)
        batch_op.create_index('ix_petition_instance', ['instance_id'], unique=False)
        batch_op.create_index('ix_petition_status_department_due', ['status', 'department_code', 'due_at'], unique=False)
        batch_op.create_index('ix_petition_type_urgency', ['type', 'urgency'], unique=False)

    op.create_table('escalation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('petition_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('department_code', sa.String(length=32), nullable=True),
    sa.Column('deadline', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('acknowledged_at', UTCDateTime(), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['petition_id'], ['petition.id'], name=op.f('fk_escalation_petition_id_petition'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation')),
    sa.UniqueConstraint('petition_id', 'level', 'deadline', name='uq_escalation_petition_level_deadline')
    )
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.create_index('ix_escalation_state', ['acknowledged_at', 'level', 'department_code'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.drop_index('ix_escalation_state')

    op.drop_table('escalation')
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.drop_index('ix_petition_type_urgency')
        batch_op.drop_index('ix_petition_status_department_due')
        batch_op.drop_index('ix_petition_instance')
        batch_op.drop_index('ix_petition_department_created')
        batch_op.drop_index('ix_petition_created')

    op.drop_table('petition')
    op.drop_table('routing_rule')
    op.drop_table('department')
    op.drop_table('calendar_year')
    op.drop_table('calendar_day')

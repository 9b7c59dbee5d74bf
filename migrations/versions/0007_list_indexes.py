"""Indexes in the order the lists read: the inbox and the staff petition list.

The inbox reads a lane's pending tasks in due order from one partial index, replacing
ix_human_task_inbox (status, lane, department, due_at), whose range over two statuses could
not hand out tasks in due order, so every inbox page sorted its whole lane. The petition
list's index gains the id, its tie-breaker, so petitions created in the same instant need
no sort either.

Revision ID: 0007
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

PENDING = sa.text("status IN ('open', 'claimed')")


def upgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_inbox')
        batch_op.create_index('ix_human_task_queue', ['lane', 'department', 'due_at', 'created_at', 'id'], unique=False,
                              postgresql_where=PENDING, sqlite_where=PENDING)
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.drop_index('ix_petition_created')
        batch_op.create_index('ix_petition_created', ['created_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.drop_index('ix_petition_created')
        batch_op.create_index('ix_petition_created', ['created_at'], unique=False)
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_queue', postgresql_where=PENDING, sqlite_where=PENDING)
        batch_op.create_index('ix_human_task_inbox', ['status', 'lane', 'department', 'due_at'], unique=False)

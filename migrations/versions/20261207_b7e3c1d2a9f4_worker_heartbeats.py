"""worker heartbeats

Revision ID: b7e3c1d2a9f4
Revises: 4c2a9e1f7b3d
Create Date: 2026-12-07 14:00:00.000000

One row per running worker process, written after every pass: readiness and metrics
see a stalled worker. Downgrading drops the table (nothing but the workers' last
heartbeats is lost; they write it again on their next pass).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e3c1d2a9f4'
down_revision = '4c2a9e1f7b3d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('worker_heartbeats',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('host', sa.String(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ok_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pass_seconds', sa.Float(), nullable=False),
    sa.Column('interval_seconds', sa.Float(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('passes', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_worker_heartbeats'))
    )
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_worker_heartbeats_beat_at'), ['beat_at'], unique=False)


def downgrade():
    with op.batch_alter_table('worker_heartbeats', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worker_heartbeats_beat_at'))

    op.drop_table('worker_heartbeats')

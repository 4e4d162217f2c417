"""lead reviewers and contested items

Revision ID: d13c0a5e5f03
Revises: d13b0d0c5f02
Create Date: 2026-12-07 14:59:47.327379

``users.lead_reviewer``: a lead reviewer may act on requests another reviewer holds and
hand them between reviewers (false for everyone until an administrator sets it).
``item_disputes``: the items an agency contests in each dispute, with the reviewer's
answer to each. Downgrading drops both (the per-item disputes and answers are lost; the
dispute and answer events on each request's audit chain keep what they said).
"""
from alembic import op
import sqlalchemy as sa

import portal.models.columns


# revision identifiers, used by Alembic.
revision = 'd13c0a5e5f03'
down_revision = 'd13b0d0c5f02'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('item_disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('answer', sa.Enum('upheld', 'changed', name='disputeanswer', native_enum=False, length=10), nullable=True),
    sa.Column('answer_text', sa.Text(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', portal.models.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', portal.models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_item_disputes_answered_by_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['request_items.id'], name=op.f('fk_item_disputes_item_id_request_items')),
    sa.ForeignKeyConstraint(['request_id'], ['legal_requests.id'], name=op.f('fk_item_disputes_request_id_legal_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_disputes')),
    sa.UniqueConstraint('item_id', 'round', name=op.f('uq_item_disputes_item_id_round'))
    )
    with op.batch_alter_table('item_disputes', schema=None) as batch_op:
        batch_op.create_index('ix_item_disputes_request_round', ['request_id', 'round', 'item_id'], unique=False)

    # A plain ADD COLUMN (SQLite takes a constant default): batch mode would copy and
    # drop the users table, which the rows that refer to users forbid.
    op.add_column('users', sa.Column('lead_reviewer', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    # In place on SQLite (>= 3.35), for the same reason as the upgrade.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("ALTER TABLE users DROP COLUMN lead_reviewer")
    else:
        op.drop_column('users', 'lead_reviewer')

    with op.batch_alter_table('item_disputes', schema=None) as batch_op:
        batch_op.drop_index('ix_item_disputes_request_round')

    op.drop_table('item_disputes')

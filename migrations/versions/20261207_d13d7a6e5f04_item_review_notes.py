"""item review notes and snapshot references

Revision ID: d13d7a6e5f04
Revises: d13c0a5e5f03
Create Date: 2026-12-07 15:10:00.000000

Two nullable columns on request_items: the reviewer's short note on the content and the
reference of a snapshot of it (issue 13, part 3). Downgrading drops both columns (and
every note and snapshot reference in them; the `item_noted` events keep their text).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd13d7a6e5f04'
down_revision = 'd13c0a5e5f03'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('request_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_note', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('snapshot_ref', sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table('request_items', schema=None) as batch_op:
        batch_op.drop_column('snapshot_ref')
        batch_op.drop_column('review_note')

"""reviewer jurisdictions

Revision ID: e13a0b1c2d02
Revises: d15a1157f007
Create Date: 2026-12-07 18:00:00.000000

The jurisdictions each legal reviewer covers (issue 13): a new request's notice goes to
the reviewers who cover its jurisdiction and to those who cover all (no row). Downgrading
drops the table: every reviewer's coverage is lost, and every reviewer is told of every
new request again.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'e13a0b1c2d02'
down_revision = 'd15a1157f007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reviewer_jurisdictions',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reviewer_jurisdictions_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'country', name=op.f('pk_reviewer_jurisdictions'))
    )
    with op.batch_alter_table('reviewer_jurisdictions', schema=None) as batch_op:
        batch_op.create_index('ix_reviewer_jurisdictions_country', ['country', 'user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('reviewer_jurisdictions', schema=None) as batch_op:
        batch_op.drop_index('ix_reviewer_jurisdictions_country')

    op.drop_table('reviewer_jurisdictions')

"""audit checkpoints: where a verification left the record intact, for `audit verify --since`

Revision ID: d15b0c057f08
Revises: d13d7a6e5f04
Create Date: 2026-12-07 15:10:00

"""
from alembic import op
import sqlalchemy as sa

import portal.models.columns


# revision identifiers, used by Alembic.
revision = 'd15b0c057f08'
down_revision = 'd13d7a6e5f04'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('taken_at', portal.models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_gseq', sa.BigInteger(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('head', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints'))
    )


def downgrade():
    # Drops: table audit_checkpoints (every row in it: the next `audit verify --since`
    # finds no checkpoint and asks for a full verify first).
    op.drop_table('audit_checkpoints')

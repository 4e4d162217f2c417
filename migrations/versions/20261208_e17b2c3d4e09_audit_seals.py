"""audit seals: each request's head as the newest checkpoint found it intact, so that
``audit verify --since`` compares one digest computed by PostgreSQL per unchanged request
instead of reading and hashing its newest event again (42 s over 234,078 requests), and
the checkpoint's digest of those seals (covered by its signature).

Downgrade drops the table audit_seals (every row in it: the next `--since` reads every
unchanged request's newest event, as before) and the column audit_checkpoints.seals.

Revision ID: e17b2c3d4e09
Revises: e16c4d5e6f07
Create Date: 2026-12-08 02:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e17b2c3d4e09'
down_revision = 'e16c4d5e6f07'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_seals',
    sa.Column('request_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seal', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_audit_seals'))
    )
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seals', sa.String(length=64), nullable=True))


def downgrade():
    # Drops: the checkpoints' digest of their seals (a checkpoint written with seals no
    # longer matches its signature, so `--since` asks for a full verify first) and
    # every seal (derived from the rows: nothing of the record is lost).
    op.drop_column('audit_checkpoints', 'seals')
    op.drop_table('audit_seals')

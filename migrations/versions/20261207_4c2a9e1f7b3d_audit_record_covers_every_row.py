"""audit record covers every row: global event sequence, snapshots, digests

Revision ID: 4c2a9e1f7b3d
Revises: f052143bcf7e
Create Date: 2026-12-07 10:00:00.000000

Events written before this revision keep their rule (``chain_version`` 1) and verify as
they always did; they are numbered into the new global sequence in the order they were
written (by id), so a deleted old event leaves a gap too. Requests get their digests the
first time an event is appended to them after the upgrade (or the first sweep that
alerts on them), computed from their rows at that moment.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy import Text  # autogenerate writes JSONB(astext_type=Text())


# revision identifiers, used by Alembic.
revision = '4c2a9e1f7b3d'
down_revision = 'f052143bcf7e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_ledger',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_gseq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_ledger'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_version', sa.SmallInteger(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('gseq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('snapshot', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True))

    # Number the existing events in the order they were written (one statement; SQLite
    # 3.33+ and PostgreSQL both take UPDATE ... FROM), and start the ledger after them.
    op.execute(
        "UPDATE events SET gseq = numbered.n FROM "
        "(SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM events) AS numbered "
        "WHERE numbered.id = events.id"
    )
    op.execute("INSERT INTO audit_ledger (id, last_gseq) SELECT 1, COUNT(*) FROM events")

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.alter_column('gseq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_index(batch_op.f('ix_events_gseq'), ['gseq'], unique=True)

    with op.batch_alter_table('legal_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('record_digests', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('item_buckets', sa.Text(), nullable=True))


def downgrade():
    # Events written under rule 2 do not verify under the old code's rule: a downgrade
    # keeps the rows but gives up verifying them.
    if op.get_bind().dialect.name == "sqlite":
        # Batch mode would recreate legal_requests, which fails while other tables' rows
        # refer to it (foreign keys are on); SQLite 3.35+ drops a plain column in place.
        op.execute("ALTER TABLE legal_requests DROP COLUMN item_buckets")
        op.execute("ALTER TABLE legal_requests DROP COLUMN record_digests")
    else:
        op.drop_column('legal_requests', 'item_buckets')
        op.drop_column('legal_requests', 'record_digests')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_gseq'))
        batch_op.drop_column('snapshot')
        batch_op.drop_column('gseq')
        batch_op.drop_column('chain_version')

    op.drop_table('audit_ledger')

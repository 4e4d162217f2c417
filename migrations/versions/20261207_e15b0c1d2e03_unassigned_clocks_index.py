"""unassigned clocks index: ``sla_clocks.unassigned`` (nobody holds the request, copied
from ``legal_requests.assigned_reviewer_id`` here once, then kept by the clock service in
the transaction that assigns a request or writes a clock) and a partial index on the
running clocks of unassigned requests in deadline order, so the review queue's
unassigned tab is an index walk of one page on PostgreSQL too (it sorted every
unassigned request's clock: 529 ms at 1M requests). The flag marks running clocks only:
with "open_due_at IS NOT NULL" beside it the planner multiplied two selectivities and
sorted again.

Downgrade drops the index and the column unassigned (derived from
legal_requests.assigned_reviewer_id: nothing is lost).

Revision ID: e15b0c1d2e03
Revises: e13a0b1c2d02
Create Date: 2026-12-07 18:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e15b0c1d2e03'
down_revision = 'e13a0b1c2d02'
branch_labels = None
depends_on = None

SQLITE_WHERE = "unassigned = 1"
POSTGRESQL_WHERE = "unassigned"


def upgrade():
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unassigned', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    # The index before the rows it covers: built after an UPDATE in the same transaction,
    # PostgreSQL would not use it until every transaction older than it had ended
    # (pg_index.indcheckxmin).
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.create_index('ix_sla_clocks_unassigned', ['open_due_at', 'id'], unique=False,
                              sqlite_where=sa.text(SQLITE_WHERE),
                              postgresql_where=sa.text(POSTGRESQL_WHERE))
    # Running clocks only (the flag marks nothing else).
    op.execute("UPDATE sla_clocks SET unassigned = (SELECT legal_requests.assigned_reviewer_id"
               " IS NULL FROM legal_requests WHERE legal_requests.id = sla_clocks.request_id)"
               " WHERE open_due_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_clocks_unassigned', sqlite_where=sa.text(SQLITE_WHERE),
                            postgresql_where=sa.text(POSTGRESQL_WHERE))
    # In place (SQLite 3.35+ drops a column without rebuilding the table).
    op.drop_column('sla_clocks', 'unassigned')

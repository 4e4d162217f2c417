"""clock holder index: ``sla_clocks.holder_id`` (who holds the request, copied from
``legal_requests.assigned_reviewer_id`` onto its running clocks here once, then kept by
the clock service in the transaction that assigns a request or writes a clock, as
``sla_clocks.unassigned`` is) and a partial index on the running clocks of held requests
that are not waiting for the agency, by holder and deadline. The reviewer's start page
counts their requests due within the hour on it: walking the reviewer's requests read
every one waiting for an answer first (56 ms of SQL at 1M requests on SQLite for one
reviewer holding 25,000 of them).

Downgrade drops the index and the column holder_id (derived from
legal_requests.assigned_reviewer_id: nothing is lost).

Revision ID: e16c4d5e6f07
Revises: e15d4e5f6a07
Create Date: 2026-12-07 23:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e16c4d5e6f07'
down_revision = 'e15d4e5f6a07'
branch_labels = None
depends_on = None

#: As ``portal.models.sla.HELD_NOT_WAITING`` was written when this ran.
HELD_NOT_WAITING = "holder_id IS NOT NULL AND (paused_at IS NULL OR paused_at > open_due_at)"


def upgrade():
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder_id', sa.Integer(), nullable=True))
    # The index before the rows it covers: built after an UPDATE in the same transaction,
    # PostgreSQL would not use it until every transaction older than it had ended
    # (pg_index.indcheckxmin).
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.create_index('ix_sla_clocks_holder_due', ['holder_id', 'open_due_at'],
                              unique=False, sqlite_where=sa.text(HELD_NOT_WAITING),
                              postgresql_where=sa.text(HELD_NOT_WAITING))
    # Running clocks only (the copy marks nothing else).
    op.execute("UPDATE sla_clocks SET holder_id = (SELECT legal_requests.assigned_reviewer_id"
               " FROM legal_requests WHERE legal_requests.id = sla_clocks.request_id)"
               " WHERE open_due_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_clocks_holder_due', sqlite_where=sa.text(HELD_NOT_WAITING),
                            postgresql_where=sa.text(HELD_NOT_WAITING))
    # In place (SQLite 3.35+ drops a column without rebuilding the table).
    op.drop_column('sla_clocks', 'holder_id')

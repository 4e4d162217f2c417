"""open clockless index: the queue's last part (open requests no policy sets a deadline
for, oldest first) reads a partial index of exactly those requests, in (received_at, id)
order, with the reviewer beside them so that a tab's condition is checked in the index.
The index it replaces held every request without a running clock, closed ones included
(900,000 of 1,000,000), so PostgreSQL judged it large and walked every unassigned request
through the reviewer index instead (64 ms at 1M requests for the unassigned tab's last
page, which found none).

The open states are written out here as the model's index writes them; a new open state
needs a migration of this index (tests/functional/test_unassigned_queue.py compares them).

Downgrade puts the former index back (indexes only: nothing is lost).

Revision ID: e15c2d3e4f06
Revises: e14f0a1b2c01
Create Date: 2026-12-07 20:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e15c2d3e4f06'
down_revision = 'e14f0a1b2c01'
branch_labels = None
depends_on = None

OPEN_CLOCKLESS = ("running_clocks = 0 AND state IN "
                  "('received', 'legal_review', 'awaiting_info', 'disputed')")
CLOCKLESS = "running_clocks = 0"


def upgrade():
    # Plain CREATE/DROP INDEX, not a batch operation: on SQLite a batch could rebuild
    # legal_requests and lose the order-line search triggers.
    op.create_index('ix_legal_requests_open_clockless', 'legal_requests',
                    ['received_at', 'id', 'assigned_reviewer_id'], unique=False,
                    sqlite_where=sa.text(OPEN_CLOCKLESS),
                    postgresql_where=sa.text(OPEN_CLOCKLESS))
    op.drop_index('ix_legal_requests_clockless', table_name='legal_requests',
                  sqlite_where=sa.text(CLOCKLESS), postgresql_where=sa.text(CLOCKLESS))


def downgrade():
    op.create_index('ix_legal_requests_clockless', 'legal_requests',
                    ['state', 'received_at', 'id'], unique=False,
                    sqlite_where=sa.text(CLOCKLESS), postgresql_where=sa.text(CLOCKLESS))
    op.drop_index('ix_legal_requests_open_clockless', table_name='legal_requests',
                  sqlite_where=sa.text(OPEN_CLOCKLESS), postgresql_where=sa.text(OPEN_CLOCKLESS))

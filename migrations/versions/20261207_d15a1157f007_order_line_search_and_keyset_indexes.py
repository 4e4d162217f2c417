"""order line search and keyset indexes: requests found by their order number
("W.P.(C) 1234/2026"), issuing authority and description through an index (an FTS5
table kept by triggers on SQLite; pg_trgm's GIN index on PostgreSQL), and an index on
(state, id) for the API's list filtered by state, newest first.

On SQLite the triggers live on ``legal_requests``: a later migration that rebuilds that
table in batch mode (copy and move) drops them, and must create them again
(``tests/functional/test_search.py`` checks they exist at head).

Also: ``legal_requests.running_clocks``, how many of a request's clocks run (counted
here once, then kept by the clock service in the transaction that starts or stops one),
so the queue finds open requests without a running clock through an index; a partial
index on running clocks that wait for the agency; (agency_id, state) for the agency's
"waiting for your answer" count.

Downgrade drops the FTS5 table and its triggers (SQLite), the trigram index
(PostgreSQL; the pg_trgm extension is left, other objects may use it), the indexes and
the column running_clocks (a count derived from sla_clocks: nothing is lost).

Revision ID: d15a1157f007
Revises: d15b0c057f08
Create Date: 2026-12-07 15:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd15a1157f007'
down_revision = 'd15b0c057f08'
branch_labels = None
depends_on = None

COLUMNS = ("order_reference", "issuing_authority", "description")
WAITING = "open_due_at IS NOT NULL AND paused_at IS NOT NULL"
CLOCKLESS = "running_clocks = 0"


def _fts_sqlite() -> list[str]:
    cols = ", ".join(COLUMNS)
    new = ", ".join(f"new.{c}" for c in COLUMNS)
    old = ", ".join(f"old.{c}" for c in COLUMNS)
    return [
        # External content: the text stays in legal_requests, the table holds the index.
        f"CREATE VIRTUAL TABLE request_search USING fts5({cols}, "
        "content='legal_requests', content_rowid='id')",
        f"CREATE TRIGGER request_search_ai AFTER INSERT ON legal_requests BEGIN "
        f"INSERT INTO request_search(rowid, {cols}) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER request_search_ad AFTER DELETE ON legal_requests BEGIN "
        f"INSERT INTO request_search(request_search, rowid, {cols}) "
        f"VALUES ('delete', old.id, {old}); END",
        f"CREATE TRIGGER request_search_au AFTER UPDATE OF {cols} ON legal_requests BEGIN "
        f"INSERT INTO request_search(request_search, rowid, {cols}) "
        f"VALUES ('delete', old.id, {old}); "
        f"INSERT INTO request_search(rowid, {cols}) VALUES (new.id, {new}); END",
        "INSERT INTO request_search(request_search) VALUES ('rebuild')",
    ]


def upgrade():
    # Columns and indexes first: a batch operation after the triggers could rebuild the
    # table on SQLite, and drop them.
    with op.batch_alter_table('legal_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('running_clocks', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.create_index('ix_legal_requests_state_id', ['state', 'id'], unique=False)
    # Every request's running clocks, counted once; services.clocks keeps it from here.
    op.execute("UPDATE legal_requests SET running_clocks = (SELECT count(*) FROM sla_clocks"
               " WHERE sla_clocks.request_id = legal_requests.id"
               " AND sla_clocks.open_due_at IS NOT NULL)")
    with op.batch_alter_table('legal_requests', schema=None) as batch_op:
        batch_op.create_index('ix_legal_requests_clockless', ['state', 'received_at', 'id'],
                              unique=False, sqlite_where=sa.text(CLOCKLESS),
                              postgresql_where=sa.text(CLOCKLESS))
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.create_index('ix_sla_clocks_waiting', ['open_due_at', 'id'], unique=False,
                              sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING))
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _fts_sqlite():
            op.execute(statement)
    elif dialect == "postgresql":
        # Trusted since PostgreSQL 13: the database's owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        ops = ", ".join(f"{c} gin_trgm_ops" for c in COLUMNS)
        op.execute(f"CREATE INDEX ix_legal_requests_order_line_trgm ON legal_requests "
                   f"USING gin ({ops})")


def downgrade():
    dialect = op.get_bind().dialect.name
    # The triggers first: the batch operations below may rebuild the table on SQLite.
    if dialect == "sqlite":
        for trigger in ("request_search_ai", "request_search_ad", "request_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS request_search")
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_clocks_waiting', sqlite_where=sa.text(WAITING),
                            postgresql_where=sa.text(WAITING))
    with op.batch_alter_table('legal_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_legal_requests_clockless', sqlite_where=sa.text(CLOCKLESS),
                            postgresql_where=sa.text(CLOCKLESS))
        batch_op.drop_index('ix_legal_requests_state_id')
    # In place (SQLite 3.35+ drops a column without rebuilding the table, which other
    # tables' foreign keys would refuse).
    op.drop_column('legal_requests', 'running_clocks')
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_legal_requests_order_line_trgm")

"""report facts: one row of figures per request (``request_facts``: items by action,
scope and no-action reason, times to act and to confirm receipt, the SLA outcome, the
resolve clock as compliance reads it, disputes) and their sums per day of receipt and
grouping key (``report_days``), so that the transparency report, the DSA orders table and
the compliance page read narrow rows instead of every item.

Both are filled here from the requests, their items, resolve clocks and audit events;
``services/report_facts`` keeps them from then on, in the transaction of each change.
``backfill(bind)`` is the same SQL the benchmark runs on the rows it seeds.

On SQLite ``request_facts`` is a table without rowid keyed by (received_at, request_id),
so a period's rows are stored together.

Downgrade drops the tables report_days and request_facts (derived data: nothing is lost).

Revision ID: e14f0a1b2c01
Revises: e15b0c1d2e03
Create Date: 2026-12-07 18:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portal.models.columns import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'e14f0a1b2c01'
down_revision = 'e15b0c1d2e03'
branch_labels = None
depends_on = None

# The vocabulary as it stands at this revision (a later code needs a later migration).
ACTIONS = ("removed", "disabled", "withheld", "demoted", "age_restricted",
           "interaction_restricted", "labelled", "account_suspended", "account_terminated")
#: Older decision codes and the current one each is counted as.
OLDER = {"withheld_in_country": "withheld", "account_read_only": "interaction_restricted",
         "visibility_restricted": "demoted"}
REASONS = ("not_found", "already_removed", "not_enough_information", "invalid_order",
           "issuer_not_competent", "not_unlawful", "disproportionate", "pending_court")
FIGURES = (
    "requests", "items", "pending", "acted",
    *(f"actioned_{a}" for a in ACTIONS), "actioned_global",
    *(f"no_action_{r}" for r in REASONS), "no_action_unspecified",
    "sla_met", "sla_breached", "sla_declined",
    "disputes", "disputes_revised", "disputes_upheld", "disputes_pending",
)
KEY = ("agency_id", "jurisdiction", "category", "priority", "instrument")
RUNNING = "sla_running_due_at IS NOT NULL"


def _figures() -> list[sa.Column]:
    return [sa.Column(name, sa.Integer(), server_default="0", nullable=False)
            for name in FIGURES]


def upgrade():
    op.create_table(
        'request_facts',
        sa.Column('received_at', UTCDateTime(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('jurisdiction', sa.String(length=2), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('priority', sa.String(length=16), nullable=False),
        sa.Column('instrument', sa.String(length=300), nullable=False),
        sa.Column('order_type', sa.String(length=8), nullable=False),
        sa.Column('act_seconds', sa.Float(), nullable=True),
        sa.Column('confirm_seconds', sa.Float(), nullable=True),
        sa.Column('sla_outcome', sa.String(length=10), nullable=True),
        sa.Column('sla_running_due_at', UTCDateTime(), nullable=True),
        sa.Column('resolve_stopped_at', UTCDateTime(), nullable=True),
        sa.Column('resolve_policy', sa.String(length=64), nullable=True),
        sa.Column('resolve_source', sa.String(length=500), nullable=True),
        sa.Column('resolve_seconds', sa.Float(), nullable=True),
        *_figures(),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'],
                                name=op.f('fk_request_facts_agency_id_agencies')),
        sa.ForeignKeyConstraint(['request_id'], ['legal_requests.id'], ondelete='CASCADE',
                                name=op.f('fk_request_facts_request_id_legal_requests')),
        sa.PrimaryKeyConstraint('received_at', 'request_id', name=op.f('pk_request_facts')),
        sqlite_with_rowid=False,
    )
    op.create_index('ux_request_facts_request', 'request_facts', ['request_id'], unique=True)
    op.create_index('ix_request_facts_resolved', 'request_facts',
                    ['resolve_stopped_at', 'jurisdiction', 'resolve_policy', 'sla_outcome',
                     'resolve_source', 'resolve_seconds'], unique=False)
    op.create_index('ix_request_facts_running_due', 'request_facts', ['sla_running_due_at'],
                    unique=False, sqlite_where=sa.text(RUNNING),
                    postgresql_where=sa.text(RUNNING))
    op.create_table(
        'report_days',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('jurisdiction', sa.String(length=2), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('priority', sa.String(length=16), nullable=False),
        sa.Column('instrument', sa.String(length=300), nullable=False),
        *_figures(),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'],
                                name=op.f('fk_report_days_agency_id_agencies')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_days')),
        sa.UniqueConstraint('day', *KEY,
                            name=op.f('uq_report_days_day_agency_id_jurisdiction_category_'
                                      'priority_instrument')),
    )
    backfill(op.get_bind())


def backfill(bind) -> None:
    """Fill both tables from the requests, items, resolve clocks and events (empty
    tables expected)."""
    postgres = bind.dialect.name == "postgresql"

    def seconds(start: str, end: str) -> str:
        if postgres:
            return f"EXTRACT(EPOCH FROM ({end} - {start}))"
        # julianday is exact to about a millisecond: rounded there.
        return f"ROUND((julianday({end}) - julianday({start})) * 86400.0, 3)"

    def codes(values) -> str:
        return ", ".join(f"'{v}'" for v in values)

    def counted(condition: str) -> str:
        return f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END)"

    def actioned(action: str) -> str:
        older = [o for o, current in OLDER.items() if current == action]
        return counted(f"decision IN ({codes([action, *older])})")

    acted = "decision IS NOT NULL AND decision <> 'no_action'"
    items = [
        f"{counted('decision IS NULL')} AS pending",
        *(f"{actioned(a)} AS actioned_{a}" for a in ACTIONS),
        f"{counted(acted + ' AND territorial_scope = ' + codes(['global']))} AS actioned_global",
        *(f"{counted('decision = ' + codes(['no_action']) + ' AND no_action_reason = ' + codes([r]))}"
          f" AS no_action_{r}" for r in REASONS),
        f"{counted('decision = ' + codes(['no_action']) + ' AND no_action_reason IS NULL')}"
        " AS no_action_unspecified",
    ]
    item_names = ["pending", *(f"actioned_{a}" for a in ACTIONS), "actioned_global",
                  *(f"no_action_{r}" for r in REASONS), "no_action_unspecified"]
    outcome = ("CASE WHEN r.resolution = 'declined' THEN 'declined' "
               "WHEN r.resolution = 'withdrawn' THEN 'withdrawn' "
               "WHEN c.stopped_at IS NULL THEN NULL "
               "WHEN coalesce(c.paused_at, c.stopped_at) <= c.due_at THEN 'met' "
               "ELSE 'breached' END")
    start = "coalesce(r.order_received_at, r.received_at)"

    def events(trigger: str) -> str:
        return (f"(SELECT count(*) FROM events e WHERE e.request_id = r.id "
                f"AND e.trigger = '{trigger}')")

    columns = {
        "received_at": "r.received_at", "request_id": "r.id", "agency_id": "r.agency_id",
        "jurisdiction": "r.jurisdiction", "category": "r.category",
        "priority": "r.priority", "instrument": "r.legal_statute",
        "order_type": f"CASE WHEN r.requested_action IN ({codes(['preserve_data', 'disclose_data'])}) "
                      "THEN 'art_10' ELSE 'art_9' END",
        "act_seconds": seconds(start, "r.first_effect_at"),
        "confirm_seconds": seconds(start, "r.receipt_confirmed_at"),
        "sla_outcome": outcome,
        "sla_running_due_at": "CASE WHEN c.paused_at IS NULL THEN c.open_due_at END",
        "resolve_stopped_at": "c.stopped_at", "resolve_policy": "c.policy_code",
        "resolve_source": "c.source",
        "resolve_seconds": seconds("r.received_at", "c.stopped_at"),
        "requests": "1", "items": "r.item_count",
        "acted": "CASE WHEN r.first_effect_at IS NOT NULL THEN 1 ELSE 0 END",
        **{name: f"coalesce(i.{name}, 0)" for name in item_names},
        "sla_met": f"CASE WHEN {outcome} = 'met' THEN 1 ELSE 0 END",
        "sla_breached": f"CASE WHEN {outcome} = 'breached' THEN 1 ELSE 0 END",
        "sla_declined": f"CASE WHEN {outcome} = 'declined' THEN 1 ELSE 0 END",
        "disputes": events("dispute"), "disputes_revised": events("revise"),
        "disputes_upheld": events("uphold"),
        "disputes_pending": "CASE WHEN r.state = 'disputed' THEN 1 ELSE 0 END",
    }
    bind.execute(sa.text(
        f"INSERT INTO request_facts ({', '.join(columns)}) "
        f"SELECT {', '.join(columns.values())} FROM legal_requests r "
        "LEFT JOIN sla_clocks c ON c.request_id = r.id AND c.target = 'resolve' "
        f"LEFT JOIN (SELECT request_id, {', '.join(items)} FROM request_items "
        "GROUP BY request_id) i ON i.request_id = r.id"
    ))
    day = ("CAST(received_at AT TIME ZONE 'UTC' AS DATE)" if postgres
           else "date(received_at)")
    sums = ", ".join(f"sum({name})" for name in FIGURES)
    bind.execute(sa.text(
        f"INSERT INTO report_days (day, {', '.join(KEY)}, {', '.join(FIGURES)}) "
        f"SELECT {day}, {', '.join(KEY)}, {sums} FROM request_facts "
        f"GROUP BY {day}, {', '.join(KEY)}"
    ))


def downgrade():
    op.drop_table('report_days')
    op.drop_index('ix_request_facts_running_due', table_name='request_facts',
                  sqlite_where=sa.text(RUNNING), postgresql_where=sa.text(RUNNING))
    op.drop_index('ix_request_facts_resolved', table_name='request_facts')
    op.drop_index('ux_request_facts_request', table_name='request_facts')
    op.drop_table('request_facts')

"""decisions the law can read: scope, ground, effect, restoration, user notice,
preservation; requested action and receipt confirmation

Existing data moves forward without losing its codes: the first release's decision codes
(withheld_in_country, account_read_only, visibility_restricted, …) stay valid, each the
same as one action of the new vocabulary (workflows.decisions.LEGACY). Every earlier
acted-on decision gets the legal record the request implied: scope = the request's
country, ground = its local law as the request cites it (statute, article), effect given
when it was decided. Earlier no-action decisions keep their free-text reason and get no
reason code. A request's receipt is confirmed when its review began (the time of its
begin_review event); the requested action of earlier requests stays unknown (NULL).

The audit record follows: events written from now on are rule 3 (workflows.audit), whose
item digest covers these columns; `audit verify` checks the values this revision wrote
against the same rule (workflows.audit.legacy_record, legacy_field) for decisions and
requests recorded before. Nothing here writes an event or a digest.

Revision ID: b7e4d2a91c08
Revises: b7e3c1d2a9f4
Create Date: 2026-12-07 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.columns


# revision identifiers, used by Alembic.
revision = 'b7e4d2a91c08'
down_revision = 'b7e3c1d2a9f4'
branch_labels = None
depends_on = None

ITEM_COLUMNS = (
    ('territorial_scope', sa.String(length=800)),
    ('scope_reason', sa.Text()),
    ('ground', sa.Enum('local_law', 'platform_rules', name='ground', native_enum=False,
                       length=16)),
    ('ground_statute', sa.String(length=300)),
    ('ground_article', sa.String(length=100)),
    ('effect_given_at', portal.models.columns.UTCDateTime(timezone=True)),
    ('suspended_until', portal.models.columns.UTCDateTime(timezone=True)),
    ('no_action_reason', sa.Enum('not_found', 'already_removed', 'not_enough_information',
                                 'invalid_order', 'issuer_not_competent', 'not_unlawful',
                                 'disproportionate', 'pending_court', name='noactionreason',
                                 native_enum=False, length=32)),
    ('preserved_until', portal.models.columns.UTCDateTime(timezone=True)),
    ('restored_at', portal.models.columns.UTCDateTime(timezone=True)),
    ('restored_reason', sa.Enum('order_annulled', 'complaint_upheld', name='restorereason',
                                native_enum=False, length=24)),
    ('restored_note', sa.Text()),
    ('user_notified_at', portal.models.columns.UTCDateTime(timezone=True)),
    ('notice_deferred_until', portal.models.columns.UTCDateTime(timezone=True)),
    ('notice_deferral_basis', sa.Enum('tco_art_11_3', 'dsa_art_9_5', 'court_gag_order',
                                      name='noticedeferral', native_enum=False, length=24)),
    ('notice_alert_at', portal.models.columns.UTCDateTime(timezone=True)),
)
REQUEST_COLUMNS = (
    ('requested_action', sa.Enum('remove', 'withhold_in_country', 'preserve_data',
                                 'disclose_data', name='requestedaction', native_enum=False,
                                 length=24)),
    ('receipt_confirmed_at', portal.models.columns.UTCDateTime(timezone=True)),
)


def upgrade():
    with op.batch_alter_table('legal_requests', schema=None) as batch_op:
        for name, type_ in REQUEST_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table('request_items', schema=None) as batch_op:
        for name, type_ in ITEM_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.create_index('ix_request_items_notice_alert', ['notice_alert_at'],
                              unique=False,
                              sqlite_where=sa.text('notice_alert_at IS NOT NULL'),
                              postgresql_where=sa.text('notice_alert_at IS NOT NULL'))

    # Earlier acted-on decisions: in the requesting country, on its law, from the time
    # decided (correlated subqueries: the same statement on SQLite and PostgreSQL).
    op.execute(
        "UPDATE request_items SET "
        "territorial_scope = (SELECT r.jurisdiction FROM legal_requests r "
        "WHERE r.id = request_items.request_id), "
        "ground = 'local_law', "
        "ground_statute = (SELECT NULLIF(r.legal_statute, '') FROM legal_requests r "
        "WHERE r.id = request_items.request_id), "
        "ground_article = (SELECT NULLIF(r.legal_article, '') FROM legal_requests r "
        "WHERE r.id = request_items.request_id), "
        "effect_given_at = decided_at "
        "WHERE decision IS NOT NULL AND decision <> 'no_action'"
    )
    # Receipt was confirmed when the review began.
    op.execute(
        "UPDATE legal_requests SET receipt_confirmed_at = (SELECT MIN(e.created_at) "
        "FROM events e WHERE e.request_id = legal_requests.id AND e.kind = 'transition' "
        "AND e.trigger = 'begin_review')"
    )


#: The first release's code for each action it did not know, for a downgrade: the old
#: code must read every decision (the mapping loses the finer action, as the dropped
#: columns lose the scope and ground).
BACK = {
    'withheld': 'withheld_in_country', 'disabled': 'withheld_in_country',
    'demoted': 'visibility_restricted', 'age_restricted': 'visibility_restricted',
    'interaction_restricted': 'account_read_only', 'account_terminated': 'account_suspended',
}


def downgrade():
    conn = op.get_bind()
    for new, old in BACK.items():
        conn.execute(sa.text("UPDATE request_items SET decision = :old WHERE decision = :new"),
                     {"old": old, "new": new})
    requests = sa.table('legal_requests', sa.column('id', sa.Integer),
                        sa.column('decision_counts', portal.models.columns.JSONType))
    for rid, counts in conn.execute(sa.select(requests.c.id, requests.c.decision_counts)):
        if not set(counts or {}) & set(BACK):
            continue
        recounted = {
            (decision or 'pending'): n for decision, n in conn.execute(sa.text(
                "SELECT decision, COUNT(*) FROM request_items WHERE request_id = :r "
                "GROUP BY decision"), {"r": rid})}
        conn.execute(requests.update().where(requests.c.id == rid)
                     .values(decision_counts=recounted))
    with op.batch_alter_table('request_items', schema=None) as batch_op:
        batch_op.drop_index('ix_request_items_notice_alert',
                            sqlite_where=sa.text('notice_alert_at IS NOT NULL'),
                            postgresql_where=sa.text('notice_alert_at IS NOT NULL'))
    # Dropped in place (SQLite 3.35+ and PostgreSQL): a batch rebuild of a table other
    # tables refer to fails on SQLite as soon as it holds rows. The decision codes need
    # no change: the old code reads every code it wrote, and the new ones only appear on
    # decisions made after the upgrade (docs/OPERATIONS.md says what a downgrade loses).
    for name, _ in reversed(ITEM_COLUMNS):
        op.drop_column('request_items', name)
    for name, _ in reversed(REQUEST_COLUMNS):
        op.drop_column('legal_requests', name)

"""requester type of an agency; a request's first effect; indexes for the reports

Agencies get a requester type (court, executive, police, regulator; NULL until an
administrator sets it): transparency reports group requests by it. Requests get
``first_effect_at``, the time their first acted-on item was given effect, kept with the
decision counts and filled here from the items: the reports time "receipt to effect"
without reading the items. Two indexes let the reports aggregate in SQL without reading
every row: resolve clocks by stop time (compliance over a period) and requests by receipt
(every report's period).

Downgrade drops the columns ``agencies.requester_type`` (the types administrators set are
lost) and ``legal_requests.first_effect_at`` (recomputable from the items), and the two
indexes.

Revision ID: d14a0e9f5f05
Revises: d13a0c0e5f01
Create Date: 2026-12-07 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd14a0e9f5f05'
down_revision = 'd13a0c0e5f01'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requester_type', sa.Enum(
            'court', 'executive', 'police', 'regulator', name='requestertype',
            native_enum=False, create_constraint=False, length=16), nullable=True))
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.create_index('ix_sla_clocks_target_stopped', ['target', 'stopped_at'],
                              unique=False)
    with op.batch_alter_table('legal_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_effect_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index('ix_legal_requests_received', ['received_at'], unique=False)
    # Every acted-on item records its effect (older ones since the decisions migration).
    op.execute(
        "UPDATE legal_requests SET first_effect_at = (SELECT min(request_items.effect_given_at) "
        "FROM request_items WHERE request_items.request_id = legal_requests.id "
        "AND request_items.decision IS NOT NULL AND request_items.decision <> 'no_action')")


def downgrade():
    with op.batch_alter_table('legal_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_legal_requests_received')
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_clocks_target_stopped')
    # Dropped in place (SQLite 3.35+ and PostgreSQL): a batch rebuild of a table other
    # tables refer to fails on SQLite as soon as it holds rows.
    op.drop_column('legal_requests', 'first_effect_at')
    op.drop_column('agencies', 'requester_type')

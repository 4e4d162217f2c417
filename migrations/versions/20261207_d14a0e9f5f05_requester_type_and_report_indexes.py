"""requester type of an agency; indexes for the transparency and compliance reports

Agencies get a requester type (court, executive, police, regulator; NULL until an
administrator sets it): transparency reports group requests by it. Two indexes let the
reports aggregate in SQL without reading every row: resolve clocks by stop time
(compliance over a period) and requests by receipt (every report's period).

Downgrade drops the column ``agencies.requester_type`` (the types administrators set are
lost) and the two indexes.

Revision ID: d14a0e9f5f05
Revises: c9c16c0324a9
Create Date: 2026-12-07 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd14a0e9f5f05'
down_revision = 'c9c16c0324a9'
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
        batch_op.create_index('ix_legal_requests_received', ['received_at'], unique=False)


def downgrade():
    with op.batch_alter_table('legal_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_legal_requests_received')
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_clocks_target_stopped')
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_column('requester_type')

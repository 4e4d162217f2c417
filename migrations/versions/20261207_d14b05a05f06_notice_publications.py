"""notice publications: a reviewer's decision to publish a request as a Lumen-style
notice, with the items and passages redacted and the notice as it left

Revision ID: d14b05a05f06
Revises: c9c16c0324a9
Create Date: 2026-12-07 15:00:00.000000

Downgrading drops the table: the record of which requests were published, by whom and
with what redacted, is lost (the notices already sent elsewhere are not recalled).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import portal.models.columns


# revision identifiers, used by Alembic.
revision = 'd14b05a05f06'
down_revision = 'c9c16c0324a9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notice_publications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', portal.models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('notice_type', sa.String(length=32), nullable=False),
    sa.Column('redacted_item_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('redacted_passages', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('notice', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_notice_publications_decided_by_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['legal_requests.id'], name=op.f('fk_notice_publications_request_id_legal_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_publications'))
    )
    with op.batch_alter_table('notice_publications', schema=None) as batch_op:
        batch_op.create_index('ix_notice_publications_request_decided', ['request_id', 'decided_at'], unique=False)


def downgrade():
    with op.batch_alter_table('notice_publications', schema=None) as batch_op:
        batch_op.drop_index('ix_notice_publications_request_decided')

    op.drop_table('notice_publications')

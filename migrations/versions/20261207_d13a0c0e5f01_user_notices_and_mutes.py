"""user notices and mutes

Revision ID: d13a0c0e5f01
Revises: d14b05a05f06
Create Date: 2026-12-07 15:00:00.000000

The in-app notices (what each person was told, read or not) and the kinds of notice
each person muted (issue 13); an index on an agency's requests by state. Downgrading drops both tables: every in-app notice and
every mute is lost (the mails already sent are in the outbox, ``notifications``).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'd13a0c0e5f01'
down_revision = 'd14b05a05f06'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('request_filed', 'urgent_filed', 'emergency_filed', 'info_requested', 'info_provided', 'outcome', 'disputed', 'withdrawn', 'sla_warning', 'sla_breach', name='noticekind', native_enum=False, create_constraint=False, length=32), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('reference', sa.String(length=20), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['legal_requests.id'], name=op.f('fk_user_notices_request_id_legal_requests')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_notices_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_notices')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_user_notices_dedup_key'))
    )
    with op.batch_alter_table('user_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_notices_request_id'), ['request_id'], unique=False)
        batch_op.create_index('ix_user_notices_user_created', ['user_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_user_notices_unread', ['user_id', 'kind'], unique=False, postgresql_where=sa.text('read_at IS NULL'), sqlite_where=sa.text('read_at IS NULL'))

    # An agency's requests in one state (its "waiting for your answer" count, on its list
    # and its start page) without reading every request it ever filed.
    with op.batch_alter_table('legal_requests', schema=None) as batch_op:
        batch_op.create_index('ix_legal_requests_agency_state', ['agency_id', 'state'], unique=False)

    op.create_table('notice_mutes',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('request_filed', 'urgent_filed', 'emergency_filed', 'info_requested', 'info_provided', 'outcome', 'disputed', 'withdrawn', 'sla_warning', 'sla_breach', name='noticekind', native_enum=False, create_constraint=False, length=32), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notice_mutes_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notice_mutes'))
    )


def downgrade():
    op.drop_table('notice_mutes')
    with op.batch_alter_table('legal_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_legal_requests_agency_state')
    with op.batch_alter_table('user_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_user_notices_unread', postgresql_where=sa.text('read_at IS NULL'), sqlite_where=sa.text('read_at IS NULL'))
        batch_op.drop_index('ix_user_notices_user_created')
        batch_op.drop_index(batch_op.f('ix_user_notices_request_id'))

    op.drop_table('user_notices')

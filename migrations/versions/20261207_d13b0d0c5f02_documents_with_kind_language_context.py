"""documents with a kind, a language and a context; agencies' verification evidence

A request holds several documents (the order, annexures, translations), each with a kind
and an ISO 639-1 language, and says when it came: with the filing, later, with a
clarification answer. An agency's verification evidence, sent at registration, is a
document of the agency (``agency_id``) without a request. Every existing row is the order
document of its request, filed with it (kind ``order``, context ``filing``, language not
stated).

Downgrade deletes the verification evidence rows (the older schema has no place for a
document without a request; their files stay in the store) and drops the new columns.

Revision ID: d13b0d0c5f02
Revises: d14a0e9f5f05
Create Date: 2026-12-07 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd13b0d0c5f02'
down_revision = 'd14a0e9f5f05'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agency_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('context', sa.String(length=16), nullable=True))
    op.execute("UPDATE attachments SET kind = 'order', context = 'filing'")
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column('context', existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column('request_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_attachments_agency_id'), ['agency_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_attachments_agency_id_agencies'),
                                    'agencies', ['agency_id'], ['id'])
        batch_op.create_check_constraint(
            'owner', sa.text('request_id IS NOT NULL OR agency_id IS NOT NULL'))


def downgrade():
    op.execute("DELETE FROM attachments WHERE request_id IS NULL")
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_attachments_owner'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_attachments_agency_id_agencies'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attachments_agency_id'))
        batch_op.alter_column('request_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('context')
        batch_op.drop_column('language')
        batch_op.drop_column('kind')
        batch_op.drop_column('agency_id')

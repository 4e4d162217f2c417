"""token scopes and expiry; sent mails forget their links

Revision ID: 153cfdf0c002
Revises: 8183d1a86885
Create Date: 2026-12-07 09:18:55.446388

Existing API tokens acted with every right of their user and never expired. They keep
working, with the scopes that cover what they could do ("read file act"), until 90 days
after this migration: their owners have that long to make scoped replacements
(docs/API.md). Password-reset, registration, invitation and account-setup mails already
sent (or given up) forget the link they carried, as new ones do once sent.
"""
from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

import portal.models.columns


# revision identifiers, used by Alembic.
revision = '153cfdf0c002'
down_revision = '8183d1a86885'
branch_labels = None
depends_on = None

#: Mail templates whose params hold a one-time link (as in portal/services/outbox.py).
_LINK_TEMPLATES = ("password_reset", "confirm_registration", "invitation",
                   "admin_account_created")


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', portal.models.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('scopes', sa.String(length=40), nullable=True))
    tokens = sa.table('api_tokens',
                      sa.column('expires_at', portal.models.columns.UTCDateTime(timezone=True)),
                      sa.column('scopes', sa.String(40)))
    op.execute(tokens.update().values(
        expires_at=datetime.now(UTC) + timedelta(days=90), scopes="read file act"))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=portal.models.columns.UTCDateTime(timezone=True), nullable=False)
        batch_op.alter_column('scopes', existing_type=sa.String(length=40), nullable=False)

    notes = sa.table('notifications', sa.column('id', sa.Integer()),
                     sa.column('template', sa.String(64)), sa.column('status', sa.String(16)),
                     sa.column('params', sa.JSON().with_variant(JSONB(), 'postgresql')))
    bind = op.get_bind()
    rows = bind.execute(sa.select(notes.c.id, notes.c.params).where(
        notes.c.template.in_(_LINK_TEMPLATES), notes.c.status.in_(("sent", "failed")))).all()
    for note_id, params in rows:
        if isinstance(params, dict) and "link" in params:
            kept = {k: v for k, v in params.items() if k != "link"}
            bind.execute(notes.update().where(notes.c.id == note_id).values(params=kept))


def downgrade():
    # The links dropped from sent mails are not brought back (they were one-time links).
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('scopes')
        batch_op.drop_column('expires_at')

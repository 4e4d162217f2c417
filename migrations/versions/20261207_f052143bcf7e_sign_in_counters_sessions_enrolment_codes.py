"""sign-in counters, session generations, enrolment codes

Revision ID: f052143bcf7e
Revises: e6aa6fcb6a25
Create Date: 2026-12-07 10:03:10.663403

Wrong passwords and wrong second-factor codes get a count and a time each (they slow
attempts down; no account is locked any more, so ``locked_until`` goes); each user gets a
session generation (sessions from before it changed end), and administrators' one-time
enrolment codes get a table. Sessions started before the upgrade carry no generation and
end: everyone signs in again once.
"""
from alembic import op
import sqlalchemy as sa

import portal.models.columns


# revision identifiers, used by Alembic.
revision = 'f052143bcf7e'
down_revision = 'e6aa6fcb6a25'
branch_labels = None
depends_on = None


NEW_USER_COLUMNS = ('login_failed_at', 'login_failures_mailed_at', 'failed_codes',
                    'code_failed_at', 'code_failures_mailed_at', 'session_generation')


def _drop_user_column(name):
    """Drop a column of ``users`` in place.

    Not through batch mode on SQLite: it rebuilds the table, and dropping the old
    ``users`` fails its foreign keys once other tables point at its rows (SQLite >= 3.35
    drops columns in place).
    """
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f"ALTER TABLE users DROP COLUMN {name}")
    else:
        op.drop_column('users', name)


def upgrade():
    op.create_table('enrolment_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', portal.models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', portal.models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', portal.models.columns.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_enrolment_codes_issued_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_enrolment_codes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolment_codes'))
    )
    op.create_index(op.f('ix_enrolment_codes_user_id'), 'enrolment_codes', ['user_id'], unique=False)

    # Added in place (ALTER TABLE ADD COLUMN) on every database.
    op.add_column('users', sa.Column('login_failed_at', portal.models.columns.UTCDateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('login_failures_mailed_at', portal.models.columns.UTCDateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('failed_codes', sa.Integer(), server_default='0', nullable=False))
    op.add_column('users', sa.Column('code_failed_at', portal.models.columns.UTCDateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('code_failures_mailed_at', portal.models.columns.UTCDateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
    _drop_user_column('locked_until')


def downgrade():
    op.add_column('users', sa.Column('locked_until', portal.models.columns.UTCDateTime(timezone=True), nullable=True))
    for name in reversed(NEW_USER_COLUMNS):
        _drop_user_column(name)
    op.drop_index(op.f('ix_enrolment_codes_user_id'), table_name='enrolment_codes')
    op.drop_table('enrolment_codes')

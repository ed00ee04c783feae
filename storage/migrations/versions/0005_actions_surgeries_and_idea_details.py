"""actions, surgeries and idea details

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('what', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('standard', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('done_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_by', sa.Integer(), nullable=True),
    sa.Column('done_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['done_by'], ['person.id'], name=op.f('fk_action_done_by_person')),
    sa.ForeignKeyConstraint(['owner_id'], ['person.id'], name=op.f('fk_action_owner_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action'))
    )
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_standard'), ['standard'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_status'), ['status'], unique=False)

    op.create_table('surgery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mp_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('logged_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['mp_id'], ['person.id'], name=op.f('fk_surgery_mp_id_person')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_surgery_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surgery'))
    )
    with op.batch_alter_table('surgery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_surgery_mp_id'), ['mp_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_surgery_service_id'), ['service_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_surgery_starts_at'), ['starts_at'], unique=False)

    op.create_table('action_suggestion',
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('suggestion_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['action.id'], name=op.f('fk_action_suggestion_action_id_action')),
    sa.ForeignKeyConstraint(['suggestion_id'], ['suggestion.id'], name=op.f('fk_action_suggestion_suggestion_id_suggestion')),
    sa.PrimaryKeyConstraint('action_id', 'suggestion_id', name=op.f('pk_action_suggestion'))
    )
    with op.batch_alter_table('action_suggestion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_suggestion_suggestion_id'), ['suggestion_id'], unique=False)

    with op.batch_alter_table('suggestion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymous', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('picture', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('concern', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('source', sa.String(length=20), nullable=False, server_default='idea'))
        batch_op.add_column(sa.Column('surgery_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_suggestion_surgery_id'), ['surgery_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_suggestion_surgery_id_surgery'), 'surgery', ['surgery_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('suggestion', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_suggestion_surgery_id_surgery'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_suggestion_surgery_id'))
        batch_op.drop_column('surgery_id')
        batch_op.drop_column('source')
        batch_op.drop_column('concern')
        batch_op.drop_column('picture')
        batch_op.drop_column('anonymous')

    with op.batch_alter_table('action_suggestion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_suggestion_suggestion_id'))

    op.drop_table('action_suggestion')
    with op.batch_alter_table('surgery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_surgery_starts_at'))
        batch_op.drop_index(batch_op.f('ix_surgery_service_id'))
        batch_op.drop_index(batch_op.f('ix_surgery_mp_id'))

    op.drop_table('surgery')
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_status'))
        batch_op.drop_index(batch_op.f('ix_action_standard'))
        batch_op.drop_index(batch_op.f('ix_action_owner_id'))

    op.drop_table('action')

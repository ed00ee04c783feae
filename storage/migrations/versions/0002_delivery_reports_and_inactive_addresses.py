"""delivery reports and inactive addresses

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('delivery_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('provider_id', sa.String(length=100), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error_code', sa.String(length=20), nullable=True),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_delivery_report_outbox_id_outbox')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_report')),
    sa.UniqueConstraint('channel', 'provider_id', name='uq_delivery_report_channel_provider_id')
    )
    with op.batch_alter_table('delivery_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_report_outbox_id'), ['outbox_id'], unique=False)

    with op.batch_alter_table('address', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inactive_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('inactive_at', storage.types.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider_answered', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('delivered_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbox_address_status', ['address', 'status', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_address_status')
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('delivery_status')

    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_column('provider_answered')

    with op.batch_alter_table('address', schema=None) as batch_op:
        batch_op.drop_column('inactive_at')
        batch_op.drop_column('inactive_reason')

    with op.batch_alter_table('delivery_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_report_outbox_id'))

    op.drop_table('delivery_report')

"""survey definition key

A key new for every survey saved, under which a process keeps the survey's questions in
memory once it has opened (they are written once and never changed).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.add_column(sa.Column('definition_key', sa.String(length=32), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.drop_column('definition_key')

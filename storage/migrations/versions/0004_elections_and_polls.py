"""elections and polls

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('election',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('constituency_id', sa.Integer(), nullable=True),
    sa.Column('electorate_kind', sa.String(length=20), nullable=False),
    sa.Column('electorate_value', sa.String(length=120), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('nominations_open_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('voting_opens_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('voting_closes_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminders', sa.JSON(), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('counted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('announced_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['constituency_id'], ['constituency.id'], name=op.f('fk_election_constituency_id_constituency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_election'))
    )
    with op.batch_alter_table('election', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_election_constituency_id'), ['constituency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_election_status'), ['status'], unique=False)

    op.create_table('candidate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('emoji', sa.String(length=20), nullable=False),
    sa.Column('picture', sa.String(length=500), nullable=True),
    sa.Column('change', sa.Text(), nullable=False),
    sa.Column('why', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('nominated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_candidate_election_id_election')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_candidate_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_candidate'))
    )
    with op.batch_alter_table('candidate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_candidate_election_id'), ['election_id'], unique=False)

    op.create_table('mp_term',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('constituency_id', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_early_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['constituency_id'], ['constituency.id'], name=op.f('fk_mp_term_constituency_id_constituency')),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_mp_term_election_id_election')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_mp_term_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mp_term'))
    )
    with op.batch_alter_table('mp_term', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mp_term_constituency_id'), ['constituency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mp_term_person_id'), ['person_id'], unique=False)

    op.create_table('roll',
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('voted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_roll_election_id_election')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_roll_person_id_person')),
    sa.PrimaryKeyConstraint('election_id', 'person_id', name=op.f('pk_roll'))
    )
    with op.batch_alter_table('roll', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roll_person_id'), ['person_id'], unique=False)

    op.create_table('ballot',
    sa.Column('receipt', sa.String(length=16), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidate.id'], name=op.f('fk_ballot_candidate_id_candidate')),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_ballot_election_id_election')),
    sa.PrimaryKeyConstraint('receipt', name=op.f('pk_ballot')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ballot_election_id'), ['election_id'], unique=False)

    op.create_table('election_result',
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.Column('place', sa.Integer(), nullable=False),
    sa.Column('elected', sa.Boolean(), nullable=False),
    sa.Column('by_lot', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidate.id'], name=op.f('fk_election_result_candidate_id_candidate')),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_election_result_election_id_election')),
    sa.PrimaryKeyConstraint('election_id', 'candidate_id', name=op.f('pk_election_result'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sensitive', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('sensitive')

    op.drop_table('election_result')
    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ballot_election_id'))

    op.drop_table('ballot')
    with op.batch_alter_table('roll', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roll_person_id'))

    op.drop_table('roll')
    with op.batch_alter_table('mp_term', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mp_term_person_id'))
        batch_op.drop_index(batch_op.f('ix_mp_term_constituency_id'))

    op.drop_table('mp_term')
    with op.batch_alter_table('candidate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_candidate_election_id'))

    op.drop_table('candidate')
    with op.batch_alter_table('election', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_election_status'))
        batch_op.drop_index(batch_op.f('ix_election_constituency_id'))

    op.drop_table('election')

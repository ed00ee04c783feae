"""surveys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('survey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('intro', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('opens_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closes_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('dont_know', sa.Boolean(), nullable=False),
    sa.Column('audience_kind', sa.String(length=20), nullable=False),
    sa.Column('audience_value', sa.String(length=120), nullable=False),
    sa.Column('reminders', sa.JSON(), nullable=False),
    sa.Column('translations', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opened_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey'))
    )
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_status'), ['status'], unique=False)

    op.create_table('survey_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('simpler', sa.Text(), nullable=True),
    sa.Column('standard', sa.String(length=20), nullable=True),
    sa.Column('translations', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_survey_question_survey_id_survey')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_question')),
    sa.UniqueConstraint('survey_id', 'position', name='uq_survey_question_position')
    )
    with op.batch_alter_table('survey_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_question_survey_id'), ['survey_id'], unique=False)

    op.create_table('survey_option',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('emoji', sa.String(length=20), nullable=False),
    sa.Column('picture', sa.String(length=500), nullable=True),
    sa.Column('value', sa.String(length=60), nullable=False),
    sa.Column('translations', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['survey_question.id'], name=op.f('fk_survey_option_question_id_survey_question')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_option')),
    sa.UniqueConstraint('question_id', 'number', name='uq_survey_option_number')
    )
    with op.batch_alter_table('survey_option', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_option_question_id'), ['question_id'], unique=False)

    op.create_table('survey_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('constituency_id', sa.Integer(), nullable=True),
    sa.Column('option_number', sa.Integer(), nullable=True),
    sa.Column('value', sa.String(length=60), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('answered_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['constituency_id'], ['constituency.id'], name=op.f('fk_survey_answer_constituency_id_constituency')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_survey_answer_person_id_person')),
    sa.ForeignKeyConstraint(['question_id'], ['survey_question.id'], name=op.f('fk_survey_answer_question_id_survey_question')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_survey_answer_service_id_service')),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_survey_answer_survey_id_survey')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_answer'))
    )
    with op.batch_alter_table('survey_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_answer_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_answer_question_id'), ['question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_answer_survey_id'), ['survey_id'], unique=False)

    op.create_table('survey_participant',
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('invited_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_survey_participant_person_id_person')),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_survey_participant_survey_id_survey')),
    sa.PrimaryKeyConstraint('survey_id', 'person_id', name=op.f('pk_survey_participant'))
    )
    with op.batch_alter_table('survey_participant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_participant_person_id'), ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('survey_participant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_participant_person_id'))

    op.drop_table('survey_participant')
    with op.batch_alter_table('survey_answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_answer_survey_id'))
        batch_op.drop_index(batch_op.f('ix_survey_answer_question_id'))
        batch_op.drop_index(batch_op.f('ix_survey_answer_person_id'))

    op.drop_table('survey_answer')
    with op.batch_alter_table('survey_option', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_option_question_id'))

    op.drop_table('survey_option')
    with op.batch_alter_table('survey_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_question_survey_id'))

    op.drop_table('survey_question')
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_status'))

    op.drop_table('survey')

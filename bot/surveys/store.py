"""Surveys in the database: a :class:`SurveyDef` saved as rows, and loaded back."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.conversation import Kind
from bot.surveys.definition import (
    Audience,
    AudienceKind,
    OptionDef,
    QuestionDef,
    SurveyDef,
)
from storage.tables import Survey, SurveyOption, SurveyQuestion, SurveyStatus


def save_survey(*, session: Session, survey: SurveyDef, now: datetime) -> int:
    """Store a new survey with its questions and options; returns its id."""
    status = SurveyStatus.SCHEDULED if survey.opens_at is not None else SurveyStatus.DRAFT
    row = Survey(
        title=survey.title,
        intro=survey.intro,
        status=status,
        opens_at=survey.opens_at,
        closes_at=survey.closes_at,
        anonymous=survey.anonymous,
        dont_know=survey.dont_know,
        audience_kind=str(survey.audience.kind),
        audience_value=survey.audience.value,
        reminders=[int(before.total_seconds()) for before in survey.reminders],
        translations={lang: dict(texts) for lang, texts in survey.translations.items()},
        created_at=now,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    for question in survey.questions:
        question_row = SurveyQuestion(
            survey_id=row.id,
            position=question.position,
            kind=str(question.kind),
            text=question.text,
            simpler=question.simpler,
            standard=question.standard,
            translations={lang: dict(texts) for lang, texts in question.translations.items()},
        )
        session.add(question_row)
        session.flush()
        assert question_row.id is not None
        for option in question.options:
            session.add(SurveyOption(
                question_id=question_row.id,
                number=option.number,
                label=option.label,
                emoji=option.emoji,
                picture=option.picture,
                value=option.value,
                translations=dict(option.labels),
            ))
    session.flush()
    return row.id


def load_survey(*, session: Session, survey_id: int) -> SurveyDef | None:
    """The survey as plain data, with its ids; None if there is no such survey."""
    row = session.get(Survey, survey_id)
    if row is None:
        return None
    question_rows = list(session.exec(
        select(SurveyQuestion).where(SurveyQuestion.survey_id == survey_id)
        .order_by(col(SurveyQuestion.position))
    ))
    ids = [q.id for q in question_rows]
    options: dict[int, list[SurveyOption]] = {}
    if ids:
        for option in session.exec(
            select(SurveyOption).where(col(SurveyOption.question_id).in_(ids))
            .order_by(col(SurveyOption.question_id), col(SurveyOption.number))
        ):
            options.setdefault(option.question_id, []).append(option)
    questions = tuple(
        QuestionDef(
            id=q.id,
            position=q.position,
            kind=Kind(q.kind),
            text=q.text,
            simpler=q.simpler,
            standard=q.standard,
            translations=q.translations,
            options=tuple(
                OptionDef(number=o.number, label=o.label, value=o.value, emoji=o.emoji,
                          picture=o.picture, labels=o.translations)
                for o in options.get(q.id or 0, [])
            ),
        )
        for q in question_rows
    )
    return SurveyDef(
        id=row.id,
        title=row.title,
        intro=row.intro,
        questions=questions,
        audience=Audience(kind=AudienceKind(row.audience_kind), value=row.audience_value),
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        anonymous=row.anonymous,
        dont_know=row.dont_know,
        reminders=tuple(timedelta(seconds=seconds) for seconds in row.reminders),
        translations=row.translations,
        status=row.status,
    )

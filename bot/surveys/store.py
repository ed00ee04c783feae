"""Surveys, their questions and options: saved from and loaded back into plain SurveyDefs."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from bot.conversation import Kind
from bot.surveys.definition import Audience, AudienceKind, OptionDef, QuestionDef, SurveyDef
from storage.survey_progress import SurveyRow
from storage.tables import Survey, SurveyOption, SurveyQuestion, SurveyStatus


def save_survey(*, session: Session, survey: SurveyDef, now: datetime) -> int:
    """Store ``survey`` with its questions and options as a new survey; returns its id.

    Reminders are stored as seconds before closing; translations as JSON, an option's
    labels in other languages in its own row.
    """
    status = survey.status
    if status == SurveyStatus.DRAFT and survey.opens_at is not None:
        status = SurveyStatus.SCHEDULED  # a survey with an opening time opens by itself
    row = Survey(
        title=survey.title,
        intro=survey.intro,
        status=status,
        opens_at=survey.opens_at,
        closes_at=survey.closes_at,
        anonymous=survey.anonymous,
        dont_know=survey.dont_know,
        audience_kind=survey.audience.kind.value,
        audience_value=survey.audience.value,
        reminders=[round(reminder.total_seconds()) for reminder in survey.reminders],
        translations=_plain(survey.translations),
        created_at=now,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    for question in survey.questions:
        question_row = SurveyQuestion(
            survey_id=row.id,
            position=question.position,
            kind=question.kind.value,
            text=question.text,
            simpler=question.simpler,
            standard=question.standard,
            translations=_plain(question.translations),
        )
        session.add(question_row)
        session.flush()
        assert question_row.id is not None
        session.add_all(
            SurveyOption(
                question_id=question_row.id,
                number=option.number,
                label=option.label,
                emoji=option.emoji,
                picture=option.picture,
                value=option.value,
                translations=dict(option.labels),
            )
            for option in question.options
        )
    session.flush()
    return row.id


SURVEYS_KEPT = 64
"""How many opened surveys a process keeps in memory once loaded."""
_kept: OrderedDict[tuple[int, str], SurveyDef] = OrderedDict()
_keeping = threading.Lock()


def load_survey(*, session: Session, survey_id: int, row: Survey | SurveyRow | None = None
                ) -> SurveyDef | None:
    """The survey as plain data, with its id, its questions' ids and its status; None if
    there is no such survey. ``row`` is the survey's row (or a person's open survey) when
    the caller has it already.

    A survey's title, words, questions and options are written once, when it is saved, and
    never changed; only its status and times change. So an opened survey is kept in memory,
    under the key it was saved with, and every message answering it spares three queries.
    A survey not yet opened is read each time: the transaction saving it may still be undone.
    """
    if row is None:
        row = session.get(Survey, survey_id)
        if row is None:
            return None
    key = (survey_id, row.definition_key) if row.opened_at and row.definition_key else None
    if key is not None:
        with _keeping:
            kept = _kept.get(key)
            if kept is not None:
                _kept.move_to_end(key)
        if kept is not None:
            if (kept.status, kept.opens_at, kept.closes_at) == (
                    row.status, row.opens_at, row.closes_at):
                return kept
            return replace(kept, status=row.status, opens_at=row.opens_at,
                           closes_at=row.closes_at)
    full = row if isinstance(row, Survey) else session.get(Survey, survey_id)
    if full is None:
        return None
    survey = SurveyDef(
        id=full.id,
        title=full.title,
        intro=full.intro,
        status=full.status,
        audience=Audience(kind=AudienceKind(full.audience_kind), value=full.audience_value),
        opens_at=full.opens_at,
        closes_at=full.closes_at,
        anonymous=full.anonymous,
        dont_know=full.dont_know,
        reminders=tuple(timedelta(seconds=seconds) for seconds in full.reminders),
        translations=_plain(full.translations),
        questions=_read_questions(session, survey_id),
    )
    if key is not None:
        with _keeping:
            _kept[key] = survey
            while len(_kept) > SURVEYS_KEPT:
                _kept.popitem(last=False)
    return survey


def _read_questions(session: Session, survey_id: int) -> tuple[QuestionDef, ...]:
    question_rows = session.exec(
        select(SurveyQuestion).where(SurveyQuestion.survey_id == survey_id)
        .order_by(col(SurveyQuestion.position))
    ).all()
    options: dict[int, list[OptionDef]] = {}
    for option in session.exec(
        select(SurveyOption)
        .where(col(SurveyOption.question_id).in_([q.id for q in question_rows]))
        .order_by(col(SurveyOption.question_id), col(SurveyOption.number))
    ):
        options.setdefault(option.question_id, []).append(OptionDef(
            number=option.number, label=option.label, value=option.value, emoji=option.emoji,
            picture=option.picture, labels=dict(option.translations),
        ))
    return tuple(
        QuestionDef(
            id=q.id,
            position=q.position,
            kind=Kind(q.kind),
            text=q.text,
            simpler=q.simpler,
            standard=q.standard,
            options=tuple(options.get(q.id, ())) if q.id is not None else (),
            translations=_plain(q.translations),
        )
        for q in question_rows
    )


def list_surveys(*, session: Session) -> list[Survey]:
    """Every survey, oldest first."""
    return list(session.exec(select(Survey).order_by(col(Survey.id))).all())


def set_times(
    *, session: Session, survey_id: int, opens_at: datetime | None, closes_at: datetime | None
) -> Survey:
    """Set when a survey opens and closes (aware datetimes).

    A survey not yet open becomes scheduled when it has an opening time and a draft when
    it has none; an open or closed survey keeps its status.
    """
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise ValueError("a survey must close after it opens")
    row = session.get_one(Survey, survey_id)
    row.opens_at, row.closes_at = opens_at, closes_at
    if row.status in (SurveyStatus.DRAFT, SurveyStatus.SCHEDULED):
        row.status = SurveyStatus.SCHEDULED if opens_at is not None else SurveyStatus.DRAFT
    session.add(row)
    session.flush()
    return row


def _plain(translations: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """Translations as plain dicts of text, by language, ready for a JSON column."""
    return {language: dict(texts) for language, texts in translations.items()}

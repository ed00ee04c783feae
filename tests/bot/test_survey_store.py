"""Surveys saved and loaded back: the same survey, on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update as sa_update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.surveys.definition import SurveyDef
from bot.surveys.invitations import close_survey, open_survey
from bot.surveys.loading import load_survey_yaml
from bot.surveys.store import list_surveys, load_survey, save_survey, set_times
from bot.surveys.templates import TEMPLATES, template_text
from storage.database import transaction
from storage.survey_progress import SurveyRow
from storage.tables import Survey, SurveyOption, SurveyQuestion

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")

SURVEY = """\
title: How are things?
intro: A few quick questions.
audience: {service: willow1}
opens: 2026-10-24 09:00
closes: 2026-10-26 09:00
anonymous: true
dont_know: false
reminders: [1 day, 90 minutes]
translations: {cy: {title: "Sut mae pethau?", intro: Ychydig o gwestiynau.}}
questions:
  - kind: scale
    text: How do you feel about your home?
    simpler: Do you like your home?
    standard: "1.1"
    options:
      - {number: 1, emoji: "😀", label: Happy, picture: happy.png}
      - {number: 3, emoji: "🙁", label: Sad, value: sad_face}
    translations: {cy: {text: "Wyt ti'n hapus?", simpler: "Hapus?", options: {1: Hapus, 3: Trist}}}
  - kind: yes_no
    text: Do staff listen to you?
  - kind: scale
    scale: standards
    standard: "3.2"
    text: 3.2 You can take part in your own way.
  - kind: text
    text: What would make things better?
"""


def without_ids(survey: SurveyDef) -> SurveyDef:
    return dataclasses.replace(
        survey, id=None, status="",
        questions=tuple(dataclasses.replace(q, id=None) for q in survey.questions),
    )


def test_a_saved_survey_loads_back_the_same(database: Engine) -> None:
    survey = load_survey_yaml(SURVEY, source="survey.yaml", zone=LONDON)

    with transaction(database) as session:
        survey_id = save_survey(session=session, survey=survey, now=NOW)
    with transaction(database) as session:
        loaded = load_survey(session=session, survey_id=survey_id)

    assert loaded is not None
    assert without_ids(loaded) == without_ids(survey)
    assert loaded.id == survey_id
    assert loaded.status == "scheduled"
    assert loaded.opens_at == datetime(2026, 10, 24, 8, 0, tzinfo=UTC)
    assert loaded.reminders == (timedelta(days=1), timedelta(minutes=90))
    assert loaded.questions[0].options[0].label_in("cy") == "Hapus"
    assert all(q.id is not None for q in loaded.questions)
    assert len({q.id for q in loaded.questions}) == 4


def test_the_rows_hold_what_the_file_said(database: Engine) -> None:
    survey = load_survey_yaml(SURVEY, source="survey.yaml", zone=LONDON)

    with transaction(database) as session:
        survey_id = save_survey(session=session, survey=survey, now=NOW)

    with Session(database) as session:
        row = session.get_one(Survey, survey_id)
        assert (row.audience_kind, row.audience_value) == ("service", "WILLOW1")
        assert row.reminders == [86400, 5400]
        assert row.created_at == NOW
        assert row.translations == {"cy": {"title": "Sut mae pethau?",
                                           "intro": "Ychydig o gwestiynau."}}
        questions = session.exec(select(SurveyQuestion).where(
            SurveyQuestion.survey_id == survey_id).order_by(col(SurveyQuestion.position))).all()
        assert [(q.position, q.kind) for q in questions] == [
            (1, "scale"), (2, "yes_no"), (3, "scale"), (4, "text")]
        options = session.exec(select(SurveyOption).where(
            SurveyOption.question_id == questions[0].id).order_by(col(SurveyOption.number))).all()
        assert [(o.number, o.value, o.translations) for o in options] == [
            (1, "happy", {"cy": "Hapus"}), (3, "sad_face", {"cy": "Trist"})]


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_templates_round_trip(database: Engine, name: str) -> None:
    survey = load_survey_yaml(template_text(name), source=name, zone=LONDON)

    with transaction(database) as session:
        survey_id = save_survey(session=session, survey=survey, now=NOW)
        loaded = load_survey(session=session, survey_id=survey_id)

    assert loaded is not None
    assert without_ids(loaded) == without_ids(survey)
    assert loaded.status == "draft"


def test_a_missing_survey_is_none(database: Engine) -> None:
    with transaction(database) as session:
        assert load_survey(session=session, survey_id=99) is None
        assert list_surveys(session=session) == []


def test_surveys_are_listed_oldest_first_and_can_be_given_times(database: Engine) -> None:
    draft = load_survey_yaml(template_text("smiley"), source="smiley", zone=LONDON)
    with transaction(database) as session:
        first = save_survey(session=session, survey=draft, now=NOW)
        second = save_survey(session=session, survey=dataclasses.replace(draft, title="Again"),
                             now=NOW)

    opens, closes = NOW + timedelta(days=1), NOW + timedelta(days=8)
    with transaction(database) as session:
        set_times(session=session, survey_id=second, opens_at=opens, closes_at=closes)
    with transaction(database) as session:
        rows = list_surveys(session=session)
        assert [(r.id, r.title, r.status) for r in rows] == [
            (first, "How are things?", "draft"), (second, "Again", "scheduled")]
        assert (rows[1].opens_at, rows[1].closes_at) == (opens, closes)

        set_times(session=session, survey_id=second, opens_at=None, closes_at=closes)
    with transaction(database) as session:
        assert session.get_one(Survey, second).status == "draft"
        with pytest.raises(ValueError, match="close after it opens"):
            set_times(session=session, survey_id=first, opens_at=closes, closes_at=opens)


def test_an_opened_survey_is_kept_in_memory_yet_shows_its_status_and_times(
    database: Engine
) -> None:
    """Once open, a survey's words and questions are read from memory, not the database;
    what can still change (its status, when it closes) always comes from its row."""
    draft = load_survey_yaml(template_text("smiley"), source="smiley", zone=LONDON)
    with transaction(database) as session:
        survey_id = save_survey(session=session, survey=draft, now=NOW)
        open_survey(session=session, survey_id=survey_id, now=NOW)
    with transaction(database) as session:
        opened = load_survey(session=session, survey_id=survey_id)
        assert opened is not None
        row = session.get_one(Survey, survey_id)
        lean = SurveyRow(id=survey_id, status=row.status, opens_at=row.opens_at,
                         closes_at=row.closes_at, opened_at=row.opened_at,
                         definition_key=row.definition_key)
        # Words and questions changed behind its back are not read again: they never change.
        session.execute(sa_update(SurveyQuestion).values(text="Changed by hand"))
        session.execute(sa_update(Survey).values(title="Changed by hand"))
        again = load_survey(session=session, survey_id=survey_id, row=lean)
        assert again is opened
        assert again.title == draft.title
        assert again.questions[0].text == draft.questions[0].text

        close_survey(session=session, survey_id=survey_id, now=NOW + timedelta(hours=1))
        session.flush()
        closed = load_survey(session=session, survey_id=survey_id)
        assert closed is not None
        assert (closed.status, closed.closes_at) == ("closed", NOW + timedelta(hours=1))
        assert closed.questions is opened.questions

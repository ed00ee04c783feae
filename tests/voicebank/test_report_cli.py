"""``voicebank report plan`` and ``voicebank report board`` on a real SQLite file."""

from __future__ import annotations

import csv
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bot.conversation import Kind
from bot.surveys.definition import QuestionDef, SurveyDef
from bot.surveys.loading import SCALES
from bot.surveys.store import load_survey, save_survey
from storage import people
from storage.database import create_database_engine, transaction
from storage.migrate import upgrade_database
from storage.tables import (
    Action,
    ActionStatus,
    ParticipantStatus,
    Role,
    Suggestion,
    Survey,
    SurveyAnswer,
    SurveyParticipant,
)
from voicebank.report_cli import report_app
from voicebank.settings import ENV_PREFIX

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture
def database_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A migrated SQLite file the commands find through VOICEBANK_DATABASE_URL alone."""
    for name in [n for n in os.environ if n.upper().startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'voicebank.db'}"
    monkeypatch.setenv("VOICEBANK_DATABASE_URL", url)
    engine = create_database_engine(url)
    upgrade_database(engine)
    engine.dispose()
    return url


def seed(url: str) -> None:
    """A standards survey with two answers, an idea, a concern and two actions."""
    engine = create_database_engine(url)
    with transaction(engine) as session:
        ann = people.add_person(session=session, urns=["console:ann"], now=NOW, name="Ann")
        bob = people.add_person(session=session, urns=["console:bob"], now=NOW, name="Bob")
        lead = people.add_person(session=session, urns=["console:lee"], now=NOW,
                                 name="Lee Participation", roles=[Role.STAFF])
        assert ann.id is not None
        assert bob.id is not None
        assert lead.id is not None
        survey_id = save_survey(session=session, now=NOW, survey=SurveyDef(
            title="Being heard", questions=(
                QuestionDef(1, Kind.SCALE, "1.1 Involving you is at our heart.",
                            SCALES["standards"], standard="1.1"),
                QuestionDef(2, Kind.TEXT, "What would make this better?", standard="1.1"),
            )))
        survey = session.get_one(Survey, survey_id)
        survey.opened_at = NOW
        session.add(survey)
        saved = load_survey(session=session, survey_id=survey_id)
        assert saved is not None
        scale, text = (q.id for q in saved.questions)
        assert scale is not None
        assert text is not None
        for person_id, score in ((ann.id, 2), (bob.id, 3)):
            session.add(SurveyParticipant(survey_id=survey_id, person_id=person_id,
                                          invited_at=NOW, status=ParticipantStatus.FINISHED))
            session.add(SurveyAnswer(survey_id=survey_id, question_id=scale, person_id=person_id,
                                     option_number=score, value=str(score), answered_at=NOW))
        session.add(SurveyAnswer(survey_id=survey_id, question_id=text, person_id=ann.id,
                                 text="Ask us <b>first</b>", answered_at=NOW))
        session.add_all([
            Suggestion(text="A trip to the sea", topic="travel", person_id=ann.id,
                       created_at=NOW),
            Suggestion(text="Private worry", topic="staff", person_id=bob.id, concern=True,
                       created_at=NOW),
            Action(what="Talk about values at house meetings", owner_id=lead.id,
                   due_on=date(2026, 3, 5), standard="1.1"),
            Action(what="Put the charter on the wall", owner_id=lead.id,
                   due_on=date(2026, 3, 1), standard="1.1", status=ActionStatus.DONE,
                   done_at=NOW, done_by=lead.id),
        ])
    engine.dispose()


def app() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(report_app, name="report")
    return root


def test_plan_prints_the_table_and_writes_csv_and_html(
    database_url: str, tmp_path: Path
) -> None:
    seed(database_url)
    result = CliRunner().invoke(
        app(), ["report", "plan", "--csv", "plan.csv", "--html", "plan.html",
                "--organisation", "Oak Trust"])
    assert result.exit_code == 0, result.output
    assert "1.1   Involving you is at our heart." in result.output
    assert "Our score now: 2.5 (between 2 and 3)" in result.output
    assert "• Ask us <b>first</b>" in result.output
    assert "Lee Participation, by 2026-03-05." in result.output
    assert "The map and plan is in plan.csv." in result.output
    assert "The page to print is in plan.html." in result.output
    with (tmp_path / "plan.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["standard"], r["whats_happening_next"], r["status"]) for r in rows] == [
        ("1.1", "Put the charter on the wall", "done"),
        ("1.1", "Talk about values at house meetings", "open")]
    assert {(r["score_2"], r["score_3"], r["middle"]) for r in rows} == {("1", "1", "2.5")}
    page = (tmp_path / "plan.html").read_text(encoding="utf-8")
    assert "Oak Trust: map and plan" in page
    assert "Ask us &lt;b&gt;first&lt;/b&gt;" in page
    assert "Signed off by Lee Participation" in page


def test_plan_on_an_empty_database(database_url: str) -> None:
    result = CliRunner().invoke(app(), ["report", "plan"])
    assert result.exit_code == 0, result.output
    assert "voicebank survey template standards --out standards.yaml" in result.output


def test_board_prints_a_summary_and_writes_the_page_and_tables(
    database_url: str, tmp_path: Path
) -> None:
    seed(database_url)
    result = CliRunner().invoke(app(), [
        "report", "board", "--from", "2026-03-01", "--to", "2026-03-31",
        "--html", "board.html", "--csv", "tables"])
    assert result.exit_code == 0, result.output
    assert "Report to the Board, 1 March 2026 to 31 March 2026" in result.output
    assert "Ideas and feedback: 2 (2 sent in, 0 heard at surgeries)." in result.output
    assert "1 concern went to the safeguarding contacts" in result.output
    assert "Being heard: 2 of 2 finished (100.0%)." in result.output
    assert "Actions done: 1. Overdue on 31 March 2026: 1." in result.output
    assert "The report to print is in board.html." in result.output
    page = (tmp_path / "board.html").read_text(encoding="utf-8")
    assert '<img src="data:image/png;base64,' in page
    assert 'alt="Bar chart: Ideas by topic.' in page
    assert "A trip to the sea" in page
    assert "Private worry" not in page
    assert sorted(path.name for path in (tmp_path / "tables").iterdir()) == [
        "actions_done.csv", "actions_overdue.csv", "elections.csv", "ideas.csv",
        "messages.csv", "surgeries.csv", "surveys.csv"]
    ideas = (tmp_path / "tables" / "ideas.csv").read_text(encoding="utf-8-sig")
    assert "A trip to the sea" in ideas
    assert "Private worry" not in ideas


def test_board_outside_the_period_finds_nothing(database_url: str) -> None:
    seed(database_url)
    result = CliRunner().invoke(
        app(), ["report", "board", "--from", "2026-04-01", "--to", "2026-04-30"])
    assert result.exit_code == 0, result.output
    assert "Ideas and feedback: 0" in result.output
    assert "Actions done: 0. Overdue on 30 April 2026: 1." in result.output


@pytest.mark.parametrize(("dates", "message"), [
    (["--from", "2026-13-01", "--to", "2026-03-31"], "--from: '2026-13-01' is not a date"),
    (["--from", "2026-03-01", "--to", "31/03/2026"], "--to: '31/03/2026' is not a date"),
    (["--from", "2026-03-31", "--to", "2026-03-01"], "the period ends before it starts"),
])
def test_board_refuses_dates_it_cannot_use(
    database_url: str, dates: list[str], message: str
) -> None:
    result = CliRunner().invoke(app(), ["report", "board", *dates])
    assert result.exit_code == 2
    assert message in result.output

"""``voicebank survey results ID`` on a real SQLite file: the table, the CSV, the charts."""

from __future__ import annotations

import csv
import os
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bot.conversation import Kind
from bot.surveys.definition import DONT_KNOW, SKIPPED, OptionDef, QuestionDef, SurveyDef
from bot.surveys.store import load_survey, save_survey
from storage.database import create_database_engine, transaction
from storage.migrate import upgrade_database
from storage.tables import (
    Constituency,
    ParticipantStatus,
    Person,
    Service,
    SurveyAnswer,
    SurveyParticipant,
)
from voicebank.settings import ENV_PREFIX
from voicebank.survey_results_cli import results_command

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
SURVEY = SurveyDef(
    title="Your home",
    questions=(
        QuestionDef(1, Kind.CHOICE, "How do you feel about your home?", (
            OptionDef(1, "Good", "good", "😀"),
            OptionDef(2, "OK", "ok", "😐"),
            OptionDef(3, "Not good", "not_good", "☹️"),
        )),
        QuestionDef(2, Kind.TEXT, "Anything else?"),
    ),
)


@pytest.fixture
def database_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A migrated SQLite file the command finds through VOICEBANK_DATABASE_URL alone."""
    for name in [n for n in os.environ if n.upper().startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'voicebank.db'}"
    monkeypatch.setenv("VOICEBANK_DATABASE_URL", url)
    engine = create_database_engine(url)
    upgrade_database(engine)
    engine.dispose()
    return url


def seed(url: str) -> tuple[int, dict[str, int]]:
    """A survey sent to 20 people at two services; returns its id and the answers' tally."""
    rng = random.Random(31)
    tally = {"good": 0, "ok": 0, "not_good": 0, DONT_KNOW: 0, SKIPPED: 0}
    engine = create_database_engine(url)
    with transaction(engine) as session:
        north = Constituency(name="North")
        session.add(north)
        session.flush()
        assert north.id is not None
        oak = Service(name="Oak Lodge", constituency_id=north.id, join_code="OAK")
        elm = Service(name="Elm House", constituency_id=north.id, join_code="ELM")
        session.add_all([oak, elm])
        session.flush()
        survey_id = save_survey(session=session, survey=SURVEY, now=NOW)
        saved = load_survey(session=session, survey_id=survey_id)
        assert saved is not None
        first, second = (question.id for question in saved.questions)
        assert first is not None
        assert second is not None
        for n in range(20):
            service = oak if n < 16 else elm  # four at Elm House: too few to show
            person = Person(name=f"Person {n}", service_id=service.id)
            session.add(person)
            session.flush()
            assert person.id is not None
            finished = n % 4 != 0
            session.add(SurveyParticipant(
                survey_id=survey_id, person_id=person.id, invited_at=NOW,
                status=ParticipantStatus.FINISHED if finished else ParticipantStatus.INVITED,
            ))
            if not finished:
                continue
            value = rng.choice(list(tally))
            number = {"good": 1, "ok": 2, "not_good": 3}.get(value)
            tally[value] += 1
            session.add(SurveyAnswer(
                survey_id=survey_id, question_id=first, person_id=person.id,
                service_id=service.id, constituency_id=north.id, option_number=number,
                value=value, answered_at=NOW,
            ))
            session.add(SurveyAnswer(
                survey_id=survey_id, question_id=second, person_id=person.id,
                service_id=service.id, constituency_id=north.id, value="",
                text=f"Idea from person {n}", answered_at=NOW,
            ))
    engine.dispose()
    return survey_id, tally


def command() -> typer.Typer:
    app = typer.Typer()
    app.command()(results_command)
    return app


def test_results_are_shown_and_written_as_csv_and_charts(
    database_url: str, tmp_path: Path
) -> None:
    survey_id, tally = seed(database_url)
    result = CliRunner().invoke(
        command(), [str(survey_id), "--csv", "results.csv", "--charts", "charts"]
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    answered = 15 - tally[SKIPPED]
    assert "Sent to 20 people. 15 started and 15 finished: a response rate of 75.0%." in out
    assert f"   Answered by {answered} of 20 people ({answered / 20 * 100:.1f}%)" in out
    good = next(line for line in out.splitlines() if line.startswith(" 1 😀 Good"))
    assert good.split()[3] == str(tally["good"])
    assert "   • Idea from person 1\n" in out
    assert "The results are in results.csv." in out
    assert "1 chart is in charts, with their descriptions in charts/charts.md." in out

    with (tmp_path / "results.csv").open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    everyone = {r["option"]: r["count"] for r in rows if r["group_type"] == "all"}
    assert everyone["Good"] == str(tally["good"])
    assert everyone["OK"] == str(tally["ok"])
    assert everyone["I don't know"] == str(tally[DONT_KNOW])
    elm = [r for r in rows if r["group"] == "Elm House"]
    assert elm
    assert {r["percent"] for r in elm} == {"fewer than 5"}
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == [
        "charts.md", "question-01.png"
    ]


def test_an_unknown_survey_is_reported(database_url: str) -> None:
    result = CliRunner().invoke(command(), ["99"])
    assert result.exit_code == 2
    assert result.stderr == "There is no survey 99.\n"
    assert result.stdout == ""


def test_a_bad_setting_is_reported(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEBANK_TIMEZONE", "Mars/Olympus")
    result = CliRunner().invoke(command(), ["1"])
    assert result.exit_code == 2
    assert "VOICEBANK_TIMEZONE" in result.stderr

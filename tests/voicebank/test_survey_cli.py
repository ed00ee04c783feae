"""``voicebank survey …`` as staff use it: template, load, list, show, on a SQLite file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import typer
from sqlmodel import Session, select
from typer.testing import CliRunner

from storage import people
from storage.database import create_database_engine, transaction
from storage.migrate import upgrade_database
from storage.tables import Survey, SurveyQuestion
from voicebank.settings import ENV_PREFIX
from voicebank.survey_cli import survey_app

runner = CliRunner()


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> typer.Typer:
    """The survey commands as ``voicebank survey``, on a SQLite file in a fresh directory."""
    for name in [n for n in os.environ if n.upper().startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOICEBANK_DATABASE_URL", f"sqlite:///{tmp_path / 'v.db'}")
    voicebank = typer.Typer()
    voicebank.add_typer(survey_app, name="survey")
    return voicebank


def invoke(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["survey", *args])
    return result.exit_code, result.stdout, result.stderr


def surveys_stored(tmp_path: Path) -> list[Survey]:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'v.db'}")
    upgrade_database(engine)  # a command that stopped early may not have made the file
    try:
        with Session(engine) as session:
            return list(session.exec(select(Survey)).all())
    finally:
        engine.dispose()


def add_riverside(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'v.db'}")
    try:
        with transaction(engine) as session:
            people.add_constituency(session=session, name="Riverside")
    finally:
        engine.dispose()


def test_template_load_list_show(app: typer.Typer, tmp_path: Path) -> None:
    code, out, _ = invoke(app, "template", "smiley")
    assert code == 0
    assert out.startswith("# How are things?")

    code, out, _ = invoke(app, "template", "smiley", "--out", "survey.yaml")
    assert code == 0, out
    assert "voicebank survey load survey.yaml" in out
    text = (tmp_path / "survey.yaml").read_text(encoding="utf-8")
    (tmp_path / "survey.yaml").write_text(
        text.replace("audience: everyone",
                     "audience: {constituency: Riverside}\n"
                     "opens: 2026-10-24 09:00\ncloses: 2026-10-26 17:00"),
        encoding="utf-8")

    code, out, err = invoke(app, "list")
    assert code == 0, err
    assert "There are no surveys yet" in out
    add_riverside(tmp_path)

    code, out, err = invoke(app, "load", "survey.yaml")
    assert code == 0, err
    assert out.strip() == (
        "Loaded survey 1: How are things? (5 questions, for constituency Riverside, "
        "opens 2026-10-24 09:00, closes 2026-10-26 17:00)")

    code, out, err = invoke(app, "load", str(tmp_path / "survey.yaml"))
    assert code == 0, err
    assert out.startswith("Loaded survey 2:")

    code, out, err = invoke(app, "list")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2
    for number, line in enumerate(lines, start=1):
        assert line.split()[:2] == [str(number), "scheduled"]
        assert "How are things?" in line
        assert "constituency Riverside" in line
        assert "opens 2026-10-24 09:00" in line
        assert "closes 2026-10-26 17:00" in line

    code, out, err = invoke(app, "show", "1")
    assert code == 0, err
    assert "Survey 1: How are things?  (scheduled)" in out
    assert "Reminders: 2 days, 2 hours before it closes." in out
    assert "Question 1 of 5 (scale)\n🏠 How do you feel about your home?\n" in out
    assert '  If they reply "?": Do you like your home?\n' in out
    assert "  1 😀 Good\n  2 😐 OK\n  3 🙁 Not good\n  4 🤷 I don't know\n" in out
    assert "Question 3 of 5 (yes_no)\n👂 Do staff listen to you?\n" in out
    assert "  1 👍 Yes\n  2 👎 No\n\n" in out
    assert "(they answer in their own words)" in out

    engine = create_database_engine(f"sqlite:///{tmp_path / 'v.db'}")
    try:
        with Session(engine) as session:
            assert len(session.exec(select(SurveyQuestion)).all()) == 10
    finally:
        engine.dispose()


def test_the_standards_template_loads_with_its_standards(app: typer.Typer,
                                                         tmp_path: Path) -> None:
    assert invoke(app, "template", "standards", "--out", "standards.yaml")[0] == 0

    code, out, err = invoke(app, "load", "standards.yaml")
    assert code == 0, err
    assert "(44 questions, for everyone, no opening time yet)" in out

    code, out, err = invoke(app, "show", "1")
    assert code == 0, err
    assert "Question 1 of 44 (scale, standard 1.1)\n1.1 " in out
    assert "  1 ✅ Exactly how we want it\n" in out
    assert "  4 ❌ They've not even thought about it\n  5 🤷 I don't know\n" in out
    assert "Question 2 of 44 (text, standard 1.1)\nWhat would make this better?\n" in out


def test_a_bad_file_exits_2_naming_the_line_and_stores_nothing(
    app: typer.Typer, tmp_path: Path
) -> None:
    (tmp_path / "survey.yaml").write_text(
        "title: How are things?\n"
        "questions:\n"
        "  - kind: choice\n"
        "    text: Which trip?\n"
        "    options:\n"
        "      - {number: 1, label: Seaside}\n"
        "      - {number: 12, label: Zoo}\n", encoding="utf-8")

    code, out, err = invoke(app, "load", "survey.yaml")

    assert code == 2
    assert err.strip() == ("survey.yaml, line 7: questions[1].options[2].number: "
                           "must be a whole number from 1 to 9")
    assert out == ""
    assert surveys_stored(tmp_path) == []


def test_an_audience_that_does_not_exist_is_refused(app: typer.Typer, tmp_path: Path) -> None:
    (tmp_path / "survey.yaml").write_text(
        "title: T\naudience: {service: oak3}\nquestions: [{kind: text, text: Hi}]\n",
        encoding="utf-8")

    code, _, err = invoke(app, "load", "survey.yaml")

    assert code == 2
    assert "there is no service OAK3" in err
    assert surveys_stored(tmp_path) == []


def test_mistakes_in_commands(app: typer.Typer, tmp_path: Path) -> None:
    code, _, err = invoke(app, "template", "stars")
    assert code == 2
    assert "standards, smiley" in err

    (tmp_path / "taken.yaml").write_text("mine", encoding="utf-8")
    code, _, err = invoke(app, "template", "smiley", "--out", "taken.yaml")
    assert code == 1
    assert "already exists" in err
    assert (tmp_path / "taken.yaml").read_text(encoding="utf-8") == "mine"

    code, _, err = invoke(app, "show", "7")
    assert code == 1
    assert "There is no survey 7." in err

    code, _, _ = invoke(app, "load", "missing.yaml")
    assert code == 2

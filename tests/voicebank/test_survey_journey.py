"""The README's survey journey, as staff and people run it: the installed script end to end.

A participation-standards survey is loaded for a constituency of the demo organisation,
opened, answered in the terminal by several people, and its results seen as a table, a
CSV file and charts.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from storage import people, survey_progress
from storage.database import transaction
from tests.voicebank.test_cli import database_url, run_voicebank
from voicebank.demo import ensure_demo_organisation
from voicebank.settings import load_settings
from voicebank.wiring import assemble


def make_demo(directory: Path) -> list[str]:
    """Make the demo organisation; the first six phone numbers of people in Riverside."""
    voicebank = assemble(load_settings(database_url=database_url(directory)))
    try:
        ensure_demo_organisation(database=voicebank.database, clock=voicebank.clock)
        with transaction(voicebank.database) as session:
            found = survey_progress.audience_people(session=session, kind="constituency",
                                                    value="Riverside")
            return [people.addresses_of(session=session, person_id=person.id or 0)[0].urn
                    for person in found][:6]
    finally:
        voicebank.close()


def test_a_standards_survey_from_template_to_charts(tmp_path: Path) -> None:
    riverside = make_demo(tmp_path)
    made = run_voicebank("survey", "template", "standards", "--out", "standards.yaml",
                         cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    text = (tmp_path / "standards.yaml").read_text(encoding="utf-8")
    chosen = re.sub(r"(?m)^audience:.*$", "audience: {constituency: Riverside}", text)
    assert chosen != text
    (tmp_path / "standards.yaml").write_text(chosen, encoding="utf-8")

    loaded = run_voicebank("survey", "load", "standards.yaml", cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert "Loaded survey 1" in loaded.stdout
    questions = int(loaded.stdout.split("(")[1].split(" question")[0])
    opened = run_voicebank("survey", "open", "1", cwd=tmp_path)
    assert opened.returncode == 0, opened.stderr
    invited = int(opened.stdout.split("Invited ")[1].split(" ")[0])
    assert invited >= len(riverside) == 6

    scores = ["1", "2", "2", "3", "4", "don't know"]
    for urn, score in zip(riverside, scores, strict=True):
        answers = [score if n % 2 == 0 else "More say in meetings" for n in range(questions)]
        chatted = run_voicebank("chat", "--as", urn, cwd=tmp_path,
                                stdin="\n".join(answers) + "\n")
        assert chatted.returncode == 0, chatted.stderr
        assert f"Question 1 of {questions}" in chatted.stdout
        assert "Thank you! 🎉 You finished the survey." in chatted.stdout

    results = run_voicebank("survey", "results", "1", "--csv", "results.csv",
                            "--charts", "charts", cwd=tmp_path)

    assert results.returncode == 0, results.stderr
    assert f"{len(riverside)} finished" in results.stdout
    assert "More say in meetings" in results.stdout
    with (tmp_path / "results.csv").open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    first_question = rows[0]["question"]
    everyone = {row["option"]: row["count"] for row in rows
                if row["question"] == first_question and row["group_type"] == "all"}
    assert everyone["Exactly how we want it"] == "1"
    assert everyone["There's more to be done"] == "2"
    assert everyone["I don't know"] == "1"
    charts = sorted((tmp_path / "charts").glob("*.png"))
    assert len(charts) == questions // 2
    assert all(chart.read_bytes().startswith(b"\x89PNG") for chart in charts)

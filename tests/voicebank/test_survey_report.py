"""A survey's results as a terminal table, a CSV and bar charts with their text alternatives."""

from __future__ import annotations

import csv
import io
import random
import struct
from pathlib import Path

import pytest

from bot.conversation import Kind
from bot.surveys.definition import DONT_KNOW, SKIPPED, OptionDef, QuestionDef, SurveyDef
from bot.surveys.results import AnswerRow, SurveyResults, compute_results
from voicebank.survey_report import (
    CSV_COLUMNS,
    question_chart,
    results_csv,
    results_table,
    write_charts,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SURVEY = SurveyDef(
    title="Your home 2026",
    questions=(
        QuestionDef(1, Kind.CHOICE, "How do you feel about your home?", (
            OptionDef(1, "Good", "good", "😀"),
            OptionDef(2, "OK", "ok", "😐"),
            OptionDef(3, "Not good", "not_good", "☹️"),
        )),
        QuestionDef(2, Kind.SCALE, "Do we listen to you?", (
            OptionDef(1, "Exactly how we want it", "1", "🌟"),
            OptionDef(2, "There's more to be done", "2", "🙂"),
            OptionDef(3, "They've only just started", "3", "😕"),
            OptionDef(4, "They've not even thought about it", "4", "😞"),
        ), standard="3.2"),
        QuestionDef(3, Kind.YES_NO, "Do you feel safe?"),
        QuestionDef(4, Kind.TEXT, "Anything else?"),
    ),
)


def answer(position: int, number: int | None, value: str, service: str | None,
           constituency: str | None, text: str | None = None) -> AnswerRow:
    return AnswerRow(position, number, value, text, service, constituency)


def home_results() -> SurveyResults:
    """30 answered question 1: 12 good, 9 OK, 6 not good, 3 don't know; 2 skipped."""
    answers = (
        [answer(1, 1, "good", "Oak Lodge", "North")] * 10
        + [answer(1, 1, "good", "Elm House", "North")] * 2
        + [answer(1, 2, "ok", "Oak Lodge", "North")] * 9
        + [answer(1, 3, "not_good", "Ash Court", "South")] * 6
        + [answer(1, None, DONT_KNOW, None, None)] * 3
        + [answer(1, None, SKIPPED, "Oak Lodge", "North")] * 2
        + [answer(2, 2, "2", "Oak Lodge", "North")] * 5
        + [answer(2, 4, "4", "Oak Lodge", "North")] * 2
        + [answer(3, 1, "yes", "Oak Lodge", "North")] * 4
        + [answer(3, 2, "no", "Oak Lodge", "North")]
        + [answer(4, None, "", "Oak Lodge", "North", "More trips out\nto the sea")]
        + [answer(4, None, "", "Elm House", "North", "A bigger garden 🌻")]
        + [answer(4, None, SKIPPED, "Elm House", "North")]
    )
    return compute_results(survey=SURVEY, answers=answers, audience=75, finished=30,
                           started=40)


def test_the_table_shows_each_option_with_count_percent_and_bar() -> None:
    table = results_table(home_results())
    lines = table.splitlines()
    assert lines[0] == "Your home 2026"
    assert "Sent to 75 people. 40 started and 30 finished: a response rate of 40.0%." in lines
    assert "1. How do you feel about your home?" in lines
    assert " 1 😀 Good            12   40.0%  ████████" in lines
    assert " 2 😐 OK               9   30.0%  ██████" in lines
    assert " 3 ☹️ Not good         6   20.0%  ████" in lines
    assert "      I don't know     3   10.0%  ██" in lines
    assert "   Skipped: 2" in lines
    assert "   Answered by 30 of 75 people (40.0%)" in lines
    assert "2. Do we listen to you?  (standard 3.2)" in lines
    assert "   Middle answer: 2 🙂 There's more to be done" in lines
    assert " 1 ✅ Yes              4   80.0%  ████████████████" in lines


def test_the_table_breaks_down_by_place_and_hides_small_groups() -> None:
    lines = results_table(home_results()).splitlines()
    start = lines.index("1. How do you feel about your home?")
    question = lines[start:lines.index("2. Do we listen to you?  (standard 3.2)")]
    by_service = next(i for i, line in enumerate(question) if line.startswith("   By service"))
    rows = question[by_service + 1:by_service + 5]
    assert [row.split()[0] for row in rows] == ["Ash", "Elm", "Oak", "Not"]
    assert rows[1].split() == ["Elm", "House", "fewer", "than", "5"]
    assert rows[2].split() == [
        "Oak", "Lodge", "19", "10", "(52.6%)", "9", "(47.4%)", "0", "(0.0%)", "0", "(0.0%)"
    ]
    assert rows[3].split()[:2] == ["Not", "known"]
    assert "fewer than 5" in rows[3]  # three people who said "I don't know" from nowhere known
    assert any(line.startswith("   By constituency") for line in question)


def test_the_table_lists_written_answers() -> None:
    table = results_table(home_results())
    assert (
        "4. Anything else?\n"
        "   Skipped: 1\n"
        "   Answered by 2 of 75 people (2.7%)\n"
        "   What people wrote:\n"
        "   • More trips out\n"
        "     to the sea\n"
        "   • A bigger garden 🌻\n"
    ) in table


def test_the_table_of_a_survey_nobody_answered() -> None:
    results = compute_results(survey=SURVEY, answers=[], audience=0, finished=0, started=0)
    table = results_table(results)
    assert "Sent to 0 people. 0 started and 0 finished: a response rate of 0.0%." in table
    assert " 1 😀 Good             0    0.0%" in table
    assert "   No written answers yet." in table
    assert "By service" not in table


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_has_a_row_per_question_option_and_group() -> None:
    rows = read_csv(results_csv(home_results()))
    assert tuple(rows[0]) == CSV_COLUMNS
    first = [r for r in rows if r["question"] == "How do you feel about your home?"]
    everyone = {r["option"]: (r["count"], r["percent"]) for r in first if r["group_type"] == "all"}
    assert everyone == {
        "Good": ("12", "40.0"), "OK": ("9", "30.0"), "Not good": ("6", "20.0"),
        "I don't know": ("3", "10.0"), "Skipped": ("2", ""),
    }
    elm = [r for r in first if r["group_type"] == "service" and r["group"] == "Elm House"]
    assert len(elm) == 4
    assert all(r["count"] == "" and r["percent"] == "fewer than 5" for r in elm)
    oak_good = next(r for r in first if r["group"] == "Oak Lodge" and r["option"] == "Good")
    assert (oak_good["option_number"], oak_good["count"], oak_good["percent"]) == (
        "1", "10", "52.6"
    )
    standard = {r["standard"] for r in rows if r["question"] == "Do we listen to you?"}
    assert standard == {"3.2"}
    texts = [r["option"] for r in rows if r["group_type"] == "text"]
    assert texts == ["More trips out\nto the sea", "A bigger garden 🌻"]
    assert {r["survey"] for r in rows} == {"Your home 2026"}


@pytest.mark.parametrize("seed", [21, 22])
def test_the_csv_counts_match_the_answers(seed: int) -> None:
    rng = random.Random(seed)
    places = [("Oak Lodge", "North"), ("Elm House", "North"), ("Ash Court", "South"),
              ("Tiny Place", "South"), (None, None)]
    answers = []
    for _ in range(400):
        service, constituency = rng.choices(places, weights=[30, 30, 30, 1, 5])[0]
        number = rng.choice([1, 2, 3, None])
        value = {1: "good", 2: "ok", 3: "not_good", None: DONT_KNOW}[number]
        answers.append(answer(1, number, value, service, constituency))
    results = compute_results(survey=SURVEY, answers=answers, audience=500, finished=400,
                              started=400)
    rows = [r for r in read_csv(results_csv(results))
            if r["question"] == "How do you feel about your home?"]
    for group_type in ("all", "service", "constituency"):
        for row in (r for r in rows if r["group_type"] == group_type and r["option"] != "Skipped"):
            mine = [a for a in answers if group_type == "all"
                    or (getattr(a, group_type) or "Not known") == row["group"]]
            if row["percent"] == "fewer than 5":
                assert len(mine) < 5
                continue
            picked = [a for a in mine if a.option_number == (
                int(row["option_number"]) if row["option_number"] else None
            )]
            assert int(row["count"]) == len(picked)
            assert float(row["percent"]) == pytest.approx(len(picked) / len(mine) * 100, abs=0.1)


def png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_a_chart_is_a_png_with_words_for_every_bar() -> None:
    question = home_results().questions[0]
    chart = question_chart(question, title="How do you feel about your home? 🏠")
    assert chart.png.startswith(PNG_SIGNATURE)
    width, height = png_size(chart.png)
    assert 600 <= width <= 2000
    assert 250 <= height <= 1500
    assert chart.alt_text == (
        "Bar chart: How do you feel about your home? Good 12 (40%), OK 9 (30%), "
        "Not good 6 (20%), I don't know 3 (10%). 30 people answered."
    )
    assert b"Software" not in chart.png  # no version stamp: the same chart, the same bytes
    assert question_chart(question, title="How do you feel about your home? 🏠") == chart


def test_a_chart_nobody_answered_yet() -> None:
    results = compute_results(survey=SURVEY, answers=[], audience=0, finished=0, started=0)
    chart = question_chart(results.questions[2], title="Do you feel safe")
    assert chart.png.startswith(PNG_SIGNATURE)
    assert chart.alt_text == "Bar chart: Do you feel safe. Nobody has answered yet."


def test_write_charts_draws_each_question_with_options(tmp_path: Path) -> None:
    directory = tmp_path / "charts"
    written = write_charts(home_results(), directory)
    assert written == [directory / f"question-0{n}.png" for n in (1, 2, 3)]
    for path in written:
        assert path.read_bytes().startswith(PNG_SIGNATURE)
    notes = (directory / "charts.md").read_text(encoding="utf-8")
    assert "Bar chart: How do you feel about your home? Good 12 (40%)" in notes
    assert "(question-03.png)" in notes
    assert "question-04" not in notes
    assert sorted(p.name for p in directory.iterdir()) == [
        "charts.md", "question-01.png", "question-02.png", "question-03.png"
    ]

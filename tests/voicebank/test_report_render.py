"""The map and plan and the Board report as text, CSV and printable pages."""

from __future__ import annotations

import base64
import csv
import html
import io
import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.conversation import Kind
from bot.elections.counting import Tally
from bot.reports.board import (
    BoardReport,
    ElectionLine,
    IdeaLine,
    SurgeryLine,
    SurveyLine,
    channel_counts,
    summarise_ideas,
)
from bot.reports.plan import ActionLine, Plan, PlanRow, empty_score, score_from_counts
from bot.surveys.definition import DONT_KNOW, OptionDef, QuestionDef, SurveyDef
from bot.surveys.results import AnswerRow, compute_results
from voicebank.report_render import (
    IDEAS_CHART,
    PLAN_CSV_COLUMNS,
    board_charts,
    board_csv_bundle,
    board_html,
    election_chart_key,
    plan_csv,
    plan_html,
    plan_table,
    survey_chart_key,
)
from voicebank.survey_report import Chart

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MADE = date(2026, 3, 2)
LEAFLET = ActionLine(id=4, what="Make a leaflet", owner="Helen L", due_on=date(2026, 2, 1),
                     standard="1.2", status="done", done_on=date(2026, 2, 3), done_by="Ben D",
                     done_note="Printed 200", ideas=(12, 15))
REDRAFT = ActionLine(id=5, what="Redraft the policy", owner="Ben D", due_on=date(2026, 3, 1),
                     standard="1.2", status="open")
AUDIT = ActionLine(id=6, what="Audit of skills", owner="Eve F", due_on=date(2026, 8, 1),
                   standard="3.2", status="open")
PLAN = Plan(
    survey_id=3, survey_title="Being heard", audience=20, finished=9, made_on=MADE,
    rows=(
        PlanRow(standard="1.2", statement="We agree our values with you.",
                score=score_from_counts({1: 1, 2: 4, 3: 3, 4: 1}),
                better=("Ask us at house meetings", "<script>alert('x')</script>"),
                actions=(LEAFLET, REDRAFT)),
        PlanRow(standard="1.10", statement="You help choose new staff.",
                score=score_from_counts({2: 1, 3: 1}), better=(), actions=()),
        PlanRow(standard="3.2", statement="", score=empty_score(), better=(), actions=(AUDIT,)),
    ),
)


def test_plan_table_reads_like_the_form() -> None:
    text = plan_table(PLAN)
    assert "Being heard" in text
    assert "9 of 20 people finished it" in text
    block_12, block_110, block_32 = (text.index(f"\n{s} ") for s in ("1.2", "1.10", "3.2"))
    assert block_12 < block_110 < block_32
    assert "Our score now: 2 There's more to be done  (1: 1  2: 4  3: 3  4: 1; 9 answered)" in text
    assert "Our score now: 2.5 (between 2 and 3)" in text
    assert "• Ask us at house meetings" in text
    assert "Helen L, by 2026-02-01. Done 2026-02-03, signed off by Ben D." in text
    assert "Ben D, by 2026-03-01. Overdue." in text
    assert "(not in the survey)" in text
    assert "Eve F, by 2026-08-01." in text


def test_plan_table_without_a_survey() -> None:
    text = plan_table(Plan(None, None, 0, 0, MADE, ()))
    assert "voicebank survey template standards" in text
    assert "Nothing to show yet" in text


def test_plan_csv_has_a_row_per_standard_and_action() -> None:
    rows = list(csv.DictReader(io.StringIO(plan_csv(PLAN))))
    assert list(rows[0]) == list(PLAN_CSV_COLUMNS)
    assert [(r["standard"], r["whats_happening_next"]) for r in rows] == [
        ("1.2", "Make a leaflet"), ("1.2", "Redraft the policy"), ("1.10", ""),
        ("3.2", "Audit of skills")]
    first = rows[0]
    assert [first[f"score_{n}"] for n in range(1, 5)] == ["1", "4", "3", "1"]
    assert (first["answered"], first["middle"]) == ("9", "2")
    assert first["what_would_make_this_better"] == (
        "Ask us at house meetings | <script>alert('x')</script>")
    assert (first["whos_responsible"], first["when_by"], first["status"]) == (
        "Helen L", "2026-02-01", "done")
    assert (first["when_happened"], first["signed_by"], first["note"]) == (
        "2026-02-03", "Ben D", "Printed 200")
    assert rows[1]["when_happened"] == ""
    assert (rows[2]["middle"], rows[2]["whos_responsible"]) == ("2.5", "")
    assert (rows[3]["what_we_expect"], rows[3]["answered"], rows[3]["middle"]) == ("", "0", "")


def test_plan_html_is_the_form_as_a_page() -> None:
    page = plan_html(PLAN, organisation="Oak & Elm")
    for heading in ("What we expect", "Our score now", "What would make this better",
                    "What's happening next", "Who's responsible", "When by",
                    "When it happened"):
        assert f">{heading}</th>" in page
    assert "Oak &amp; Elm" in page
    assert "2 March 2026" in page
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "@media print" in page
    assert 'rowspan="2"' in page  # 1.2 has two actions beside its one score
    assert "Signed off by Ben D" in page
    assert "From ideas 12, 15" in page
    assert "Overdue" in page
    assert page.count('class="standard-group"') == 3


def board() -> BoardReport:
    survey = SurveyDef(id=7, title="Food", questions=(
        QuestionDef(1, Kind.CHOICE, "Do you like the food?", (
            OptionDef(1, "Yes", "yes", "👍"), OptionDef(2, "No", "no", "👎"))),
        QuestionDef(2, Kind.TEXT, "What would you cook?"),
    ))
    answers = [AnswerRow(1, 1, "yes", None, None, None)] * 3 + [
        AnswerRow(1, 2, "no", None, None, None), AnswerRow(1, None, DONT_KNOW, None, None, None),
        AnswerRow(2, None, "", "Curry night", None, None)]
    results = compute_results(survey=survey, answers=answers, audience=10, started=6,
                              finished=5)
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    ideas = [
        IdeaLine(1, at, "food", "idea", "Oak Lodge", "Ann", "More fruit"),
        IdeaLine(2, at, "home", "idea", None, None, "<script>alert(1)</script>"),
        IdeaLine(3, at, "staff", "idea", None, None, "", concern=True),
        IdeaLine(4, at, "home", "surgery", "Oak Lodge", "Mo", "A garden", surgery_id=9),
    ]
    return BoardReport(
        start=date(2026, 3, 1), end=date(2026, 3, 31), zone=ZoneInfo("Europe/London"),
        made_at=datetime(2026, 4, 1, 9, tzinfo=UTC),
        ideas=summarise_ideas(ideas),
        messages=channel_counts({"sms": 12, "telegram": 4}, {"sms": 20}, {"sms": 1}),
        surveys=(SurveyLine(7, at, None, results),),
        elections=(ElectionLine(
            election_id=2, kind="poll", title="Name the new house", seats=1, status="announced",
            counted_at=at, announced_at=at,
            tallies=(Tally(11, 7, 1, True, False), Tally(12, 3, 2, False, False)),
            names={11: "Sunflower House", 12: "Rainbow Lodge"}, voted=10, on_roll=16),),
        actions_done=(LEAFLET,),
        actions_overdue=(REDRAFT,),
        surgeries=(SurgeryLine(9, "Mo", "Oak Lodge", at, "The lounge", "held", 1),),
    )


@pytest.fixture(scope="module")
def charts() -> dict[str, Chart]:
    return board_charts(board())


def test_board_charts_are_pngs_with_words(charts: dict[str, Chart]) -> None:
    assert set(charts) == {IDEAS_CHART, survey_chart_key(7, 1), election_chart_key(2)}
    assert all(chart.png.startswith(PNG_SIGNATURE) for chart in charts.values())
    assert charts[IDEAS_CHART].alt_text == (
        "Bar chart: Ideas by topic. Where I live 2, Food 1, Things to do 0, Staff 1, "
        "Getting out 0, Something else 0. 4 ideas in all.")
    assert "Yes 3 (60%)" in charts[survey_chart_key(7, 1)].alt_text
    assert "Sunflower House 7 votes (70%), elected" in charts[election_chart_key(2)].alt_text
    assert board_charts(board()) == charts  # the same report draws the same bytes


def test_board_html_embeds_charts_and_escapes_what_people_wrote(
    charts: dict[str, Chart],
) -> None:
    page = board_html(board(), charts=charts)
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]*)">', page)
    assert len(images) == 3
    decoded = {base64.b64decode(data): html.unescape(alt) for data, alt in images}
    assert decoded == {chart.png: chart.alt_text for chart in charts.values()}
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "1 March 2026 to 31 March 2026" in page
    assert "1 of these was" in page  # the concern, counted
    assert "Anonymous" in page
    assert "Curry night" in page
    assert "a response rate of 50.0%" in page
    assert "Chosen:\n    Sunflower House." in page
    assert "Turnout: 10 of 16 (62.5%)" in page
    assert "Redraft the policy" in page
    assert "The lounge" in page
    assert "@media print" in page


def test_board_html_without_charts_still_reads() -> None:
    page = board_html(board(), charts={})
    assert "<img" not in page
    assert "More fruit" in page


def test_board_csv_bundle(tmp_path: Path) -> None:
    report = board()
    written = board_csv_bundle(report, tmp_path / "board")
    names = ["ideas.csv", "surveys.csv", "elections.csv", "actions_done.csv",
             "actions_overdue.csv", "surgeries.csv", "messages.csv"]
    assert [path.name for path in written] == names

    def rows(name: str) -> list[dict[str, str]]:
        with (tmp_path / "board" / name).open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))

    ideas = rows("ideas.csv")
    assert [(r["reference"], r["from"], r["text"]) for r in ideas] == [
        ("1", "Ann", "More fruit"), ("2", "anonymous", "<script>alert(1)</script>"),
        ("4", "Mo", "A garden")]
    assert ideas[0]["sent"] == "2026-03-10 12:00"
    surveys = rows("surveys.csv")
    assert [(r["option"], r["count"], r["percent"]) for r in surveys] == [
        ("Yes", "3", "60.0"), ("No", "1", "20.0"), ("I don't know", "1", "20.0"),
        ("written answers", "1", "")]
    assert {r["response_rate"] for r in surveys} == {"50.0"}
    elections = rows("elections.csv")
    assert [(r["candidate"], r["votes"], r["elected"]) for r in elections] == [
        ("Sunflower House", "7", "yes"), ("Rainbow Lodge", "3", "no")]
    assert elections[0]["turnout_percent"] == "62.5"
    assert [(r["what"], r["signed_by"], r["ideas"]) for r in rows("actions_done.csv")] == [
        ("Make a leaflet", "Ben D", "12 15")]
    assert [(r["what"], r["whos_responsible"]) for r in rows("actions_overdue.csv")] == [
        ("Redraft the policy", "Ben D")]
    assert [(r["mp"], r["service"], r["ideas"]) for r in rows("surgeries.csv")] == [
        ("Mo", "Oak Lodge", "1")]
    assert [(r["channel"], r["received"], r["sent"], r["failed"])
            for r in rows("messages.csv")] == [
        ("sms", "12", "20", "1"), ("telegram", "4", "0", "0")]

"""The map and plan and the Board report for people: terminal text, CSV, printable pages.

The pages are Jinja2 templates in ``voicebank/templates`` with autoescaping on, so what
people wrote is shown as they wrote it and never run as markup. Charts are drawn as the
survey charts are (``voicebank.survey_report``) and embedded in the page as PNG data URIs
with their text alternatives, so one HTML file carries everything and prints as it looks.
"""

from __future__ import annotations

import base64
import csv
import io
import textwrap
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.reports.board import BoardReport, topic_label
from bot.reports.plan import SCORE_LABELS, ActionLine, Plan, PlanRow
from bot.surveys.results import QuestionResults
from voicebank.election_report import results_chart
from voicebank.survey_report import CHART_COLOUR, Chart, question_chart

IDEAS_CHART = "ideas-by-topic"
PLAN_CSV_COLUMNS = (
    "standard", "what_we_expect", "answered",
    *(f"score_{n}" for n in SCORE_LABELS), "middle", "what_would_make_this_better",
    "whats_happening_next", "whos_responsible", "when_by", "status",
    "when_happened", "signed_by", "note",
)
ACTION_COLUMNS = ("id", "what", "standard", "whos_responsible", "when_by", "status",
                  "when_happened", "signed_by", "note", "ideas")


def survey_chart_key(survey_id: int, position: int) -> str:
    return f"survey-{survey_id}-question-{position}"


def election_chart_key(election_id: int) -> str:
    return f"election-{election_id}"


def long_date(day: date) -> str:
    """``2 March 2026``."""
    return f"{day.day} {day:%B %Y}"


def overdue(action: ActionLine, today: date) -> bool:
    return not action.done and action.due_on < today


# The map and plan --------------------------------------------------------------------------


def plan_table(plan: Plan) -> str:
    """The map and plan as text for a terminal: a block per standard."""
    title = "Map and plan"
    lines = [title, "=" * len(title), _plan_source(plan),
             "Scores: " + ", ".join(f"{n} {label}" for n, label in SCORE_LABELS.items()) + ".",
             ""]
    if not plan.rows:
        lines.append("Nothing to show yet: no survey has asked about the standards and no "
                     "action names a standard.")
    for row in plan.rows:
        lines.extend(_row_lines(row, plan.made_on))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _plan_source(plan: Plan) -> str:
    made = f"Made on {long_date(plan.made_on)}"
    if plan.survey_title is None:
        return (f"{made}. No survey has asked about the standards yet; start one with: "
                "voicebank survey template standards --out standards.yaml")
    return (f"{made} from survey {plan.survey_id}, {plan.survey_title!r}: "
            f"{plan.finished} of {plan.audience} people finished it.")


def _row_lines(row: PlanRow, today: date) -> list[str]:
    statement = row.statement or "(not in the survey)"
    lines = textwrap.wrap(statement, 90, initial_indent=f"{row.standard:<6}",
                          subsequent_indent=" " * 6)
    score = row.score
    if score.answered:
        spread = "  ".join(f"{c.score}: {c.count}" for c in score.spread)
        lines.append(f"      Our score now: {score.middle_text()}  "
                     f"({spread}; {score.answered} answered)")
    else:
        lines.append("      Our score now: no scores yet")
    if row.better:
        lines.append("      What would make this better:")
        lines.extend(f"        • {text}" for text in _one_line(row.better))
    lines.append("      What's happening next:" if row.actions
                 else "      What's happening next: nothing planned yet")
    for action in row.actions:
        lines.append(f"        • {' '.join(action.what.split())}")
        lines.append(f"          {_action_words(action, today)}")
    return lines


def _one_line(texts: Iterable[str]) -> list[str]:
    return [" ".join(text.split()) for text in texts]


def _action_words(action: ActionLine, today: date) -> str:
    words = f"{action.owner}, by {action.due_on:%Y-%m-%d}"
    if action.done:
        words += f". Done {action.done_on or '?'}, signed off by {action.done_by or '?'}"
    elif overdue(action, today):
        words += ". Overdue"
    return words + "."


def plan_csv(plan: Plan) -> str:
    """One row per standard and action (a standard with no action has one row with the
    action's columns empty). What would make it better is joined with " | "."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(PLAN_CSV_COLUMNS)
    for row in plan.rows:
        middle = "" if row.score.middle is None else f"{row.score.middle:g}"
        start = [row.standard, row.statement, row.score.answered,
                 *(c.count for c in row.score.spread), middle, " | ".join(_one_line(row.better))]
        actions: Sequence[ActionLine | None] = row.actions or [None]
        for action in actions:
            if action is None:
                writer.writerow([*start, *[""] * 7])
                continue
            writer.writerow([*start, action.what, action.owner, action.due_on.isoformat(),
                             action.status, _iso(action.done_on), action.done_by or "",
                             action.done_note or ""])
    return out.getvalue()


def _iso(day: date | None) -> str:
    return day.isoformat() if day is not None else ""


def plan_html(plan: Plan, *, organisation: str = "Voicebank") -> str:
    """The map and plan as a printable page laid out like the paper form."""
    return _templates().get_template("plan.html").render(
        plan=plan, organisation=organisation, score_labels=SCORE_LABELS,
        long_date=long_date, overdue=overdue,
    )


# The Board report --------------------------------------------------------------------------


def board_html(
    report: BoardReport, *, charts: dict[str, Chart], organisation: str = "Voicebank"
) -> str:
    """The Board report as one printable page, charts inside it as PNG data URIs."""
    images = {
        key: {"src": "data:image/png;base64," + base64.b64encode(chart.png).decode("ascii"),
              "alt": chart.alt_text}
        for key, chart in charts.items()
    }
    return _templates().get_template("board.html").render(
        report=report, organisation=organisation, images=images, ideas_chart=IDEAS_CHART,
        survey_chart_key=survey_chart_key, election_chart_key=election_chart_key,
        long_date=long_date, local=lambda moment: _local(moment, report),
        topic_label=topic_label,
    )


def _local(moment: datetime | None, report: BoardReport) -> str:
    return "" if moment is None else f"{moment.astimezone(report.zone):%Y-%m-%d %H:%M}"


def board_charts(report: BoardReport) -> dict[str, Chart]:
    """Ideas by topic, each survey question with options that someone answered, and each
    election's result, keyed as ``board_html`` looks for them."""
    charts: dict[str, Chart] = {}
    if report.ideas.total:
        charts[IDEAS_CHART] = ideas_chart(report)
    for survey in report.surveys:
        for question in survey.results.questions:
            if question.charted and question.answered:
                charts[survey_chart_key(survey.survey_id, question.position)] = question_chart(
                    question, title=f"{survey.results.title}: {question.text}")
    for election in report.elections:
        if election.tallies:
            charts[election_chart_key(election.election_id)] = results_chart(
                title=election.title, tallies=election.tallies, names=election.names)
    return charts


def ideas_chart(report: BoardReport) -> Chart:
    """A bar chart of how many ideas there were on each topic, with its words."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    topics = report.ideas.by_topic
    counts = [topic.count for topic in topics]
    figure = Figure(figsize=(10, 2.2 + 0.7 * max(len(topics), 1)), dpi=100,
                    layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(topics)))
    axes.barh(positions, counts, color=CHART_COLOUR, height=0.6)
    axes.set_yticks(positions, [textwrap.fill(t.label, 24) for t in topics], fontsize=15)
    axes.invert_yaxis()
    axes.set_xlim(0, max([*counts, 1]) * 1.3)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(axis="x", labelsize=13)
    for position, count in zip(positions, counts, strict=True):
        axes.text(count, position, f"  {count}", va="center", fontsize=15)
    axes.set_xlabel(f"Number of ideas ({report.ideas.total} in all)", fontsize=14)
    axes.set_title("Ideas by topic", fontsize=18, loc="left", fontweight="bold")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    figure.clear()
    parts = ", ".join(f"{t.label} {t.count}" for t in topics)
    total = report.ideas.total
    alt = f"Bar chart: Ideas by topic. {parts}. {total} idea{'' if total == 1 else 's'} in all."
    return Chart(png=out.getvalue(), alt_text=alt)


def board_csv_bundle(report: BoardReport, directory: Path) -> list[Path]:
    """Write the report's tables as CSV files in ``directory``; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    tables: dict[str, list[Sequence[Any]]] = {
        "ideas.csv": _ideas_rows(report),
        "surveys.csv": _survey_rows(report),
        "elections.csv": _election_rows(report),
        "actions_done.csv": _action_rows(report.actions_done),
        "actions_overdue.csv": _action_rows(report.actions_overdue),
        "surgeries.csv": [
            ("id", "starts", "mp", "service", "place", "status", "ideas"),
            *((s.id, _local(s.starts_at, report), s.mp, s.service, s.place, s.status, s.ideas)
              for s in report.surgeries),
        ],
        "messages.csv": [
            ("channel", "received", "sent", "failed"),
            *((c.channel, c.received, c.sent, c.failed) for c in report.messages.by_channel),
        ],
    }
    written = []
    for name, rows in tables.items():
        path = directory / name
        # With a byte order mark, so spreadsheet programs read accents and emoji right.
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle).writerows(rows)
        written.append(path)
    return written


def _ideas_rows(report: BoardReport) -> list[Sequence[Any]]:
    """Every idea that was not a concern; anonymous ones say so instead of a name."""
    rows: list[Sequence[Any]] = [
        ("reference", "sent", "topic", "source", "service", "from", "text")]
    rows.extend(
        (idea.id, _local(idea.created_at, report), idea.topic, idea.source, idea.service or "",
         idea.person or "anonymous", idea.text)
        for idea in report.ideas.ideas
    )
    return rows


def _survey_rows(report: BoardReport) -> list[Sequence[Any]]:
    rows: list[Sequence[Any]] = [(
        "survey_id", "survey", "audience", "finished", "response_rate", "question_number",
        "question", "standard", "option_number", "option", "count", "percent", "middle",
    )]
    for survey in report.surveys:
        results = survey.results
        start = (survey.survey_id, results.title, results.audience, results.finished,
                 f"{results.response_rate * 100:.1f}")
        for question in results.questions:
            about = (*start, question.position, question.text, question.standard or "")
            middle = "" if question.median is None else f"{question.median:g}"
            rows.extend((*about, number, label, count, percent, middle)
                        for number, label, count, percent in _counts(question))
    return rows


def _counts(question: QuestionResults) -> list[tuple[object, str, int, str]]:
    if not question.charted:
        return [("", "written answers", len(question.texts), "")]
    picks: list[tuple[object, str, int, str]] = [
        (o.number, o.label, o.count, f"{o.percent:.1f}") for o in question.options]
    if question.offers_dont_know:
        picks.append(("", "I don't know", question.dont_know,
                      f"{question.dont_know_percent:.1f}"))
    return picks


def _election_rows(report: BoardReport) -> list[Sequence[Any]]:
    rows: list[Sequence[Any]] = [(
        "election_id", "kind", "title", "seats", "candidate", "votes", "place", "elected",
        "by_lot", "voted", "on_roll", "turnout_percent", "counted", "announced",
    )]
    for election in report.elections:
        for tally in sorted(election.tallies, key=lambda t: t.place):
            rows.append((
                election.election_id, election.kind, election.title, election.seats,
                election.names.get(tally.candidate_id, ""), tally.votes, tally.place,
                "yes" if tally.elected else "no", "yes" if tally.by_lot else "no",
                election.voted, election.on_roll, f"{election.turnout * 100:.1f}",
                _local(election.counted_at, report), _local(election.announced_at, report),
            ))
    return rows


def _action_rows(actions: Sequence[ActionLine]) -> list[Sequence[Any]]:
    rows: list[Sequence[Any]] = [ACTION_COLUMNS]
    rows.extend(
        (a.id, a.what, a.standard or "", a.owner, a.due_on.isoformat(), a.status,
         _iso(a.done_on), a.done_by or "", a.done_note or "", " ".join(map(str, a.ideas)))
        for a in actions
    )
    return rows


def _templates() -> Environment:
    """The page templates, found inside the installed package."""
    return Environment(
        loader=PackageLoader("voicebank", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

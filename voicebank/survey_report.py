"""A survey's results for people: a table for the terminal, a CSV, and bar charts.

The charts are drawn with matplotlib's object API on the Agg canvas: no pyplot, so no
window, no backend to choose and no global list of figures that grows while a server runs.
Emoji are left out of the charts, as the fonts matplotlib ships lack them.
"""

from __future__ import annotations

import csv
import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.profile import strip_pictures
from bot.surveys.results import GroupResults, OptionCount, QuestionResults, SurveyResults

DONT_KNOW_LABEL = "I don't know"
SKIPPED_LABEL = "Skipped"
BAR_CELLS = 20  # a full bar, 100%, is this many blocks
CHART_COLOUR = "#0072B2"  # Okabe and Ito's blue: reads the same to colour-blind eyes
CSV_COLUMNS = (
    "survey", "question", "standard", "option_number", "option",
    "group_type", "group", "count", "percent",
)


@dataclass(frozen=True)
class Chart:
    """A chart as a PNG, and the same facts in words for people who cannot see it."""

    png: bytes
    alt_text: str


# The table ---------------------------------------------------------------------------------


def results_table(results: SurveyResults) -> str:
    """The results as plain text for a terminal, question by question."""
    lines = [results.title, "=" * len(results.title), _participation_line(results), ""]
    for question in results.questions:
        lines.extend(_question_lines(question, results))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _participation_line(results: SurveyResults) -> str:
    return (
        f"Sent to {_people(results.audience)}. {results.started} started and "
        f"{results.finished} finished: a response rate of {results.response_rate * 100:.1f}%."
    )


def _people(count: int) -> str:
    return "1 person" if count == 1 else f"{count} people"


def _question_lines(question: QuestionResults, results: SurveyResults) -> list[str]:
    heading = f"{question.position}. {question.text}"
    if question.standard:
        heading += f"  (standard {question.standard})"
    lines = [heading]
    if question.charted:
        lines.extend(_option_lines(question))
    elif question.dont_know:
        lines.append(f"   {DONT_KNOW_LABEL}: {question.dont_know}")
    if question.skipped or question.charted:
        lines.append(f"   {SKIPPED_LABEL}: {question.skipped}")
    middle = _middle_text(question)
    if middle:
        lines.append(f"   Middle answer: {middle}")
    lines.append(f"   {_answered_line(question, results)}")
    for name, groups in (("constituency", question.by_constituency),
                         ("service", question.by_service)):
        if groups:
            lines.extend(_breakdown_lines(f"By {name}", question, groups, results))
    if not question.charted:
        lines.extend(_text_lines(question))
    return lines


def _option_lines(question: QuestionResults) -> list[str]:
    with_emoji = any(option.emoji for option in question.options)
    width = max([len(o.label) for o in question.options] + [len(DONT_KNOW_LABEL)])
    lines = []
    for option in question.options:
        emoji = f"{option.emoji or '  '} " if with_emoji else ""
        lines.append(
            f"{option.number:>2} {emoji}{option.label:<{width}} "
            f"{_count_cells(option.count, option.percent)}"
        )
    if question.offers_dont_know:
        indent = "      " if with_emoji else "   "
        lines.append(
            f"{indent}{DONT_KNOW_LABEL:<{width}} "
            f"{_count_cells(question.dont_know, question.dont_know_percent)}"
        )
    return lines


def _count_cells(count: int, percent: float) -> str:
    bar = "█" * round(percent * BAR_CELLS / 100)
    return f"{count:>5} {percent:>6.1f}%  {bar}".rstrip()


def _middle_text(question: QuestionResults) -> str | None:
    if question.median is None:
        return None
    option = question.median_option()
    if option is not None:
        return " ".join(part for part in (str(option.number), option.emoji, option.label) if part)
    return f"{question.median:g}"


def _answered_line(question: QuestionResults, results: SurveyResults) -> str:
    if not results.audience:
        return f"Answered by {_people(question.answered)}"
    share = question.answered / results.audience * 100
    return f"Answered by {question.answered} of {_people(results.audience)} ({share:.1f}%)"


def _breakdown_lines(
    heading: str,
    question: QuestionResults,
    groups: Sequence[GroupResults],
    results: SurveyResults,
) -> list[str]:
    """A grid: a row per group, a column per option, each cell "count (percent%)"."""
    headers = [_short(f"{o.number} {o.label}") for o in question.options]
    if question.offers_dont_know:
        headers.append(_short(DONT_KNOW_LABEL))
    name_width = max([len(heading) - 2, *(len(group.name) for group in groups)]) + 2
    lines = [
        f"   {heading:<{name_width + 2}}{'answered':>13}"
        + "".join(f"{header:>13}" for header in headers)
    ]
    for group in groups:
        start = f"     {group.name:<{name_width}}"
        if group.suppressed:
            lines.append(f"{start}{results.suppressed_text:>13}")
            continue
        cells = [_cell(o.count, o.percent) for o in group.options]
        if question.offers_dont_know:
            cells.append(_cell(group.dont_know or 0, group.dont_know_percent or 0.0))
        lines.append(f"{start}{group.answered:>13}" + "".join(f"{c:>13}" for c in cells))
    return lines


def _short(text: str, width: int = 12) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _cell(count: int, percent: float) -> str:
    return f"{count} ({percent:.1f}%)"


def _text_lines(question: QuestionResults) -> list[str]:
    if not question.texts:
        return ["   No written answers yet."]
    lines = ["   What people wrote:"]
    for text in question.texts:
        first, *rest = text.strip().splitlines() or [""]
        lines.append(f"   • {first}")
        lines.extend(f"     {line}" for line in rest)
    return lines


# The CSV -----------------------------------------------------------------------------------


def results_csv(results: SurveyResults) -> str:
    """The results as CSV, one row per question, option and group, and one per written answer.

    ``group_type`` is all, constituency, service or text. A group too small to show has an
    empty count and "fewer than 5" as its percent. Percentages have no % sign.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for question in results.questions:
        start = [results.title, question.text, question.standard or ""]
        everyone = GroupResults(
            name="All", suppressed=False, answered=question.answered, options=question.options,
            dont_know=question.dont_know, dont_know_percent=question.dont_know_percent,
        )
        if question.charted:
            writer.writerows(start + row for row in _group_rows(question, "all", everyone, results))
        elif question.dont_know:
            writer.writerow([*start, "", DONT_KNOW_LABEL, "all", "All", question.dont_know,
                             _csv_percent(question.dont_know_percent)])
        writer.writerow([*start, "", SKIPPED_LABEL, "all", "All", question.skipped, ""])
        for group_type, groups in (("constituency", question.by_constituency),
                                   ("service", question.by_service)):
            for group in groups:
                writer.writerows(
                    start + row for row in _group_rows(question, group_type, group, results)
                )
        writer.writerows([*start, "", text, "text", "", "", ""] for text in question.texts)
    return out.getvalue()


def _group_rows(
    question: QuestionResults, group_type: str, group: GroupResults, results: SurveyResults
) -> list[list[object]]:
    picks: list[tuple[object, str, OptionCount | None]] = [
        (option.number, option.label, option) for option in question.options
    ]
    if question.offers_dont_know:
        picks.append(("", DONT_KNOW_LABEL, None))
    found = {option.number: option for option in group.options}
    rows: list[list[object]] = []
    for number, label, option in picks:
        if group.suppressed:
            rows.append([number, label, group_type, group.name, "", results.suppressed_text])
            continue
        if option is None:
            count, percent = group.dont_know or 0, group.dont_know_percent or 0.0
        else:
            counted = found.get(option.number)
            count = counted.count if counted else 0
            percent = counted.percent if counted else 0.0
        rows.append([number, label, group_type, group.name, count, _csv_percent(percent)])
    return rows


def _csv_percent(percent: float) -> str:
    return f"{percent:.1f}"


# The charts --------------------------------------------------------------------------------


def question_chart(question_results: QuestionResults, *, title: str) -> Chart:
    """A horizontal bar chart of how many picked each option, with its text alternative."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    bars = _bars(question_results)
    plain_title = strip_pictures(title)
    labels = [textwrap.fill(label, 24) for label, _, _ in bars]
    counts = [count for _, count, _ in bars]
    figure = Figure(figsize=(10, 2.2 + 0.8 * max(len(bars), 1)), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(bars)))
    axes.barh(positions, counts, color=CHART_COLOUR, height=0.6)
    axes.set_yticks(positions, labels, fontsize=15)
    axes.invert_yaxis()  # option 1 at the top, as it is asked
    axes.set_xlim(0, max([*counts, 1]) * 1.3)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(axis="x", labelsize=13)
    for position, (_, count, percent) in zip(positions, bars, strict=True):
        axes.text(count, position, f"  {count} ({_short_percent(percent)})",
                  va="center", fontsize=15)
    axes.set_xlabel(f"Number of people ({question_results.answered} answered)", fontsize=14)
    axes.set_title(textwrap.fill(plain_title, 55), fontsize=18, loc="left", fontweight="bold")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    figure.clear()
    return Chart(png=out.getvalue(), alt_text=chart_alt_text(question_results, title=title))


def chart_alt_text(question_results: QuestionResults, *, title: str) -> str:
    """The chart in words: "Bar chart: <title> Good 12 (40%), OK 9 (30%), ..."."""
    heading = strip_pictures(title).strip()
    if heading and heading[-1] not in ".?!:":
        heading += "."
    if not question_results.answered:
        return f"Bar chart: {heading} Nobody has answered yet."
    parts = ", ".join(
        f"{label} {count} ({_short_percent(percent)})"
        for label, count, percent in _bars(question_results)
    )
    return f"Bar chart: {heading} {parts}. {_people(question_results.answered)} answered."


def _bars(question: QuestionResults) -> list[tuple[str, int, float]]:
    bars = [
        (strip_pictures(option.label) or str(option.number), option.count, option.percent)
        for option in question.options
    ]
    if question.offers_dont_know:
        bars.append((DONT_KNOW_LABEL, question.dont_know, question.dont_know_percent))
    return bars


def _short_percent(percent: float) -> str:
    return f"{percent:.0f}%" if percent == int(percent) else f"{percent:.1f}%"


def write_charts(results: SurveyResults, directory: Path) -> list[Path]:
    """Write question-01.png and so on for each question with options, and charts.md
    with each chart's text alternative beside it. Returns the PNGs' paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    notes = [f"# Charts: {results.title}", ""]
    for question in results.questions:
        if not question.charted:
            continue
        chart = question_chart(question, title=question.text)
        path = directory / f"question-{question.position:02d}.png"
        path.write_bytes(chart.png)
        written.append(path)
        alt = chart.alt_text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
        notes.extend([f"## Question {question.position}", "", chart.alt_text, "",
                      f"![{alt}]({path.name})", ""])
    (directory / "charts.md").write_text("\n".join(notes), encoding="utf-8")
    return written

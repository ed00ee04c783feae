"""``voicebank report …``: the map and plan, and the report to the Board."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlmodel import Session

from bot.reports.board import BoardReport, board_report
from bot.reports.plan import map_and_plan
from voicebank.cli_support import command_settings, opened
from voicebank.report_render import (
    board_charts,
    board_csv_bundle,
    board_html,
    long_date,
    plan_csv,
    plan_html,
    plan_table,
)

report_app = typer.Typer(help="Reports: the map and plan, and the report to the Board.",
                         no_args_is_help=True)

Organisation = Annotated[str, typer.Option(help="The organisation's name, for the page heading.")]


@report_app.command("plan")
def report_plan(
    csv: Annotated[Path | None, typer.Option("--csv", help="Also write it to this CSV file.")
                   ] = None,
    html: Annotated[Path | None, typer.Option(
        "--html", help="Also write a printable page to this HTML file.")] = None,
    organisation: Organisation = "Voicebank",
) -> None:
    """Show the map and plan: each standard's score, what would make it better, and the
    actions with who's responsible and when by."""
    settings = command_settings()
    with opened(settings) as voicebank, Session(voicebank.database) as session:
        plan = map_and_plan(session=session, now=voicebank.clock.now(), zone=settings.zone)
    typer.echo(plan_table(plan), nl=False)
    if csv is not None:
        # With a byte order mark, so spreadsheet programs read accents and emoji right.
        _write(csv, plan_csv(plan), encoding="utf-8-sig")
        typer.echo(f"The map and plan is in {csv}.")
    if html is not None:
        _write(html, plan_html(plan, organisation=organisation), encoding="utf-8")
        typer.echo(f"The page to print is in {html}.")


@report_app.command("board")
def report_board(
    start: Annotated[str, typer.Option("--from", metavar="YYYY-MM-DD",
                                       help="The first day of the period.")],
    end: Annotated[str, typer.Option("--to", metavar="YYYY-MM-DD",
                                     help="The last day of the period (included).")],
    html: Annotated[Path | None, typer.Option(
        "--html", help="Write the printable report with its charts to this HTML file.")] = None,
    csv: Annotated[Path | None, typer.Option(
        "--csv", help="Write the report's tables as CSV files into this folder.")] = None,
    organisation: Organisation = "Voicebank",
) -> None:
    """Sum up a period for the Board: ideas, messages, surveys, elections, actions done
    and overdue, and MP surgeries."""
    first, last = _day("--from", start), _day("--to", end)
    if last < first:
        typer.echo("--to: the period ends before it starts; give a later date.", err=True)
        raise typer.Exit(2)
    settings = command_settings()
    with opened(settings) as voicebank, Session(voicebank.database) as session:
        report = board_report(session=session, start=first, end=last, zone=settings.zone,
                              now=voicebank.clock.now())
    typer.echo(board_summary(report), nl=False)
    if html is not None:
        page = board_html(report, charts=board_charts(report), organisation=organisation)
        _write(html, page, encoding="utf-8")
        typer.echo(f"The report to print is in {html}.")
    if csv is not None:
        try:
            written = board_csv_bundle(report, csv)
        except OSError as error:
            _cannot_write(csv, error)
        typer.echo(f"The tables are in {csv}: {', '.join(path.name for path in written)}.")


def board_summary(report: BoardReport) -> str:
    """A few lines for the terminal: how many of each thing happened in the period."""
    ideas = report.ideas
    sources = dict(ideas.by_source)
    lines = [
        f"Report to the Board, {long_date(report.start)} to {long_date(report.end)}",
        f"Ideas and feedback: {ideas.total} ({sources.get('idea', 0)} sent in, "
        f"{sources.get('surgery', 0)} heard at surgeries).",
    ]
    if ideas.concerns:
        lines.append(f"{_count(ideas.concerns, 'concern', 'concerns')} went to the "
                     "safeguarding contacts; their words are not in the report.")
    messages = report.messages
    lines.append(f"Messages: {messages.received} in, {messages.sent} out"
                 + (f", {messages.failed} could not be sent." if messages.failed else "."))
    lines.append(f"Surveys open: {len(report.surveys)}.")
    lines.extend(
        f"  {s.results.title}: {s.results.finished} of {s.results.audience} finished "
        f"({s.results.response_rate * 100:.1f}%)."
        for s in report.surveys
    )
    lines.append(f"Elections and polls counted: {len(report.elections)}.")
    lines.extend(
        f"  {e.title}: {', '.join(e.winners) or 'nobody'} "
        f"{'elected' if e.kind == 'election' else 'chosen'}; turnout {e.voted} of {e.on_roll}."
        for e in report.elections
    )
    lines.append(f"Actions done: {len(report.actions_done)}. "
                 f"Overdue on {long_date(report.end)}: {len(report.actions_overdue)}.")
    lines.append(f"MP surgeries held: {len(report.surgeries)}.")
    return "\n".join(lines) + "\n"


def _count(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        typer.echo(f"{option}: {text!r} is not a date; write it like 2026-03-31.", err=True)
        raise typer.Exit(2) from None


def _write(path: Path, text: str, *, encoding: str) -> None:
    try:
        path.write_text(text, encoding=encoding, newline="")
    except OSError as error:
        _cannot_write(path, error)


def _cannot_write(path: Path, error: OSError) -> NoReturn:
    typer.echo(f"Cannot write {path}: {error.strerror or error}.", err=True)
    raise typer.Exit(1)

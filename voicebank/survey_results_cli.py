"""``voicebank survey results ID``: a survey's results in the terminal, as CSV, as charts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from bot.surveys.results import SurveyResults, compute_results
from bot.surveys.results_store import answer_rows, participation
from bot.surveys.store import load_survey
from storage.database import create_database_engine
from voicebank.cli_support import command_settings
from voicebank.survey_report import results_csv, results_table, write_charts


def results_command(
    survey_id: Annotated[int, typer.Argument(help="The survey's number.")],
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Also write the results to this CSV file.")
    ] = None,
    charts: Annotated[
        Path | None, typer.Option("--charts", help="Also draw bar charts into this folder.")
    ] = None,
) -> None:
    """Show a survey's results: counts, percentages and breakdowns by place."""
    settings = command_settings()
    engine = create_database_engine(settings.database_url)
    try:
        with Session(engine) as session:
            results = survey_results(session=session, survey_id=survey_id)
    finally:
        engine.dispose()
    if results is None:
        typer.echo(f"There is no survey {survey_id}.", err=True)
        raise typer.Exit(2)
    typer.echo(results_table(results), nl=False)
    if csv is not None:
        # With a byte order mark, so spreadsheet programs read the emoji and accents right.
        csv.write_text(results_csv(results), encoding="utf-8-sig", newline="")
        typer.echo(f"The results are in {csv}.")
    if charts is not None:
        written = write_charts(results, charts)
        how_many = "1 chart is" if len(written) == 1 else f"{len(written)} charts are"
        typer.echo(
            f"{how_many} in {charts}, with their descriptions in {charts / 'charts.md'}."
        )


def survey_results(*, session: Session, survey_id: int) -> SurveyResults | None:
    """Load a survey and its answers and count them; None when there is no such survey."""
    survey = load_survey(session=session, survey_id=survey_id)
    if survey is None:
        return None
    audience, started, finished = participation(session=session, survey_id=survey_id)
    return compute_results(
        survey=survey,
        answers=answer_rows(session=session, survey_id=survey_id),
        audience=audience,
        started=started,
        finished=finished,
    )

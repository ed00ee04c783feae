"""``voicebank survey …``: start from a template, load a survey file, list and show
surveys, open one now (inviting its audience), close it, and see its results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlmodel import select

from bot.catalogue import load_catalogue
from bot.conversation import Kind
from bot.surveys import store as surveys
from bot.surveys.definition import AudienceKind, SurveyDef
from bot.surveys.flow import DONT_KNOW_EMOJI
from bot.surveys.invitations import close_survey, open_survey
from bot.surveys.loading import SurveyFileError, load_survey_yaml, parse_local_time
from bot.surveys.templates import TEMPLATES, template_text
from storage import people
from storage.database import transaction
from storage.tables import Constituency, Survey, SurveyStatus
from voicebank.cli_support import command_settings, describe_duration, local, opened
from voicebank.survey_results_cli import results_command

survey_app = typer.Typer(help="Surveys: templates, loading, opening, closing, results.",
                         no_args_is_help=True)

DONT_KNOW_LINE = f"{DONT_KNOW_EMOJI} {load_catalogue('en').text('survey.dont_know')}"




def describe(survey: SurveyDef, zone: ZoneInfo) -> str:
    """``7 questions, for constituency Riverside, opens …, closes …``."""
    count = len(survey.questions)
    parts = [f"{count} question{'' if count == 1 else 's'}", f"for {survey.audience.describe()}"]
    parts.append(f"opens {local(survey.opens_at, zone)}" if survey.opens_at
                 else "no opening time yet")
    if survey.closes_at:
        parts.append(f"closes {local(survey.closes_at, zone)}")
    return ", ".join(parts)


@survey_app.command("template")
def survey_template(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(TEMPLATES)}.")],
    out: Annotated[Path | None, typer.Option(help="Write it to this file.")] = None,
) -> None:
    """Print a ready-made survey file to change and load, or write it with --out."""
    if name not in TEMPLATES:
        typer.echo(f"There is no template called {name}. Choose one of: "
                   f"{', '.join(TEMPLATES)}.", err=True)
        raise typer.Exit(2)
    text = template_text(name)
    if out is None:
        typer.echo(text, nl=False)
        return
    if out.exists():
        typer.echo(f"{out} already exists; choose another file name.", err=True)
        raise typer.Exit(1)
    out.write_text(text, encoding="utf-8")
    typer.echo(f"Wrote the {name} template to {out}. Change it, then run: "
               f"voicebank survey load {out}")


@survey_app.command("load")
def survey_load(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A survey file.")],
) -> None:
    """Check a survey file and save it as a new survey."""
    settings = command_settings()
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        typer.echo(f"{file} is not a text file (UTF-8).", err=True)
        raise typer.Exit(2) from None
    try:
        survey = load_survey_yaml(text, source=str(file), zone=settings.zone)
    except SurveyFileError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        audience = survey.audience
        missing = (
            audience.kind == AudienceKind.CONSTITUENCY and session.exec(
                select(Constituency).where(Constituency.name == audience.value)).first() is None
        ) or (
            audience.kind == AudienceKind.SERVICE
            and people.service_by_join_code(session=session, code=audience.value) is None
        )
        if missing:
            typer.echo(f"{file}: audience: there is no {audience.describe()} yet; add it "
                       f"with voicebank {audience.kind} add, or change the audience.", err=True)
            raise typer.Exit(2)
        survey_id = surveys.save_survey(session=session, survey=survey,
                                        now=voicebank.clock.now())
    typer.echo(f"Loaded survey {survey_id}: {survey.title} ({describe(survey, settings.zone)})")


@survey_app.command("list")
def survey_list() -> None:
    """List surveys: id, status, title, audience, when they open and close."""
    settings = command_settings()
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        rows = surveys.list_surveys(session=session)
    if not rows:
        typer.echo("There are no surveys yet. Start from a template: "
                   "voicebank survey template smiley --out survey.yaml")
        return
    zone = settings.zone
    for row in rows:
        audience = "everyone" if row.audience_kind == AudienceKind.EVERYONE else (
            f"{row.audience_kind} {row.audience_value}")
        typer.echo(f"{row.id:>4}  {row.status:<10} {row.title[:40]:<40}  {audience:<24} "
                   f"opens {local(row.opens_at, zone):<16}  closes {local(row.closes_at, zone)}")


@survey_app.command("show")
def survey_show(survey_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Show a survey's questions, each with its options as they will be sent."""
    settings = command_settings()
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        survey = surveys.load_survey(session=session, survey_id=survey_id)
    if survey is None:
        typer.echo(f"There is no survey {survey_id}.", err=True)
        raise typer.Exit(1)
    for line in show_lines(survey, settings.zone):
        typer.echo(line)


def show_lines(survey: SurveyDef, zone: ZoneInfo) -> list[str]:
    """A survey as staff check it before it goes out: the questions in order, each with
    the options people will be offered, "I don't know" included where it is on."""
    lines = [f"Survey {survey.id}: {survey.title}  ({survey.status})",
             describe(survey, zone) + ".",
             "Reminders: " + (", ".join(describe_duration(r) for r in survey.reminders)
                              + " before it closes." if survey.reminders else "none."),
             "Answers are anonymous." if survey.anonymous else "Answers are kept with names."]
    if survey.translations:
        lines.append("Also in: " + ", ".join(sorted(survey.translations)) + ".")
    if survey.intro:
        lines += ["", survey.intro]
    total = len(survey.questions)
    for question in survey.questions:
        about = f"{question.kind}" + (f", standard {question.standard}"
                                      if question.standard else "")
        lines += ["", f"Question {question.position} of {total} ({about})", question.text]
        if question.simpler:
            lines.append(f'  If they reply "?": {question.simpler}')
        for option in question.options:
            picture = f"  [picture: {option.picture}]" if option.picture else ""
            emoji = f"{option.emoji} " if option.emoji else ""
            lines.append(f"  {option.number} {emoji}{option.label}{picture}")
        if survey.dont_know and question.kind in (Kind.CHOICE, Kind.SCALE):
            number = max((option.number for option in question.options), default=0) + 1
            lines.append(f"  {number} {DONT_KNOW_LINE}")
        if question.kind == Kind.TEXT:
            lines.append("  (they answer in their own words)")
    return lines


@survey_app.command("open")
def survey_open(
    survey_id: Annotated[int, typer.Argument(metavar="ID")],
    closes: Annotated[str | None, typer.Option(
        help="When it closes, local time like '2026-12-08 17:00' (else as loaded).")] = None,
) -> None:
    """Open a survey now: its audience is invited straight away, in their language."""
    settings = command_settings()
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        row = session.get(Survey, survey_id)
        if row is None:
            typer.echo(f"There is no survey {survey_id}.", err=True)
            raise typer.Exit(1)
        if row.status == SurveyStatus.CLOSED:
            typer.echo(f"Survey {survey_id} has closed; load it again to run it again.",
                       err=True)
            raise typer.Exit(1)
        now = voicebank.clock.now()
        if closes is not None:
            try:
                closes_at = parse_local_time(closes, settings.zone)
            except ValueError as error:
                typer.echo(f"--closes: {error}", err=True)
                raise typer.Exit(2) from None
            if closes_at <= now:
                typer.echo("--closes: that time has passed; give a time in the future.",
                           err=True)
                raise typer.Exit(2)
            row.closes_at = closes_at
            session.add(row)
        invited = open_survey(session=session, survey_id=survey_id, now=now, actor="staff:cli")
        closing = local(row.closes_at, settings.zone) if row.closes_at else "when you close it"
    typer.echo(f"Survey {survey_id} is open. Invited {invited} "
               f"{'person' if invited == 1 else 'people'}. It closes {closing}.")


@survey_app.command("close")
def survey_close(survey_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Close a survey now: later answers are not stored, and no more reminders go."""
    settings = command_settings()
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        if session.get(Survey, survey_id) is None:
            typer.echo(f"There is no survey {survey_id}.", err=True)
            raise typer.Exit(1)
        close_survey(session=session, survey_id=survey_id, now=voicebank.clock.now(),
                     actor="staff:cli")
    typer.echo(f"Survey {survey_id} is closed. See what people said: "
               f"voicebank survey results {survey_id}")


survey_app.command("results")(results_command)

"""The REST API's setting-up routes under ``/api/v1``: building a survey from a survey
file or a template, adding people from a CSV file, and creating a poll.

They check what they are given by the same rules as the dashboard and the CLI, make the
change in one transaction and audit it as the token's account, as in
:mod:`voicebank.web.api_changes`. A file with mistakes, or a change the rules refuse, gets
409 with ``{"detail": …}`` saying what to put right, and nothing is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, Field
from sqlmodel import Session, select

from bot.elections import service as elections
from bot.elections.service import PollOption
from bot.surveys.loading import (
    SurveyFileError,
    load_survey_yaml,
    parse_reminder,
)
from bot.surveys.store import save_survey
from bot.surveys.templates import template_text
from storage import people
from storage.audit import record_audit
from storage.inbox import storable_text
from storage.tables import Constituency, Election, Role, StaffUser, Survey
from voicebank import people_import
from voicebank.cli_support import describe_duration
from voicebank.people_import import ImportProblem, RowCheck
from voicebank.web.api import SurveyOut
from voicebank.web.api_changes import (
    BOOKED_AHEAD,
    Admin,
    audit_actor,
    one_line,
    refusal,
    refusals,
    run_change,
)
from voicebank.web.people_pages import import_people, join_codes, known_numbers
from voicebank.web.survey_pages import missing_audience
from voicebank.wiring import Voicebank

setup_router = APIRouter(prefix="/api/v1", tags=["Voicebank"])
SURVEY_SOURCE = "The survey"
SURVEY_FILE_LENGTH = 100_000
ELECTORATE_HELP = ("Who votes: everyone, mp (the MPs), constituency:NAME, service:JOIN CODE "
                   "or role:ROLE.")
EXAMPLE_SURVEY = """title: How is the food?
audience: {service: WILLOW1}
questions:
  - kind: scale
    scale: smiley
    text: How is the food?
  - kind: text
    text: What would you change?
"""


def _zone(request: Request) -> ZoneInfo:
    voicebank: Voicebank = request.app.state.voicebank
    return voicebank.settings.zone


# Surveys -----------------------------------------------------------------------------------


class SurveyFileIn(BaseModel):
    yaml: str = Field(max_length=SURVEY_FILE_LENGTH,
                      description="A survey file, as `voicebank survey load` reads it; times "
                                  "are in the organisation's time zone",
                      examples=[EXAMPLE_SURVEY])


class SurveyTemplateIn(BaseModel):
    template: Literal["standards", "smiley"] = Field(
        description="standards: the participation-standards self-assessment; smiley: a "
                    "short easy-read “How are things?” survey")


async def _build_survey(request: Request, user: StaffUser, text: str,
                        template: str | None) -> SurveyOut:
    """Read the survey file as the CLI and the dashboard do, and store it as a new survey."""
    zone = _zone(request)

    def work(session: Session, now: datetime) -> SurveyOut:
        try:
            built = load_survey_yaml(text, source=SURVEY_SOURCE, zone=zone)
        except SurveyFileError as error:
            raise refusal(str(error)) from None
        problem = missing_audience(session, built)
        if problem is not None:
            raise refusal(problem)
        survey_id = save_survey(session=session, survey=built, now=now)
        record_audit(session=session, actor=audit_actor(user), action="survey.created",
                     subject=f"survey:{survey_id}", at=now,
                     detail={"title": built.title, "template": template})
        row = session.get_one(Survey, survey_id)
        return SurveyOut(id=survey_id, title=row.title, status=row.status,
                         opens_at=row.opens_at, closes_at=row.closes_at,
                         anonymous=row.anonymous)

    return await run_change(request, work)


@setup_router.post("/surveys", response_model=SurveyOut, status_code=201,
                   responses=refusals(409))
async def build_survey(request: Request, body: SurveyFileIn, user: Admin) -> SurveyOut:
    """Build a survey from a survey file: a draft, or scheduled when it says when it opens.
    Every mistake in the file is in the 409's detail, one a line, with its line and field."""
    return await _build_survey(request, user, storable_text(body.yaml), None)


@setup_router.post("/surveys/from-template", response_model=SurveyOut, status_code=201,
                   responses=refusals(409))
async def build_survey_from_template(request: Request, body: SurveyTemplateIn, user: Admin
                                     ) -> SurveyOut:
    """Build a survey from a ready-made template, as a draft to everyone, as the
    dashboard's template buttons do."""
    return await _build_survey(request, user, template_text(body.template), body.template)


# People from a CSV file --------------------------------------------------------------------


class PeopleFileIn(BaseModel):
    csv: str = Field(max_length=people_import.MAX_BYTES,
                     description="A CSV file with the columns name, phone, service (a join "
                                 "code) and, if you like, role; commas, semicolons or tabs",
                     examples=["name,phone,service,role\nAnn Lee,07700 900123,WILLOW1,\n"])


class ImportRowOut(BaseModel):
    line: int = Field(description="Its line in the file; the column names are line 1")
    name: str
    phone: str = Field(description="As written in the file")
    address: str | None = Field(description="The address it is stored as; null when it is "
                                            "left out")
    service: str = Field(description="The join code, as read")
    role: str
    problems: list[str] = Field(description="Why it is left out; empty when it is added")


class PeopleImportOut(BaseModel):
    dry_run: bool
    added: list[ImportRowOut] = Field(description="The people added; on a dry run, the people "
                                                  "who would be added")
    left_out: list[ImportRowOut] = Field(description="The rows not added, each with why")


def _row_out(check: RowCheck) -> ImportRowOut:
    return ImportRowOut(line=check.line, name=check.name, phone=check.phone, address=check.urn,
                        service=check.service, role=check.role, problems=list(check.problems))


@setup_router.post("/people/import", response_model=PeopleImportOut, responses=refusals(409))
async def import_people_file(
    request: Request, body: PeopleFileIn, user: Admin,
    dry_run: Annotated[bool, Query(description="Only say what would be added and what is "
                                               "wrong with each row; store nothing")] = False,
) -> PeopleImportOut:
    """Add everyone on the rows of a CSV file that pass the dashboard's checks, in one
    transaction, and say which rows were left out and why. A file that cannot be read as a
    list of people is refused (409) and nobody is added."""
    text = storable_text(body.csv)
    # read_csv fails on a file whose every cell is blank (",,,"); it is an empty file.
    data = b"" if all(ch.isspace() or ch in ',;\t"' for ch in text) else text.encode("utf-8")

    def work(session: Session, now: datetime) -> PeopleImportOut:
        try:
            rows = people_import.read_csv(data)
        except ImportProblem as problem:
            raise refusal(str(problem)) from None
        checks = people_import.check_rows(rows, known_numbers=known_numbers(session),
                                          services=join_codes(session))
        good = [check for check in checks if check.ok]
        left_out = [check for check in checks if not check.ok]
        if not dry_run and good:
            _, failed = import_people(session=session, rows=[check.as_row() for check in good],
                                      left_out=len(left_out), actor=audit_actor(user), now=now)
            lost = {check.line for check in failed}
            good = [check for check in good if check.line not in lost]
            left_out = sorted([*left_out, *failed], key=lambda check: check.line)
        return PeopleImportOut(dry_run=dry_run, added=[_row_out(check) for check in good],
                               left_out=[_row_out(check) for check in left_out])

    return await run_change(request, work)


# Polls -------------------------------------------------------------------------------------


class PollOptionIn(BaseModel):
    label: str = Field(min_length=1, max_length=120)
    emoji: str = Field(default="", max_length=20)


class PollIn(BaseModel):
    title: str = Field(min_length=1, max_length=200, description="A short name for the poll")
    question: str = Field(min_length=1, max_length=1000, description="What people answer")
    options: list[PollOptionIn] = Field(max_length=20, description="At least two; numbered "
                                                                   "from 1 in this order")
    electorate: str = Field(max_length=140, description=ELECTORATE_HELP,
                            examples=["mp", "service:WILLOW1"])
    voting_opens_at: AwareDatetime | None = Field(default=None, description="Else it waits "
                                                  "for voting to be opened by hand")
    voting_closes_at: AwareDatetime | None = None
    reminders: list[Annotated[str, Field(max_length=40)]] = Field(
        default_factory=list, max_length=10,
        description="Remind those who have not voted this long before voting closes, like "
                    "“2 days” or “3 hours”")


class PollOptionOut(BaseModel):
    number: int
    label: str
    emoji: str


class PollOut(BaseModel):
    id: int
    title: str
    question: str
    status: str
    electorate: str = Field(description="everyone, or who votes as kind:value, like role:mp")
    voting_opens_at: datetime | None
    voting_closes_at: datetime | None
    reminders: list[str]
    options: list[PollOptionOut]


def electorate_of(session: Session, written: str) -> tuple[str, str]:
    """(kind, value) for an electorate written as the CLI's ``--electorate`` takes it; the
    constituency or service must exist."""
    text = one_line(written)
    kind, _, value = text.partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if text.lower() == "everyone":
        return "everyone", ""
    if text.lower() in ("mp", "mps"):
        return "role", Role.MP.value
    if kind == "role" and value.lower() in {role.value for role in Role}:
        return kind, value.lower()
    if kind == "constituency" and value:
        if session.exec(select(Constituency).where(Constituency.name == value)).first() is None:
            raise refusal(f"There is no constituency called {value}.")
        return kind, value
    if kind == "service" and value:
        if people.service_by_join_code(session=session, code=value.upper()) is None:
            raise refusal(f"No service has the join code {value.upper()}.")
        return kind, value.upper()
    raise refusal(f"“{text}” is not an electorate. {ELECTORATE_HELP}")


def _voting_time(given: datetime | None, what: str, now: datetime) -> datetime | None:
    """A poll's time in UTC: to come, and at most five years ahead, as for a surgery."""
    if given is None:
        return None
    try:
        moment = given.astimezone(UTC)
    except OverflowError:
        raise refusal(f"When {what}: that time is off the calendar; give a real date.") from None
    if moment <= now:
        raise refusal(f"When {what}: that time has passed; give a time to come.")
    if moment > now + BOOKED_AHEAD:
        raise refusal(f"When {what}: a poll is set at most five years ahead.")
    return moment


def _reminders(written: list[str]) -> list[timedelta]:
    """Reminders as a survey file writes them (at most a year before voting closes)."""
    reminders = []
    for text in written:
        try:
            reminders.append(parse_reminder(text))
        except ValueError as error:
            raise refusal(f"Reminders: “{text}”: {error}.") from None
    return reminders


def _poll_out(poll: Election, options: list[PollOptionOut]) -> PollOut:
    return PollOut(
        id=poll.id or 0, title=poll.title, question=poll.question, status=poll.status,
        electorate=":".join(part for part in (poll.electorate_kind, poll.electorate_value)
                            if part),
        voting_opens_at=poll.voting_opens_at, voting_closes_at=poll.voting_closes_at,
        reminders=[describe_duration(timedelta(seconds=s)) for s in poll.reminders],
        options=options)


@setup_router.post("/polls", response_model=PollOut, status_code=201, responses=refusals(409))
async def add_poll(request: Request, body: PollIn, user: Admin) -> PollOut:
    """A poll: one question put to an electorate, such as the MPs. It is a draft until its
    voting time comes, or until voting is opened by hand (``/elections/{id}/voting``)."""
    title, question = one_line(body.title), one_line(body.question)
    options = [PollOption(label=one_line(option.label), emoji=one_line(option.emoji))
               for option in body.options]

    def work(session: Session, now: datetime) -> PollOut:
        if not title or not question:
            raise refusal("A poll needs a title and a question.")
        if any(not option.label for option in options):
            raise refusal("Each option needs a label.")
        kind, value = electorate_of(session, body.electorate)
        poll = elections.create_poll(
            session=session, title=title, question=question, options=options,
            electorate_kind=kind, electorate_value=value, now=now,
            voting_opens_at=_voting_time(body.voting_opens_at, "voting opens", now),
            voting_closes_at=_voting_time(body.voting_closes_at, "voting closes", now),
            reminders=_reminders(body.reminders))
        record_audit(session=session, actor=audit_actor(user), action=f"{poll.kind}.created",
                     subject=f"election:{poll.id}", at=now, detail={"title": poll.title})
        return _poll_out(poll, [
            PollOptionOut(number=candidate.number or 0, label=candidate.name,
                          emoji=candidate.emoji)
            for candidate in elections.candidates(session=session, election_id=poll.id or 0)])

    return await run_change(request, work)

"""The dashboard's survey pages: the list, building a survey, running it, and its results.

A survey built in the form is written out as a survey file and read back with
``load_survey_yaml``, so the form and a file loaded with ``voicebank survey load`` obey
exactly the same rules and give the same messages.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import yaml
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session, col, select
from starlette.datastructures import FormData, UploadFile

from bot.actions.surgeries import mp_constituencies
from bot.conversation import Kind
from bot.profile import strip_pictures
from bot.surveys.definition import AudienceKind, SurveyDef
from bot.surveys.invitations import close_survey, open_survey
from bot.surveys.loading import SCALES, YES_NO, SurveyFileError, load_survey_yaml, parse_local_time
from bot.surveys.results import SurveyResults
from bot.surveys.results_store import participation
from bot.surveys.store import list_surveys, save_survey, set_times
from bot.surveys.templates import TEMPLATES, template_text
from storage import people
from storage.audit import record_audit
from storage.database import transaction
from storage.tables import Constituency, Person, Role, Service, StaffRole, Survey, SurveyStatus
from voicebank.cli_support import describe_duration
from voicebank.survey_report import question_chart, results_csv
from voicebank.survey_results_cli import survey_results
from voicebank.web.security import Viewer, check_csrf, page_for
from voicebank.wiring import Voicebank

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
survey_router = APIRouter(include_in_schema=False)
ADMIN = (StaffRole.ADMIN,)
READERS = (StaffRole.ADMIN, StaffRole.STAFF, StaffRole.MP)
KINDS = tuple(kind.value for kind in Kind)
MAX_QUESTIONS = 60
MAX_PICTURE = 2 * 1024 * 1024
PICTURE_TYPES = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"),
                 (b"GIF87a", "gif"), (b"GIF89a", "gif"))
STORED_PICTURE = re.compile(r"[0-9a-f]{32}\.(?:png|jpg|gif)")
FIELD_NAMES = {"text": "question", "simpler": "simpler wording", "intro": "introduction",
               "value": "label", "dont_know": "I don't know", "questions": "questions"}
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what a datetime-local input shows and sends
_T = TypeVar("_T")


@dataclass
class QuestionForm:
    """One question as typed into the form; ``pictures`` are stored file names by option."""

    kind: str = Kind.CHOICE.value
    text: str = ""
    simpler: str = ""
    standard: str = ""
    scale: str = ""
    options: str = ""
    pictures: dict[int, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def blank(self) -> bool:
        return not (self.text or self.simpler or self.standard or self.options or self.pictures)

    @property
    def picture_slots(self) -> range:
        """Option numbers to offer a picture upload for: at least 1 to 4, up to 9."""
        numbers = [number for number, *_ in option_lines(self.options) if isinstance(number, int)]
        return range(1, min(9, max([4, *numbers, *self.pictures])) + 1)


@dataclass
class SurveyForm:
    """The whole form as typed; ``errors`` are the problems not about one question."""

    title: str = ""
    intro: str = ""
    audience: str = AudienceKind.EVERYONE.value
    anonymous: bool = False
    dont_know: bool = True
    reminders: str = ""
    opens: str = ""
    closes: str = ""
    questions: list[QuestionForm] = field(default_factory=lambda: [QuestionForm()])
    errors: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return len(self.errors) + sum(len(q.errors) for q in self.questions)


def option_lines(text: str) -> list[tuple[int | str, str, str]]:
    """``1 😀 Good`` lines as (number, emoji, label). A line without a number at the start
    is numbered by where it is; a number that is not a whole number is left for the
    survey rules to refuse."""
    found: list[tuple[int | str, str, str]] = []
    for place, line in enumerate(filter(None, map(str.strip, text.splitlines())), start=1):
        first, _, rest = line.partition(" ")
        number: int | str = place
        if whole := re.fullmatch(r"([0-9]+)[.):]?", first):  # 1, 1. and 1) all mean 1
            number, line = int(whole.group(1)), rest.strip()
        elif re.fullmatch(r"[-+]?[0-9]+(?:[.,][0-9]*)?", first):
            number, line = first, rest.strip()
        emoji, _, label = line.partition(" ")
        if emoji and not strip_pictures(emoji).strip():
            line = label.strip()
        else:
            emoji = ""
        found.append((number, emoji, line))
    return found


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def store_picture(data: bytes, media: Path) -> tuple[str | None, str]:
    """Keep an uploaded picture under a new, safe name: (file name, "") or (None, problem)."""
    if len(data) > MAX_PICTURE:
        return None, "is bigger than 2 MB; choose a smaller picture"
    extension = next((ext for magic, ext in PICTURE_TYPES if data.startswith(magic)), None)
    if extension is None:
        return None, "is not a PNG, JPEG or GIF picture"
    media.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{extension}"
    (media / name).write_bytes(data)
    return name, ""


def read_form(form: FormData, media: Path) -> SurveyForm:
    """The survey form as typed, storing any pictures uploaded with it (in a worker thread)."""
    survey = SurveyForm(
        title=_text(form, "title"), intro=_text(form, "intro"),
        audience=_text(form, "audience") or AudienceKind.EVERYONE.value,
        anonymous=_text(form, "anonymous") == "yes", dont_know=_text(form, "dont_know") == "yes",
        reminders=_text(form, "reminders"), opens=_text(form, "opens"),
        closes=_text(form, "closes"), questions=[])
    slots = _text(form, "slots")
    for slot in range(1, min(int(slots) if slots.isdigit() else 1, MAX_QUESTIONS) + 1):
        at = f"q{slot}_"
        question = QuestionForm(
            kind=_text(form, at + "kind") or Kind.CHOICE.value, text=_text(form, at + "text"),
            simpler=_text(form, at + "simpler"), standard=_text(form, at + "standard"),
            scale=_text(form, at + "scale"), options=_text(form, at + "options"))
        for number in range(1, 10):
            kept = _text(form, f"{at}picture{number}_kept")
            if STORED_PICTURE.fullmatch(kept) and (media / kept).is_file():
                question.pictures[number] = kept
            upload = form.get(f"{at}picture{number}")
            if isinstance(upload, UploadFile) and upload.filename:
                name, problem = store_picture(upload.file.read(MAX_PICTURE + 1), media)
                if name is None:
                    question.errors.append(f"The picture for option {number} {problem}.")
                else:
                    question.pictures[number] = name
        survey.questions.append(question)
    return survey


def survey_file(survey: SurveyForm) -> tuple[str, list[int]]:
    """The form as a survey file, and which form question each file question came from."""
    kind, _, value = survey.audience.partition(":")
    data: dict[str, Any] = {
        "title": survey.title, "intro": survey.intro,
        "audience": kind if kind == AudienceKind.EVERYONE else {kind: value},
        "anonymous": survey.anonymous, "dont_know": survey.dont_know}
    for name in ("opens", "closes"):
        if getattr(survey, name):
            data[name] = getattr(survey, name).replace("T", " ")
    if survey.reminders:
        data["reminders"] = [part.strip() for part in survey.reminders.split(",") if part.strip()]
    questions, slots = [], []
    for slot, question in enumerate(survey.questions):
        if question.blank:
            continue
        item: dict[str, Any] = {"kind": question.kind, "text": question.text}
        for name in ("simpler", "standard", "scale"):
            if getattr(question, name):
                item[name] = getattr(question, name)
        options = [{"number": number, "emoji": emoji, "label": label}
                   for number, emoji, label in option_lines(question.options)]
        for number, picture in sorted(question.pictures.items()):
            option = next((o for o in options if o["number"] == number), None)
            if option is None:
                question.errors.append(f"There is a picture for option {number}, but no option "
                                       f"{number}. Write the options out to give them pictures.")
            else:
                option["picture"] = picture
        if options:
            item["options"] = options
        questions.append(item)
        slots.append(slot)
    data["questions"] = questions
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False), slots


def _friendly(path: str) -> str:
    """``questions[2].options[1].number`` → ``Option line 1, number``, without the question."""
    parts = []
    for name, index in re.findall(r"([a-z_]+)(?:\[(\d+)\])?", path):
        if index and name in ("options", "reminders"):
            parts.append(f"{'option line' if name == 'options' else 'reminder'} {index}")
        else:
            parts.append(FIELD_NAMES.get(name, name))
    return ", ".join(parts).capitalize()


def check_form(survey: SurveyForm, zone: ZoneInfo) -> SurveyDef | None:
    """The survey the form describes, or None with each problem put beside its question."""
    text, slots = survey_file(survey)
    try:
        built = load_survey_yaml(text, source="the form", zone=zone)
    except SurveyFileError as error:
        for problem in error.problems:
            found = re.match(r"questions\[(\d+)\]\.?(.*)", problem.field)
            if found and int(found.group(1)) <= len(slots):
                question = survey.questions[slots[int(found.group(1)) - 1]]
                question.errors.append(f"{_friendly(found.group(2)) or 'Question'}: "
                                       f"{problem.message}.")
            else:
                survey.errors.append(f"{_friendly(problem.field)}: {problem.message}.")
        return None
    return None if survey.problems else built


def form_of(survey: SurveyDef, zone: ZoneInfo) -> SurveyForm:
    """A saved or ready-made survey shown in the form, presets kept as presets."""
    questions = []
    for question in survey.questions:
        scale = next((name for name, preset in SCALES.items()
                      if question.kind == Kind.SCALE and question.options == preset), "")
        preset = scale or (question.kind == Kind.YES_NO and question.options == YES_NO)
        lines = "" if preset else "\n".join(
            " ".join(part for part in (str(o.number), o.emoji, o.label) if part)
            for o in question.options)
        questions.append(QuestionForm(
            kind=question.kind.value, text=question.text, simpler=question.simpler or "",
            standard=question.standard or "", scale=scale, options=lines))
    audience = survey.audience
    return SurveyForm(
        title=survey.title, intro=survey.intro, anonymous=survey.anonymous,
        audience=audience.kind.value if audience.kind == AudienceKind.EVERYONE
        else f"{audience.kind.value}:{audience.value}",
        dont_know=survey.dont_know,
        reminders=", ".join(describe_duration(r) for r in survey.reminders),
        opens=f"{survey.opens_at.astimezone(zone):{LOCAL_INPUT}}" if survey.opens_at else "",
        closes=f"{survey.closes_at.astimezone(zone):{LOCAL_INPUT}}" if survey.closes_at else "",
        questions=questions)


def missing_audience(session: Session, survey: SurveyDef) -> str | None:
    """Why the survey's constituency or service cannot be found, as the CLI says it."""
    audience = survey.audience
    if audience.kind == AudienceKind.CONSTITUENCY and session.exec(
            select(Constituency).where(Constituency.name == audience.value)).first() is None:
        return f"Audience: there is no constituency {audience.value}; choose another."
    if audience.kind == AudienceKind.SERVICE and people.service_by_join_code(
            session=session, code=audience.value) is None:
        return f"Audience: there is no service with the join code {audience.value}."
    return None


def mp_reach(session: Session, viewer: Viewer, now: datetime) -> tuple[set[str], set[str]] | None:
    """What an MP may see: the names of the constituencies they serve and the join codes of
    the services there. None for staff and admins, who see every survey."""
    if viewer.role != StaffRole.MP:
        return None
    person_id = viewer.user.person_id
    person = session.get(Person, person_id) if person_id is not None else None
    served = mp_constituencies(session=session, mp=person, now=now) if person else set()
    names = set(session.exec(select(Constituency.name).where(col(Constituency.id).in_(served))))
    codes = set(session.exec(select(Service.join_code).where(
        col(Service.constituency_id).in_(served))))
    return names, codes


def visible(row: Survey, reach: tuple[set[str], set[str]] | None) -> bool:
    if reach is None:
        return True
    names, codes = reach
    return (row.audience_kind == AudienceKind.CONSTITUENCY and row.audience_value in names) or (
        row.audience_kind == AudienceKind.SERVICE and row.audience_value.upper() in codes)


def _local(moment: datetime | None, zone: ZoneInfo, form: str = "%d %b %Y %H:%M") -> str:
    return f"{moment.astimezone(zone):{form}}" if moment else ""


def survey_rows(session: Session, viewer: Viewer, zone: ZoneInfo, now: datetime
                ) -> list[dict[str, Any]]:
    reach = mp_reach(session, viewer, now)
    rows = []
    for row in list_surveys(session=session):
        if row.id is None or not visible(row, reach):
            continue
        asked, _, finished = participation(session=session, survey_id=row.id)
        rows.append({
            "id": row.id, "title": row.title, "status": row.status,
            "audience": "everyone" if row.audience_kind == AudienceKind.EVERYONE
            else f"{row.audience_kind} {row.audience_value}",
            "opens": _local(row.opens_at, zone), "closes": _local(row.closes_at, zone),
            "opens_input": _local(row.opens_at, zone, LOCAL_INPUT),
            "closes_input": _local(row.closes_at, zone, LOCAL_INPUT),
            "rate": f"{100 * finished / asked:.0f}% ({finished} of {asked})" if asked else "-",
            "closed": row.status == SurveyStatus.CLOSED})
    return rows


def _voicebank(request: Request) -> Voicebank:
    voicebank: Voicebank = request.app.state.voicebank
    return voicebank


async def _list_page(request: Request, viewer: Viewer, *, notice: str = "",
                     problem: tuple[int, str] | None = None, status_code: int = 200) -> Response:
    voicebank = _voicebank(request)

    def load() -> list[dict[str, Any]]:
        with transaction(voicebank.database) as session:
            return survey_rows(session, viewer, voicebank.settings.zone, voicebank.clock.now())

    rows = await asyncio.to_thread(load)
    return templates.TemplateResponse(request, "surveys.html", {
        "title": "Surveys", "viewer": viewer, "surveys": rows, "notice": notice,
        "problem": problem, "admin": viewer.role == StaffRole.ADMIN}, status_code=status_code)


@survey_router.get("/surveys", response_class=HTMLResponse)
async def surveys_page(
    request: Request, viewer: Annotated[Viewer, Depends(page_for(*READERS))],
    created: int | None = None, opened: int | None = None, invited: int = 0,
    closed: int | None = None, scheduled: int | None = None,
) -> Response:
    who = "1 person was" if invited == 1 else f"{invited} people were"
    notice = (f"Survey {created} is saved as a draft. Set when it opens, or open it now."
              if created else f"Survey {opened} is open. {who} invited."
              if opened else f"Survey {closed} is closed. No more answers are stored."
              if closed else f"Survey {scheduled}'s times are saved." if scheduled else "")
    return await _list_page(request, viewer, notice=notice)


async def _edit_page(request: Request, viewer: Viewer, survey: SurveyForm,
                     status_code: int = 200) -> Response:
    voicebank = _voicebank(request)

    def choices() -> dict[str, Any]:
        with transaction(voicebank.database) as session:
            return {
                "constituencies": list(session.exec(
                    select(Constituency.name).order_by(col(Constituency.name)))),
                "services": [(s.join_code, s.name) for s in session.exec(
                    select(Service).order_by(col(Service.name)))],
                "roles": [role.value for role in Role]}

    found = await asyncio.to_thread(choices)
    known = {AudienceKind.EVERYONE.value, *(f"constituency:{c}" for c in found["constituencies"]),
             *(f"service:{code}" for code, _ in found["services"]),
             *(f"role:{role}" for role in found["roles"])}
    return templates.TemplateResponse(request, "survey_edit.html", {
        "title": "Build a survey", "viewer": viewer, "form": survey, "kinds": KINDS,
        "scales": tuple(SCALES), "templates": TEMPLATES, **found,
        "other_audience": "" if survey.audience in known else survey.audience},
        status_code=status_code)


@survey_router.get("/surveys/new", response_class=HTMLResponse)
async def new_survey_page(
    request: Request, viewer: Annotated[Viewer, Depends(page_for(*ADMIN))], template: str = "",
) -> Response:
    if not template:
        blank = SurveyForm(questions=[QuestionForm() for _ in range(3)])
        return await _edit_page(request, viewer, blank)
    if template not in TEMPLATES:
        survey = SurveyForm(errors=[f"There is no template called {template}."])
        return await _edit_page(request, viewer, survey, status_code=422)
    zone = _voicebank(request).settings.zone
    built = load_survey_yaml(template_text(template), source=template, zone=zone)
    return await _edit_page(request, viewer, form_of(built, zone))


@survey_router.post("/surveys/new")
async def create_survey(
    request: Request, viewer: Annotated[Viewer, Depends(page_for(*ADMIN))]
) -> Response:
    async with request.form() as form:  # closes the uploads' temporary files at the end
        return await _create(request, viewer, form)


async def _create(request: Request, viewer: Viewer, form: FormData) -> Response:
    check_csrf(viewer, _text(form, "csrf"))
    voicebank = _voicebank(request)
    zone, actor = voicebank.settings.zone, f"staff_user:{viewer.user.id}"
    action, template = _text(form, "action"), _text(form, "template")
    if action == "template" and template not in TEMPLATES:
        survey = SurveyForm(errors=[f"There is no template called {template or 'that'}."])
        return await _edit_page(request, viewer, survey, status_code=422)
    survey = SurveyForm()
    if action != "template":
        survey = await asyncio.to_thread(read_form, form, Path(voicebank.settings.media_dir))
        if action == "more":
            survey.questions.append(QuestionForm())
            return await _edit_page(request, viewer, survey)

    def save() -> int | None:
        built = (load_survey_yaml(template_text(template), source=template, zone=zone)
                 if action == "template" else check_form(survey, zone))
        if built is None:
            return None
        with transaction(voicebank.database) as session:
            problem = missing_audience(session, built)
            if problem is not None:
                survey.errors.append(problem)
                return None
            now = voicebank.clock.now()
            survey_id = save_survey(session=session, survey=built, now=now)
            record_audit(session=session, actor=actor, action="survey.created",
                         subject=f"survey:{survey_id}", at=now,
                         detail={"title": built.title, "template": template or None})
            return survey_id

    survey_id = await asyncio.to_thread(save)
    if survey_id is None:
        return await _edit_page(request, viewer, survey, status_code=422)
    return RedirectResponse(f"/surveys?created={survey_id}", status_code=303)


async def _in_survey(request: Request, survey_id: int,
                     work: Callable[[Session, Survey, datetime], _T]) -> _T:
    """Run ``work`` on the survey in one transaction; 404 when there is no such survey."""
    voicebank = _voicebank(request)

    def run() -> _T:
        with transaction(voicebank.database) as session:
            row = session.get(Survey, survey_id)
            if row is None:
                raise HTTPException(status_code=404, detail=f"There is no survey {survey_id}.")
            return work(session, row, voicebank.clock.now())

    return await asyncio.to_thread(run)


async def _refused(request: Request, viewer: Viewer, survey_id: int, problem: str) -> Response:
    return await _list_page(request, viewer, problem=(survey_id, problem), status_code=422)


@survey_router.post("/surveys/{survey_id}/schedule")
async def schedule_survey(
    request: Request, survey_id: int, viewer: Annotated[Viewer, Depends(page_for(*ADMIN))],
    csrf: Annotated[str, Form()] = "", opens: Annotated[str, Form()] = "",
    closes: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(viewer, csrf)
    zone = _voicebank(request).settings.zone
    try:
        opens_at = parse_local_time(opens, zone) if opens else None
        closes_at = parse_local_time(closes, zone) if closes else None
    except ValueError as error:
        return await _refused(request, viewer, survey_id, f"Opens and closes: {error}.")

    def schedule(session: Session, row: Survey, now: datetime) -> str:
        if row.status == SurveyStatus.CLOSED:
            return "This survey has closed, so its times cannot change."
        if closes_at is not None and closes_at <= now:
            return "Closes: that time has passed; give a time in the future."
        try:
            set_times(session=session, survey_id=survey_id, opens_at=opens_at,
                      closes_at=closes_at)
        except ValueError:
            return "Closes: a survey must close after it opens."
        record_audit(session=session, actor=f"staff_user:{viewer.user.id}",
                     action="survey.scheduled", subject=f"survey:{survey_id}", at=now,
                     detail={"opens": opens, "closes": closes})
        return ""

    problem = await _in_survey(request, survey_id, schedule)
    if problem:
        return await _refused(request, viewer, survey_id, problem)
    return RedirectResponse(f"/surveys?scheduled={survey_id}", status_code=303)


@survey_router.post("/surveys/{survey_id}/open")
async def open_survey_now(
    request: Request, survey_id: int, viewer: Annotated[Viewer, Depends(page_for(*ADMIN))],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(viewer, csrf)

    def run(session: Session, row: Survey, now: datetime) -> int | str:
        if row.status == SurveyStatus.CLOSED:
            return "This survey has closed, so it cannot open again. Build it again to rerun it."
        if row.closes_at is not None and row.closes_at <= now:
            return "Its closing time has passed. Set a later closing time first."
        return open_survey(session=session, survey_id=survey_id, now=now,
                           actor=f"staff_user:{viewer.user.id}")

    outcome = await _in_survey(request, survey_id, run)
    if isinstance(outcome, str):
        return await _refused(request, viewer, survey_id, outcome)
    dispatcher = request.app.state.runtime.dispatcher
    if dispatcher is not None:
        dispatcher.wake()
    query = urlencode({"opened": survey_id, "invited": outcome})
    return RedirectResponse(f"/surveys?{query}", status_code=303)


@survey_router.post("/surveys/{survey_id}/close")
async def close_survey_now(
    request: Request, survey_id: int, viewer: Annotated[Viewer, Depends(page_for(*ADMIN))],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(viewer, csrf)
    await _in_survey(request, survey_id, lambda session, _, now: close_survey(
        session=session, survey_id=survey_id, now=now, actor=f"staff_user:{viewer.user.id}"))
    return RedirectResponse(f"/surveys?closed={survey_id}", status_code=303)


async def _results(request: Request, viewer: Viewer, survey_id: int
                   ) -> tuple[SurveyResults, dict[str, Any]]:
    """The results of a survey this viewer may see; 404 for any other, as if it were not
    there."""
    voicebank = _voicebank(request)
    zone = voicebank.settings.zone

    def load() -> tuple[SurveyResults, dict[str, Any]] | None:
        with transaction(voicebank.database) as session:
            row = session.get(Survey, survey_id)
            if row is None or not visible(row, mp_reach(session, viewer, voicebank.clock.now())):
                return None
            results = survey_results(session=session, survey_id=survey_id)
            assert results is not None
            about = {"status": row.status, "anonymous": row.anonymous,
                     "audience": "everyone" if row.audience_kind == AudienceKind.EVERYONE
                     else f"{row.audience_kind} {row.audience_value}",
                     "opens": _local(row.opens_at, zone), "closes": _local(row.closes_at, zone)}
            return results, about

    found = await asyncio.to_thread(load)
    if found is None:
        raise HTTPException(status_code=404, detail=f"There is no survey {survey_id}.")
    return found


@survey_router.get("/surveys/{survey_id}/results", response_class=HTMLResponse)
async def results_page(
    request: Request, survey_id: int, viewer: Annotated[Viewer, Depends(page_for(*READERS))]
) -> Response:
    results, about = await _results(request, viewer, survey_id)

    def draw() -> dict[int, tuple[str, str]]:
        charts = {}
        for question in results.questions:
            if question.charted:
                chart = question_chart(question, title=question.text)
                charts[question.position] = (base64.b64encode(chart.png).decode(), chart.alt_text)
        return charts

    charts = await asyncio.to_thread(draw)
    return templates.TemplateResponse(request, "survey_results.html", {
        "title": f"Results: {results.title}", "viewer": viewer, "r": results, "about": about,
        "survey_id": survey_id, "charts": charts,
        "rate": f"{results.response_rate * 100:.1f}%"})


@survey_router.get("/surveys/{survey_id}/results.csv")
async def results_download(
    request: Request, survey_id: int, viewer: Annotated[Viewer, Depends(page_for(*READERS))]
) -> Response:
    results, _ = await _results(request, viewer, survey_id)
    # With a byte order mark, so spreadsheet programs read the emoji and accents right.
    return Response("\ufeff" + results_csv(results), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="survey-{survey_id}-results.csv"'})

"""The dashboard's survey pages: the list, building a survey, running it, and its results.

What the build form holds and how it is read and checked is in
:mod:`voicebank.web.survey_form`; these are the routes around it.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from bot.actions.surgeries import mp_constituencies
from bot.conversation import Kind
from bot.surveys.definition import AudienceKind, SurveyDef
from bot.surveys.invitations import close_survey, open_survey
from bot.surveys.loading import SCALES, load_survey_yaml, parse_local_time
from bot.surveys.results import SurveyResults
from bot.surveys.results_store import participation
from bot.surveys.store import list_surveys, save_survey, set_times
from bot.surveys.templates import TEMPLATES, template_text
from storage import people
from storage.audit import record_audit
from storage.database import transaction
from storage.tables import Constituency, Person, Role, Service, StaffRole, Survey, SurveyStatus
from voicebank.survey_report import question_chart, results_csv
from voicebank.survey_results_cli import survey_results
from voicebank.web.security import Viewer, check_csrf, page_for
from voicebank.web.survey_form import (
    LOCAL_INPUT,
    QuestionForm,
    SurveyForm,
    check_form,
    form_of,
    form_text,
    read_form,
)
from voicebank.wiring import Voicebank

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
survey_router = APIRouter(include_in_schema=False)
ADMIN = (StaffRole.ADMIN,)
READERS = (StaffRole.ADMIN, StaffRole.STAFF, StaffRole.MP)
KINDS = tuple(kind.value for kind in Kind)
_T = TypeVar("_T")


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
    check_csrf(viewer, form_text(form, "csrf"))
    voicebank = _voicebank(request)
    zone, actor = voicebank.settings.zone, f"staff_user:{viewer.user.id}"
    action, template = form_text(form, "action"), form_text(form, "template")
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

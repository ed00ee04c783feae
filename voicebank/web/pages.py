"""The staff dashboard's pages: sign in and out, and the overview."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session, col, func, select

from storage.database import transaction
from storage.tables import (
    Action,
    ActionStatus,
    ActionSuggestion,
    Election,
    ElectionStatus,
    InboxMessage,
    OutboxMessage,
    OutboxStatus,
    Person,
    RollEntry,
    StaffRole,
    Suggestion,
    Survey,
    SurveyParticipant,
    SurveyStatus,
)
from voicebank import accounts
from voicebank.web.security import COOKIE, Viewer, check_csrf, page_for, secure_cookies
from voicebank.wiring import Voicebank

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=False)
EVERYONE = (StaffRole.ADMIN, StaffRole.STAFF, StaffRole.MP)


def _voicebank(request: Request) -> Voicebank:
    voicebank: Voicebank = request.app.state.voicebank
    return voicebank


def _safe_next(target: str) -> str:
    """Only a path on this site: never send someone elsewhere after signing in."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, next: str = "/") -> Response:
    return templates.TemplateResponse(request, "sign_in.html", {
        "title": "Sign in", "viewer": None, "error": None, "email": "",
        "next": _safe_next(next)})


@router.post("/sign-in")
async def sign_in(
    request: Request,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    voicebank = _voicebank(request)

    def attempt() -> accounts.SignedIn | str:
        with transaction(voicebank.database) as session:
            try:
                return accounts.sign_in(session=session, email=email, password=password,
                                        now=voicebank.clock.now())
            except accounts.AccountError as error:
                return str(error)

    outcome = await asyncio.to_thread(attempt)
    if isinstance(outcome, str):
        return templates.TemplateResponse(request, "sign_in.html", {
            "title": "Sign in", "viewer": None, "error": outcome.capitalize() + ".",
            "email": email, "next": _safe_next(next)}, status_code=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE, outcome.token, max_age=int(accounts.SESSION_LENGTH.total_seconds()),
        httponly=True, samesite="lax",
        secure=secure_cookies(voicebank.settings.public_url), path="/",
    )
    return response


@router.post("/sign-out")
async def sign_out(
    request: Request,
    viewer: Annotated[Viewer, Depends(page_for(*EVERYONE))],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(viewer, csrf)
    voicebank = _voicebank(request)

    def forget() -> None:
        with transaction(voicebank.database) as session:
            accounts.sign_out(session=session, token=request.cookies.get(COOKIE))

    await asyncio.to_thread(forget)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@dataclass
class Overview:
    messages_in: int = 0
    messages_out: int = 0
    failed: int = 0
    surveys: list[dict[str, Any]] = field(default_factory=list)
    elections: list[dict[str, Any]] = field(default_factory=list)
    overdue: list[dict[str, Any]] = field(default_factory=list)
    new_ideas: list[dict[str, Any]] = field(default_factory=list)


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def overview(session: Session, now: datetime, voicebank: Voicebank,
             viewer: Viewer | None = None) -> Overview:
    """What a participation lead wants to see first thing. An MP sees only their own
    constituency's surveys and elections."""
    from voicebank.web.election_pages import viewer_scope
    from voicebank.web.survey_pages import mp_reach

    is_mp = viewer is not None and viewer.role == StaffRole.MP
    reach = mp_reach(session, viewer, now) if viewer is not None else None
    scope = viewer_scope(session, viewer, now) if viewer is not None else None
    zone = voicebank.settings.zone
    local = now.astimezone(zone)
    day_start = datetime.combine(local.date(), time(0), tzinfo=zone)
    result = Overview()
    if not is_mp:
        _count_messages(session, result, day_start)
    return _add_lists(session, result, now, zone, local, reach, scope, is_mp)


def _count_messages(session: Session, result: Overview, day_start: datetime) -> None:
    result.messages_in = session.exec(select(func.count()).select_from(InboxMessage).where(
        col(InboxMessage.received_at) >= day_start)).one()
    result.messages_out = session.exec(select(func.count()).select_from(OutboxMessage).where(
        col(OutboxMessage.sent_at) >= day_start)).one()
    result.failed = session.exec(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.FAILED)).one()


def _add_lists(session: Session, result: Overview, now: datetime, zone: ZoneInfo,
               local: datetime, reach: Any, scope: set[int] | None, is_mp: bool) -> Overview:
    from voicebank.web.election_pages import may_see
    from voicebank.web.survey_pages import visible

    for survey in session.exec(select(Survey).where(Survey.status == SurveyStatus.OPEN)):
        if not visible(survey, reach):
            continue
        asked = session.exec(select(func.count()).select_from(SurveyParticipant).where(
            SurveyParticipant.survey_id == survey.id)).one()
        finished = session.exec(select(func.count()).select_from(SurveyParticipant).where(
            SurveyParticipant.survey_id == survey.id,
            SurveyParticipant.status == "finished")).one()
        result.surveys.append({
            "title": survey.title, "audience": asked, "finished": finished,
            "rate": _rate(finished, asked),
            "closes": f"{survey.closes_at.astimezone(zone):%d %b %H:%M}" if survey.closes_at
            else "when closed by hand"})
    for election in session.exec(select(Election).where(
            Election.status == ElectionStatus.VOTING)):
        if not may_see(election, scope):
            continue
        roll = session.exec(select(func.count()).select_from(RollEntry).where(
            RollEntry.election_id == election.id)).one()
        voted = session.exec(select(func.count()).select_from(RollEntry).where(
            RollEntry.election_id == election.id, col(RollEntry.voted))).one()
        result.elections.append({
            "title": election.title, "roll": roll, "voted": voted, "rate": _rate(voted, roll),
            "closes": f"{election.voting_closes_at.astimezone(zone):%d %b %H:%M}"
            if election.voting_closes_at else "when closed by hand"})
    if is_mp:
        return result  # actions, ideas and message counts are for staff
    for action in session.exec(select(Action).where(
            Action.status == ActionStatus.OPEN, col(Action.due_on) < local.date())
            .order_by(col(Action.due_on))):
        owner = session.get(Person, action.owner_id)
        result.overdue.append({"id": action.id, "what": action.what,
                               "owner": owner.name if owner else "?",
                               "due": f"{action.due_on:%d %b %Y}"})
    linked = select(ActionSuggestion.suggestion_id)
    for idea in session.exec(select(Suggestion).where(
            col(Suggestion.id).not_in(linked),
            col(Suggestion.created_at) >= now - timedelta(days=30))
            .order_by(col(Suggestion.id).desc()).limit(20)):
        result.new_ideas.append({"id": idea.id, "concern": idea.concern,
                                 "text": "(see the safeguarding alert)" if idea.concern
                                 else idea.text[:200]})
    return result


@router.get("/", response_class=HTMLResponse)
async def overview_page(
    request: Request, viewer: Annotated[Viewer, Depends(page_for(*EVERYONE))]
) -> Response:
    voicebank = _voicebank(request)

    def load() -> Overview:
        with transaction(voicebank.database) as session:
            return overview(session, voicebank.clock.now(), voicebank, viewer)

    data = await asyncio.to_thread(load)
    return templates.TemplateResponse(request, "overview.html", {
        "title": "Overview", "viewer": viewer, "o": data})

"""The dashboard's ideas, actions, map and plan, and MPs' surgeries.

Staff turn ideas into actions (the owner is told by the bot) and sign their own actions
off (the people whose ideas led to them hear "you said, we did"); admins may sign off any
action and book or cancel surgeries; an MP sees only their own surgeries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlmodel import Session, col, func, select

from bot.actions.service import ActionError, complete_action, create_action
from bot.actions.surgeries import cancel_surgery, schedule_surgery, service_name
from bot.outreach import already_queued
from bot.reports.plan import map_and_plan
from bot.surveys.loading import parse_local_time
from storage.database import transaction
from storage.tables import (
    Action,
    ActionStatus,
    ActionSuggestion,
    Person,
    PersonRole,
    Role,
    Service,
    StaffRole,
    Suggestion,
    Surgery,
    SurgeryStatus,
)
from voicebank.action_cli import (
    STANDARD,
    SURGERY_LENGTH,
    actions_by_idea,
    long_date,
    name_of,
    surgery_title,
    who_said,
)
from voicebank.report_render import plan_html
from voicebank.web.security import Viewer, check_csrf, page_for
from voicebank.wiring import Voicebank

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
action_router = APIRouter(include_in_schema=False)
ADMIN = (StaffRole.ADMIN,)
STAFF = (StaffRole.ADMIN, StaffRole.STAFF)
EVERYONE = (StaffRole.ADMIN, StaffRole.STAFF, StaffRole.MP)
IDEAS_SHOWN = 200
CONCERN = "(safeguarding concern)"
PLAN_PAGE = (
    '{% extends "base.html" %}{% block content %}<style>.plan .signed, .plan .standard '
    "{ display: block; } .plan .standard { font-weight: 700; } .plan .none { font-style: "
    'italic; }</style><div class="plan">{{ body }}</div>{% endblock %}')


def _voicebank(request: Request) -> Voicebank:
    voicebank: Voicebank = request.app.state.voicebank
    return voicebank


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%d %b %Y %H:%M}" if moment else "-"


def sentence(text: str) -> str:
    text = text.strip()[:1].upper() + text.strip()[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def people_with(session: Session, *roles: str) -> list[Person]:
    """Everyone with one of ``roles`` who has not opted out, by name."""
    return list(session.exec(
        select(Person).where(col(Person.opted_out_at).is_(None), col(Person.id).in_(
            select(PersonRole.person_id).where(col(PersonRole.role).in_(roles))))
        .order_by(col(Person.name), col(Person.id))))


async def run(request: Request, work: Callable[[Session, Voicebank], Any]) -> Any:
    """``work`` in one transaction, in a worker thread."""
    voicebank = _voicebank(request)

    def unit() -> Any:
        with transaction(voicebank.database) as session:
            return work(session, voicebank)

    return await asyncio.to_thread(unit)


async def attempt(request: Request, work: Callable[[Session, Voicebank], Any]) -> tuple[Any, str]:
    """``work`` in one transaction; when the rules refuse, nothing is kept and the
    refusal comes back in words: (result, "") or (None, why)."""
    voicebank = _voicebank(request)

    def unit() -> tuple[Any, str]:
        try:
            with transaction(voicebank.database) as session:
                return work(session, voicebank), ""
        except ActionError as error:
            return None, sentence(str(error))

    return await asyncio.to_thread(unit)


# Ideas -------------------------------------------------------------------------------------


def ideas_context(session: Session, voicebank: Voicebank, *, new_only: bool) -> dict[str, Any]:
    zone = voicebank.settings.zone
    led_to = actions_by_idea(session)
    query = select(Suggestion)
    if new_only:
        query = query.where(col(Suggestion.id).not_in(select(ActionSuggestion.suggestion_id)))
    rows = [{
        "id": idea.id, "sent": local_time(idea.created_at, zone),
        "service": service_name(session, idea.service_id) if idea.service_id else "-",
        "topic": idea.topic or "-", "source": idea.source, "who": who_said(session, idea),
        "concern": idea.concern, "text": CONCERN if idea.concern else idea.text,
        "actions": led_to.get(idea.id or 0, []),
    } for idea in session.exec(query.order_by(col(Suggestion.id).desc()).limit(IDEAS_SHOWN))]
    return {"ideas": rows, "owners": people_with(session, Role.STAFF, Role.ADMIN),
            "today": voicebank.clock.now().astimezone(zone).date().isoformat(),
            "new_only": new_only, "shown": IDEAS_SHOWN}


@action_router.get("/ideas", response_class=HTMLResponse)
async def ideas_page(
    request: Request, viewer: Annotated[Viewer, Depends(page_for(*STAFF))], new: bool = False
) -> Response:
    data = await run(request, lambda s, v: ideas_context(s, v, new_only=new))
    return templates.TemplateResponse(request, "ideas.html", {
        "title": "Ideas", "viewer": viewer, "form": {}, "chosen": [], "error": None, **data})


def triage(session: Session, voicebank: Voicebank, form: dict[str, str], chosen: list[str],
           actor: str) -> int:
    """An action from the chosen ideas; ActionError says what to put right."""
    now = voicebank.clock.now()
    try:
        ideas = [int(value) for value in chosen]
    except ValueError:
        raise ActionError("choose ideas from the list") from None
    try:
        owner = int(form.get("owner", ""))
    except ValueError:
        raise ActionError("choose who is responsible") from None
    try:
        due_on = date.fromisoformat(form.get("due", "").strip())
    except ValueError:
        raise ActionError("give the date it is due by, like 2026-12-12") from None
    if due_on < now.astimezone(voicebank.settings.zone).date():
        raise ActionError(f"{long_date(due_on)} has passed; give today or a later date")
    standard = form.get("standard", "").strip() or None
    if standard is not None and not STANDARD.fullmatch(standard):
        raise ActionError(f"{standard!r} is not a participation standard's number; write it "
                          "like 3.2")
    action = create_action(session=session, what=form.get("what", ""), owner_id=owner,
                           due_on=due_on, now=now, actor=actor, suggestion_ids=ideas,
                           standard=standard)
    return action.id or 0


@action_router.post("/ideas/triage")
async def triage_ideas(
    request: Request, viewer: Annotated[Viewer, Depends(page_for(*STAFF))]
) -> Response:
    submitted = await request.form()
    check_csrf(viewer, str(submitted.get("csrf", "")))
    form = {name: str(submitted.get(name, "")) for name in ("what", "owner", "due", "standard")}
    chosen = [str(value) for value in submitted.getlist("idea")]
    actor = f"staff_user:{viewer.user.id}"

    made, refused = await attempt(
        request, lambda s, v: triage(s, v, form, chosen, actor))
    if not refused:
        return RedirectResponse(f"/actions?made={made}", status_code=303)
    data = await run(request, lambda s, v: ideas_context(s, v, new_only=False))
    return templates.TemplateResponse(request, "ideas.html", {
        "title": "Ideas", "viewer": viewer, "form": form, "chosen": chosen, "error": refused,
        **data}, status_code=422)


# Actions -----------------------------------------------------------------------------------


def may_sign(viewer: Viewer, action: Action) -> bool:
    """An admin, or the staff account of the action's owner."""
    return viewer.role == StaffRole.ADMIN or (
        viewer.user.person_id is not None and viewer.user.person_id == action.owner_id)


def actions_context(session: Session, voicebank: Voicebank, viewer: Viewer, *, show: str,
                    made: int | None) -> dict[str, Any]:
    zone = voicebank.settings.zone
    day = voicebank.clock.now().astimezone(zone).date()
    show = show if show in ("all", "mine") else (
        "all" if viewer.role == StaffRole.ADMIN else "mine")
    query = select(Action).order_by(col(Action.due_on), col(Action.id))
    if show == "mine":
        query = query.where(Action.owner_id == (viewer.user.person_id or -1))
    ideas: dict[int, list[int]] = {}
    for link in session.exec(select(ActionSuggestion).order_by(
            col(ActionSuggestion.suggestion_id))):
        ideas.setdefault(link.action_id, []).append(link.suggestion_id)
    sections: dict[str, list[dict[str, Any]]] = {"overdue": [], "open": [], "done": []}
    for action in session.exec(query):
        done = action.status == ActionStatus.DONE
        part = "done" if done else "overdue" if action.due_on < day else "open"
        sections[part].append({
            "id": action.id, "what": action.what, "owner": name_of(session, action.owner_id),
            "due": long_date(action.due_on), "standard": action.standard or "-",
            "ideas": ideas.get(action.id or 0, []), "may_sign": not done and may_sign(
                viewer, action),
            "done_at": local_time(action.done_at, zone), "note": action.done_note or "",
            "done_by": name_of(session, action.done_by) if done else ""})
    notice = ""
    found = session.get(Action, made) if made else None
    if found is not None:
        owner = name_of(session, found.owner_id)
        told = already_queued(session=session, dedupe_key=f"action:{found.id}:owner")
        notice = (f"Action {found.id} is made. " + (
            f"{owner} has been sent a message about it." if told else
            f"{owner} could not be sent a message (no address, or they said STOP); tell "
            "them yourself."))
    return {"sections": sections, "show": show, "notice": notice,
            "linked": viewer.user.person_id is not None}


async def _actions(request: Request, viewer: Viewer, *, show: str = "", made: int | None = None,
                   notice: str = "", error: str = "", status_code: int = 200) -> Response:
    data = await run(request, lambda s, v: actions_context(s, v, viewer, show=show, made=made))
    data["notice"] = notice or data["notice"]
    return templates.TemplateResponse(request, "actions.html", {
        "title": "Actions", "viewer": viewer, "error": error, **data}, status_code=status_code)


@action_router.get("/actions", response_class=HTMLResponse)
async def actions_page(
    request: Request, viewer: Annotated[Viewer, Depends(page_for(*STAFF))],
    show: str = "", made: int | None = None, done: int | None = None, told: int = 0,
) -> Response:
    notice = ""
    if done is not None:
        people = "1 person" if told == 1 else f"{told} people"
        notice = f"Action {done} is signed off. Told {people} “you said, we did”."
    return await _actions(request, viewer, show=show, made=made, notice=notice)


@action_router.post("/actions/{action_id}/done")
async def sign_off_action(
    request: Request, action_id: int, viewer: Annotated[Viewer, Depends(page_for(*STAFF))],
    csrf: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(viewer, csrf)
    actor = f"staff_user:{viewer.user.id}"

    def work(session: Session, voicebank: Voicebank) -> int | str:
        action = session.get(Action, action_id)
        if action is None:
            raise HTTPException(status_code=404, detail=f"There is no action {action_id}.")
        if not may_sign(viewer, action):
            raise HTTPException(status_code=403, detail="Only the action's owner or an admin "
                                                        "can sign it off.")
        owner = session.get_one(Person, action.owner_id)
        completion = complete_action(session=session, action_id=action_id, by=owner,
                                     note=note[:2000], now=voicebank.clock.now(), actor=actor)
        if not completion.done:
            return f"Action {action_id} was already signed off."
        return completion.told

    result = await run(request, work)
    if isinstance(result, str):
        return await _actions(request, viewer, show="all", error=result, status_code=422)
    return RedirectResponse(f"/actions?done={action_id}&told={result}", status_code=303)


# The map and plan --------------------------------------------------------------------------


@action_router.get("/plan", response_class=HTMLResponse)
async def plan_page(
    request: Request, viewer: Annotated[Viewer, Depends(page_for(*STAFF))]
) -> Response:
    page = await run(request, lambda s, v: plan_html(map_and_plan(
        session=s, now=v.clock.now(), zone=v.settings.zone)))
    body = page.split("<body>", 1)[1].rsplit("</body>", 1)[0]
    for tag, inside in (("<header>", "<div>"), ("</header>", "</div>"),
                        ("<main>", "<div>"), ("</main>", "</div>")):
        body = body.replace(tag, inside, 1)  # the dashboard's own page has the main element
    # plan_html escapes everything people wrote (its templates autoescape).
    html = templates.env.from_string(PLAN_PAGE).render(
        title="Map and plan", viewer=viewer, body=Markup(body))  # noqa: S704
    return HTMLResponse(html)


# Surgeries ---------------------------------------------------------------------------------


def surgery_row(session: Session, surgery: Surgery, zone: ZoneInfo, heard: int
                ) -> dict[str, Any]:
    return {"id": surgery.id, "title": surgery_title(session, surgery, zone),
            "when": local_time(surgery.starts_at, zone), "mp": name_of(session, surgery.mp_id),
            "service": service_name(session, surgery.service_id), "place": surgery.place or "-",
            "status": surgery.status, "heard": heard}


def surgeries_context(session: Session, voicebank: Voicebank, viewer: Viewer
                      ) -> dict[str, Any]:
    now, zone = voicebank.clock.now(), voicebank.settings.zone
    query = select(Surgery).order_by(col(Surgery.starts_at), col(Surgery.id))
    if viewer.role == StaffRole.MP:
        query = query.where(Surgery.mp_id == (viewer.user.person_id or -1))
    heard = dict(session.exec(
        select(Suggestion.surgery_id, func.count()).where(col(Suggestion.surgery_id).is_not(None))
        .group_by(col(Suggestion.surgery_id))).all())
    upcoming: list[dict[str, Any]] = []
    past: list[dict[str, Any]] = []
    for surgery in session.exec(query):
        row = surgery_row(session, surgery, zone, heard.get(surgery.id, 0))
        coming = surgery.status == SurgeryStatus.SCHEDULED and surgery.starts_at > now
        (upcoming if coming else past).append(row)
    return {"upcoming": upcoming, "past": past[::-1], "mps": people_with(session, Role.MP),
            "services": list(session.exec(select(Service).order_by(col(Service.name))))}


async def _surgeries(request: Request, viewer: Viewer, *, form: dict[str, str] | None = None,
                     notice: str = "", error: str = "", status_code: int = 200) -> Response:
    data = await run(request, lambda s, v: surgeries_context(s, v, viewer))
    return templates.TemplateResponse(request, "surgeries.html", {
        "title": "Surgeries", "viewer": viewer, "form": form or {}, "notice": notice,
        "error": error, "one": None, **data}, status_code=status_code)


@action_router.get("/surgeries", response_class=HTMLResponse)
async def surgeries_page(
    request: Request, viewer: Annotated[Viewer, Depends(page_for(*EVERYONE))],
    booked: int | None = None, cancelled: int | None = None,
) -> Response:
    notice = (f"Surgery {booked} is booked; reminders will go by themselves." if booked else
              f"Surgery {cancelled} is cancelled; no more reminders will go about it, and "
              "anyone already told has been told it is off." if cancelled else "")
    return await _surgeries(request, viewer, notice=notice)


@action_router.get("/surgeries/{surgery_id}", response_class=HTMLResponse)
async def surgery_page(
    request: Request, surgery_id: int,
    viewer: Annotated[Viewer, Depends(page_for(*EVERYONE))],
) -> Response:
    def load(session: Session, voicebank: Voicebank) -> dict[str, Any]:
        surgery = session.get(Surgery, surgery_id)
        if surgery is None or (viewer.role == StaffRole.MP
                               and surgery.mp_id != viewer.user.person_id):
            raise HTTPException(status_code=404, detail=f"There is no surgery {surgery_id}.")
        ideas = list(session.exec(select(Suggestion).where(
            Suggestion.surgery_id == surgery_id).order_by(col(Suggestion.id))))
        return {"one": surgery_row(session, surgery, voicebank.settings.zone, len(ideas)),
                "heard": [{"id": i.id, "text": CONCERN if i.concern else i.text}
                          for i in ideas]}

    data = await run(request, load)
    return templates.TemplateResponse(request, "surgeries.html", {
        "title": f"Surgery {surgery_id}", "viewer": viewer, **data})


def book(session: Session, voicebank: Voicebank, form: dict[str, str], actor: str) -> int:
    zone, now = voicebank.settings.zone, voicebank.clock.now()
    try:
        mp_id = int(form.get("mp", ""))
    except ValueError:
        raise ActionError("choose the MP who is visiting") from None
    try:
        starts_at = parse_local_time(form.get("starts", ""), zone)
        ends = form.get("ends", "").strip()
        ends_at = parse_local_time(ends, zone) if ends else starts_at + SURGERY_LENGTH
    except ValueError as error:
        raise ActionError(f"when it starts and ends: {error}") from None
    surgery = schedule_surgery(session=session, mp_id=mp_id, service_code=form.get("service", ""),
                               starts_at=starts_at, ends_at=ends_at, now=now, actor=actor,
                               place=form.get("place", "")[:200])
    return surgery.id or 0


@action_router.post("/surgeries/new")
async def new_surgery(
    request: Request, viewer: Annotated[Viewer, Depends(page_for(*ADMIN))],
    csrf: Annotated[str, Form()] = "", mp: Annotated[str, Form()] = "",
    service: Annotated[str, Form()] = "", starts: Annotated[str, Form()] = "",
    ends: Annotated[str, Form()] = "", place: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(viewer, csrf)
    form = {"mp": mp, "service": service, "starts": starts, "ends": ends, "place": place}
    actor = f"staff_user:{viewer.user.id}"

    booked, refused = await attempt(request, lambda s, v: book(s, v, form, actor))
    if not refused:
        return RedirectResponse(f"/surgeries?booked={booked}", status_code=303)
    return await _surgeries(request, viewer, form=form, error=refused, status_code=422)


@action_router.post("/surgeries/{surgery_id}/cancel")
async def cancel_surgery_page(
    request: Request, surgery_id: int, viewer: Annotated[Viewer, Depends(page_for(*ADMIN))],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(viewer, csrf)
    actor = f"staff_user:{viewer.user.id}"

    def work(session: Session, voicebank: Voicebank) -> None:
        if session.get(Surgery, surgery_id) is None:
            raise HTTPException(status_code=404, detail=f"There is no surgery {surgery_id}.")
        cancel_surgery(session=session, surgery_id=surgery_id, now=voicebank.clock.now(),
                       actor=actor)

    _, refused = await attempt(request, work)
    if refused:
        return await _surgeries(request, viewer, error=refused, status_code=422)
    return RedirectResponse(f"/surgeries?cancelled={surgery_id}", status_code=303)

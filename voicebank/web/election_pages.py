"""The dashboard's elections and polls: the list, a new one, and one election taken from
nominations to its announced result, with turnout by service, the chart and the receipts.

Admins make and move elections; staff read them; an MP reads the elections of the
constituencies they serve and the polls put to the MPs, and gets 404 for any other.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session, col, select

from bot.actions.surgeries import mp_constituencies
from bot.elections import outcome, service
from bot.elections.service import ElectionError
from bot.surveys.loading import parse_local_time, parse_reminder
from storage.audit import record_audit
from storage.database import transaction
from storage.tables import (
    CandidateStatus,
    Constituency,
    Election,
    ElectionKind,
    ElectionStatus,
    Person,
    Role,
    RollEntry,
    Service,
    StaffRole,
)
from voicebank.election_cli import ballot_name, describe_electorate, parse_option
from voicebank.election_report import receipts_list, results_chart, results_table
from voicebank.web.security import Viewer, check_csrf, page_for
from voicebank.wiring import Voicebank

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
election_router = APIRouter(include_in_schema=False)
EVERYONE = (StaffRole.ADMIN, StaffRole.STAFF, StaffRole.MP)
ADMIN = (StaffRole.ADMIN,)
MPS = ("role", Role.MP)
SEED_LENGTH = 64
NOTICES = {
    "nominations": "Nominations are open. Service users can send STAND to put themselves "
                   "forward.",
    "approve": "The nomination is approved, and the candidate has been told.",
    "decline": "The nomination is turned down, and the person has been told.",
    "open": "Voting is open: {count} on the roll, each sent their ballot.",
    "close": "Voting has closed. Count the votes next.",
    "count": "The votes are counted. Check the result below, then announce it.",
    "announce": "The result is announced: {count} told.",
}


def _voicebank(request: Request) -> Voicebank:
    voicebank: Voicebank = request.app.state.voicebank
    return voicebank


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%d %b %Y %H:%M}" if moment else "-"


def people_count(count: int) -> str:
    return f"{count} {'person' if count == 1 else 'people'}"


def reached(election: Election, phase: ElectionStatus) -> bool:
    order = service.ORDER
    return order.index(ElectionStatus(election.status)) >= order.index(phase)


def rate(part: int, whole: int) -> str:
    return f"{part} of {whole} ({100 * part / whole:.0f}%)" if whole else f"{part} of 0"


# Who may see what --------------------------------------------------------------------------


def viewer_scope(session: Session, viewer: Viewer, now: datetime) -> set[int] | None:
    """None when the viewer sees every election; else the constituencies an MP serves."""
    if viewer.role != StaffRole.MP:
        return None
    person = session.get(Person, viewer.user.person_id) if viewer.user.person_id else None
    return mp_constituencies(session=session, mp=person, now=now) if person else set()


def may_see(election: Election, scope: set[int] | None) -> bool:
    if scope is None:
        return True
    if election.kind == ElectionKind.ELECTION:
        return election.constituency_id in scope
    return (election.electorate_kind, election.electorate_value) == MPS


def find_election(session: Session, election_id: int, scope: set[int] | None) -> Election:
    """The election, or 404: also for an MP asking about someone else's constituency."""
    election = session.get(Election, election_id)
    if election is None or not may_see(election, scope):
        raise HTTPException(status_code=404, detail=f"There is no election {election_id}.")
    return election


# The list and a new one --------------------------------------------------------------------


def electorates(session: Session) -> dict[str, str]:
    """Who a poll can be put to: the form's value → what staff read."""
    choices = {"role:mp": "The MPs", "everyone": "Everyone"}
    for place in session.exec(select(Constituency).order_by(col(Constituency.name))):
        choices[f"constituency:{place.name}"] = f"Everyone in {place.name}"
    for home in session.exec(select(Service).order_by(col(Service.name))):
        choices[f"service:{home.join_code}"] = f"Everyone at {home.name}"
    return choices


def list_context(session: Session, viewer: Viewer, now: datetime, zone: ZoneInfo
                 ) -> dict[str, Any]:
    scope = viewer_scope(session, viewer, now)
    rows = []
    for election in session.exec(select(Election).order_by(col(Election.id).desc())):
        if not may_see(election, scope):
            continue
        voted, on_roll = service.turnout(session=session, election_id=election.id or 0)
        rows.append({
            "id": election.id, "kind": election.kind, "title": election.title,
            "phase": election.status,
            "nominations": local_time(election.nominations_open_at, zone)
            if election.kind == ElectionKind.ELECTION else "no nominations",
            "opens": local_time(election.voting_opens_at, zone),
            "closes": local_time(election.voting_closes_at, zone),
            "turnout": rate(voted, on_roll) if reached(election, ElectionStatus.VOTING)
            else "not open yet"})
    return {"rows": rows, "electorates": electorates(session),
            "constituencies": list(session.exec(
                select(Constituency.name).order_by(col(Constituency.name))))}


def create_vote(session: Session, form: dict[str, str], *, now: datetime, zone: ZoneInfo,
                actor: str) -> Election:
    """An election or a poll from the form; ElectionError says what to put right."""
    times: dict[str, datetime | None] = {}
    for name, label in (("nominations", "nominations open"), ("opens", "voting opens"),
                        ("closes", "voting closes")):
        text = form.get(name, "").strip()
        try:
            times[name] = parse_local_time(text, zone) if text else None
        except ValueError as error:
            raise ElectionError(f"when {label}: {error}") from None
        moment = times[name]
        if moment is not None and moment <= now:
            raise ElectionError(f"when {label}: that time has passed; give a time to come")
    try:
        reminders = [parse_reminder(part) for part in form.get("remind", "").split(",")
                     if part.strip()]
    except ValueError as error:
        raise ElectionError(f"reminders: {error}") from None
    if form["kind"] == ElectionKind.POLL:
        choice = form.get("electorate", "")
        if choice not in electorates(session):
            raise ElectionError("choose who votes in the poll")
        kind, _, value = choice.partition(":")
        if not form.get("title", "").strip() or not form.get("question", "").strip():
            raise ElectionError("a poll needs a title and a question")
        options = [parse_option(line) for line in form.get("options", "").splitlines()
                   if line.strip()]
        election = service.create_poll(
            session=session, title=form["title"].strip(), question=form["question"].strip(),
            options=options, electorate_kind=kind, electorate_value=value, now=now,
            voting_opens_at=times["opens"], voting_closes_at=times["closes"],
            reminders=reminders)
    else:
        try:
            seats, term = int(form.get("seats", "")), int(form.get("term_months", ""))
        except ValueError:
            raise ElectionError("write the seats and the term as whole numbers") from None
        election = service.create_election(
            session=session, constituency=form.get("constituency", ""), seats=seats,
            term_months=term, now=now, title=form.get("title", "").strip() or None,
            nominations_open_at=times["nominations"], voting_opens_at=times["opens"],
            voting_closes_at=times["closes"], reminders=reminders)
    record_audit(session=session, actor=actor, action=f"{election.kind}.created",
                 subject=f"election:{election.id}", at=now, detail={"title": election.title})
    return election


async def _list(request: Request, viewer: Viewer, *, form: dict[str, str] | None = None,
                error: str = "", status_code: int = 200) -> Response:
    voicebank = _voicebank(request)

    def load() -> dict[str, Any]:
        with transaction(voicebank.database) as session:
            return list_context(session, viewer, voicebank.clock.now(), voicebank.settings.zone)

    return templates.TemplateResponse(request, "elections.html", {
        "title": "Elections and polls", "viewer": viewer, "form": form or {}, "error": error,
        **await asyncio.to_thread(load)}, status_code=status_code)


def sentence(text: str) -> str:
    text = text.strip()[:1].upper() + text.strip()[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


@election_router.get("/elections", response_class=HTMLResponse)
async def elections_page(
    request: Request, viewer: Annotated[Viewer, Depends(page_for(*EVERYONE))]
) -> Response:
    return await _list(request, viewer)


@election_router.post("/elections/new")
async def new_election(
    request: Request, viewer: Annotated[Viewer, Depends(page_for(*ADMIN))]
) -> Response:
    submitted = await request.form()
    check_csrf(viewer, str(submitted.get("csrf", "")))
    form = {name: str(value) for name, value in submitted.items() if name != "csrf"}
    form["kind"] = ElectionKind.POLL if form.get("kind") == ElectionKind.POLL else "election"
    voicebank = _voicebank(request)
    actor = f"staff_user:{viewer.user.id}"

    def create() -> int | str:
        now = voicebank.clock.now()
        try:
            with transaction(voicebank.database) as session:
                election = create_vote(session, form, now=now, zone=voicebank.settings.zone,
                                       actor=actor)
                return election.id or 0
        except ElectionError as error:
            return sentence(str(error))

    made = await asyncio.to_thread(create)
    if isinstance(made, int):
        return RedirectResponse(f"/elections/{made}", status_code=303)
    return await _list(request, viewer, form=form, error=made, status_code=422)


# One election ------------------------------------------------------------------------------


def turnout_by_service(session: Session, election_id: int) -> list[dict[str, Any]]:
    """How many on the roll and how many voted, per service: who voted, never how."""
    counts: dict[int | None, list[int]] = {}
    for service_id, has_voted in session.exec(
            select(Person.service_id, RollEntry.voted).select_from(RollEntry)
            .join(Person, col(Person.id) == col(RollEntry.person_id))
            .where(RollEntry.election_id == election_id)):
        tally = counts.setdefault(service_id, [0, 0])
        tally[0] += 1
        tally[1] += int(bool(has_voted))
    rows = []
    for service_id, (on_roll, voted) in counts.items():
        home = session.get(Service, service_id) if service_id is not None else None
        rows.append({"service": home.name if home else "No service", "roll": on_roll,
                     "voted": voted, "rate": rate(voted, on_roll)})
    return sorted(rows, key=lambda row: (row["service"] == "No service", row["service"]))


def detail_context(session: Session, election: Election, zone: ZoneInfo) -> dict[str, Any]:
    election_id = election.id or 0
    standing = service.candidates(session=session, election_id=election_id)
    voted, on_roll = service.turnout(session=session, election_id=election_id)
    detail: dict[str, Any] = {
        "e": election, "electorate": describe_electorate(election),
        "nominations": local_time(election.nominations_open_at, zone),
        "opens": local_time(election.voting_opens_at, zone),
        "closes": local_time(election.voting_closes_at, zone),
        "candidates": [{"c": c, "name": ballot_name(c)} for c in standing],
        "deciding": not reached(election, ElectionStatus.VOTING),
        "voting": reached(election, ElectionStatus.VOTING),
        "counted": reached(election, ElectionStatus.COUNTED),
        "turnout": rate(voted, on_roll), "by_service": [],
        "steps": next_steps(election),
    }
    if detail["voting"]:
        detail["by_service"] = turnout_by_service(session, election_id)
    if detail["counted"]:
        tallies = outcome.stored_result(session=session, election_id=election_id)
        names = {c.id or 0: ballot_name(c) for c in standing}
        cast = sum(t.votes for t in tallies)
        chart = results_chart(title=election.title, tallies=tallies, names=names)
        head, _, codes = receipts_list(service.receipts(
            session=session, election_id=election_id)).partition("\n\n")
        detail |= {
            "results": [{"place": t.place, "name": names.get(t.candidate_id, "?"),
                         "votes": t.votes, "share": f"{100 * t.votes / cast:.0f}%"
                         if cast else "-", "elected": t.elected, "by_lot": t.by_lot}
                        for t in tallies],
            "by_lot": any(t.by_lot for t in tallies),
            "table": results_table(title=election.title, tallies=tallies, names=names,
                                   seats=election.seats, seed=election.seed or "",
                                   turnout=(voted, on_roll)),
            "chart_src": "data:image/png;base64," + base64.b64encode(chart.png).decode("ascii"),
            "chart_alt": chart.alt_text,
            "receipts_head": head.splitlines(), "receipts": codes.split(),
        }
    return detail


def next_steps(election: Election) -> list[tuple[str, str]]:
    """The phase change an admin can make now, as (step, button words)."""
    if election.status == ElectionStatus.DRAFT and election.kind == ElectionKind.ELECTION:
        return [("nominations", "Open nominations now")]
    step = {ElectionStatus.DRAFT: ("open", "Open voting now and send the ballots"),
            ElectionStatus.NOMINATIONS: ("open", "Open voting now and send the ballots"),
            ElectionStatus.VOTING: ("close", "Close voting now"),
            ElectionStatus.CLOSED: ("count", "Count the votes"),
            ElectionStatus.COUNTED: ("announce", "Announce the result")}.get(
                ElectionStatus(election.status))
    return [step] if step else []


def take_step(session: Session, election_id: int, step: str, *, now: datetime, actor: str,
              seed: str) -> int:
    """Move the election on by one step; returns how many people it reached, if any."""
    if step == "nominations":
        service.open_nominations(session=session, election_id=election_id, now=now,
                                 actor=actor)
    elif step == "open":
        return service.open_voting(session=session, election_id=election_id, now=now,
                                   actor=actor)
    elif step == "close":
        service.close_voting(session=session, election_id=election_id, now=now, actor=actor)
    elif step == "count":
        if len(seed.strip()) > SEED_LENGTH:
            raise ElectionError(f"a seed is at most {SEED_LENGTH} letters and numbers")
        outcome.count(session=session, election_id=election_id, now=now, actor=actor,
                      seed=seed.strip() or None)
    else:
        return outcome.announce(session=session, election_id=election_id, now=now,
                                actor=actor)
    return 0


async def _show(request: Request, viewer: Viewer, election_id: int, *, notice: str = "",
                error: str = "", status_code: int = 200) -> Response:
    voicebank = _voicebank(request)

    def load() -> dict[str, Any]:
        with transaction(voicebank.database) as session:
            scope = viewer_scope(session, viewer, voicebank.clock.now())
            election = find_election(session, election_id, scope)
            return detail_context(session, election, voicebank.settings.zone)

    detail = await asyncio.to_thread(load)
    return templates.TemplateResponse(request, "election.html", {
        "title": detail["e"].title, "viewer": viewer, "notice": notice, "error": error,
        "approved": CandidateStatus.APPROVED, **detail}, status_code=status_code)


@election_router.get("/elections/{election_id}", response_class=HTMLResponse)
async def election_page(
    request: Request, election_id: int,
    viewer: Annotated[Viewer, Depends(page_for(*EVERYONE))],
    done: str = "", count: int = 0,
) -> Response:
    notice = NOTICES.get(done, "").format(count=people_count(count))
    return await _show(request, viewer, election_id, notice=notice)


async def _change(request: Request, viewer: Viewer, election_id: int, step: str,
                  work: Callable[[Session, datetime, str], int]) -> Response:
    """Run one admin step in a transaction; a refusal shows the page again with why."""
    voicebank = _voicebank(request)
    actor = f"staff_user:{viewer.user.id}"

    def change() -> int | str:
        try:
            with transaction(voicebank.database) as session:
                find_election(session, election_id, None)
                return work(session, voicebank.clock.now(), actor)
        except ElectionError as error:
            return str(error)

    result = await asyncio.to_thread(change)
    if isinstance(result, str):
        return await _show(request, viewer, election_id, error=sentence(result),
                           status_code=422)
    return RedirectResponse(f"/elections/{election_id}?done={step}&count={result}",
                            status_code=303)


@election_router.post("/elections/{election_id}/candidates/{candidate_id}/{decision}")
async def decide_candidate(
    request: Request, election_id: int, candidate_id: int, decision: str,
    viewer: Annotated[Viewer, Depends(page_for(*ADMIN))],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(viewer, csrf)
    if decision not in ("approve", "decline"):
        raise HTTPException(status_code=404, detail="Approve or decline a nomination.")

    def work(session: Session, now: datetime, actor: str) -> int:
        if candidate_id not in {c.id for c in service.candidates(
                session=session, election_id=election_id)}:
            raise HTTPException(status_code=404, detail=f"There is no candidate {candidate_id}.")
        service.decide_nomination(session=session, candidate_id=candidate_id,
                                  approve=decision == "approve", now=now, actor=actor)
        return 0

    return await _change(request, viewer, election_id, decision, work)


@election_router.post("/elections/{election_id}/{step}")
async def election_step(
    request: Request, election_id: int, step: str,
    viewer: Annotated[Viewer, Depends(page_for(*ADMIN))],
    csrf: Annotated[str, Form()] = "",
    seed: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(viewer, csrf)
    if step not in ("nominations", "open", "close", "count", "announce"):
        raise HTTPException(status_code=404, detail="There is no such step.")

    def work(session: Session, now: datetime, actor: str) -> int:
        return take_step(session, election_id, step, now=now, actor=actor, seed=seed)

    return await _change(request, viewer, election_id, step, work)

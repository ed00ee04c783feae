"""The REST API's write routes under ``/api/v1``: what the dashboard's buttons do, for
integrators. Each change is checked by the same rules as the dashboard, made in one
transaction and audited as the token's account (``staff_user:<id>``).

A request the rules refuse gets 409 with ``{"detail": …}`` saying why; an unknown id 404.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi import Path as ApiPath
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from bot.actions.service import ActionError, complete_action
from bot.actions.surgeries import cancel_surgery, schedule_surgery
from bot.elections import service as elections
from bot.elections.service import ElectionError
from bot.surveys.invitations import close_survey, open_survey
from bot.surveys.results_store import participation
from storage import people
from storage.audit import record_audit
from storage.database import transaction
from storage.inbox import storable_text
from storage.tables import (
    Action,
    Candidate,
    Constituency,
    Election,
    OutboxMessage,
    OutboxStatus,
    Person,
    Role,
    StaffRole,
    StaffUser,
    Surgery,
    Survey,
    SurveyStatus,
)
from voicebank.action_cli import SURGERY_LENGTH
from voicebank.web.api import MAX_ID, STAFF, ElectionOut, Id, PersonOut, Problem, SurgeryOut
from voicebank.web.election_pages import SEED_LENGTH, sentence, take_step
from voicebank.web.messages_pages import retry_failed
from voicebank.web.people_pages import PersonForm, add_one_person
from voicebank.web.security import api_for
from voicebank.wiring import Voicebank

changes_router = APIRouter(prefix="/api/v1", tags=["Voicebank"])
ADMIN = api_for(StaffRole.ADMIN)
Admin = Annotated[StaffUser, Depends(ADMIN)]
Staff = Annotated[StaffUser, Depends(STAFF)]
PathId = Annotated[int, ApiPath(ge=1, le=MAX_ID)]
JOIN_CODE = r"^[A-Za-z0-9]{3,10}$"
BOOKED_AHEAD = timedelta(days=5 * 365)
LONGEST_SURGERY = timedelta(days=1)
_T = TypeVar("_T")
_WHY = {403: "This account may not do this to that", 404: "There is no such thing",
        409: "The rules refuse it now: the detail says why"}


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The refusals a route documents in OpenAPI, each a :class:`Problem`."""
    return {code: {"model": Problem, "description": _WHY[code]} for code in codes}


def audit_actor(user: StaffUser) -> str:
    """Who the audit log says made a change: the token's account."""
    return f"staff_user:{user.id}"


def refusal(detail: str, status_code: int = 409) -> HTTPException:
    """The answer to a request the rules refuse (409) or about something unknown (404)."""
    return HTTPException(status_code=status_code, detail=detail)


def one_line(text: str) -> str:
    """Text as typed on one line: storable, with runs of spaces made one."""
    return " ".join(storable_text(text).split())


async def run_change(request: Request, work: Callable[[Session, datetime], _T], *,
                     wake: bool = False) -> _T:
    """``work`` in one transaction in a worker thread; a refusal by the rules keeps nothing
    and becomes a 409. ``wake``: it queues messages, so the dispatcher sends them now."""
    voicebank: Voicebank = request.app.state.voicebank

    def unit() -> _T:
        try:
            with transaction(voicebank.database) as session:
                return work(session, voicebank.clock.now())
        except (ActionError, ElectionError) as error:
            raise refusal(sentence(str(error))) from None
        except IntegrityError:
            raise refusal("Someone changed the same thing at the same moment, so nothing "
                          "was changed. Look again, then try again.") from None

    done = await asyncio.to_thread(unit)
    runtime = getattr(request.app.state, "runtime", None)
    if wake and runtime is not None and runtime.dispatcher is not None:
        runtime.dispatcher.wake()
    return done


# People, constituencies and services -------------------------------------------------------


class PersonIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    address: str = Field(min_length=1, max_length=200,
                         description="A phone number (07700 900123, +44 7700 900123) or "
                                     "telegram:<chat id>")
    service_code: str | None = Field(default=None, max_length=20,
                                     description="The join code of the service they go to")
    role: Role = Role.SERVICE_USER


class ConstituencyIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)


class ConstituencyOut(BaseModel):
    id: int
    name: str


class ServiceIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    constituency: str = Field(min_length=1, max_length=120, description="Its name")
    join_code: str = Field(pattern=JOIN_CODE, description="3 to 10 letters and numbers")


class ServiceOut(BaseModel):
    id: int
    name: str
    constituency_id: int
    join_code: str


@changes_router.post("/people", response_model=PersonOut, status_code=201,
                     responses=refusals(409))
async def add_person(request: Request, body: PersonIn, user: Admin) -> PersonOut:
    """Add someone the bot talks to, by the same rules as the dashboard and an import."""
    address = storable_text(body.address).strip()
    kind = "telegram" if address.lower().startswith("telegram:") else "tel"
    form = PersonForm(name=storable_text(body.name), kind=kind,
                      address=address.partition(":")[2] if kind == "telegram" else address,
                      service=storable_text(body.service_code or ""), role=body.role.value)

    def work(session: Session, now: datetime) -> PersonOut:
        person = add_one_person(session=session, form=form, actor=audit_actor(user), now=now)
        if person is None or person.id is None:
            raise refusal(" ".join(form.problems))
        return PersonOut(
            id=person.id, name=person.name,
            roles=sorted(people.roles_of(session=session, person_id=person.id)),
            service_id=person.service_id,
            addresses=[a.urn for a in people.addresses_of(session=session, person_id=person.id)],
            opted_out=False)

    return await run_change(request, work)


@changes_router.post("/constituencies", response_model=ConstituencyOut, status_code=201,
                     responses=refusals(409))
async def add_constituency(request: Request, body: ConstituencyIn, user: Admin
                           ) -> ConstituencyOut:
    """A constituency; its services come next."""
    name = one_line(body.name)

    def work(session: Session, now: datetime) -> ConstituencyOut:
        if not name:
            raise refusal("Write the constituency's name.")
        if session.exec(select(Constituency).where(
                func.lower(Constituency.name) == name.lower())).first() is not None:
            raise refusal(f"There is already a constituency called {name}.")
        added = people.add_constituency(session=session, name=name)
        record_audit(session=session, actor=audit_actor(user), action="constituency.added",
                     subject=f"constituency:{added.id}", at=now)
        return ConstituencyOut(id=added.id or 0, name=added.name)

    return await run_change(request, work)


@changes_router.post("/services", response_model=ServiceOut, status_code=201,
                     responses=refusals(409))
async def add_service(request: Request, body: ServiceIn, user: Admin) -> ServiceOut:
    """A service in a constituency; people join it by sending JOIN and its join code."""
    name, place, code = one_line(body.name), one_line(body.constituency), body.join_code.upper()

    def work(session: Session, now: datetime) -> ServiceOut:
        if not name:
            raise refusal("Write the service's name.")
        constituency = session.exec(select(Constituency).where(
            Constituency.name == place)).first()
        if constituency is None or constituency.id is None:
            raise refusal(f"There is no constituency called {place}.")
        if people.service_by_join_code(session=session, code=code) is not None:
            raise refusal(f"The join code {code} is already used. Choose another.")
        added = people.add_service(session=session, name=name,
                                   constituency_id=constituency.id, join_code=code)
        record_audit(session=session, actor=audit_actor(user), action="service.added",
                     subject=f"service:{added.id}", at=now, detail={"join_code": code})
        return ServiceOut(id=added.id or 0, name=added.name,
                          constituency_id=added.constituency_id, join_code=added.join_code)

    return await run_change(request, work)


# Surveys -----------------------------------------------------------------------------------


class SurveyStateOut(BaseModel):
    id: int
    status: str
    invited: int = Field(description="Opening: how many this opening invited. Closing: how "
                                     "many the survey invited in all.")


def _survey(session: Session, survey_id: int) -> Survey:
    row = session.get(Survey, survey_id)
    if row is None:
        raise refusal(f"There is no survey {survey_id}.", 404)
    return row


@changes_router.post("/surveys/{survey_id}/open", response_model=SurveyStateOut,
                     responses=refusals(404, 409))
async def open_survey_now(request: Request, survey_id: PathId, user: Admin) -> SurveyStateOut:
    """Open a survey now and invite its audience (anyone not yet invited)."""

    def work(session: Session, now: datetime) -> SurveyStateOut:
        row = _survey(session, survey_id)
        if row.status == SurveyStatus.CLOSED:
            raise refusal(f"Survey {survey_id} has closed, so it cannot open again. Build it "
                          "again to rerun it.")
        if row.closes_at is not None and row.closes_at <= now:
            raise refusal("Its closing time has passed. Set a later closing time first.")
        invited = open_survey(session=session, survey_id=survey_id, now=now,
                              actor=audit_actor(user))
        return SurveyStateOut(id=survey_id, status=row.status, invited=invited)

    return await run_change(request, work, wake=True)


@changes_router.post("/surveys/{survey_id}/close", response_model=SurveyStateOut,
                     responses=refusals(404, 409))
async def close_survey_now(request: Request, survey_id: PathId, user: Admin) -> SurveyStateOut:
    """Close a survey now: no more answers are stored and no more reminders go."""

    def work(session: Session, now: datetime) -> SurveyStateOut:
        row = _survey(session, survey_id)
        if row.status == SurveyStatus.CLOSED:
            raise refusal(f"Survey {survey_id} is already closed.")
        close_survey(session=session, survey_id=survey_id, now=now, actor=audit_actor(user))
        invited, _, _ = participation(session=session, survey_id=survey_id)
        return SurveyStateOut(id=survey_id, status=row.status, invited=invited)

    return await run_change(request, work)


# Elections ---------------------------------------------------------------------------------


class ElectionIn(BaseModel):
    constituency: str = Field(min_length=1, max_length=120, description="Its name")
    seats: int = Field(ge=1, le=50)
    term_months: int = Field(ge=1, le=120)
    title: str | None = Field(default=None, max_length=200)


class CountIn(BaseModel):
    seed: str | None = Field(default=None, max_length=SEED_LENGTH,
                             description="Settles any tie by lot; a random one when left out")


class ElectionStepOut(BaseModel):
    id: int
    status: str
    reached: int = Field(description="How many were sent something: ballots on opening "
                                     "voting, the result on announcing")
    seed: str | None


class CandidateOut(BaseModel):
    id: int
    election_id: int
    name: str
    status: str
    number: int | None


def _election(session: Session, election_id: int) -> Election:
    election = session.get(Election, election_id)
    if election is None:
        raise refusal(f"There is no election {election_id}.", 404)
    return election


@changes_router.post("/elections", response_model=ElectionOut, status_code=201,
                     responses=refusals(409))
async def add_election(request: Request, body: ElectionIn, user: Admin) -> ElectionOut:
    """An election of service user MPs for a constituency, as a draft."""
    title = one_line(body.title or "") or None

    def work(session: Session, now: datetime) -> ElectionOut:
        election = elections.create_election(
            session=session, constituency=one_line(body.constituency), seats=body.seats,
            term_months=body.term_months, now=now, title=title)
        record_audit(session=session, actor=audit_actor(user), action=f"{election.kind}.created",
                     subject=f"election:{election.id}", at=now, detail={"title": election.title})
        return ElectionOut(id=election.id or 0, kind=election.kind, title=election.title,
                           status=election.status, seats=election.seats,
                           voting_opens_at=election.voting_opens_at,
                           voting_closes_at=election.voting_closes_at, voted=0, on_roll=0)

    return await run_change(request, work)


@changes_router.post("/elections/{election_id}/candidates/{candidate_id}/{decision}",
                     response_model=CandidateOut, responses=refusals(404, 409))
async def decide_candidate(request: Request, election_id: PathId, candidate_id: PathId,
                           decision: Literal["approve", "decline"], user: Admin
                           ) -> CandidateOut:
    """Approve a nomination (the candidate gets the next number) or turn it down, before
    voting opens; the person is told either way."""

    def work(session: Session, now: datetime) -> CandidateOut:
        _election(session, election_id)
        found = session.get(Candidate, candidate_id)
        if found is None or found.election_id != election_id:
            raise refusal(f"Election {election_id} has no candidate {candidate_id}.", 404)
        decided = elections.decide_nomination(session=session, candidate_id=candidate_id,
                                              approve=decision == "approve", now=now,
                                              actor=audit_actor(user))
        return CandidateOut(id=candidate_id, election_id=election_id, name=decided.name,
                            status=decided.status, number=decided.number)

    return await run_change(request, work, wake=True)


async def _step(request: Request, election_id: int, user: StaffUser, step: str,
                seed: str = "") -> ElectionStepOut:
    def work(session: Session, now: datetime) -> ElectionStepOut:
        election = _election(session, election_id)
        reached = take_step(session, election_id, step, now=now, actor=audit_actor(user), seed=seed)
        return ElectionStepOut(id=election_id, status=election.status, reached=reached,
                               seed=election.seed)

    return await run_change(request, work, wake=True)


STEP: dict[str, Any] = {"response_model": ElectionStepOut, "responses": refusals(404, 409)}


@changes_router.post("/elections/{election_id}/nominations", **STEP)
async def open_nominations(request: Request, election_id: PathId, user: Admin
                           ) -> ElectionStepOut:
    """Open nominations: service users of the constituency can send STAND."""
    return await _step(request, election_id, user, "nominations")


@changes_router.post("/elections/{election_id}/voting", **STEP)
async def open_voting(request: Request, election_id: PathId, user: Admin) -> ElectionStepOut:
    """Open voting now: the roll is frozen and everyone on it is sent their ballot."""
    return await _step(request, election_id, user, "open")


@changes_router.post("/elections/{election_id}/close", **STEP)
async def close_voting(request: Request, election_id: PathId, user: Admin) -> ElectionStepOut:
    """Close voting now."""
    return await _step(request, election_id, user, "close")


@changes_router.post("/elections/{election_id}/count", **STEP)
async def count_votes(request: Request, election_id: PathId, user: Admin,
                      body: Annotated[CountIn | None, Body()] = None) -> ElectionStepOut:
    """Count the votes, once, after voting has closed; the seed that settles any tie is kept
    with the result, so anyone can repeat the draw."""
    seed = storable_text(body.seed or "") if body is not None else ""
    return await _step(request, election_id, user, "count", seed=seed)


@changes_router.post("/elections/{election_id}/announce", **STEP)
async def announce_result(request: Request, election_id: PathId, user: Admin
                          ) -> ElectionStepOut:
    """Announce the counted result to the roll and the candidates; winners become MPs."""
    return await _step(request, election_id, user, "announce")


# Actions and surgeries ---------------------------------------------------------------------


class DoneIn(BaseModel):
    note: str = Field(default="", max_length=2000, description="What was done")


class ActionDoneOut(BaseModel):
    id: int
    status: str
    told: int = Field(description="How many whose ideas led to it were told “you said, we did”")


class SurgeryIn(BaseModel):
    mp_id: Id
    service_code: str = Field(pattern=JOIN_CODE, description="The service's join code")
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = Field(default=None, description="Two hours on, if left out")
    place: str = Field(default="", max_length=200)


@changes_router.post("/actions/{action_id}/done", response_model=ActionDoneOut,
                     responses=refusals(403, 404, 409))
async def sign_off_action(request: Request, action_id: PathId, user: Staff,
                          body: Annotated[DoneIn | None, Body()] = None) -> ActionDoneOut:
    """Sign an action off (its owner's account, or an admin); the people whose ideas led to
    it are told what was done."""
    note = storable_text(body.note) if body is not None else ""

    def work(session: Session, now: datetime) -> ActionDoneOut:
        action = session.get(Action, action_id)
        if action is None:
            raise refusal(f"There is no action {action_id}.", 404)
        if user.role != StaffRole.ADMIN and (user.person_id is None
                                             or user.person_id != action.owner_id):
            raise refusal("Only the action's owner or an admin can sign it off.", 403)
        owner = session.get_one(Person, action.owner_id)
        done = complete_action(session=session, action_id=action_id, by=owner, note=note,
                               now=now, actor=audit_actor(user))
        if not done.done:
            raise refusal(f"Action {action_id} was already signed off.")
        return ActionDoneOut(id=action_id, status=action.status, told=done.told)

    return await run_change(request, work, wake=True)


def _surgery_out(surgery: Surgery) -> SurgeryOut:
    return SurgeryOut(id=surgery.id or 0, mp_id=surgery.mp_id, service_id=surgery.service_id,
                      starts_at=surgery.starts_at, ends_at=surgery.ends_at, place=surgery.place,
                      status=surgery.status)


@changes_router.post("/surgeries", response_model=SurgeryOut, status_code=201,
                     responses=refusals(409))
async def book_surgery(request: Request, body: SurgeryIn, user: Admin) -> SurgeryOut:
    """Book an MP's surgery at a service of their constituency; reminders go by themselves."""

    def work(session: Session, now: datetime) -> SurgeryOut:
        try:
            starts = body.starts_at.astimezone(UTC)
            ends = body.ends_at.astimezone(UTC) if body.ends_at else starts + SURGERY_LENGTH
        except OverflowError:
            raise refusal("That time is off the calendar; give a real date.") from None
        if starts > now + BOOKED_AHEAD:
            raise refusal("A surgery is booked at most five years ahead.")
        if ends - starts > LONGEST_SURGERY:
            raise refusal("A surgery lasts a day at most; check when it ends.")
        surgery = schedule_surgery(session=session, mp_id=body.mp_id,
                                   service_code=body.service_code, starts_at=starts,
                                   ends_at=ends, now=now, actor=audit_actor(user),
                                   place=one_line(body.place))
        return _surgery_out(surgery)

    return await run_change(request, work)


@changes_router.post("/surgeries/{surgery_id}/cancel", response_model=SurgeryOut,
                     responses=refusals(404, 409))
async def cancel_surgery_now(request: Request, surgery_id: PathId, user: Admin) -> SurgeryOut:
    """Call a surgery off: reminders not yet sent are cancelled, and anyone already told it
    is coming hears it is off."""

    def work(session: Session, now: datetime) -> SurgeryOut:
        if session.get(Surgery, surgery_id) is None:
            raise refusal(f"There is no surgery {surgery_id}.", 404)
        return _surgery_out(cancel_surgery(session=session, surgery_id=surgery_id, now=now,
                                           actor=audit_actor(user)))

    return await run_change(request, work, wake=True)


# Messages ----------------------------------------------------------------------------------


class MessageOut(BaseModel):
    id: int
    status: str


@changes_router.post("/messages/{message_id}/retry", response_model=MessageOut,
                     responses=refusals(404, 409))
async def retry_message(request: Request, message_id: PathId, user: Staff) -> MessageOut:
    """Queue a message that failed to be sent again; any other message is left as it is."""

    def work(session: Session, now: datetime) -> MessageOut:
        retried = retry_failed(session=session, message_id=message_id, actor=audit_actor(user),
                               now=now)
        if retried is None:
            raise refusal(f"There is no message {message_id}.", 404)
        if not retried:
            status = session.get_one(OutboxMessage, message_id).status
            raise refusal(f"Message {message_id} is {status}, not failed; only a failed "
                          "message is sent again.")
        return MessageOut(id=message_id, status=OutboxStatus.QUEUED)

    return await run_change(request, work, wake=True)

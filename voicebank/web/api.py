"""The REST API under ``/api/v1``, documented at ``/docs``; a token from
``voicebank token create`` goes in ``Authorization: Bearer …``."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as ApiPath
from pydantic import BaseModel, Field, field_validator
from sqlmodel import col, select

from bot.actions.service import ActionError, create_action
from bot.elections import outcome
from bot.elections import service as elections
from bot.surveys.results import compute_results
from bot.surveys.results_store import answer_rows, participation
from bot.surveys.store import load_survey
from storage import people
from storage.database import transaction
from storage.inbox import storable_text
from storage.tables import (
    Action,
    ActionSuggestion,
    Election,
    Person,
    StaffRole,
    StaffUser,
    Suggestion,
    Surgery,
    Survey,
)
from voicebank.web.election_pages import may_see, viewer_scope
from voicebank.web.security import Viewer, api_for
from voicebank.web.survey_pages import mp_reach, visible
from voicebank.wiring import Voicebank

router = APIRouter(prefix="/api/v1", tags=["Voicebank"])
STAFF = api_for(StaffRole.ADMIN, StaffRole.STAFF)
ANYONE = api_for(StaffRole.ADMIN, StaffRole.STAFF, StaffRole.MP)


def _voicebank(request: Request) -> Voicebank:
    voicebank: Voicebank = request.app.state.voicebank
    return voicebank


class PersonOut(BaseModel):
    id: int
    name: str
    roles: list[str]
    service_id: int | None
    addresses: list[str]
    opted_out: bool


class IdeaOut(BaseModel):
    id: int
    text: str
    topic: str
    source: str
    service_id: int | None
    anonymous: bool
    concern: bool
    created_at: datetime
    actions: list[int]


class ActionOut(BaseModel):
    id: int
    what: str
    owner_id: int
    due_on: date
    standard: str | None
    status: str
    done_at: datetime | None
    ideas: list[int]


MAX_ID = 2_147_483_647
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class ActionIn(BaseModel):
    what: str = Field(min_length=1, max_length=2000)
    owner_id: Id
    due_on: date
    ideas: list[Id] = Field(default_factory=list, max_length=100)
    standard: str | None = Field(default=None, max_length=20, pattern=r"^\d{1,2}\.\d{1,2}$")

    @field_validator("what")
    @classmethod
    def _storable(cls, value: str) -> str:
        return storable_text(value)


class Problem(BaseModel):
    """Why a request that was well formed could not be carried out."""

    detail: str


class SurveyOut(BaseModel):
    id: int
    title: str
    status: str
    opens_at: datetime | None
    closes_at: datetime | None
    anonymous: bool


class OptionResult(BaseModel):
    number: int
    label: str
    count: int
    percent: float


class QuestionResult(BaseModel):
    position: int
    text: str
    answered: int
    options: list[OptionResult]
    texts: list[str]


class SurveyResultsOut(BaseModel):
    id: int
    title: str
    audience: int
    finished: int
    response_rate: float
    questions: list[QuestionResult]


@router.get("/people", response_model=list[PersonOut])
async def list_people(request: Request, user: Annotated[StaffUser, Depends(STAFF)]
                      ) -> list[PersonOut]:
    """Everyone the bot talks to, with their roles and addresses."""
    voicebank = _voicebank(request)

    def load() -> list[PersonOut]:
        with transaction(voicebank.database) as session:
            return [
                PersonOut(
                    id=person.id or 0, name=person.name,
                    roles=sorted(people.roles_of(session=session, person_id=person.id or 0)),
                    service_id=person.service_id,
                    addresses=[a.urn for a in people.addresses_of(session=session,
                                                                  person_id=person.id or 0)],
                    opted_out=person.opted_out_at is not None,
                )
                for person in session.exec(select(Person).order_by(col(Person.id)))
            ]

    return await asyncio.to_thread(load)


@router.get("/ideas", response_model=list[IdeaOut])
async def list_ideas(request: Request, user: Annotated[StaffUser, Depends(STAFF)]
                     ) -> list[IdeaOut]:
    """Ideas and surgery feedback, newest first; a concern's words are not given out."""
    voicebank = _voicebank(request)

    def load() -> list[IdeaOut]:
        with transaction(voicebank.database) as session:
            links: dict[int, list[int]] = {}
            for link in session.exec(select(ActionSuggestion)):
                links.setdefault(link.suggestion_id, []).append(link.action_id)
            return [
                IdeaOut(id=idea.id or 0,
                        text="(a safeguarding concern)" if idea.concern else idea.text,
                        topic=idea.topic, source=idea.source, service_id=idea.service_id,
                        anonymous=idea.anonymous, concern=idea.concern,
                        created_at=idea.created_at, actions=links.get(idea.id or 0, []))
                for idea in session.exec(select(Suggestion).order_by(col(Suggestion.id).desc()))
            ]

    return await asyncio.to_thread(load)


def _action_out(action: Action, ideas: list[int]) -> ActionOut:
    return ActionOut(id=action.id or 0, what=action.what, owner_id=action.owner_id,
                     due_on=action.due_on, standard=action.standard, status=action.status,
                     done_at=action.done_at, ideas=ideas)


@router.get("/actions", response_model=list[ActionOut])
async def list_actions(request: Request, user: Annotated[StaffUser, Depends(STAFF)]
                       ) -> list[ActionOut]:
    voicebank = _voicebank(request)

    def load() -> list[ActionOut]:
        with transaction(voicebank.database) as session:
            links: dict[int, list[int]] = {}
            for link in session.exec(select(ActionSuggestion)):
                links.setdefault(link.action_id, []).append(link.suggestion_id)
            return [_action_out(a, links.get(a.id or 0, []))
                    for a in session.exec(select(Action).order_by(col(Action.id)))]

    return await asyncio.to_thread(load)


@router.post("/actions", response_model=ActionOut, status_code=201,
             responses={409: {"model": Problem, "description": "The action cannot be made"}})
async def add_action(request: Request, body: ActionIn,
                     user: Annotated[StaffUser, Depends(STAFF)]) -> ActionOut:
    """Turn ideas (or a standard) into an action; its owner is told straight away."""
    voicebank = _voicebank(request)

    def make() -> ActionOut:
        with transaction(voicebank.database) as session:
            try:
                action = create_action(
                    session=session, what=body.what, owner_id=body.owner_id,
                    due_on=body.due_on, now=voicebank.clock.now(),
                    actor=f"staff_user:{user.id}", suggestion_ids=body.ideas,
                    standard=body.standard,
                )
            except ActionError as error:
                raise HTTPException(status_code=409, detail=str(error)) from None
            return _action_out(action, list(dict.fromkeys(body.ideas)))

    return await asyncio.to_thread(make)


@router.get("/surveys", response_model=list[SurveyOut])
async def list_surveys(request: Request, user: Annotated[StaffUser, Depends(ANYONE)]
                       ) -> list[SurveyOut]:
    """Surveys; an MP's token sees only their own constituency's."""
    voicebank = _voicebank(request)

    def load() -> list[SurveyOut]:
        with transaction(voicebank.database) as session:
            reach = mp_reach(session, Viewer(user=user, csrf=""), voicebank.clock.now())
            return [SurveyOut(id=s.id or 0, title=s.title, status=s.status, opens_at=s.opens_at,
                              closes_at=s.closes_at, anonymous=s.anonymous)
                    for s in session.exec(select(Survey).order_by(col(Survey.id)))
                    if visible(s, reach)]

    return await asyncio.to_thread(load)


@router.get("/surveys/{survey_id}/results", response_model=SurveyResultsOut,
            responses={404: {"model": Problem, "description": "No such survey"}})
async def survey_results(request: Request, survey_id: Annotated[int, ApiPath(ge=1, le=MAX_ID)],
                         user: Annotated[StaffUser, Depends(STAFF)]) -> SurveyResultsOut:
    """Counts and percentages per question; free text as written."""
    voicebank = _voicebank(request)

    def load() -> SurveyResultsOut:
        with transaction(voicebank.database) as session:
            survey = load_survey(session=session, survey_id=survey_id)
            if survey is None:
                raise HTTPException(status_code=404, detail=f"There is no survey {survey_id}.")
            audience, started, finished = participation(session=session, survey_id=survey_id)
            results = compute_results(survey=survey,
                                      answers=answer_rows(session=session, survey_id=survey_id),
                                      audience=audience, finished=finished, started=started)
        return SurveyResultsOut(
            id=survey_id, title=results.title, audience=results.audience,
            finished=results.finished, response_rate=results.response_rate,
            questions=[QuestionResult(
                position=q.position, text=q.text, answered=q.answered,
                options=[OptionResult(number=o.number, label=o.label, count=o.count,
                                      percent=o.percent) for o in q.options],
                texts=list(q.texts),
            ) for q in results.questions],
        )

    return await asyncio.to_thread(load)


class ElectionOut(BaseModel):
    id: int
    kind: str
    title: str
    status: str
    seats: int
    voting_opens_at: datetime | None
    voting_closes_at: datetime | None
    voted: int
    on_roll: int


class TallyOut(BaseModel):
    candidate: str
    votes: int
    place: int
    elected: bool
    by_lot: bool


class ElectionResultOut(BaseModel):
    id: int
    title: str
    seed: str | None
    tallies: list[TallyOut]
    receipts: list[str]


class SurgeryOut(BaseModel):
    id: int
    mp_id: int
    service_id: int
    starts_at: datetime
    ends_at: datetime
    place: str
    status: str


@router.get("/elections", response_model=list[ElectionOut])
async def list_elections(request: Request, user: Annotated[StaffUser, Depends(ANYONE)]
                         ) -> list[ElectionOut]:
    """Elections and polls with their turnout; an MP's token sees only their own."""
    voicebank = _voicebank(request)

    def load() -> list[ElectionOut]:
        with transaction(voicebank.database) as session:
            scope = viewer_scope(session, Viewer(user=user, csrf=""), voicebank.clock.now())
            found = []
            for election in session.exec(select(Election).order_by(col(Election.id))):
                if not may_see(election, scope):
                    continue
                voted, on_roll = elections.turnout(session=session,
                                                   election_id=election.id or 0)
                found.append(ElectionOut(
                    id=election.id or 0, kind=election.kind, title=election.title,
                    status=election.status, seats=election.seats,
                    voting_opens_at=election.voting_opens_at,
                    voting_closes_at=election.voting_closes_at, voted=voted, on_roll=on_roll))
            return found

    return await asyncio.to_thread(load)


@router.get("/elections/{election_id}/results", response_model=ElectionResultOut,
            responses={404: {"model": Problem, "description": "Not counted, or not yours"}})
async def election_results(request: Request,
                           election_id: Annotated[int, ApiPath(ge=1, le=MAX_ID)],
                           user: Annotated[StaffUser, Depends(ANYONE)]) -> ElectionResultOut:
    """The count (once counted), with the seed that settled any tie and every receipt."""
    voicebank = _voicebank(request)

    def load() -> ElectionResultOut:
        with transaction(voicebank.database) as session:
            scope = viewer_scope(session, Viewer(user=user, csrf=""), voicebank.clock.now())
            election = session.get(Election, election_id)
            if election is None or not may_see(election, scope) or election.seed is None:
                raise HTTPException(status_code=404,
                                    detail=f"There is no counted election {election_id}.")
            names = {c.id: c.name for c in elections.candidates(session=session,
                                                                 election_id=election_id)}
            return ElectionResultOut(
                id=election_id, title=election.title, seed=election.seed,
                tallies=[TallyOut(candidate=names.get(t.candidate_id, "?"), votes=t.votes,
                                  place=t.place, elected=t.elected, by_lot=t.by_lot)
                         for t in outcome.stored_result(session=session,
                                                        election_id=election_id)],
                receipts=elections.receipts(session=session, election_id=election_id),
            )

    return await asyncio.to_thread(load)


@router.get("/surgeries", response_model=list[SurgeryOut])
async def list_surgeries(request: Request, user: Annotated[StaffUser, Depends(ANYONE)]
                         ) -> list[SurgeryOut]:
    """MP surgeries; an MP's token sees only their own."""
    voicebank = _voicebank(request)

    def load() -> list[SurgeryOut]:
        with transaction(voicebank.database) as session:
            query = select(Surgery).order_by(col(Surgery.starts_at))
            if user.role == StaffRole.MP:
                query = query.where(Surgery.mp_id == (user.person_id or -1))
            return [SurgeryOut(id=s.id or 0, mp_id=s.mp_id, service_id=s.service_id,
                               starts_at=s.starts_at, ends_at=s.ends_at, place=s.place,
                               status=s.status) for s in session.exec(query)]

    return await asyncio.to_thread(load)

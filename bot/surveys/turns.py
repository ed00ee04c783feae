"""The survey side of handling one message, inside the engine's transaction.

Before the rules run: build the person's :class:`SurveyFlow` with the surveys they are
part of, and notice when the survey they were answering has closed. While recording:
store answers, progress, finishing and stopping. After: pick up a survey the person had
started once something else (an idea, a vote) is done, or offer the next survey waiting
for them once they finish one, never two at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlmodel import Session

from bot.conversation import Effect, Pending
from bot.messages import Outgoing
from bot.rules import OptOut, PersonView, Script, ask
from bot.surveys.definition import SurveyDef
from bot.surveys.flow import (
    SURVEY,
    FinishSurvey,
    RecordSurveyAnswer,
    StopSurvey,
    SurveyFlow,
    parse_step,
    step_for,
)
from bot.surveys.store import load_survey
from storage import survey_progress
from storage.survey_progress import Progress, SurveyRow
from storage.tables import ParticipantStatus, Survey, SurveyStatus


@dataclass(frozen=True)
class SurveyTurn:
    """What the rules need for this turn: the flow, and whether the pending survey closed."""

    flow: SurveyFlow
    pending_closed: bool = False
    drop_pending: bool = False
    """The pending survey question is gone (closed, finished or left): ask nothing of it."""
    open: dict[int, tuple[SurveyRow, Progress]] = field(default_factory=dict)
    """The open surveys the person has yet to finish, by id, with their progress as the turn
    leaves it: recording an answer needs to ask nothing more."""


@dataclass
class Offer:
    say: list[Outgoing] = field(default_factory=list)
    next: Pending | None = None


def _next_position(survey: SurveyDef, progress: Progress) -> int | None:
    later = [q.position for q in survey.questions if q.position > progress.position]
    return min(later) if later else None


def prepare(*, session: Session, person_id: int, language: str, pending: Pending | None
            ) -> SurveyTurn:
    """The person's survey flow for this turn, and whether their pending survey has closed."""
    waiting = survey_progress.open_surveys_for(session=session, person_id=person_id)
    surveys: dict[int, SurveyDef] = {}
    closed = drop = False
    if pending is not None and pending.flow == SURVEY:
        parsed = parse_step(pending.step)
        survey_id = parsed[0] if parsed else None
        pending_row = next((row for row, _ in waiting if row.id == survey_id), None)
        if survey_id is not None and pending_row is not None:
            loaded = load_survey(session=session, survey_id=survey_id, row=pending_row)
            if loaded is not None:
                surveys[survey_id] = loaded
        else:
            ended = session.get(Survey, survey_id) if survey_id is not None else None
            closed = ended is not None and ended.status == SurveyStatus.CLOSED
            drop = True
    next_up = None
    for row, progress in waiting:
        survey = surveys.get(row.id) or load_survey(session=session, survey_id=row.id, row=row)
        if survey is None:
            continue
        surveys[row.id] = survey
        position = _next_position(survey, progress)
        if position is not None:
            next_up = step_for(row.id, position)
            break
    flow = SurveyFlow(surveys=surveys, language=language, next_up=next_up)
    return SurveyTurn(flow=flow, pending_closed=closed, drop_pending=drop,
                      open={row.id: (row, progress) for row, progress in waiting})


def record(*, session: Session, turn: SurveyTurn, person_id: int, service_id: int | None,
           constituency_id: int | None, effect: Effect, now: datetime) -> None:
    """Store a survey effect: an answer (once, and only while the survey is open), the end
    of a survey, or leaving it."""
    survey_id = getattr(effect, "survey_id", None)
    found = turn.open.get(survey_id) if survey_id is not None else None
    if found is None:
        return  # not open, or finished or left already
    row, progress = found
    if progress.status in (ParticipantStatus.FINISHED, ParticipantStatus.STOPPED):
        return
    match effect:
        case RecordSurveyAnswer(position=position) if position > progress.position:
            survey = turn.flow.surveys.get(row.id) or load_survey(
                session=session, survey_id=row.id, row=row)
            if survey is None:
                return
            question_id = next(question.id for question in survey.questions
                               if question.position == position)
            assert question_id is not None
            survey_progress.record_answer(
                session=session, survey_id=row.id, anonymous=survey.anonymous,
                question_id=question_id, person_id=person_id, service_id=service_id,
                constituency_id=constituency_id, option_number=effect.option_number,
                value=effect.value, text=effect.text, now=now,
            )
            survey_progress.advance(session=session, survey_id=row.id, person_id=person_id,
                                    position=position)
            progress = replace(progress, position=position, status=ParticipantStatus.ANSWERING)
        case FinishSurvey():
            survey_progress.finish(session=session, survey_id=row.id, person_id=person_id,
                                   now=now)
            progress = replace(progress, status=ParticipantStatus.FINISHED)
        case StopSurvey():
            survey_progress.stop(session=session, survey_id=row.id, person_id=person_id)
            progress = replace(progress, status=ParticipantStatus.STOPPED)
        case _:
            return
    turn.open[row.id] = (row, progress)


def offer_next(*, session: Session, view: PersonView, language: str,
               effects: Iterable[Effect]) -> Offer:
    """With nothing left to ask: pick up a survey they had started, or, having just
    finished one, offer the next survey waiting for them."""
    effects = tuple(effects)
    if view.opted_out or any(isinstance(effect, StopSurvey | OptOut) for effect in effects):
        return Offer()
    finished = any(isinstance(effect, FinishSurvey) for effect in effects)
    for row, progress in survey_progress.open_surveys_for(session=session, person_id=view.id):
        if not finished and progress.status != ParticipantStatus.ANSWERING:
            continue
        survey = load_survey(session=session, survey_id=row.id, row=row)
        if survey is None:
            continue
        position = _next_position(survey, progress)
        if position is None:
            continue
        step = step_for(row.id, position)
        flow = SurveyFlow(surveys={row.id: survey}, language=language, next_up=step)
        script = Script.of(language, None, flow)
        texts = script.texts
        if progress.status == ParticipantStatus.ANSWERING:
            lead = texts.text("survey.resume", easy=view.easy_words)
        else:
            lead = texts.text("survey.another", easy=view.easy_words)
        turn = ask(Pending(SURVEY, step), view, script)
        return Offer(say=[Outgoing(lead), *turn.say], next=turn.next)
    return Offer()

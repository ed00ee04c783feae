"""The survey side of handling one message, inside the engine's transaction.

Before the rules run: build the person's :class:`SurveyFlow` with the surveys they are
part of, and notice when the survey they were answering has closed. While recording:
store answers, progress, finishing and stopping. After: pick up a survey the person had
started once something else (an idea, a vote) is done, or offer the next survey waiting
for them once they finish one, never two at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
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
from bot.surveys.store import load_survey, survey_questions
from storage import survey_progress
from storage.tables import (
    ParticipantStatus,
    Person,
    Service,
    Survey,
    SurveyParticipant,
    SurveyStatus,
)


@dataclass(frozen=True)
class SurveyTurn:
    """What the rules need for this turn: the flow, and whether the pending survey closed."""

    flow: SurveyFlow
    pending_closed: bool = False
    drop_pending: bool = False
    """The pending survey question is gone (closed, finished or left): ask nothing of it."""
    open: tuple[tuple[Survey, SurveyParticipant], ...] = ()
    """The open surveys the person is part of, with their progress: held for the turn, so
    recording an answer finds them in the session instead of asking again."""


@dataclass
class Offer:
    say: list[Outgoing] = field(default_factory=list)
    next: Pending | None = None


def _next_position(survey: SurveyDef, progress: SurveyParticipant) -> int | None:
    later = [q.position for q in survey.questions if q.position > progress.position]
    return min(later) if later else None


def prepare(*, session: Session, person: Person, pending: Pending | None) -> SurveyTurn:
    """The person's survey flow for this turn, and whether their pending survey has closed."""
    assert person.id is not None
    waiting = survey_progress.open_surveys_for(session=session, person_id=person.id)
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
            row = session.get(Survey, survey_id) if survey_id is not None else None
            closed = row is not None and row.status == SurveyStatus.CLOSED
            drop = True
    next_up = None
    for row, progress in waiting:
        assert row.id is not None
        survey = surveys.get(row.id) or load_survey(session=session, survey_id=row.id, row=row)
        if survey is None:
            continue
        surveys[row.id] = survey
        position = _next_position(survey, progress)
        if position is not None:
            next_up = step_for(row.id, position)
            break
    flow = SurveyFlow(surveys=surveys, language=person.language, next_up=next_up)
    return SurveyTurn(flow=flow, pending_closed=closed, drop_pending=drop, open=tuple(waiting))


def record(*, session: Session, person: Person, effect: Effect, now: datetime) -> None:
    """Store a survey effect: an answer (once, and only while the survey is open), the end
    of a survey, or leaving it."""
    assert person.id is not None
    survey_id = getattr(effect, "survey_id", None)
    if survey_id is None:
        return
    row = session.get(Survey, survey_id)
    progress = survey_progress.participant(session=session, survey_id=survey_id,
                                           person_id=person.id)
    if row is None or progress is None or row.status != SurveyStatus.OPEN:
        return
    if progress.status in (ParticipantStatus.FINISHED, ParticipantStatus.STOPPED):
        return
    match effect:
        case RecordSurveyAnswer(position=position) if position > progress.position:
            question_id = next(question.id for question in
                               survey_questions(session=session, row=row)
                               if question.position == position)
            assert question_id is not None
            service = session.get(Service, person.service_id) if person.service_id else None
            survey_progress.record_answer(
                session=session, survey=row, question_id=question_id, person=person,
                constituency_id=service.constituency_id if service else None,
                option_number=effect.option_number, value=effect.value, text=effect.text,
                now=now,
            )
            survey_progress.advance(session=session, progress=progress, position=position)
        case FinishSurvey():
            progress.status = ParticipantStatus.FINISHED
            progress.finished_at = now
        case StopSurvey():
            progress.status = ParticipantStatus.STOPPED
        case _:
            return
    session.add(progress)


def offer_next(
    *, session: Session, person: Person, view: PersonView, effects: Iterable[Effect]
) -> Offer:
    """With nothing left to ask: pick up a survey they had started, or, having just
    finished one, offer the next survey waiting for them."""
    assert person.id is not None
    effects = tuple(effects)
    if person.opted_out_at is not None or any(
        isinstance(effect, StopSurvey | OptOut) for effect in effects
    ):
        return Offer()
    finished = any(isinstance(effect, FinishSurvey) for effect in effects)
    for row, progress in survey_progress.open_surveys_for(session=session,
                                                          person_id=person.id):
        assert row.id is not None
        if not finished and progress.status != ParticipantStatus.ANSWERING:
            continue
        survey = load_survey(session=session, survey_id=row.id, row=row)
        if survey is None:
            continue
        position = _next_position(survey, progress)
        if position is None:
            continue
        step = step_for(row.id, position)
        flow = SurveyFlow(surveys={row.id: survey}, language=person.language, next_up=step)
        script = Script.of(person.language, None, flow)
        texts = script.texts
        if progress.status == ParticipantStatus.ANSWERING:
            lead = texts.text("survey.resume", easy=view.easy_words)
        else:
            lead = texts.text("survey.another", easy=view.easy_words)
        turn = ask(Pending(SURVEY, step), view, script)
        return Offer(say=[Outgoing(lead), *turn.say], next=turn.next)
    return Offer()

"""Opening a survey, inviting its audience, reminding them, and closing it.

The thin layer over the survey rules: it loads what they need, calls them, and saves
what they decide in the caller's transaction. :func:`survey_tick` is what the scheduler
runs every minute; staff commands call :func:`open_survey` and :func:`close_survey`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.catalogue import load_catalogue
from bot.clock import spoken_time
from bot.conversation import Pending
from bot.flows.menu import MENU
from bot.messages import Outgoing
from bot.outreach import queue_and_ask, queue_for_people
from bot.rules import PersonView, Script, ask
from bot.surveys.definition import SurveyDef
from bot.surveys.flow import SURVEY, SurveyFlow, step_for
from bot.surveys.schedule import due_reminder, due_to_close, due_to_open
from bot.surveys.store import load_survey
from storage import conversations, people, survey_progress
from storage.audit import record_audit
from storage.database import lock_name, transaction
from storage.tables import Person, Survey, SurveyStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TickReport:
    opened: tuple[int, ...] = ()
    closed: tuple[int, ...] = ()
    reminded: int = 0


def open_survey(*, session: Session, survey_id: int, now: datetime, actor: str = "scheduler"
                ) -> int:
    """Open a survey now and invite its audience; returns how many were invited."""
    row = session.get_one(Survey, survey_id)
    if row.status == SurveyStatus.CLOSED:
        raise ValueError(f"survey {survey_id} has closed; it cannot open again")
    survey = load_survey(session=session, survey_id=survey_id)
    assert survey is not None
    row.status = SurveyStatus.OPEN
    row.opened_at = row.opened_at or now
    row.opens_at = row.opens_at or now
    session.add(row)
    session.flush()
    invited = 0
    for person in survey_progress.audience_people(
        session=session, kind=row.audience_kind, value=row.audience_value
    ):
        assert person.id is not None
        if survey_progress.add_participant(session=session, survey_id=survey_id,
                                           person_id=person.id, now=now) is None:
            continue
        if _invite(session, survey, person, now):
            invited += 1
    record_audit(session=session, actor=actor, action="survey.opened",
                 subject=f"survey:{survey_id}", at=now, detail={"invited": invited})
    return invited


def _invite(session: Session, survey: SurveyDef, person: Person, now: datetime) -> bool:
    """The invitation, and the first question too when the person is not busy with another."""
    assert person.id is not None
    assert survey.id is not None
    profile = people.profile_of(session=session, person_id=person.id)
    easy = profile.easy_words
    texts = load_catalogue(person.language)
    title = survey.title_in(person.language)
    intro = survey.intro_in(person.language)
    invitation = "\n".join(
        part for part in (texts.text("survey.invite", title=title), intro,
                          texts.text("survey.how", easy=easy)) if part
    )
    saved = conversations.load_conversation(session=session, person_id=person.id)
    busy = saved is not None and saved.flow != MENU
    first = min(q.position for q in survey.questions)
    messages = [Outgoing(invitation)]
    pending: Pending | None = None
    if busy:
        messages.append(Outgoing(texts.text("survey.later", easy=easy)))
    else:
        step = step_for(survey.id, first)
        script = Script.of(person.language, None, SurveyFlow(
            surveys={survey.id: survey}, language=person.language, next_up=step))
        view = PersonView(id=person.id, opted_out=False, easy_words=easy,
                          supporter=profile.supporter_name)
        turn = ask(Pending(SURVEY, step), view, script)
        messages.extend(turn.say)
        pending = turn.next
    return queue_and_ask(session=session, person=person, messages=messages, pending=pending,
                         now=now, dedupe_key=f"survey:{survey.id}:invite:person:{person.id}")


def close_survey(*, session: Session, survey_id: int, now: datetime, actor: str = "scheduler"
                 ) -> None:
    """Close a survey: no more answers are stored, and no more reminders go."""
    row = session.get_one(Survey, survey_id)
    if row.status == SurveyStatus.CLOSED:
        return
    row.status = SurveyStatus.CLOSED
    row.closed_at = now
    row.closes_at = min(row.closes_at, now) if row.closes_at else now
    session.add(row)
    record_audit(session=session, actor=actor, action="survey.closed",
                 subject=f"survey:{survey_id}", at=now)


def send_reminders(*, session: Session, survey_id: int, now: datetime, zone: ZoneInfo) -> int:
    """Remind those who have not finished, once per reminder time; returns how many."""
    row = session.get_one(Survey, survey_id)
    if row.status != SurveyStatus.OPEN:
        return 0
    survey = load_survey(session=session, survey_id=survey_id)
    assert survey is not None
    index = due_reminder(reminders=survey.reminders, closes_at=row.closes_at, now=now)
    if index is None or row.closes_at is None:
        return 0
    key = f"survey:{survey_id}:reminder:{index}:person:"
    closes = spoken_time(row.closes_at, zone)
    # Only those not reminded yet: a tick after the reminder went finds them in one query.
    letters = [
        (person, Outgoing(load_catalogue(person.language).text(
            "survey.reminder", title=survey.title_in(person.language), closes=closes)),
         f"{key}{person.id}")
        for person in survey_progress.not_yet_queued(session=session, survey_id=survey_id,
                                                     key_prefix=key)
    ]
    return queue_for_people(session=session, letters=letters, now=now)


def survey_tick(*, database: Engine, now: datetime, zone: ZoneInfo) -> TickReport:
    """Open what is due, close what is due, and send due reminders: safe to run anywhere,
    any number of times, by any number of processes (one at a time, under a lock)."""
    opened: list[int] = []
    closed: list[int] = []
    reminded = 0
    with transaction(database) as session:
        lock_name(session, "survey_tick")
        rows = list(session.exec(select(Survey).where(
            col(Survey.status).in_([SurveyStatus.SCHEDULED, SurveyStatus.OPEN])
        )))
        for row in rows:
            assert row.id is not None
            if due_to_close(status=row.status, closes_at=row.closes_at, now=now):
                close_survey(session=session, survey_id=row.id, now=now)
                closed.append(row.id)
            elif due_to_open(status=row.status, opens_at=row.opens_at, closes_at=row.closes_at,
                             now=now):
                open_survey(session=session, survey_id=row.id, now=now)
                opened.append(row.id)
            if row.status == SurveyStatus.OPEN:
                reminded += send_reminders(session=session, survey_id=row.id, now=now,
                                           zone=zone)
    if opened or closed or reminded:
        log.info("surveys opened %s, closed %s; %d reminders", opened, closed, reminded)
    return TickReport(opened=tuple(opened), closed=tuple(closed), reminded=reminded)

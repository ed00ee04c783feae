"""Who a survey is for, how far each person has got, and their answers.

Progress (the participant row) and answers are kept apart: an anonymous survey's
answers carry no person and no time, yet reminders still know who has not finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, insert
from sqlmodel import Session, col, select

from storage.database import write_through
from storage.outbox import queued_for
from storage.tables import (
    Constituency,
    ParticipantStatus,
    Person,
    PersonRole,
    Service,
    Survey,
    SurveyAnswer,
    SurveyParticipant,
    SurveyStatus,
)

UNFINISHED = (ParticipantStatus.INVITED, ParticipantStatus.ANSWERING)


def audience_people(
    *, session: Session, kind: str, value: str, only_role: str | None = None
) -> list[Person]:
    """Everyone an audience covers who has not opted out, in id order.

    ``kind`` is everyone, constituency (``value`` its name), service (its join code) or
    role (such as ``mp``); ``only_role`` narrows it further (an election's service users).
    """
    query = select(Person).where(col(Person.opted_out_at).is_(None))
    if only_role is not None:
        query = query.where(
            select(PersonRole.person_id).where(
                PersonRole.person_id == Person.id, PersonRole.role == only_role
            ).exists()
        )
    if kind == "constituency":
        query = (
            query.join(Service, col(Service.id) == col(Person.service_id))
            .join(Constituency, col(Constituency.id) == col(Service.constituency_id))
            .where(col(Constituency.name) == value)
        )
    elif kind == "service":
        query = query.join(Service, col(Service.id) == col(Person.service_id)).where(
            col(Service.join_code) == value.upper()
        )
    elif kind == "role":
        query = query.join(PersonRole, col(PersonRole.person_id) == col(Person.id)).where(
            col(PersonRole.role) == value
        )
    elif kind != "everyone":
        raise ValueError(f"unknown audience {kind!r}")
    return list(session.exec(query.order_by(col(Person.id))))


def add_participant(
    *, session: Session, survey_id: int, person_id: int, now: datetime
) -> SurveyParticipant | None:
    """Put a person on a survey's list; None if they were already on it."""
    if session.get(SurveyParticipant, (survey_id, person_id)) is not None:
        return None
    participant = SurveyParticipant(survey_id=survey_id, person_id=person_id, invited_at=now)
    session.add(participant)
    session.flush()
    return participant


def participant(*, session: Session, survey_id: int, person_id: int) -> SurveyParticipant | None:
    return session.get(SurveyParticipant, (survey_id, person_id))


def not_yet_queued(*, session: Session, survey_id: int, key_prefix: str) -> list[Person]:
    """Those who have not finished or stopped and have no outbox message keyed
    ``key_prefix`` and their person id: the people a reminder is still to go to, found in
    one query however many were reminded already."""
    return list(
        session.exec(
            select(Person)
            .join(SurveyParticipant, col(Person.id) == col(SurveyParticipant.person_id))
            .where(
                SurveyParticipant.survey_id == survey_id,
                col(SurveyParticipant.status).in_(UNFINISHED),
                col(Person.opted_out_at).is_(None),
                ~queued_for(key_prefix=key_prefix, person_id=col(Person.id)),
            )
            .order_by(col(Person.id))
        )
    )


_OPEN_SURVEYS_FOR = (
    select(Survey, SurveyParticipant)
    .join(SurveyParticipant, col(SurveyParticipant.survey_id) == col(Survey.id))
    .where(
        SurveyParticipant.person_id == bindparam("person_id"),
        col(SurveyParticipant.status).in_(UNFINISHED),
        Survey.status == SurveyStatus.OPEN,
    )
    .order_by(col(Survey.opened_at), col(Survey.id))
)


def advance(*, session: Session, progress: SurveyParticipant, position: int) -> None:
    """Record that the person has answered up to ``position``."""
    write_through(session, progress, position=position, status=ParticipantStatus.ANSWERING)


def open_surveys_for(*, session: Session, person_id: int) -> list[tuple[Survey, SurveyParticipant]]:
    """The open surveys this person has yet to finish, oldest first."""
    rows = session.exec(_OPEN_SURVEYS_FOR, params={"person_id": person_id})
    return [(survey, progress) for survey, progress in rows]


_ANSWER = insert(SurveyAnswer.__table__)  # type: ignore[attr-defined]
"""Built once, and run at once: an answer is written, not kept in the session."""


def record_answer(
    *,
    session: Session,
    survey: Survey,
    question_id: int,
    person: Person,
    constituency_id: int | None,
    option_number: int | None,
    value: str,
    text: str | None,
    now: datetime,
) -> None:
    """Store one answer; in an anonymous survey, without the person or the time."""
    assert survey.id is not None
    session.execute(_ANSWER, {
        "survey_id": survey.id,
        "question_id": question_id,
        "person_id": None if survey.anonymous else person.id,
        "service_id": person.service_id,
        "constituency_id": constituency_id,
        "option_number": option_number,
        "value": value,
        "text": text,
        "answered_at": None if survey.anonymous else now,
    })


def answers_of(*, session: Session, survey_id: int) -> Sequence[SurveyAnswer]:
    return list(
        session.exec(
            select(SurveyAnswer)
            .where(SurveyAnswer.survey_id == survey_id)
            .order_by(col(SurveyAnswer.id))
        )
    )

"""Who a survey is for, how far each person has got, and their answers.

Progress (the participant row) and answers are kept apart: an anonymous survey's
answers carry no person and no time, yet reminders still know who has not finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import bindparam, insert
from sqlmodel import Session, col, select

from storage.database import held_row
from storage.outbox import queued_for
from storage.prepared import Prepared, updating
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


_SURVEY = Survey.__table__  # type: ignore[attr-defined]
_PARTICIPANT = SurveyParticipant.__table__  # type: ignore[attr-defined]
_ANSWER_TABLE = SurveyAnswer.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SurveyRow:
    """What changes of a survey once saved (see :class:`Survey`): read with a person's
    progress; the rest of the survey is kept in memory once it opens."""

    id: int
    status: str
    opens_at: datetime | None
    closes_at: datetime | None
    opened_at: datetime | None
    definition_key: str


@dataclass(frozen=True)
class Progress:
    """How far a person has got in a survey (see :class:`SurveyParticipant`)."""

    survey_id: int
    status: str
    position: int


_SURVEY_FIELDS = tuple(field.name for field in fields(SurveyRow))
_OPEN_SURVEYS_FOR = Prepared(
    sa.select(*(_SURVEY.c[name] for name in _SURVEY_FIELDS), _PARTICIPANT.c.status,
           _PARTICIPANT.c.position)
    .join(_PARTICIPANT, _PARTICIPANT.c.survey_id == _SURVEY.c.id)
    .where(
        _PARTICIPANT.c.person_id == bindparam("person_id"),
        _PARTICIPANT.c.status.in_(UNFINISHED),
        _SURVEY.c.status == SurveyStatus.OPEN,
    )
    .order_by(_SURVEY.c.opened_at, _SURVEY.c.id)
)


def open_surveys_for(*, session: Session, person_id: int) -> list[tuple[SurveyRow, Progress]]:
    """The open surveys this person has yet to finish, oldest first."""
    found = []
    fields = len(_SURVEY_FIELDS)
    for row in _OPEN_SURVEYS_FOR.rows(session, {"person_id": person_id}):
        survey = SurveyRow(*row[:fields])
        found.append((survey, Progress(survey_id=survey.id, status=row[fields],
                                       position=row[fields + 1])))
    return found


_PARTICIPANT_KEY = ("survey_id", "person_id")
_ADVANCE = Prepared(updating(_PARTICIPANT, keys=_PARTICIPANT_KEY, columns=["position"],
                             status=ParticipantStatus.ANSWERING))
_FINISH = Prepared(updating(_PARTICIPANT, keys=_PARTICIPANT_KEY, columns=["finished_at"],
                            status=ParticipantStatus.FINISHED))
_STOP = Prepared(updating(_PARTICIPANT, keys=_PARTICIPANT_KEY,
                          status=ParticipantStatus.STOPPED))


def advance(*, session: Session, survey_id: int, person_id: int, position: int) -> None:
    """Record that the person has answered up to ``position``."""
    _write_progress(session, _ADVANCE, survey_id, person_id, new_position=position)


def finish(*, session: Session, survey_id: int, person_id: int, now: datetime) -> None:
    """Record that the person has answered the whole survey."""
    _write_progress(session, _FINISH, survey_id, person_id, new_finished_at=now)


def stop(*, session: Session, survey_id: int, person_id: int) -> None:
    """Record that the person left the survey: no more of its questions or reminders."""
    _write_progress(session, _STOP, survey_id, person_id)


def _write_progress(session: Session, statement: Prepared, survey_id: int, person_id: int,
                    **values: Any) -> None:
    statement.write(session,
                    {"key_survey_id": survey_id, "key_person_id": person_id, **values})
    held = held_row(session, SurveyParticipant, survey_id, person_id)
    if held is not None:
        session.expire(held)  # read again if used: what was just written is the truth


_ANSWER_FIELDS = ("survey_id", "question_id", "person_id", "service_id", "constituency_id",
                  "option_number", "value", "text", "answered_at")
_ANSWER = Prepared(insert(_ANSWER_TABLE), given=_ANSWER_FIELDS)
"""An answer is written at once, not kept in the session."""


def record_answer(
    *,
    session: Session,
    survey_id: int,
    anonymous: bool,
    question_id: int,
    person_id: int,
    service_id: int | None,
    constituency_id: int | None,
    option_number: int | None,
    value: str,
    text: str | None,
    now: datetime,
) -> None:
    """Store one answer; in an anonymous survey, without the person or the time."""
    _ANSWER.write(session, {
        "survey_id": survey_id,
        "question_id": question_id,
        "person_id": None if anonymous else person_id,
        "service_id": service_id,
        "constituency_id": constituency_id,
        "option_number": option_number,
        "value": value,
        "text": text,
        "answered_at": None if anonymous else now,
    })


def answers_of(*, session: Session, survey_id: int) -> Sequence[SurveyAnswer]:
    return list(
        session.exec(
            select(SurveyAnswer)
            .where(SurveyAnswer.survey_id == survey_id)
            .order_by(col(SurveyAnswer.id))
        )
    )

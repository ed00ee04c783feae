"""What the results of a survey are computed from: its answers and who took part."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import case, func, or_
from sqlmodel import Session, col, select

from bot.surveys.results import AnswerRow
from storage.tables import (
    Constituency,
    ParticipantStatus,
    Service,
    SurveyAnswer,
    SurveyParticipant,
    SurveyQuestion,
)


def answer_rows(*, session: Session, survey_id: int) -> list[AnswerRow]:
    """Every answer to the survey, in the order given, with its question's position and the
    names of the service and constituency it came from.

    Two services with the same name are told apart by their constituency, so their answers
    are not counted as one group. An answer with a service but no constituency takes the
    service's constituency.
    """
    services = _service_names(session)
    constituencies = dict(session.exec(select(Constituency.id, Constituency.name)).all())
    statement = (
        select(SurveyAnswer, SurveyQuestion.position)
        .join(SurveyQuestion, col(SurveyQuestion.id) == col(SurveyAnswer.question_id))
        .where(SurveyAnswer.survey_id == survey_id)
        .order_by(col(SurveyAnswer.id))
    )
    rows = []
    for answer, position in session.exec(statement).all():
        service = services.get(answer.service_id) if answer.service_id is not None else None
        constituency_id = answer.constituency_id
        if constituency_id is None and service is not None:
            constituency_id = service[1]
        rows.append(
            AnswerRow(
                question_position=position,
                option_number=answer.option_number,
                value=answer.value,
                text=answer.text,
                service=service[0] if service is not None else None,
                constituency=(
                    constituencies.get(constituency_id) if constituency_id is not None else None
                ),
            )
        )
    return rows


def participation(*, session: Session, survey_id: int) -> tuple[int, int, int]:
    """How many were asked, how many started, how many finished: (audience, started, finished).

    Someone has started once they are answering, finished or stopped, or have got past
    the first question.
    """
    started = or_(
        col(SurveyParticipant.status).in_(
            [ParticipantStatus.ANSWERING, ParticipantStatus.FINISHED, ParticipantStatus.STOPPED]
        ),
        col(SurveyParticipant.position) > 0,
    )
    finished = col(SurveyParticipant.status) == ParticipantStatus.FINISHED
    statement = select(
        func.count(),
        func.coalesce(func.sum(case((started, 1), else_=0)), 0),
        func.coalesce(func.sum(case((finished, 1), else_=0)), 0),
    ).where(SurveyParticipant.survey_id == survey_id)
    audience, started_count, finished_count = session.exec(statement).one()
    return int(audience), int(started_count), int(finished_count)


def _service_names(session: Session) -> dict[int, tuple[str, int]]:
    """Each service's name for the results, and its constituency's id."""
    rows = session.exec(
        select(Service.id, Service.name, Service.constituency_id, Constituency.name).join(
            Constituency, col(Constituency.id) == col(Service.constituency_id)
        )
    ).all()
    repeated = Counter(name for _, name, _, _ in rows)
    return {
        service_id: (
            f"{name} ({constituency})" if repeated[name] > 1 else name,
            constituency_id,
        )
        for service_id, name, constituency_id, constituency in rows
        if service_id is not None
    }

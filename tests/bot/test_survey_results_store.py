"""What survey results are computed from, read from SQLite and PostgreSQL."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clock import ManualClock
from bot.surveys.definition import DONT_KNOW, SKIPPED
from bot.surveys.results import AnswerRow
from bot.surveys.results_store import answer_rows, participation
from storage.database import transaction
from storage.tables import (
    Constituency,
    ParticipantStatus,
    Person,
    Service,
    Survey,
    SurveyAnswer,
    SurveyOption,
    SurveyParticipant,
    SurveyQuestion,
)


@dataclass
class Organisation:
    survey_id: int
    other_survey_id: int
    questions: dict[int, int]  # question id -> position
    services: dict[int, tuple[str, int]]  # service id -> (name in results, constituency id)
    constituencies: dict[int, str]
    people: list[int]


def seed(session: Session, clock: ManualClock) -> Organisation:
    north, south = Constituency(name="North"), Constituency(name="South")
    session.add_all([north, south])
    session.flush()
    assert north.id is not None
    assert south.id is not None
    oak_north = Service(name="Oak Lodge", constituency_id=north.id, join_code="OAKN")
    elm = Service(name="Elm House", constituency_id=north.id, join_code="ELM")
    oak_south = Service(name="Oak Lodge", constituency_id=south.id, join_code="OAKS")
    session.add_all([oak_north, elm, oak_south])
    session.flush()
    assert oak_north.id is not None
    assert elm.id is not None
    assert oak_south.id is not None
    people = [Person(name=f"Person {n}", service_id=elm.id) for n in range(40)]
    session.add_all(people)
    survey, other = Survey(title="Your home"), Survey(title="Another")
    session.add_all([survey, other])
    session.flush()
    assert survey.id is not None
    assert other.id is not None
    questions = [
        SurveyQuestion(survey_id=survey.id, position=1, kind="choice", text="How is home?"),
        SurveyQuestion(survey_id=survey.id, position=2, kind="text", text="Anything else?"),
        SurveyQuestion(survey_id=other.id, position=1, kind="yes_no", text="Safe?"),
    ]
    session.add_all(questions)
    session.flush()
    assert questions[0].id is not None
    session.add_all(
        SurveyOption(question_id=questions[0].id, number=n, label=label, value=label.lower(),
                     emoji=emoji)
        for n, label, emoji in [(1, "Good", "😀"), (2, "OK", "😐"), (3, "Bad", "☹️")]
    )
    session.flush()
    return Organisation(
        survey_id=survey.id,
        other_survey_id=other.id,
        questions={q.id: q.position for q in questions if q.id is not None},
        services={
            oak_north.id: ("Oak Lodge (North)", north.id),
            elm.id: ("Elm House", north.id),
            oak_south.id: ("Oak Lodge (South)", south.id),
        },
        constituencies={north.id: "North", south.id: "South"},
        people=[p.id for p in people if p.id is not None],
    )


def test_answer_rows_carry_position_and_place_names(
    database: Engine, clock: ManualClock
) -> None:
    rng = random.Random(11)
    with transaction(database) as session:
        organisation = seed(session, clock)
        question_ids = list(organisation.questions)
        expected = []
        for n in range(300):
            question_id = rng.choice(question_ids)
            survey_id = (
                organisation.other_survey_id if question_id == question_ids[2]
                else organisation.survey_id
            )
            service_id = rng.choice([*organisation.services, None])
            if service_id is not None:
                # Some answers were stored without the constituency: it comes from the service.
                constituency_id = rng.choice([organisation.services[service_id][1], None])
            else:
                constituency_id = rng.choice([*organisation.constituencies, None])
            kind = rng.choice(["option", DONT_KNOW, SKIPPED, "text"])
            number = rng.randint(1, 3) if kind == "option" else None
            value = {"option": f"v{number}", "text": ""}.get(kind, kind)
            text = f"Idea {n} ✨" if kind == "text" else None
            session.add(SurveyAnswer(
                survey_id=survey_id, question_id=question_id,
                person_id=rng.choice([*organisation.people, None]),
                service_id=service_id, constituency_id=constituency_id,
                option_number=number, value=value, text=text, answered_at=clock.now(),
            ))
            session.flush()  # ids in the order added: the order answer_rows keeps
            if survey_id != organisation.survey_id:
                continue
            place = organisation.services.get(service_id) if service_id else None
            if constituency_id is None and place is not None:
                constituency_id = place[1]
            expected.append(AnswerRow(
                question_position=organisation.questions[question_id],
                option_number=number, value=value, text=text,
                service=place[0] if place else None,
                constituency=(
                    organisation.constituencies[constituency_id] if constituency_id else None
                ),
            ))

    with Session(database) as session:
        rows = answer_rows(session=session, survey_id=organisation.survey_id)
        assert len(expected) > 150
        assert rows == expected
        assert {r.service for r in rows} == {
            "Oak Lodge (North)", "Oak Lodge (South)", "Elm House", None
        }
        assert answer_rows(session=session, survey_id=organisation.survey_id + 100) == []


def test_participation_counts_who_was_asked_started_and_finished(
    database: Engine, clock: ManualClock
) -> None:
    rng = random.Random(12)
    statuses = list(ParticipantStatus)
    audience = started = finished = 0
    with transaction(database) as session:
        organisation = seed(session, clock)
        for person_id in organisation.people:
            status = rng.choice(statuses)
            position = rng.choice([0, 0, 1, 2])
            session.add(SurveyParticipant(
                survey_id=organisation.survey_id, person_id=person_id, status=status,
                position=position, invited_at=clock.now(),
            ))
            audience += 1
            started += status != ParticipantStatus.INVITED or position > 0
            finished += status == ParticipantStatus.FINISHED
            # Someone in the other survey counts only there.
            session.add(SurveyParticipant(
                survey_id=organisation.other_survey_id, person_id=person_id,
                status=ParticipantStatus.FINISHED, invited_at=clock.now(),
            ))

    with Session(database) as session:
        counted = participation(session=session, survey_id=organisation.survey_id)
        assert counted == (audience, started, finished)
        assert audience == 40
        assert 0 < finished < started < audience
        assert participation(session=session, survey_id=organisation.survey_id + 100) == (
            0, 0, 0
        )

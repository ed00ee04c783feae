"""The map and plan, computed from surveys and actions stored in SQLite and PostgreSQL."""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clock import ManualClock
from bot.conversation import Kind
from bot.reports.plan import (
    SCORE_LABELS,
    empty_score,
    latest,
    map_and_plan,
    score_from_counts,
    standard_key,
    statement_of,
)
from bot.surveys.definition import DONT_KNOW, SKIPPED, QuestionDef, SurveyDef
from bot.surveys.loading import SCALES
from bot.surveys.store import load_survey, save_survey
from storage import people
from storage.database import transaction
from storage.tables import (
    Action,
    ActionStatus,
    ActionSuggestion,
    ParticipantStatus,
    Role,
    Suggestion,
    Survey,
    SurveyAnswer,
    SurveyParticipant,
)

STANDARDS = ("2.1", "1.10", "1.2")  # in file order, not number order
WORDS = {
    "1.2": "1.2 We agree our values with you. How are we doing?",
    "1.10": "1.10 You help choose new staff. How are we doing?",
    "2.1": "2.1 We know who can help. How are we doing?",
}


def standards_survey(title: str) -> SurveyDef:
    questions: list[QuestionDef] = []
    for standard in STANDARDS:
        questions.append(QuestionDef(len(questions) + 1, Kind.SCALE, WORDS[standard],
                                     SCALES["standards"], standard=standard))
        questions.append(QuestionDef(len(questions) + 1, Kind.TEXT,
                                     "What would make this better?", standard=standard))
    return SurveyDef(title=title, questions=tuple(questions))


@dataclass
class Expected:
    scores: dict[str, list[int]] = field(default_factory=dict)
    better: dict[str, list[str]] = field(default_factory=dict)


def seed_survey(
    session: Session, *, title: str, opened_at: datetime | None, people_ids: list[int],
    rng: random.Random, now: datetime,
) -> tuple[int, Expected]:
    survey_id = save_survey(session=session, survey=standards_survey(title), now=now)
    row = session.get_one(Survey, survey_id)
    row.opened_at = opened_at
    session.add(row)
    saved = load_survey(session=session, survey_id=survey_id)
    assert saved is not None
    expected = Expected()
    for number, person_id in enumerate(people_ids):
        finished = number % 3 != 0
        session.add(SurveyParticipant(
            survey_id=survey_id, person_id=person_id, invited_at=now,
            status=ParticipantStatus.FINISHED if finished else ParticipantStatus.INVITED))
        if not finished:
            continue
        for question in saved.questions:
            assert question.id is not None
            standard = question.standard or ""
            answer = SurveyAnswer(survey_id=survey_id, question_id=question.id,
                                  person_id=person_id, answered_at=now)
            pick = rng.random()
            if question.kind == Kind.SCALE:
                if pick < 0.15:
                    answer.value = DONT_KNOW
                elif pick < 0.25:
                    answer.value = SKIPPED
                else:
                    score = rng.randint(1, 4)
                    answer.option_number, answer.value = score, str(score)
                    expected.scores.setdefault(standard, []).append(score)
            elif pick < 0.3:
                answer.value = SKIPPED
            else:
                answer.text = f"Idea {number} for {standard}: {rng.randint(1, 999)}"
                expected.better.setdefault(standard, []).append(answer.text)
            session.add(answer)
    session.flush()
    return survey_id, expected


def add_action(session: Session, action: Action) -> Action:
    session.add(action)
    session.flush()
    return action


def test_plan_rows_match_the_answers_and_the_actions(
    database: Engine, clock: ManualClock
) -> None:
    rng = random.Random(2007)
    now = clock.now()
    with transaction(database) as session:
        ids = []
        for n in range(30):
            person = people.add_person(session=session, urns=[f"console:p{n}"], now=now,
                                       name=f"Person {n}")
            assert person.id is not None
            ids.append(person.id)
        hl = people.add_person(session=session, urns=["console:hl"], now=now, name="Helen L",
                               roles=[Role.STAFF])
        bd = people.add_person(session=session, urns=["console:bd"], now=now, name="Ben D",
                               roles=[Role.STAFF])
        nameless = people.add_person(session=session, urns=["console:x"], now=now,
                                     roles=[Role.STAFF])
        assert hl.id is not None
        assert bd.id is not None
        assert nameless.id is not None
        older_id, _ = seed_survey(session, title="Last year", opened_at=now - timedelta(days=365),
                                  people_ids=ids, rng=rng, now=now)
        survey_id, expected = seed_survey(session, title="This year", opened_at=now,
                                          people_ids=ids, rng=rng, now=now)
        # loaded since but never opened: it has no answers, so it must not hide these
        save_survey(session=session, survey=standards_survey("Next year"), now=now)
        idea = Suggestion(text="Put the values on the wall", topic="home", created_at=now)
        session.add(idea)
        session.flush()
        redraft = add_action(session, Action(
            what="Redraft the policy", owner_id=bd.id, due_on=date(2026, 12, 1), standard="1.2"))
        leaflet = add_action(session, Action(
            what="Make a leaflet", owner_id=hl.id, due_on=date(2026, 6, 1), standard="1.2",
            status=ActionStatus.DONE, done_at=datetime(2026, 6, 30, 23, 30, tzinfo=UTC),
            done_by=bd.id, done_note="Printed 200"))
        assert leaflet.id is not None
        assert idea.id is not None
        session.add(ActionSuggestion(action_id=leaflet.id, suggestion_id=idea.id))
        audit = add_action(session, Action(
            what="Audit of skills", owner_id=nameless.id, due_on=date(2026, 8, 1), standard="3.2"))
        add_action(session, Action(
            what="Not about a standard", owner_id=hl.id, due_on=date(2026, 5, 1)))
    assert older_id != survey_id

    with Session(database) as session:
        plan = map_and_plan(session=session, now=now)

    assert plan.survey_id == survey_id
    assert plan.survey_title == "This year"
    assert (plan.audience, plan.finished) == (30, 20)
    assert plan.made_on == date(2026, 3, 2)
    assert [row.standard for row in plan.rows] == ["1.2", "1.10", "2.1", "3.2"]
    for row in plan.rows[:3]:
        given = expected.scores.get(row.standard, [])
        assert row.statement == WORDS[row.standard].split(" ", 1)[1]
        assert [c.score for c in row.score.spread] == [1, 2, 3, 4]
        assert [c.label for c in row.score.spread] == list(SCORE_LABELS.values())
        assert [c.count for c in row.score.spread] == [given.count(n) for n in range(1, 5)]
        assert row.score.answered == len(given)
        assert row.score.middle == (statistics.median(given) if given else None)
        assert list(row.better) == expected.better.get(row.standard, [])
    assert all(row.better for row in plan.rows[:3])

    first = plan.rows[0]
    assert [a.what for a in first.actions] == ["Make a leaflet", "Redraft the policy"]
    done, still_open = first.actions
    assert (done.owner, done.due_on, done.status) == ("Helen L", date(2026, 6, 1), "done")
    assert done.done_on == date(2026, 7, 1)  # 23:30 UTC is past midnight in London's summer
    assert (done.done_by, done.done_note, done.ideas) == ("Ben D", "Printed 200", (idea.id,))
    assert (still_open.id, still_open.owner, still_open.done_on) == (redraft.id, "Ben D", None)
    assert not plan.rows[1].actions

    last = plan.rows[3]
    assert (last.statement, last.score, last.better) == ("", empty_score(), ())
    assert [(a.id, a.owner) for a in last.actions] == [(audit.id, f"Person {nameless.id}")]


def test_a_plan_without_any_standards_survey(database: Engine, clock: ManualClock) -> None:
    with Session(database) as session:
        empty = map_and_plan(session=session, now=clock.now())
    assert (empty.survey_id, empty.survey_title, empty.rows) == (None, None, ())
    with transaction(database) as session:
        owner = people.add_person(session=session, urns=["console:o"], now=clock.now(),
                                  name="Olu", roles=[Role.STAFF])
        assert owner.id is not None
        save_survey(session=session, survey=SurveyDef(
            title="Food", questions=(QuestionDef(1, Kind.SCALE, "Food?", SCALES["smiley"]),)),
            now=clock.now())
        for standard in ("1.10", "1.9", "10.1", "1.2"):
            add_action(session, Action(what=f"Work on {standard}", owner_id=owner.id,
                                       due_on=date(2026, 4, 1), standard=standard))
    with Session(database) as session:
        plan = map_and_plan(session=session, now=clock.now())
    assert plan.survey_id is None
    assert [row.standard for row in plan.rows] == ["1.2", "1.9", "1.10", "10.1"]
    assert all(row.score.middle is None and not row.better for row in plan.rows)
    assert [row.actions[0].owner for row in plan.rows] == ["Olu"] * 4


def test_standards_sort_by_their_numbers() -> None:
    shuffled = ["1.10", "2", "1.2", "10.1", "1.1", "2.1", "1.9", "1.1a"]
    assert sorted(shuffled, key=standard_key) == [
        "1.1", "1.1a", "1.2", "1.9", "1.10", "2", "2.1", "10.1"]


@pytest.mark.parametrize(("counts", "middle", "words"), [
    ({}, None, ""),
    ({2: 1}, 2.0, "2 There's more to be done"),
    ({1: 1, 3: 1}, 2.0, "2 There's more to be done"),
    ({2: 1, 3: 1}, 2.5, "2.5 (between 2 and 3)"),
    ({1: 3, 4: 1}, 1.0, "1 Exactly how we want it"),
    ({4: 2, 9: 5}, 4.0, "4 They've not even thought about it"),  # 9 is not a score
])
def test_score_spread_and_middle(counts: dict[int, int], middle: float | None,
                                 words: str) -> None:
    score = score_from_counts(counts)
    assert score.middle == middle
    assert score.middle_text() == words
    assert score.answered == sum(n for s, n in counts.items() if 1 <= s <= 4)


def test_statement_drops_only_the_standards_own_number() -> None:
    assert statement_of("1.1", "1.1 Involving you. How are we doing?") == (
        "Involving you. How are we doing?")
    assert statement_of("1.1", "1.10 Something else") == "1.10 Something else"
    assert statement_of("2.2", "  Plain words ") == "Plain words"


def test_latest_prefers_the_last_opened_then_the_highest_id() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    surveys = [Survey(id=1, title="a", opened_at=moment),
               Survey(id=2, title="b", opened_at=moment + timedelta(days=1)),
               Survey(id=3, title="c", opened_at=moment + timedelta(days=1)),
               Survey(id=4, title="never opened")]
    assert latest(surveys) is surveys[2]
    assert latest(surveys[3:]) is surveys[3]
    assert latest([]) is None

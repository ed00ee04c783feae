"""The Board report over a period, from rows stored in SQLite and PostgreSQL.

The period is March 2026 in London: the clocks go forward on the 29th, so the last
moment in it is 22:59 UTC on the 31st.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clock import ManualClock
from bot.conversation import Kind
from bot.reports.board import (
    NO_TOPIC,
    IdeaLine,
    board_report,
    day_bounds,
    summarise_ideas,
    topic_label,
)
from bot.surveys.definition import OptionDef, QuestionDef, SurveyDef
from bot.surveys.store import load_survey, save_survey
from storage import people
from storage.database import transaction
from storage.tables import (
    Action,
    ActionStatus,
    Candidate,
    CandidateStatus,
    Election,
    ElectionResult,
    InboxMessage,
    OutboxMessage,
    OutboxStatus,
    ParticipantStatus,
    Role,
    Suggestion,
    Surgery,
    SurgeryStatus,
    Survey,
    SurveyAnswer,
    SurveyParticipant,
)

LONDON = ZoneInfo("Europe/London")
START, END = date(2026, 3, 1), date(2026, 3, 31)
FIRST = datetime(2026, 3, 1, tzinfo=UTC)  # midnight in London in winter
LAST = datetime(2026, 3, 31, 22, 59, 59, tzinfo=UTC)  # 23:59:59 in London in summer
BEFORE, AFTER = FIRST - timedelta(seconds=1), LAST + timedelta(seconds=1)
MID = datetime(2026, 3, 15, 12, tzinfo=UTC)
CONCERN_WORDS = "Someone hurt me at night"
SURVEY = SurveyDef(title="Food", questions=(
    QuestionDef(1, Kind.CHOICE, "Do you like the food?", (
        OptionDef(1, "Yes", "yes"), OptionDef(2, "No", "no"))),
    QuestionDef(2, Kind.TEXT, "What would you cook?"),
))


@dataclass
class Seeded:
    ann: int
    surveys: dict[str, int]
    elections: dict[str, int]
    actions: dict[str, int]
    surgeries: dict[str, int]


def seed(session: Session, now: datetime) -> Seeded:
    north = people.add_constituency(session=session, name="North")
    assert north.id is not None
    oak = people.add_service(session=session, name="Oak Lodge", constituency_id=north.id,
                             join_code="OAK")
    assert oak.id is not None
    ann = people.add_person(session=session, urns=["tel:+447700900001"], now=now, name="Ann",
                            service_id=oak.id)
    mp = people.add_person(session=session, urns=["tel:+447700900002"], now=now, name="Mo",
                           roles=[Role.SERVICE_USER, Role.MP], service_id=oak.id)
    staff = people.add_person(session=session, urns=["console:sam"], now=now, name="Sam",
                              roles=[Role.STAFF])
    assert ann.id is not None
    assert mp.id is not None
    assert staff.id is not None

    surgeries = {}
    for key, starts, status, logged in [
        ("held", MID, SurgeryStatus.HELD, None),
        ("logged", FIRST, SurgeryStatus.SCHEDULED, MID),
        ("not held", MID, SurgeryStatus.SCHEDULED, None),
        ("cancelled", MID, SurgeryStatus.CANCELLED, None),
        ("too late", AFTER, SurgeryStatus.HELD, None),
    ]:
        surgery = Surgery(mp_id=mp.id, service_id=oak.id, starts_at=starts,
                          ends_at=starts + timedelta(hours=1), status=status, logged_at=logged,
                          place="The lounge")
        session.add(surgery)
        session.flush()
        assert surgery.id is not None
        surgeries[key] = surgery.id

    session.add_all([
        Suggestion(text="Too early", topic="food", person_id=ann.id, created_at=BEFORE),
        Suggestion(text="Too late", topic="food", person_id=ann.id, created_at=AFTER),
        Suggestion(text="More trips to the sea", topic="travel", person_id=ann.id,
                   service_id=oak.id, created_at=FIRST),
        Suggestion(text="<script>alert(1)</script>", topic="food", created_at=MID,
                   anonymous=True, service_id=oak.id),
        Suggestion(text="Kept quiet", topic="home", person_id=ann.id, anonymous=True,
                   created_at=MID),
        Suggestion(text=CONCERN_WORDS, topic="staff", person_id=ann.id, concern=True,
                   created_at=MID),
        Suggestion(text="A garden", topic="home", person_id=ann.id, created_at=LAST,
                   source="surgery", surgery_id=surgeries["held"]),
        Suggestion(text="A pond", topic="", person_id=ann.id, created_at=LAST,
                   source="surgery", surgery_id=surgeries["held"]),
    ])

    for moment in (BEFORE, FIRST, MID, LAST, AFTER):
        for channel in ("sms", "telegram"):
            session.add(InboxMessage(channel=channel, provider_id=f"{channel}{moment}",
                                     address="tel:+447700900001", received_at=moment))
        session.add(OutboxMessage(address="tel:+447700900001", channel="sms", text="Hi",
                                  status=OutboxStatus.SENT, created_at=moment, sent_at=moment))
    session.add(OutboxMessage(address="tel:+447700900001", channel="sms", text="Hi",
                              status=OutboxStatus.FAILED, created_at=MID))

    surveys = {}
    for key, opened, closed in [
        ("spans the start", FIRST - timedelta(days=10), FIRST + timedelta(days=10)),
        ("still open", MID, None),
        ("closed before", FIRST - timedelta(days=10), BEFORE),
        ("opened after", AFTER, None),
        ("never opened", None, None),
    ]:
        survey_id = save_survey(session=session, survey=SURVEY, now=now)
        row = session.get_one(Survey, survey_id)
        row.opened_at, row.closed_at = opened, closed
        session.add(row)
        surveys[key] = survey_id
    food = load_survey(session=session, survey_id=surveys["spans the start"])
    assert food is not None
    for person_id, progress in ((ann.id, ParticipantStatus.FINISHED),
                                (mp.id, ParticipantStatus.INVITED)):
        session.add(SurveyParticipant(survey_id=surveys["spans the start"], person_id=person_id,
                                      invited_at=MID, status=progress))
    question = food.questions[0].id
    assert question is not None
    session.add(SurveyAnswer(survey_id=surveys["spans the start"], question_id=question,
                             person_id=ann.id, option_number=1, value="yes"))

    elections = {}
    for key, counted, announced in [("counted", MID, None), ("announced", BEFORE, LAST),
                                    ("counted after", AFTER, None)]:
        election = Election(title=f"Poll {key}", kind="poll", counted_at=counted,
                            announced_at=announced, status="counted")
        session.add(election)
        session.flush()
        assert election.id is not None
        elections[key] = election.id
        names = ("Sunflower House", "Rainbow Lodge")
        standing = [Candidate(election_id=election.id, name=name, number=n,
                              status=CandidateStatus.APPROVED)
                    for n, name in enumerate(names, start=1)]
        session.add_all(standing)
        session.flush()
        for place, (candidate, votes) in enumerate(zip(standing, (7, 3), strict=True), start=1):
            assert candidate.id is not None
            session.add(ElectionResult(election_id=election.id, candidate_id=candidate.id,
                                       votes=votes, place=place, elected=place == 1))

    actions = {}
    for key, due, state, done_at in [
        ("done in March", date(2026, 3, 20), ActionStatus.DONE, MID),
        ("done on the last evening", date(2026, 4, 20), ActionStatus.DONE, LAST),
        ("done in February", date(2026, 2, 20), ActionStatus.DONE, BEFORE),
        ("done late in April", date(2026, 3, 20), ActionStatus.DONE, AFTER),
        ("open and late", date(2026, 3, 30), ActionStatus.OPEN, None),
        ("due on the last day", date(2026, 3, 31), ActionStatus.OPEN, None),
        ("due in April", date(2026, 4, 10), ActionStatus.OPEN, None),
    ]:
        action = Action(what=key, owner_id=staff.id, due_on=due, status=state,
                        done_at=done_at, done_by=staff.id if done_at else None, standard="1.1")
        session.add(action)
        session.flush()
        assert action.id is not None
        actions[key] = action.id
    session.flush()
    return Seeded(ann=ann.id, surveys=surveys, elections=elections, actions=actions,
                  surgeries=surgeries)


def test_the_board_report_counts_only_the_period(database: Engine, clock: ManualClock) -> None:
    with transaction(database) as session:
        seeded = seed(session, clock.now())
    with Session(database) as session:
        report = board_report(session=session, start=START, end=END, zone=LONDON,
                              now=clock.now())

    ideas = report.ideas
    assert (ideas.total, ideas.concerns) == (6, 1)
    assert dict(ideas.by_source) == {"idea": 4, "surgery": 2}
    topics = {t.topic: t.count for t in ideas.by_topic}
    assert topics == {"home": 2, "food": 1, "activities": 0, "staff": 1, "travel": 1,
                      "other": 0, "": 1}
    assert [t.topic for t in ideas.by_topic][-1] == ""
    listed = {idea.text: idea for idea in ideas.ideas}
    assert set(listed) == {"More trips to the sea", "<script>alert(1)</script>", "Kept quiet",
                           "A garden", "A pond"}
    assert CONCERN_WORDS not in repr(report)
    assert listed["More trips to the sea"].person == "Ann"
    assert listed["More trips to the sea"].service == "Oak Lodge"
    assert listed["Kept quiet"].person is None  # anonymous, though a person was kept
    assert listed["<script>alert(1)</script>"].person is None
    assert listed["A garden"].surgery_id == seeded.surgeries["held"]

    assert [(c.channel, c.received, c.sent, c.failed) for c in report.messages.by_channel] == [
        ("sms", 3, 3, 1), ("telegram", 3, 0, 0)]

    assert [s.survey_id for s in report.surveys] == [
        seeded.surveys["spans the start"], seeded.surveys["still open"]]
    food = report.surveys[0].results
    assert (food.audience, food.finished, food.response_rate) == (2, 1, 0.5)
    assert [o.count for o in food.questions[0].options] == [1, 0]

    assert [e.election_id for e in report.elections] == [
        seeded.elections["counted"], seeded.elections["announced"]]
    assert report.elections[0].winners == ("Sunflower House",)
    assert [t.votes for t in report.elections[0].tallies] == [7, 3]

    assert [a.what for a in report.actions_done] == ["done in March", "done on the last evening"]
    assert report.actions_done[1].done_on == END
    assert report.actions_done[0].done_by == "Sam"
    assert [a.what for a in report.actions_overdue] == ["done late in April", "open and late"]
    assert all(a.owner == "Sam" for a in report.actions_overdue)

    assert [(s.id, s.mp, s.service, s.ideas) for s in report.surgeries] == [
        (seeded.surgeries["logged"], "Mo", "Oak Lodge", 0),
        (seeded.surgeries["held"], "Mo", "Oak Lodge", 2)]


def test_an_empty_period(database: Engine, clock: ManualClock) -> None:
    with transaction(database) as session:
        seed(session, clock.now())
    with Session(database) as session:
        report = board_report(session=session, start=date(2025, 1, 1), end=date(2025, 1, 31),
                              zone=LONDON, now=clock.now())
    assert report.ideas.total == 0
    assert report.ideas.ideas == ()
    assert all(t.count == 0 for t in report.ideas.by_topic)
    assert report.messages.by_channel == ()
    assert (report.surveys, report.elections, report.actions_done, report.surgeries) == (
        (), (), (), ())
    assert report.actions_overdue == ()


def test_day_bounds_follow_the_clock_change() -> None:
    assert day_bounds(START, END, LONDON) == (FIRST, LAST + timedelta(seconds=1))
    assert day_bounds(date(2026, 10, 25), date(2026, 10, 25), LONDON) == (
        datetime(2026, 10, 24, 23, tzinfo=UTC), datetime(2026, 10, 26, tzinfo=UTC))
    with pytest.raises(ValueError, match="before it starts"):
        day_bounds(END, START, LONDON)


def test_summarise_ideas_counts_concerns_but_never_lists_them() -> None:
    def idea(n: int, topic: str, *, concern: bool = False, source: str = "idea") -> IdeaLine:
        return IdeaLine(id=n, created_at=MID + timedelta(minutes=-n), topic=topic,
                        source=source, service=None, person=None, text=f"text {n}",
                        concern=concern)

    summary = summarise_ideas([idea(1, "food"), idea(2, "pets"), idea(3, "food", concern=True),
                               idea(4, "home", source="surgery"), idea(5, "")])
    assert (summary.total, summary.concerns) == (5, 1)
    assert [i.id for i in summary.ideas] == [5, 4, 2, 1]  # oldest first, concern left out
    assert [(t.topic, t.count) for t in summary.by_topic] == [
        ("home", 1), ("food", 2), ("activities", 0), ("staff", 0), ("travel", 0), ("other", 0),
        ("pets", 1), ("", 1)]
    assert summary.by_source == (("idea", 4), ("surgery", 1))
    assert (topic_label("home"), topic_label("pets"), topic_label("")) == (
        "Where I live", "Pets", NO_TOPIC)

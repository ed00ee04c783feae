"""A survey through the engine and a real database: invited, answered, reminded, closed."""

from __future__ import annotations

import re
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import ManualClock
from bot.conversation import Kind
from bot.engine import ConversationEngine
from bot.messages import Inbound
from bot.surveys.definition import Audience, AudienceKind, OptionDef, QuestionDef, SurveyDef
from bot.surveys.invitations import close_survey, open_survey, survey_tick
from bot.surveys.store import save_survey
from storage import people
from storage.database import create_database_engine, transaction
from storage.tables import (
    Conversation,
    OutboxMessage,
    ParticipantStatus,
    Priority,
    SurveyAnswer,
    SurveyParticipant,
)

LONDON = ZoneInfo("Europe/London")
SMILEY = (
    OptionDef(number=1, label="Good", value="good", emoji="😀"),
    OptionDef(number=2, label="OK", value="ok", emoji="😐"),
    OptionDef(number=3, label="Not good", value="not_good", emoji="🙁"),
)


def how_are_things(**changes: object) -> SurveyDef:
    fields: dict[str, object] = {
        "title": "How are things?",
        "intro": "Three quick questions.",
        "audience": Audience(kind=AudienceKind.CONSTITUENCY, value="Riverside"),
        "questions": (
            QuestionDef(position=1, kind=Kind.SCALE, text="How is your home?", options=SMILEY,
                        simpler="Do you like your home?"),
            QuestionDef(position=2, kind=Kind.YES_NO, text="Do you feel safe?", options=(
                OptionDef(number=1, label="Yes", value="yes", emoji="👍"),
                OptionDef(number=2, label="No", value="no", emoji="👎"),
            )),
            QuestionDef(position=3, kind=Kind.TEXT, text="What would make it better?"),
        ),
    }
    fields.update(changes)
    return SurveyDef(**fields)  # type: ignore[arg-type]


class Person:
    def __init__(self, engine: ConversationEngine, address: str) -> None:
        self.engine = engine
        self.address = address

    def says(self, text: str) -> list[str]:
        """Send ``text``; the texts of every message queued to this address since."""
        database = self.engine.database
        with Session(database) as session:
            before = session.exec(select(OutboxMessage.id).order_by(
                col(OutboxMessage.id).desc())).first() or 0
        self.engine.receive(Inbound(address=self.address, text=text, channel="sms",
                                    provider_id=uuid.uuid4().hex,
                                    received_at=self.engine.clock.now()))
        self.engine.handle_waiting(self.address)
        return self.queued_since(before)

    def queued_since(self, after_id: int) -> list[str]:
        with Session(self.engine.database) as session:
            rows = session.exec(select(OutboxMessage).where(
                OutboxMessage.address == self.address, col(OutboxMessage.id) > after_id,
            ).order_by(col(OutboxMessage.id)))
            return [_full(row) for row in rows]

    def inbox(self) -> list[str]:
        return self.queued_since(0)


def _full(row: OutboxMessage) -> str:
    options = "\n".join(f"{o['number']} {o['emoji']} {o['label']}".replace("  ", " ")
                        for o in row.options)
    return "\n".join(part for part in (row.text, options, row.footer) if part)


@pytest.fixture
def org(database: Engine, clock: ManualClock) -> dict[str, int]:
    with transaction(database) as session:
        riverside = people.add_constituency(session=session, name="Riverside")
        hillview = people.add_constituency(session=session, name="Hillview")
        willow = people.add_service(session=session, name="Willow House",
                                    constituency_id=riverside.id or 0, join_code="WILLOW1")
        hill = people.add_service(session=session, name="Hill House",
                                  constituency_id=hillview.id or 0, join_code="HILL4")
        ids = {}
        for n, service in enumerate([willow, willow, willow, hill]):
            person = people.add_person(session=session, urns=[f"tel:+44770090010{n}"],
                                       now=clock.now(), service_id=service.id)
            ids[f"p{n}"] = person.id or 0
        return ids


def _save(database: Engine, clock: ManualClock, survey: SurveyDef) -> int:
    with transaction(database) as session:
        return save_survey(session=session, survey=survey, now=clock.now())


def _open(database: Engine, clock: ManualClock, survey_id: int) -> int:
    with transaction(database) as session:
        return open_survey(session=session, survey_id=survey_id, now=clock.now())


def _answers(database: Engine) -> list[SurveyAnswer]:
    with Session(database) as session:
        return list(session.exec(select(SurveyAnswer).order_by(col(SurveyAnswer.id))))


def _progress(database: Engine, survey_id: int, person_id: int) -> SurveyParticipant:
    with Session(database) as session:
        found = session.get(SurveyParticipant, (survey_id, person_id))
        assert found is not None
        return found


ANN = "tel:+447700900100"


def test_a_whole_survey_one_question_at_a_time(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    survey_id = _save(database, clock, how_are_things())

    invited = _open(database, clock, survey_id)

    assert invited == 3, "the three people in Riverside, not the one in Hillview"
    ann = Person(engine, ANN)
    [invitation, first] = ann.inbox()
    assert "We have a survey for you: How are things?" in invitation
    assert "Three quick questions." in invitation
    assert "Send SKIP" in invitation
    assert first.startswith("Question 1 of 3\nHow is your home?")
    assert "1 😀 Good" in first
    assert "4 🤷 I don't know" in first

    second = ann.says("good")
    assert second == [
        "Question 2 of 3\nDo you feel safe?\n1 👍 Yes\n2 👎 No\nSend the number. 🔢"
    ]
    assert "Question 3 of 3" in ann.says("yeah")[0]
    assert ann.says("A bigger garden") == ["Thank you! 🎉 You finished the survey."]

    answers = _answers(database)
    assert [(a.value, a.option_number, a.text) for a in answers] == [
        ("good", 1, None), ("yes", 1, None), ("", None, "A bigger garden"),
    ]
    assert all(a.person_id == org["p0"] and a.answered_at == clock.now() for a in answers)
    progress = _progress(database, survey_id, org["p0"])
    assert (progress.status, progress.finished_at) == (ParticipantStatus.FINISHED, clock.now())


def test_skip_dont_know_and_a_simpler_wording(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    survey_id = _save(database, clock, how_are_things())
    _open(database, clock, survey_id)
    ann = Person(engine, ANN)

    simpler = ann.says("?")
    assert simpler[0].startswith("Question 1 of 3\nDo you like your home?")
    assert "Question 2 of 3" in ann.says("not sure")[0]
    assert "Question 3 of 3" in ann.says("skip")[0]
    ann.says("nothing")

    assert [(a.value, a.option_number) for a in _answers(database)] == [
        ("dont_know", 4), ("skip", None), ("", None),
    ]


def test_a_reply_that_makes_no_sense_is_asked_again_kindly(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    survey_id = _save(database, clock, how_are_things())
    _open(database, clock, survey_id)
    ann = Person(engine, ANN)

    again = ann.says("purple")

    assert again[0].startswith("Sorry. I did not understand. 🙂\nQuestion 1 of 3")
    assert "invalid" not in again[0].lower()
    assert _answers(database) == []


def test_stop_survey_leaves_the_survey_but_not_voicebank(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    survey_id = _save(database, clock, how_are_things(
        reminders=(timedelta(hours=2),), closes_at=clock.now() + timedelta(days=1)))
    _open(database, clock, survey_id)
    ann = Person(engine, ANN)

    reply = ann.says("stop survey")

    assert reply[0].startswith("OK. We stopped the survey.")
    assert _progress(database, survey_id, org["p0"]).status == ParticipantStatus.STOPPED
    with Session(database) as session:
        assert session.get(Conversation, org["p0"]) is None
        person = session.get_one(people.Person, org["p0"])
        assert person.opted_out_at is None
    clock.advance(timedelta(hours=23))
    survey_tick(database=database, now=clock.now(), zone=LONDON)
    assert not any("Please answer our survey" in text for text in ann.inbox())


def test_an_idea_in_the_middle_then_the_survey_carries_on(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    survey_id = _save(database, clock, how_are_things())
    _open(database, clock, survey_id)
    ann = Person(engine, ANN)
    ann.says("1")

    ann.says("IDEA")
    ann.says("A trip to the zoo")
    ann.says("3")
    ann.says("yes")
    after_idea = ann.says("skip")

    assert "Your idea number is" in after_idea[0]
    assert after_idea[1] == "Let us carry on with the survey. 📝"
    assert after_idea[2].startswith("Question 2 of 3")
    assert "Question 3 of 3" in ann.says("yes")[0]


def test_two_open_surveys_come_one_after_the_other(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    first = _save(database, clock, how_are_things())
    second = _save(database, clock, how_are_things(
        title="Food", questions=(QuestionDef(position=1, kind=Kind.SCALE,
                                             text="How is the food?", options=SMILEY),)))
    _open(database, clock, first)
    clock.advance(timedelta(minutes=1))
    _open(database, clock, second)
    ann = Person(engine, ANN)
    second_invitation = ann.inbox()[-2:]
    assert "We have a survey for you: Food" in second_invitation[0]
    assert second_invitation[1] == "Send SURVEY when you are ready to start. 📝"

    ann.says("1")
    ann.says("1")
    finished_first = ann.says("Nothing")

    assert finished_first[0] == "Thank you! 🎉 You finished the survey."
    assert finished_first[1] == "There is another survey for you. 📝"
    assert finished_first[2].startswith("Question 1 of 1\nHow is the food?")
    assert ann.says("2") == ["Thank you! 🎉 You finished the survey."]
    assert ann.says("SURVEY") == ["There is no survey for you right now. 🙂"]


def test_survey_keyword_picks_up_where_the_person_left_off(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    survey_id = _save(database, clock, how_are_things())
    _open(database, clock, survey_id)
    ann = Person(engine, ANN)
    ann.says("1")
    ann.says("MENU")

    assert ann.says("survey")[0].startswith("Question 2 of 3")


def test_an_answer_after_the_survey_closed_is_not_stored(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    survey_id = _save(database, clock, how_are_things())
    _open(database, clock, survey_id)
    with transaction(database) as session:
        close_survey(session=session, survey_id=survey_id, now=clock.now())
    ann = Person(engine, ANN)

    reply = ann.says("1")

    assert reply[0] == "Sorry. This survey has closed. 🔒\nThank you for your time."
    assert _answers(database) == []


def test_a_repeated_answer_is_stored_once(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    survey_id = _save(database, clock, how_are_things())
    _open(database, clock, survey_id)
    provider_id = uuid.uuid4().hex
    for _ in range(2):
        engine.receive(Inbound(address=ANN, text="1", channel="sms", provider_id=provider_id,
                               received_at=clock.now()))
        engine.handle_waiting(ANN)

    assert len(_answers(database)) == 1


def test_anonymous_answers_hold_no_person_and_no_time(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    survey_id = _save(database, clock, how_are_things(anonymous=True))
    _open(database, clock, survey_id)
    ann = Person(engine, ANN)
    for reply in ("1", "2", "Nothing"):
        ann.says(reply)

    answers = _answers(database)
    assert len(answers) == 3
    assert all(a.person_id is None and a.answered_at is None for a in answers)
    assert {a.service_id for a in answers} == {1}
    columns = {c["name"] for c in inspect(database).get_columns("survey_answer")}
    assert columns.isdisjoint({"address", "urn", "inbox_id", "created_at"})
    progress = _progress(database, survey_id, org["p0"])
    assert progress.status == ParticipantStatus.FINISHED


def test_someone_busy_with_an_idea_is_invited_without_being_interrupted(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    ann = Person(engine, ANN)
    ann.says("IDEA")
    survey_id = _save(database, clock, how_are_things())

    _open(database, clock, survey_id)

    assert ann.inbox()[-1] == "Send SURVEY when you are ready to start. 📝"
    assert "What is your idea about?" in ann.says("More music")[0]


def _local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON).astimezone(UTC)


def test_invitations_and_reminders_follow_the_clock_across_the_october_change(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    # Opens on Saturday 24 October 2026, 10:00 BST; closes Monday 26 October 17:00 GMT.
    # The clocks go back at 02:00 BST on Sunday 25 October.
    opens, closes = _local(2026, 10, 24, 10, 0), _local(2026, 10, 26, 17, 0)
    survey_id = _save(database, clock, how_are_things(
        opens_at=opens, closes_at=closes, reminders=(timedelta(days=2), timedelta(hours=2)),
    ))
    clock.set(opens - timedelta(minutes=1))
    assert survey_tick(database=database, now=clock.now(), zone=LONDON).opened == ()
    ann, bob = Person(engine, ANN), Person(engine, "tel:+447700900101")

    clock.set(opens)
    report = survey_tick(database=database, now=clock.now(), zone=LONDON)
    assert report.opened == (survey_id,)
    assert len(ann.inbox()) == 2
    for reply in ("1", "1", "All good"):
        bob.says(reply)

    two_days_before = closes - timedelta(days=2)
    assert two_days_before == _local(2026, 10, 24, 18, 0), "48 hours: 18:00 BST, not 17:00"
    clock.set(two_days_before - timedelta(seconds=1))
    assert survey_tick(database=database, now=clock.now(), zone=LONDON).reminded == 0
    clock.set(two_days_before)
    assert survey_tick(database=database, now=clock.now(), zone=LONDON).reminded == 2
    clock.advance(timedelta(minutes=1))
    assert survey_tick(database=database, now=clock.now(), zone=LONDON).reminded == 0

    clock.set(closes - timedelta(hours=2))
    assert survey_tick(database=database, now=clock.now(), zone=LONDON).reminded == 2
    reminder = ann.inbox()[-1]
    assert reminder == ("Please answer our survey: How are things? 📝\n"
                        "It closes on Monday 26 October at 17:00.\nSend SURVEY to carry on.")
    assert not any("Please answer" in text for text in bob.inbox()), "Bob finished"

    clock.set(closes)
    report = survey_tick(database=database, now=clock.now(), zone=LONDON)
    assert report.closed == (survey_id,)
    clock.advance(timedelta(hours=1))
    assert survey_tick(database=database, now=clock.now(), zone=LONDON).reminded == 0
    with Session(database) as session:
        invitations = session.exec(select(OutboxMessage).where(
            col(OutboxMessage.dedupe_key).like("survey:%"))).all()
        assert {row.priority for row in invitations} == {Priority.BULK}


def test_the_tick_twice_invites_and_reminds_once(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    survey_id = _save(database, clock, how_are_things(
        opens_at=clock.now(), closes_at=clock.now() + timedelta(hours=1),
        reminders=(timedelta(hours=1),)))

    survey_tick(database=database, now=clock.now(), zone=LONDON)
    survey_tick(database=database, now=clock.now(), zone=LONDON)

    with Session(database) as session:
        rows = session.exec(select(OutboxMessage).where(
            OutboxMessage.address == ANN)).all()
    invitations = [r for r in rows if "We have a survey" in r.text]
    reminders = [r for r in rows if "Please answer our survey" in r.text]
    assert (len(invitations), len(reminders)) == (1, 1)
    assert survey_id


def test_people_are_asked_in_their_own_language_where_the_survey_has_it(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    with transaction(database) as session:
        person = session.get_one(people.Person, org["p1"])
        person.language = "cy"
        session.add(person)
    welsh = how_are_things(
        translations={"cy": {"title": "Sut mae pethau?"}},
        questions=(QuestionDef(
            position=1, kind=Kind.SCALE, text="How is your home?",
            translations={"cy": {"text": "Sut mae eich cartref?"}},
            options=(OptionDef(number=1, label="Good", value="good", emoji="😀",
                               labels={"cy": "Da"}),
                     OptionDef(number=2, label="Not good", value="bad", emoji="🙁")),
        ),),
    )
    _open(database, clock, _save(database, clock, welsh))

    in_welsh = Person(engine, "tel:+447700900101").inbox()
    in_english = Person(engine, ANN).inbox()

    assert "Sut mae pethau?" in in_welsh[0]
    assert "Sut mae eich cartref?" in in_welsh[1]
    assert "1 😀 Da" in in_welsh[1]
    assert "2 🙁 Not good" in in_welsh[1], "no translation: the original label"
    assert "How are things?" in in_english[0]
    assert "1 😀 Good" in in_english[1]


class TablesRead:
    """The tables each SELECT the engine sends reads from, while counting."""

    def __init__(self, database: Engine) -> None:
        self.database = database
        self.reads: list[set[str]] = []
        event.listen(database, "before_cursor_execute", self._seen)

    def _seen(self, _connection: object, _cursor: object, statement: str, *_rest: object
              ) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.reads.append(set(re.findall(r"\b(?:FROM|JOIN) (\w+)", statement)))

    def close(self) -> None:
        event.remove(self.database, "before_cursor_execute", self._seen)

    def reading(self, table: str) -> int:
        return sum(table in tables for tables in self.reads)


def test_answers_to_an_open_survey_are_taken_without_reading_its_questions_again(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    _open(database, clock, _save(database, clock, how_are_things()))
    ann, bob = Person(engine, ANN), Person(engine, "tel:+447700900101")
    assert "Question 2 of 3" in ann.says("good")[0]  # the first answer reads the questions
    tables = TablesRead(database)
    try:
        assert "Question 3 of 3" in ann.says("yes")[0]
        assert "Question 2 of 3" in bob.says("ok")[0]
    finally:
        tables.close()

    assert [a.value for a in _answers(database)] == ["good", "yes", "ok"]
    assert tables.reading("survey_question") == 0, "kept in memory once the survey opened"
    assert tables.reading("survey_option") == 0
    assert tables.reading("surgery") == 0, "only an MP's SURGERY turn looks for a surgery"
    assert tables.reading("person") == 4, "per answer: the sender locked, then what is theirs"


def test_a_survey_saved_anew_under_an_id_seen_before_is_asked_with_its_own_questions(
    sqlite_template: Path, tmp_path: Path, clock: ManualClock
) -> None:
    """Two databases (or one emptied and filled again) can hold a survey 1 saved and opened
    at the same moment; the questions kept in memory for one are never asked in the other."""
    asked = []
    for name, question in (("first", "How is your home?"), ("second", "How is your day?")):
        path = tmp_path / f"{name}.db"
        shutil.copy(sqlite_template, path)
        database = create_database_engine(f"sqlite:///{path}")
        try:
            with transaction(database) as session:
                riverside = people.add_constituency(session=session, name="Riverside")
                willow = people.add_service(session=session, name="Willow House",
                                            constituency_id=riverside.id or 0,
                                            join_code="WILLOW1")
                people.add_person(session=session, urns=[ANN], now=clock.now(),
                                  service_id=willow.id)
            survey = how_are_things(questions=(
                QuestionDef(position=1, kind=Kind.SCALE, text="Are you well?", options=SMILEY),
                QuestionDef(position=2, kind=Kind.TEXT, text=question),
            ))
            survey_id = _save(database, clock, survey)
            _open(database, clock, survey_id)
            asked.append((survey_id, Person(ConversationEngine(database=database, clock=clock),
                                            ANN).says("good")))
        finally:
            database.dispose()

    assert asked == [
        (1, ["Question 2 of 2\nHow is your home?"]),
        (1, ["Question 2 of 2\nHow is your day?"]),
    ]

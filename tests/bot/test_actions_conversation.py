"""From ideas to actions through the engine and a real database: ideas sent by text, an
action made from them, DONE from its owner and "You said, we did" back to the people who
asked; and an MP writing up their surgery with SURGERY.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.actions.service import create_action
from bot.actions.surgeries import schedule_surgery
from bot.clock import ManualClock
from bot.conversation import Kind
from bot.engine import ConversationEngine
from bot.messages import Inbound
from bot.surveys.definition import Audience, AudienceKind, OptionDef, QuestionDef, SurveyDef
from bot.surveys.invitations import open_survey
from bot.surveys.store import save_survey
from storage import people
from storage.database import transaction
from storage.tables import (
    Action,
    ActionStatus,
    Conversation,
    OutboxMessage,
    Role,
    Suggestion,
    Surgery,
    SurgeryStatus,
    SurveyAnswer,
)

ANN = "tel:+447700900101"
BOB = "tel:+447700900102"
CAT = "tel:+447700900103"
SAM = "tel:+447700900201"
OLU = "tel:+447700900202"
MAYA = "tel:+447700900301"
PHOTO_URL = "https://media.example.org/photos/garden.jpg"

THANKS = ("Thank you! 🙏 Your idea number is {}.\n"
          "Staff will read it. We will tell you what happens.")


class Phone:
    """One person's phone: send a message through the engine, read what came back."""

    def __init__(self, engine: ConversationEngine, address: str) -> None:
        self.engine = engine
        self.address = address

    def says(self, text: str, media: Sequence[str] = ()) -> list[str]:
        """Send ``text`` (with ``media``); the texts queued to this address since."""
        before = _last_outbox_id(self.engine.database)
        self.engine.receive(Inbound(address=self.address, text=text, channel="sms",
                                    provider_id=uuid.uuid4().hex,
                                    received_at=self.engine.clock.now(), media=tuple(media)))
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


def _last_outbox_id(database: Engine) -> int:
    with Session(database) as session:
        return session.exec(select(OutboxMessage.id).order_by(
            col(OutboxMessage.id).desc())).first() or 0


def _full(row: OutboxMessage) -> str:
    options = "\n".join(f"{o['number']} {o['emoji']} {o['label']}" for o in row.options)
    return "\n".join(part for part in (row.text, options, row.footer) if part)


@pytest.fixture
def org(database: Engine, clock: ManualClock) -> dict[str, int]:
    """Willow House: Ann, Bob and Cat who live there, Sam and Olu who work there, and an MP."""
    with transaction(database) as session:
        riverside = people.add_constituency(session=session, name="Riverside")
        willow = people.add_service(session=session, name="Willow House",
                                    constituency_id=riverside.id or 0, join_code="WILLOW1")
        ids: dict[str, int] = {"willow": willow.id or 0}
        for key, urn, name, roles in [
            ("ann", ANN, "Ann", (Role.SERVICE_USER,)),
            ("bob", BOB, "Bob", (Role.SERVICE_USER,)),
            ("cat", CAT, "Cat", (Role.SERVICE_USER,)),
            ("sam", SAM, "Sam", (Role.STAFF,)),
            ("olu", OLU, "Olu", (Role.STAFF,)),
            ("maya", MAYA, "Maya Patel", (Role.MP,)),
        ]:
            person = people.add_person(session=session, urns=[urn], now=clock.now(), name=name,
                                       roles=roles, service_id=willow.id)
            ids[key] = person.id or 0
    return ids


def _suggestions(database: Engine) -> list[Suggestion]:
    with Session(database) as session:
        return list(session.exec(select(Suggestion).order_by(col(Suggestion.id))))


def _action(database: Engine, action_id: int) -> Action:
    with Session(database) as session:
        found = session.get(Action, action_id)
        assert found is not None
        return found


def _send_idea(phone: Phone, text: str, *, topic: str, named: str, photo: str,
               media: Sequence[str] = ()) -> list[str]:
    assert phone.says("IDEA")[0].startswith("What is your idea? 💡")
    assert phone.says(text)[0].startswith("Thank you! What is your idea about?")
    assert phone.says(topic)[0].startswith("Can we tell staff this idea is from you?")
    assert phone.says(named)[0].startswith("Do you have a photo for your idea? 📷")
    return phone.says(photo, media=media)


def _make_action(database: Engine, clock: ManualClock, owner_id: int, ideas: Sequence[int],
                 what: str = "We planted a new garden") -> int:
    with transaction(database) as session:
        action = create_action(session=session, what=what, owner_id=owner_id,
                               due_on=date(2026, 3, 16), now=clock.now(), actor="staff:test",
                               suggestion_ids=ideas)
        return action.id or 0


def test_an_idea_with_a_name_and_a_photo(
    database: Engine, engine: ConversationEngine, org: dict[str, int]
) -> None:
    ann = Phone(engine, ANN)

    thanks = _send_idea(ann, "A bigger garden with flowers", topic="1", named="yes",
                        photo="", media=[PHOTO_URL])

    assert thanks == [THANKS.format(1)]
    [idea] = _suggestions(database)
    assert (idea.text, idea.topic, idea.person_id, idea.service_id) == (
        "A bigger garden with flowers", "home", org["ann"], org["willow"])
    assert idea.anonymous is False
    assert idea.picture == PHOTO_URL
    assert idea.concern is False
    assert idea.source == "idea"
    with Session(database) as session:
        assert session.get(Conversation, org["ann"]) is None, "nothing more is asked"


def test_an_idea_with_the_name_kept_out_and_no_photo(
    database: Engine, engine: ConversationEngine, org: dict[str, int]
) -> None:
    bob = Phone(engine, BOB)

    thanks = _send_idea(bob, "More trips to the seaside", topic="Getting out",
                        named="keep my name out", photo="SKIP")

    assert thanks == [THANKS.format(1)]
    [idea] = _suggestions(database)
    assert (idea.text, idea.topic, idea.service_id) == (
        "More trips to the seaside", "travel", org["willow"])
    assert idea.anonymous is True
    assert idea.person_id is None, "nothing ties an anonymous idea to Bob"
    assert idea.picture is None


def test_skip_or_words_without_a_photo_store_no_picture(
    database: Engine, engine: ConversationEngine, org: dict[str, int]
) -> None:
    ann = Phone(engine, ANN)
    _send_idea(ann, "Pizza night", topic="2", named="2", photo="skip")
    _send_idea(ann, "A cinema trip", topic="3", named="no", photo="no photo sorry")

    first, second = _suggestions(database)
    assert (first.picture, first.anonymous, first.person_id) == (None, True, None)
    assert (second.picture, second.topic) == (None, "activities")


def test_the_owner_is_told_of_a_new_action(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    _send_idea(Phone(engine, ANN), "A bigger garden", topic="1", named="yes", photo="skip")

    action_id = _make_action(database, clock, org["sam"], [1])

    assert action_id == 1
    assert Phone(engine, SAM).inbox() == [
        "New action 1 for you. 📌\nWe planted a new garden\nPlease do it by Monday 16 March.\n"
        "Send DONE 1 when it is done."
    ]
    assert Phone(engine, OLU).inbox() == []


WE_DID_ANN = ('You said: "A bigger garden" 💬\nWe did: We planted a new garden ✅\n'
              "Thank you for telling us.")


def test_done_by_the_owner_signs_it_off_and_tells_the_people_who_asked(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    ann, bob, cat = Phone(engine, ANN), Phone(engine, BOB), Phone(engine, CAT)
    _send_idea(ann, "A bigger garden", topic="1", named="yes", photo="skip")
    _send_idea(ann, "Somewhere to sit outside", topic="1", named="yes", photo="skip")
    _send_idea(bob, "Grow vegetables", topic="1", named="no", photo="skip")
    _send_idea(cat, "Flowers please", topic="1", named="yes", photo="skip")
    cat.says("STOP")
    _make_action(database, clock, org["sam"], [1, 2, 3, 4])
    clock.advance(timedelta(days=3))
    before = _last_outbox_id(database)

    reply = Phone(engine, SAM).says("DONE 1 the garden is planted")

    assert reply == [
        "Thank you! ✅ Action 1 is done.",
        "People we told what changed: 1. 💬",
    ]
    action = _action(database, 1)
    assert action.status == ActionStatus.DONE
    assert (action.done_by, action.done_at, action.done_note) == (
        org["sam"], clock.now(), "the garden is planted")
    assert ann.queued_since(before) == [WE_DID_ANN], "once, for the first of her two ideas"
    assert bob.queued_since(before) == [], "Bob's idea was anonymous"
    assert cat.queued_since(before) == [], "Cat opted out"


def test_done_from_someone_else_is_refused_kindly(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    ann = Phone(engine, ANN)
    _send_idea(ann, "A bigger garden", topic="1", named="yes", photo="skip")
    _make_action(database, clock, org["sam"], [1])
    before = _last_outbox_id(database)

    from_olu = Phone(engine, OLU).says("DONE 1 I did it")
    from_ann = ann.says("done 1")

    refused = "Sorry. Action 1 is not yours to sign off. 🙂\nOnly its owner can send DONE 1."
    assert from_olu == [refused]
    assert from_ann == [refused]
    action = _action(database, 1)
    assert (action.status, action.done_by, action.done_at, action.done_note) == (
        ActionStatus.OPEN, None, None, None)
    assert ann.queued_since(before) == [refused], "no 'We did' for Ann"


def test_done_for_a_number_that_is_no_action(
    database: Engine, engine: ConversationEngine, org: dict[str, int]
) -> None:
    assert Phone(engine, SAM).says("DONE 99") == ["Sorry. I cannot find action 99. 🤔"]
    assert Phone(engine, SAM).says("Done #42 all sorted") == [
        "Sorry. I cannot find action 42. 🤔"]


def test_done_twice_says_it_was_already_done(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    ann = Phone(engine, ANN)
    _send_idea(ann, "A bigger garden", topic="1", named="yes", photo="skip")
    _make_action(database, clock, org["sam"], [1])
    sam = Phone(engine, SAM)
    sam.says("DONE 1 the garden is planted")
    done_at = clock.now()
    clock.advance(timedelta(hours=1))

    assert sam.says("DONE 1 again") == ["Action 1 was already done. ✅"]

    action = _action(database, 1)
    assert (action.done_at, action.done_note) == (done_at, "the garden is planted")
    assert [text for text in ann.inbox() if text.startswith("You said")] == [WE_DID_ANN]


def test_done_while_an_idea_question_is_pending_leaves_it_pending(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    _send_idea(Phone(engine, ANN), "A bigger garden", topic="1", named="yes", photo="skip")
    _make_action(database, clock, org["sam"], [1])
    sam = Phone(engine, SAM)
    sam.says("IDEA")
    sam.says("A shed for the tools")

    reply = sam.says("DONE 1 planted")

    assert reply[0] == "Thank you! ✅ Action 1 is done."
    assert not any("What is your idea about?" in text for text in reply)
    with Session(database) as session:
        pending = session.get(Conversation, org["sam"])
        assert pending is not None
        assert (pending.flow, pending.step) == ("idea", "topic")
    assert sam.says("1")[0].startswith("Can we tell staff this idea is from you?")
    assert _suggestions(database)[-1].topic == "home"


def test_done_while_a_survey_question_is_pending_leaves_it_pending(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    _send_idea(Phone(engine, ANN), "A bigger garden", topic="1", named="yes", photo="skip")
    _make_action(database, clock, org["sam"], [1])
    smiley = (OptionDef(number=1, label="Good", value="good", emoji="😀"),
              OptionDef(number=2, label="Not good", value="not_good", emoji="🙁"))
    survey = SurveyDef(
        title="Staff check-in", intro="Two questions.",
        audience=Audience(kind=AudienceKind.ROLE, value=Role.STAFF),
        questions=(QuestionDef(position=1, kind=Kind.SCALE, text="How is your week?",
                               options=smiley),
                   QuestionDef(position=2, kind=Kind.SCALE, text="How is the team?",
                               options=smiley)),
    )
    with transaction(database) as session:
        survey_id = save_survey(session=session, survey=survey, now=clock.now())
    with transaction(database) as session:
        open_survey(session=session, survey_id=survey_id, now=clock.now())
    sam = Phone(engine, SAM)

    reply = sam.says("DONE 1 planted")

    assert reply[0] == "Thank you! ✅ Action 1 is done."
    assert not any("Question" in text for text in reply)
    assert _action(database, 1).status == ActionStatus.DONE
    assert sam.says("2")[0].startswith("Question 2 of 2\nHow is the team?")
    with Session(database) as session:
        answers = session.exec(select(SurveyAnswer)).all()
        assert [(a.person_id, a.value) for a in answers] == [(org["sam"], "not_good")]


def _surgery(database: Engine, clock: ManualClock, org: dict[str, int]) -> int:
    with transaction(database) as session:
        surgery = schedule_surgery(
            session=session, mp_id=org["maya"], service_code="WILLOW1",
            starts_at=clock.now() + timedelta(days=1), ends_at=clock.now() + timedelta(days=1,
                                                                                        hours=2),
            now=clock.now(), actor="staff:test")
        return surgery.id or 0


def test_an_mp_writes_up_what_people_said_at_the_surgery(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    surgery_id = _surgery(database, clock, org)
    clock.advance(timedelta(days=1, hours=1))
    maya = Phone(engine, MAYA)

    assert maya.says("SURGERY") == [
        "Tell us what people said at Willow House. 👂\nSend one thing a message."]
    more = "Thank you. Anything else?\nSend it now. Or send FINISHED."
    assert maya.says("People want a bus pass") == [more]
    assert maya.says("The lift is often broken") == [more]
    clock.advance(timedelta(minutes=5))
    assert maya.says("FINISHED") == [
        "Thank you! 🙏 Staff will read what people said.\nIt will go to the Board."]

    heard = _suggestions(database)
    assert [(s.text, s.source, s.service_id, s.surgery_id, s.person_id) for s in heard] == [
        ("People want a bus pass", "surgery", org["willow"], surgery_id, None),
        ("The lift is often broken", "surgery", org["willow"], surgery_id, None),
    ]
    with Session(database) as session:
        surgery = session.get_one(Surgery, surgery_id)
        assert (surgery.status, surgery.logged_at) == (SurgeryStatus.HELD, clock.now())
        assert session.get(Conversation, org["maya"]) is None
    assert maya.says("SURGERY") == ["There is no surgery to tell us about right now. 🙂"]
    assert len(_suggestions(database)) == 2


def test_surgery_with_nothing_to_write_up(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    none = ["There is no surgery to tell us about right now. 🙂"]
    maya = Phone(engine, MAYA)
    assert maya.says("SURGERY") == none, "no surgery at all"

    _surgery(database, clock, org)
    assert maya.says("surgery") == none, "it has not started yet"
    clock.advance(timedelta(days=1, hours=1))
    assert Phone(engine, SAM).says("SURGERY") == none, "Sam is not the MP"
    assert _suggestions(database) == []
    with Session(database) as session:
        assert session.get(Conversation, org["maya"]) is None

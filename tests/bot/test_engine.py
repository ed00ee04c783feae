"""The engine through a real database: inbox in, one transaction, outbox out."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.catalogue import Catalogue
from bot.clock import ManualClock
from bot.conversation import Answer, Flow, Kind, Pending, PlainFlow, Question, Turn
from bot.engine import ConversationEngine
from bot.flows import standard_flows
from bot.messages import Inbound
from storage import outbox, people
from storage.database import transaction
from storage.tables import (
    Address,
    AuditEntry,
    CommunicationProfile,
    Conversation,
    InboxMessage,
    OutboxMessage,
    Person,
    Priority,
    Suggestion,
)

SMS = "tel:+447700900123"
TELEGRAM = "telegram:5550123"


def organisation(database: Engine, clock: ManualClock) -> dict[str, int]:
    with transaction(database) as session:
        riverside = people.add_constituency(session=session, name="Riverside")
        willow = people.add_service(session=session, name="Willow House",
                                    constituency_id=riverside.id or 0, join_code="WILLOW1")
        oak = people.add_service(session=session, name="Oak Lodge",
                                 constituency_id=riverside.id or 0, join_code="OAK3")
        return {"willow": willow.id or 0, "oak": oak.id or 0}


class Phone:
    """Sends messages to the engine as one address, like a channel would."""

    def __init__(self, engine: ConversationEngine, address: str, channel: str = "sms") -> None:
        self.engine = engine
        self.address = address
        self.channel = channel
        self.sent = 0

    def store(self, text: str, provider_id: str | None = None) -> int | None:
        self.sent += 1
        return self.engine.receive(Inbound(
            address=self.address, text=text, channel=self.channel,
            provider_id=provider_id or uuid.uuid4().hex,
            received_at=self.engine.clock.now(),
        ))

    def send(self, text: str, provider_id: str | None = None) -> list[str]:
        """Send ``text`` and return the texts of the replies it led to."""
        inbox_id = self.store(text, provider_id)
        self.engine.handle_waiting(self.address)
        with Session(self.engine.database) as session:
            rows = session.exec(select(OutboxMessage).where(OutboxMessage.in_reply_to == inbox_id)
                                .order_by(col(OutboxMessage.id)))
            return [row.text for row in rows]


def joined(database: Engine, engine: ConversationEngine, clock: ManualClock) -> Phone:
    """A phone whose owner has joined Willow House."""
    organisation(database, clock)
    phone = Phone(engine, SMS)
    phone.send("JOIN WILLOW1")
    return phone


def rows(database: Engine, table: type[Any]) -> list[Any]:
    with Session(database) as session:
        return list(session.exec(select(table).order_by(col(table.id) if hasattr(table, "id")
                                                        else col(table.person_id))))


def test_a_stranger_is_told_how_to_join_and_nothing_is_created(database, engine, clock):
    organisation(database, clock)
    phone = Phone(engine, SMS)
    assert phone.send("hello")[0].startswith("Hello! 👋 This is Voicebank.")
    assert "do not know the code NOPE1" in phone.send("JOIN nope1")[0]
    assert rows(database, Person) == []
    assert [m.status for m in rows(database, InboxMessage)] == ["handled", "handled"]


def test_joining_with_a_code_creates_the_person_at_that_service(database, engine, clock):
    ids = organisation(database, clock)
    replies = Phone(engine, SMS).send("join willow1")
    assert replies[0] == "Welcome to Voicebank! 👋\nYou are with Willow House."
    assert replies[1] == "What would you like to do?"
    [person] = rows(database, Person)
    assert person.service_id == ids["willow"]
    assert [a.urn for a in rows(database, Address)] == [SMS]
    assert [e.action for e in rows(database, AuditEntry)] == ["person.joined"]
    [conversation] = rows(database, Conversation)
    assert (conversation.flow, conversation.step) == ("menu", "choose")


def test_an_idea_is_stored_with_the_service_and_the_reference_number_given(
    database, engine, clock
):
    ids = organisation(database, clock)
    phone = Phone(engine, SMS)
    phone.send("JOIN WILLOW1")
    assert phone.send("1")[0].startswith("What is your idea?")
    assert phone.send("A garden with flowers, please")[0].startswith("Thank you! What is your idea")
    assert phone.send("🍎")[0].startswith("Can we tell staff this idea is from you?")
    assert phone.send("yes")[0].startswith("Do you have a photo for your idea?")
    [thanks] = phone.send("skip")
    [suggestion] = rows(database, Suggestion)
    assert thanks.startswith(f"Thank you! 🙏 Your idea number is {suggestion.id}.")
    assert (suggestion.text, suggestion.topic) == ("A garden with flowers, please", "food")
    assert suggestion.service_id == ids["willow"]
    assert rows(database, Conversation) == []


def test_a_repeated_delivery_is_handled_once(database, engine, clock):
    organisation(database, clock)
    phone = Phone(engine, SMS)
    assert phone.store("JOIN WILLOW1", provider_id="SM1") is not None
    assert phone.store("JOIN WILLOW1", provider_id="SM1") is None
    engine.handle_waiting(SMS)
    assert len(rows(database, InboxMessage)) == 1
    assert len(rows(database, Person)) == 1
    assert len(rows(database, OutboxMessage)) == 2


def test_messages_stored_before_a_crash_are_handled_in_order_after_restart(
    database, engine, clock
):
    organisation(database, clock)
    phone = Phone(engine, SMS)
    for text in ["JOIN WILLOW1", "idea", "More days out", "5"]:
        phone.store(text)
    restarted = ConversationEngine(database=database, clock=clock)
    assert restarted.handle_all_waiting() == 4
    [suggestion] = rows(database, Suggestion)
    assert (suggestion.text, suggestion.topic) == ("More days out", "travel")


def test_two_workers_on_one_persons_messages_keep_them_in_order(database, engine, clock):
    phone = joined(database, engine, clock)
    for round_number in range(3):
        for text in ["idea", f"Idea number {round_number}", "3"]:
            phone.store(text)
        workers = [threading.Thread(target=engine.handle_waiting, args=(SMS,)) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    suggestions = rows(database, Suggestion)
    assert [(s.text, s.topic) for s in suggestions] == [
        (f"Idea number {n}", "activities") for n in range(3)
    ]
    assert all(m.status == "handled" for m in rows(database, InboxMessage))


def test_one_person_is_one_conversation_across_sms_and_telegram(database, engine, clock):
    organisation(database, clock)
    Phone(engine, SMS).send("JOIN WILLOW1")
    with transaction(database) as session:
        person = people.find_by_address(session=session, urn=SMS)
        assert person is not None
        session.add(Address(urn=TELEGRAM, person_id=person[0].id or 0))
    Phone(engine, SMS).send("idea")
    Phone(engine, SMS, "sms").send("Bigger bedrooms")
    replies = Phone(engine, TELEGRAM, "telegram").send("1")
    assert "Can we tell staff this idea is from you?" in replies[0]
    [suggestion] = rows(database, Suggestion)
    assert suggestion.topic == "home"
    [reply] = [m for m in rows(database, OutboxMessage) if m.address == TELEGRAM]
    assert reply.channel == "telegram"


def test_stop_cancels_queued_bulk_messages_but_the_confirmation_is_sent(database, engine, clock):
    phone = joined(database, engine, clock)
    [person] = rows(database, Person)
    with transaction(database) as session:
        outbox.queue_message(session=session, address=SMS, channel="sms", text="A reminder",
                             now=clock.now(), person_id=person.id, priority=Priority.BULK)
    [confirmation] = phone.send("STOP")
    assert confirmation.startswith("OK. You will not get any more messages.")
    statuses = {m.text: m.status for m in rows(database, OutboxMessage)}
    assert statuses["A reminder"] == "cancelled"
    assert statuses[confirmation] == "queued"
    assert rows(database, Person)[0].opted_out_at == clock.now()
    assert phone.send("hello") == []
    assert phone.send("1") == []
    assert phone.send("START")[0].startswith("Welcome back!")
    assert rows(database, Person)[0].opted_out_at is None
    assert [e.action for e in rows(database, AuditEntry)][-2:] == [
        "person.opted_out", "person.opted_in",
    ]


def test_a_known_person_can_move_service_with_a_join_code(database, engine, clock):
    ids = organisation(database, clock)
    phone = Phone(engine, SMS)
    phone.send("JOIN WILLOW1")
    assert phone.send("JOIN OAK3") == ["Thank you. You are now with Oak Lodge. 👍"]
    assert phone.send("join oak3") == ["You are already with Oak Lodge. 👍"]
    assert rows(database, Person)[0].service_id == ids["oak"]


def test_odd_and_huge_messages_are_kept_whole_and_answered_kindly(database, engine, clock):
    phone = joined(database, engine, clock)
    phone.send("IDEA")
    huge = "Please can we have a cinema night every Friday. " * 215
    assert len(huge.strip()) > 10_000
    assert phone.send(huge)[0].startswith("Thank you! What is your idea about?")
    phone.send("6")
    odd = "Caf\u0065\u0301 \x00trips 🚌\u200d\ud800 and \u202emore"
    phone.send("idea")
    assert phone.send(odd)[0].startswith("Thank you!")
    assert phone.send("🤷")[0].startswith("Sorry. I did not understand.")
    phone.send("6")
    texts = [s.text for s in rows(database, Suggestion)]
    assert texts[0] == huge.strip()
    assert texts[1] == "Café trips 🚌\u200d\ufffd and \u202emore"
    [stored] = [m for m in rows(database, InboxMessage) if m.text.startswith("Caf")]
    assert stored.text == "Caf\u0065\u0301 trips 🚌\u200d\ufffd and \u202emore"
    assert all(m.status == "handled" for m in rows(database, InboxMessage))


def test_the_communication_profile_shapes_every_reply(database, engine, clock):
    phone = joined(database, engine, clock)
    [person] = rows(database, Person)
    with transaction(database) as session:
        profile = session.get_one(CommunicationProfile, person.id)
        profile.pictures = False
        profile.audio = True
        profile.supporter_name = "Mike"
        session.add(profile)
    [help_text, menu] = phone.send("help")
    assert "You can ask Mike to help you." in help_text
    assert "🤝" not in help_text
    last = rows(database, OutboxMessage)[-1]
    assert last.text == menu
    assert [o["emoji"] for o in last.options] == ["", "", "", ""]
    assert last.audio is True


class BrokenFlow(PlainFlow):
    """An idea flow whose answers fail, standing in for a bug in some future flow."""

    name = "idea"
    keyword: str | None = "idea"
    first_step = "ask"

    def question(self, step: str, context: Mapping[str, Any], texts: Catalogue) -> Question:
        return Question(kind=Kind.TEXT, prompt="Say anything")

    def answer(self, pending: Pending, answer: Answer, texts: Catalogue, *, easy: bool) -> Turn:
        raise RuntimeError("this flow is broken")


def test_a_message_that_cannot_be_handled_is_kept_and_the_person_told(database, clock, caplog):
    flows: dict[str, Flow] = {**standard_flows(), "idea": BrokenFlow()}
    engine = ConversationEngine(database=database, clock=clock, flows=flows)
    phone = joined(database, engine, clock)
    assert phone.send("idea") == ["Say anything"]
    clock.advance(timedelta(seconds=5))
    assert phone.send("this will fail") == [
        "Sorry. Something went wrong. 😕\nWe kept your message. Staff will look at it."
    ]
    failed = rows(database, InboxMessage)[-1]
    assert (failed.status, failed.text) == ("failed", "this will fail")
    assert failed.error == "RuntimeError: this flow is broken"
    assert any(f"inbox message {failed.id}" in r.message for r in caplog.records)
    assert phone.send("menu")[0] == "What would you like to do?"


def test_before_each_is_called_before_each_waiting_message_is_handled(database, engine, clock):
    phone = joined(database, engine, clock)
    for text in ("hello", "1", "MENU"):
        phone.store(text)
    handled_when_called: list[int] = []

    def count_handled() -> None:
        handled_when_called.append(sum(message.status == "handled"
                                       for message in rows(database, InboxMessage)))

    assert engine.handle_waiting(SMS, before_each=count_handled) == 3
    # The join was handled before; then one call before each of the three, in turn.
    assert handled_when_called == [1, 2, 3]

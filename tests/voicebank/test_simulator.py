"""The web phone simulator, through the whole app: the same inbox, engine and outbox."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.elections import service as elections
from storage import outbox
from storage.database import transaction
from storage.tables import (
    Address,
    Ballot,
    Conversation,
    InboxMessage,
    OutboxMessage,
    OutboxStatus,
    Person,
    StaffRole,
)
from tests.voicebank.app_harness import add_person, add_service
from tests.voicebank.dashboard_harness import Dashboard

NEW_NUMBER = "tel:+447700900123"
ANN = "tel:+447700900456"


class Phone(Dashboard):
    """The dashboard's simulator, used as a person's phone."""

    def send(self, address: str, text: str, **extra: Any) -> Any:
        return self.post("/simulator/send", {"as": address, "text": text, **extra})

    def chat(self, address: str) -> str:
        response = self.client.get(f"/simulator/chat?as={quote(address)}")
        assert response.status_code == 200
        return html.unescape(response.text)


@pytest.fixture
def phone(database: Engine, clock: ManualClock, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Phone]:
    with Phone.opened(database, clock, monkeypatch, tmp_path) as phone:
        yield phone


def buttons(page: str) -> dict[str, str]:
    """The option buttons on a chat page: label to the number each sends."""
    return {label.strip(): value for value, label in
            re.findall(r'<button type="submit" name="text" value="(\d+)">([^<]*)</button>', page)}


def test_someone_not_signed_in_is_sent_to_sign_in(phone: Phone) -> None:
    for path in ("/simulator", f"/simulator/chat?as={quote(NEW_NUMBER)}",
                 f"/simulator/messages?as={quote(NEW_NUMBER)}"):
        response = phone.client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/sign-in?next=/simulator")
    sent = phone.client.post("/simulator/send", data={"as": NEW_NUMBER, "text": "hi"})
    assert sent.status_code == 303
    assert phone.rows(InboxMessage) == []


def test_an_mp_account_cannot_use_the_simulator(phone: Phone) -> None:
    phone.sign_in_as(StaffRole.MP)

    assert phone.client.get("/simulator").status_code == 403
    assert phone.client.get(f"/simulator/chat?as={quote(NEW_NUMBER)}").status_code == 403
    assert phone.send(NEW_NUMBER, "JOIN WILLOW1").status_code == 403
    assert phone.rows(InboxMessage) == []


def test_a_new_number_joins_and_is_shown_the_menu(phone: Phone) -> None:
    add_service(phone.database)
    user_id = phone.sign_in_as(StaffRole.STAFF)

    typed = phone.client.get("/simulator/chat?number=07700+900123")
    sent = phone.send(NEW_NUMBER, "JOIN WILLOW1")
    page = phone.chat(NEW_NUMBER)

    assert typed.status_code == 303
    assert typed.headers["location"] == "/simulator/chat?as=tel%3A%2B447700900123"
    assert sent.status_code == 303
    assert sent.headers["location"] == "/simulator/chat?as=tel%3A%2B447700900123#latest"
    assert "Welcome to Voicebank!" in page
    assert "You are with Willow House." in page
    assert "What would you like to do?" in page
    assert buttons(page)["1 💡 Tell us an idea"] == "1"
    assert "4 ❓ Get help" in buttons(page)
    assert "(sent)" not in page  # delivered messages carry no label; failed ones would
    [person_address] = phone.rows(Address)
    assert person_address.urn == NEW_NUMBER
    replies = phone.rows(OutboxMessage)
    assert len(replies) == 2
    for reply in replies:
        assert reply.channel == "simulator"
        assert reply.address == NEW_NUMBER
        assert reply.status == OutboxStatus.SENT
        assert reply.provider_id == f"simulator-{reply.id}"
        assert reply.sent_at == phone.clock.now()
    [note] = phone.audit("simulator.message")
    assert note.actor == f"staff_user:{user_id}"
    assert note.subject == NEW_NUMBER


def test_pressing_a_button_moves_the_conversation_on(phone: Phone) -> None:
    add_service(phone.database)
    phone.sign_in_as(StaffRole.STAFF)
    phone.send(NEW_NUMBER, "JOIN WILLOW1")
    number = buttons(phone.chat(NEW_NUMBER))["1 💡 Tell us an idea"]

    response = phone.send(NEW_NUMBER, number)
    page = phone.chat(NEW_NUMBER)

    assert response.status_code == 303
    assert "What is your idea?" in page
    assert page.index("What would you like to do?") < page.index("What is your idea?")
    assert buttons(page) == {}  # an idea is written, not picked
    [conversation] = phone.rows(Conversation)
    assert conversation.flow == "idea"


def test_a_person_chats_as_their_own_address_and_the_bot_knows_them(phone: Phone) -> None:
    service_id = add_service(phone.database)
    ann = add_person(phone.database, phone.clock, ANN, service_id=service_id)
    with transaction(phone.database) as session:
        waiting_id = outbox.queue_message(session=session, address=ANN, channel="sms",
                                          text="A reminder by text", now=phone.clock.now())
    phone.sign_in_as(StaffRole.ADMIN)

    picker = html.unescape(phone.client.get("/simulator").text)
    before = phone.chat(ANN)
    phone.send(ANN, "MENU")
    page = phone.chat(ANN)

    assert f'<option value="{ANN}">Ann ({ANN})</option>' in picker
    assert "Ann, whom Voicebank knows" in before
    assert "What would you like to do?" in page
    assert "To join, send JOIN" not in page
    assert len(phone.rows(Person)) == 1
    replies = [m for m in phone.rows(OutboxMessage) if m.channel == "simulator"]
    assert replies
    assert {m.person_id for m in replies} == {ann}
    text_message = next(m for m in phone.rows(OutboxMessage) if m.id == waiting_id)
    assert text_message.status == OutboxStatus.QUEUED  # the simulator sends only its own


@pytest.mark.parametrize("typed", ["hello", "12", "0770090012345678"])
def test_a_number_that_is_not_a_phone_number_is_refused_kindly(phone: Phone, typed: str) -> None:
    phone.sign_in_as(StaffRole.STAFF)

    page = phone.client.get(f"/simulator/chat?number={quote(typed)}")

    assert page.status_code == 400
    assert f"Sorry, “{typed}” does not look like a phone number." in html.unescape(page.text)
    assert 'id="number"' in page.text  # the form is there to try again


def test_an_address_that_cannot_be_chatted_as_is_refused(phone: Phone) -> None:
    phone.sign_in_as(StaffRole.STAFF)

    page = phone.send("tel:not-a-number", "hello")
    empty = phone.send(NEW_NUMBER, "   ")

    assert page.status_code == 400
    assert "is not an address Voicebank can chat as" in html.unescape(page.text)
    assert empty.status_code == 400
    assert "Type a message first" in empty.text
    assert phone.rows(InboxMessage) == []


def test_a_very_long_message_is_taken(phone: Phone) -> None:
    service_id = add_service(phone.database)
    add_person(phone.database, phone.clock, ANN, service_id=service_id)
    phone.sign_in_as(StaffRole.STAFF)
    phone.send(ANN, "IDEA")
    idea = "More trips to the seaside please. " * 300
    idea = idea[:10_000]

    response = phone.send(ANN, idea)
    page = phone.chat(ANN)

    assert response.status_code == 303
    long_one = [m for m in phone.rows(InboxMessage) if len(m.text) == 10_000]
    assert len(long_one) == 1
    assert long_one[0].text == idea
    answers = [m for m in phone.rows(OutboxMessage) if m.in_reply_to == long_one[0].id]
    assert answers
    assert all(m.status == OutboxStatus.SENT for m in answers)
    assert "What is your idea about?" in page


@pytest.mark.parametrize("token", ["", "not-the-token"])
def test_a_message_without_the_form_token_is_refused(phone: Phone, token: str) -> None:
    add_service(phone.database)
    phone.sign_in_as(StaffRole.STAFF)

    response = phone.send(NEW_NUMBER, "JOIN WILLOW1", csrf=token)

    assert response.status_code == 403
    assert phone.rows(InboxMessage) == []
    assert phone.rows(Person) == []


def test_the_conversation_alone_for_the_page_to_refresh(phone: Phone) -> None:
    add_service(phone.database)
    phone.sign_in_as(StaffRole.STAFF)
    phone.send(NEW_NUMBER, "JOIN WILLOW1")

    response = phone.client.get(f"/simulator/messages?as={quote(NEW_NUMBER)}")
    fragment = html.unescape(response.text)

    assert response.status_code == 200
    assert fragment.lstrip().startswith('<div id="conversation"')
    assert "<html" not in fragment
    assert "Welcome to Voicebank!" in fragment
    assert buttons(fragment)["1 💡 Tell us an idea"] == "1"
    inbox = phone.rows(InboxMessage)
    newest_out = max(m.id for m in phone.rows(OutboxMessage))
    assert f'data-latest="in{inbox[0].id}-out{newest_out}"' in fragment


def test_replies_come_after_the_message_they_answer(phone: Phone) -> None:
    add_service(phone.database)
    phone.sign_in_as(StaffRole.STAFF)
    for text in ("hello", "JOIN WILLOW1", "2"):
        phone.send(NEW_NUMBER, text)

    page = phone.chat(NEW_NUMBER)
    said = re.findall(r'<li class="(in|out)"', page)

    inbox = sorted(phone.rows(InboxMessage), key=lambda m: m.id)
    assert [m.text for m in inbox] == ["hello", "JOIN WILLOW1", "2"]
    assert said[0] == "in"
    assert said[1] == "out"  # hello, stranger
    assert said[2] == "in"
    assert said.count("in") == 3
    assert said[-1] == "out"
    with transaction(phone.database) as session:
        last = session.exec(select(InboxMessage).order_by(col(InboxMessage.id).desc())).first()
        assert last is not None
        assert last.channel == "simulator"


def test_a_ballot_shows_with_its_buttons_but_no_vote_is_cast_from_the_simulator(
    phone: Phone,
) -> None:
    service_id = add_service(phone.database)
    add_person(phone.database, phone.clock, ANN, service_id=service_id)
    with transaction(phone.database) as session:
        poll = elections.create_poll(
            session=session, title="Name the new service", question="Which name is best?",
            options=[elections.PollOption("Oak House", "🌳"),
                     elections.PollOption("River View", "🌊")],
            electorate_kind="everyone", electorate_value="", now=phone.clock.now())
        assert poll.id is not None
        elections.open_voting(session=session, election_id=poll.id, now=phone.clock.now(),
                              actor="test")
    phone.sign_in_as(StaffRole.STAFF)

    phone.send(ANN, "VOTE")
    ballot = phone.chat(ANN)
    phone.send(ANN, buttons(ballot)["2 🌊 River View"])
    phone.chat(ANN)
    phone.send(ANN, "yes")
    counted = phone.chat(ANN)
    later = phone.chat(ANN)

    assert "Which name is best?" in ballot
    assert "Votes sent from here are not counted." in counted
    assert "Your vote is counted" not in counted
    with transaction(phone.database) as session:
        assert session.exec(select(Ballot)).all() == []
    assert "Which name is best?" not in later
    assert "[a voting message, cleared once sent]" in later
    replies = [m for m in phone.rows(OutboxMessage) if m.channel == "simulator"]
    assert all(m.status == OutboxStatus.SENT for m in replies)
    assert not any("River View" in m.text for m in replies)
    assert not any("River View" in m.text for m in phone.rows(InboxMessage))

"""Safeguarding: words in an idea that suggest someone may be at risk.

First the matcher alone (whole words and phrases, whatever the case, punctuation and
apostrophes); then through the engine: the person is answered kindly, the idea flow stops,
and every safeguarding contact is told at once, with a record in the audit log.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.catalogue import load_catalogue
from bot.clock import ManualClock
from bot.engine import ConversationEngine
from bot.messages import Inbound
from bot.safeguarding import concerns
from storage import people
from storage.database import transaction
from storage.tables import AuditEntry, Conversation, OutboxMessage, Priority, Role, Suggestion

CATALOGUE_WORDS = tuple(sorted(load_catalogue("en").words("concern")))


@pytest.mark.parametrize(
    ("text", "phrases", "expected"),
    [
        pytest.param("He hit me", ("hit me",), ("hit me",), id="a phrase"),
        pytest.param("HE HIT ME", ("hit me",), ("hit me",), id="capitals"),
        pytest.param("he Hit Me.", ("HIT ME",), ("HIT ME",), id="the phrase in capitals"),
        pytest.param("Staff hurt me!!!", ("hurt me",), ("hurt me",), id="exclamation marks"),
        pytest.param("he hurt me, then left", ("hurt me",), ("hurt me",), id="a comma after"),
        pytest.param("why did he...hit me?", ("hit me",), ("hit me",), id="dots before"),
        pytest.param("he hit\nme", ("hit me",), ("hit me",), id="a line break between"),
        pytest.param("he  hit   me", ("hit me",), ("hit me",), id="extra spaces"),
        pytest.param("Abuse", ("abuse",), ("abuse",), id="one word alone"),
        pytest.param("(abuse)", ("abuse",), ("abuse",), id="in brackets"),
        pytest.param('he said "I will hit you" and hit me', ("hit me",), ("hit me",),
                     id="double quotes elsewhere"),
        pytest.param("\uff28\uff29\uff34 \uff2d\uff25", ("hit me",), ("hit me",),
                     id="full-width letters"),
        pytest.param("I feel unsafe 😢", ("unsafe",), ("unsafe",), id="an emoji after"),
        pytest.param("I\u2019m scared of him", ("scared of",), ("scared of",),
                     id="a curly apostrophe in the text"),
        pytest.param("I don\u2019t feel safe", ("don't feel safe",), ("don't feel safe",),
                     id="curly in the text, straight in the phrase"),
        pytest.param("I don't feel safe", ("don\u2019t feel safe",), ("don\u2019t feel safe",),
                     id="straight in the text, curly in the phrase"),
        pytest.param("I feel 'unsafe' here", ("unsafe",), ("unsafe",),
                     id="in single quotes"),
        pytest.param("He said he would \u2018hurt me\u2019 again", ("hurt me",), ("hurt me",),
                     id="in curly single quotes"),
        pytest.param("I am scared of him and he hit me", ("hit me", "scared of"),
                     ("hit me", "scared of"), id="two, in the order given"),
        pytest.param("I hurtle down the hill", ("hurt",), (), id="not inside hurtle"),
        pytest.param("We sing in harmony", ("harm",), (), id="not inside harmony"),
        pytest.param("I want to hitchhike", ("hit",), (), id="not inside hitchhike"),
        pytest.param("I came home unharmed", ("harm", "harmed"), (), id="not inside unharmed"),
        pytest.param("she hit meg with the ball", ("hit me",), (), id="not a longer word after"),
        pytest.param("the whit me wrote", ("hit me",), (), id="not a longer word before"),
        pytest.param("he hit my friend", ("hit me",), (), id="not another phrase"),
        pytest.param("anything at all", ("", "   ", "!!"), (), id="empty phrases match nothing"),
        pytest.param("", ("hit me",), (), id="no text"),
    ],
)
def test_concerns(text: str, phrases: Sequence[str], expected: tuple[str, ...]) -> None:
    assert concerns(text, phrases) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("My neighbour hit me", ("hit me",), id="hit me"),
        pytest.param("I am being bullied at the day centre", ("bullied",), id="bullied"),
        pytest.param("Someone took my money", ("took my money",), id="money"),
        pytest.param("I want to die", ("want to die",), id="want to die"),
        pytest.param("I am scared of the night staff. They shout.", ("scared of",),
                     id="scared of"),
        pytest.param("More harmony singing please", (), id="harmony"),
        pytest.param("Can we have a hitchhike game", (), id="hitchhike"),
        pytest.param("The bus hurtles past the home", (), id="hurtles"),
        pytest.param("I want a bigger garden", (), id="an ordinary idea"),
    ],
)
def test_the_catalogue_words(text: str, expected: tuple[str, ...]) -> None:
    assert concerns(text, CATALOGUE_WORDS) == expected


# Through the engine.

ANN = "tel:+447700900101"
SARA = "tel:+447700900401"
SID = "tel:+447700900402"
SUE = "tel:+447700900403"
SAM = "tel:+447700900201"
LEE = "tel:+447700900202"
NONAME = "tel:+447700900104"

KIND = ("Thank you for telling us. 💛\nSomeone will be in touch with you soon.\n"
        "If you are in danger now, call 999.")


def _alert(reference: int, name: str, text: str) -> str:
    return (f"Safeguarding: please act now. ⚠️\nIdea {reference} from {name} at Willow House "
            f"may mean someone is at risk.\nThey wrote: {text}")


@pytest.fixture
def org(database: Engine, clock: ManualClock) -> dict[str, int]:
    """Willow House: Ann, who lives there; two safeguarding contacts (and one who opted
    out); staff and a lead who are not safeguarding contacts."""
    with transaction(database) as session:
        riverside = people.add_constituency(session=session, name="Riverside")
        willow = people.add_service(session=session, name="Willow House",
                                    constituency_id=riverside.id or 0, join_code="WILLOW1")
        ids: dict[str, int] = {"willow": willow.id or 0}
        for key, urn, name, roles in [
            ("ann", ANN, "Ann", (Role.SERVICE_USER,)),
            ("noname", NONAME, "", (Role.SERVICE_USER,)),
            ("sara", SARA, "Sara", (Role.SAFEGUARDING,)),
            ("sid", SID, "Sid", (Role.SAFEGUARDING, Role.STAFF)),
            ("sue", SUE, "Sue", (Role.SAFEGUARDING,)),
            ("sam", SAM, "Sam", (Role.STAFF,)),
            ("lee", LEE, "Lee", (Role.ADMIN,)),
        ]:
            person = people.add_person(session=session, urns=[urn], now=clock.now(), name=name,
                                       roles=roles, service_id=willow.id)
            ids[key] = person.id or 0
        sue = session.get_one(people.Person, ids["sue"])
        sue.opted_out_at = clock.now()
        session.add(sue)
    return ids


def _says(engine: ConversationEngine, address: str, text: str) -> list[str]:
    """Send ``text`` from ``address``; the texts queued to that address since."""
    with Session(engine.database) as session:
        before = session.exec(select(OutboxMessage.id).order_by(
            col(OutboxMessage.id).desc())).first() or 0
    engine.receive(Inbound(address=address, text=text, channel="sms",
                           provider_id=uuid.uuid4().hex, received_at=engine.clock.now()))
    engine.handle_waiting(address)
    return [row.text for row in _outbox(engine.database, address) if (row.id or 0) > before]


def _outbox(database: Engine, address: str) -> list[OutboxMessage]:
    with Session(database) as session:
        return list(session.exec(select(OutboxMessage).where(
            OutboxMessage.address == address).order_by(col(OutboxMessage.id))))


def _suggestions(database: Engine) -> list[Suggestion]:
    with Session(database) as session:
        return list(session.exec(select(Suggestion).order_by(col(Suggestion.id))))


def _alerts_logged(database: Engine) -> list[AuditEntry]:
    with Session(database) as session:
        return list(session.exec(select(AuditEntry).where(
            AuditEntry.action == "safeguarding.alert").order_by(col(AuditEntry.id))))


def test_an_idea_that_suggests_a_risk_alerts_the_safeguarding_contacts(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    assert _says(engine, ANN, "IDEA")[0].startswith("What is your idea? 💡")

    reply = _says(engine, ANN, "My neighbour hit me")

    assert reply == [KIND], "no topic question: the idea flow stops"
    [idea] = _suggestions(database)
    assert (idea.text, idea.person_id, idea.service_id, idea.concern) == (
        "My neighbour hit me", org["ann"], org["willow"], True)
    alert = _alert(1, "Ann", "My neighbour hit me")
    for contact in (SARA, SID):
        rows = _outbox(database, contact)
        assert [row.text for row in rows] == [alert]
        assert rows[0].priority == Priority.REPLY
        assert rows[0].person_id in {org["sara"], org["sid"]}
    for not_told in (SUE, SAM, LEE):
        assert _outbox(database, not_told) == []
    [logged] = _alerts_logged(database)
    assert (logged.actor, logged.subject, logged.at) == (
        f"person:{org['ann']}", "suggestion:1", clock.now())
    assert logged.detail == {"words": ["hit me"], "contacts_told": 2}
    with Session(database) as session:
        assert session.get(Conversation, org["ann"]) is None

    _says(engine, ANN, "1")
    assert _suggestions(database)[0].topic == "", "a later '1' is not the idea's topic"


def test_someone_with_no_name_is_named_kindly_in_the_alert(
    database: Engine, engine: ConversationEngine, org: dict[str, int]
) -> None:
    _says(engine, NONAME, "IDEA")
    assert _says(engine, NONAME, "The driver SHOUTS AT ME every day") == [KIND]

    assert [row.text for row in _outbox(database, SARA)] == [
        _alert(1, "someone", "The driver SHOUTS AT ME every day")]


def test_a_concern_in_quotes_from_a_phone_with_smart_quotes_is_alerted(
    database: Engine, engine: ConversationEngine, org: dict[str, int]
) -> None:
    _says(engine, ANN, "IDEA")

    reply = _says(engine, ANN, "Night staff said I am \u2018not safe\u2019 here")

    assert reply == [KIND]
    assert [row.text for row in _outbox(database, SARA)] == [
        _alert(1, "Ann", "Night staff said I am \u2018not safe\u2019 here")]


def test_an_ordinary_idea_alerts_nobody(
    database: Engine, engine: ConversationEngine, org: dict[str, int]
) -> None:
    _says(engine, ANN, "IDEA")

    reply = _says(engine, ANN, "More harmony singing and a hitchhike film night")

    assert reply[0].startswith("Thank you! What is your idea about?")
    assert _suggestions(database)[0].concern is False
    assert _outbox(database, SARA) == []
    assert _outbox(database, SID) == []
    assert _alerts_logged(database) == []


def test_a_deployments_own_words_are_matched_too(
    database: Engine, engine: ConversationEngine, clock: ManualClock, org: dict[str, int]
) -> None:
    own = ConversationEngine(database=database, clock=clock,
                             concern_words=["pinched", "took my phone"])

    _says(own, ANN, "IDEA")
    assert _says(own, ANN, "Staff PINCHED my arm.") == [KIND]
    _says(own, ANN, "IDEA")
    assert _says(own, ANN, "Someone took my phone!") == [KIND]
    _says(own, ANN, "IDEA")
    assert _says(own, ANN, "He hit me") == [KIND], "the catalogue's words still count"

    assert [s.concern for s in _suggestions(database)] == [True, True, True]
    assert [row.text for row in _outbox(database, SARA)] == [
        _alert(1, "Ann", "Staff PINCHED my arm."),
        _alert(2, "Ann", "Someone took my phone!"),
        _alert(3, "Ann", "He hit me"),
    ]
    assert [entry.detail["words"] for entry in _alerts_logged(database)] == [
        ["pinched"], ["took my phone"], ["hit me"]]

    _says(engine, ANN, "IDEA")
    ordinary = _says(engine, ANN, "Staff pinched my arm")
    assert ordinary[0].startswith("Thank you! What is your idea about?"), (
        "without the deployment's words, 'pinched' is no concern")
    assert len(_outbox(database, SARA)) == 3

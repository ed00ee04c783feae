"""Messages the bot starts itself: one person at a time or many at once, the same rows."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import ManualClock
from bot.messages import Option, Outgoing
from bot.outreach import queue_for_people, queue_for_person
from storage import people
from storage.database import transaction
from storage.tables import CommunicationProfile, OutboxMessage, Person

REMINDER = Outgoing("The survey closes on Friday. 📝",
                    options=(Option(number=1, emoji="👍", label="Carry on", value="carry_on"),))


def _panel(database: Engine, clock: ManualClock) -> list[int]:
    """Ann by text; Bob by text and Telegram, preferring Telegram, no pictures; Cath opted
    out; Dan with no address at all."""
    with transaction(database) as session:
        ann = people.add_person(session=session, urns=["tel:+447700900001"], now=clock.now())
        bob = people.add_person(
            session=session, urns=["tel:+447700900002", "telegram:42"], now=clock.now(),
            profile=CommunicationProfile(person_id=0, pictures=False,
                                         preferred_channel="telegram"))
        cath = people.add_person(session=session, urns=["tel:+447700900003"], now=clock.now())
        cath.opted_out_at = clock.now()
        dan = people.add_person(session=session, urns=[], now=clock.now())
        return [p.id for p in (ann, bob, cath, dan) if p.id is not None]


def _queued(database: Engine) -> list[tuple[str, str, str | None]]:
    with Session(database) as session:
        return [(row.address, row.text, row.dedupe_key) for row in session.exec(
            select(OutboxMessage).order_by(col(OutboxMessage.address)))]


def test_many_at_once_queue_what_one_at_a_time_would(database: Engine,
                                                      clock: ManualClock) -> None:
    ids = _panel(database, clock)
    with transaction(database) as session:
        for person_id in ids:
            queue_for_person(session=session, person=session.get_one(Person, person_id),
                             messages=[REMINDER], now=clock.now(),
                             dedupe_key=f"one:{person_id}")
    one_at_a_time = [(address, text) for address, text, _ in _queued(database)]
    with transaction(database) as session:
        session.execute(delete(OutboxMessage))

    with transaction(database) as session:
        letters = [(session.get_one(Person, person_id), REMINDER, f"many:{person_id}")
                   for person_id in ids]
        queued = queue_for_people(session=session, letters=letters, now=clock.now())

    assert queued == 2
    many = _queued(database)
    assert [(address, text) for address, text, _ in many] == one_at_a_time
    assert [address for address, _, _ in many] == ["tel:+447700900001", "telegram:42"]
    # Bob asked for no pictures: the same shaping either way.
    assert "📝" in many[0][1]
    assert "📝" not in many[1][1]


def test_a_second_go_queues_nothing_more(database: Engine, clock: ManualClock) -> None:
    ids = _panel(database, clock)
    for _ in range(2):
        with transaction(database) as session:
            letters = [(session.get_one(Person, person_id), REMINDER, f"reminder:{person_id}")
                       for person_id in ids]
            queue_for_people(session=session, letters=letters, now=clock.now())

    keys = [key for _, _, key in _queued(database)]
    assert sorted(keys) == sorted(f"reminder:{person_id}" for person_id in ids[:2])

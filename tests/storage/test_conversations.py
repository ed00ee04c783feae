"""Conversation state: a person's pending question saved, replaced and cleared."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.clock import ManualClock
from storage import conversations, people
from storage.database import transaction
from storage.tables import Conversation


def _person(database: Engine, clock: ManualClock) -> int:
    with transaction(database) as session:
        person = people.add_person(session=session, urns=["tel:+447700900001"], now=clock.now())
        assert person.id is not None
        return person.id


def _save(database: Engine, clock: ManualClock, person_id: int, step: str, **context: object
          ) -> None:
    with transaction(database) as session:
        conversations.save_conversation(session=session, person_id=person_id, flow="idea",
                                        step=step, context=dict(context), misses=1,
                                        now=clock.now())


def _stored(database: Engine) -> list[tuple[str, str, dict[str, object], int]]:
    with transaction(database) as session:
        return [(row.flow, row.step, row.context, row.misses)
                for row in session.exec(select(Conversation))]


def test_a_pending_question_is_saved_then_replaced(database: Engine, clock: ManualClock) -> None:
    ann = _person(database, clock)
    _save(database, clock, ann, "what")
    assert _stored(database) == [("idea", "what", {}, 1)]

    clock.advance(timedelta(minutes=5))
    _save(database, clock, ann, "topic", suggestion_id=7)

    assert _stored(database) == [("idea", "topic", {"suggestion_id": 7}, 1)]
    with transaction(database) as session:
        assert session.get_one(Conversation, ann).updated_at == clock.now()


def test_a_cleared_question_is_gone(database: Engine, clock: ManualClock) -> None:
    ann = _person(database, clock)
    _save(database, clock, ann, "what")
    with transaction(database) as session:
        conversations.clear_conversation(session=session, person_id=ann)
        conversations.clear_conversation(session=session, person_id=ann)  # nothing left: fine

    assert _stored(database) == []


def test_a_copy_the_session_holds_is_read_again_after_a_save_or_a_clear(
    database: Engine, clock: ManualClock
) -> None:
    ann = _person(database, clock)
    _save(database, clock, ann, "what")
    with transaction(database) as session:
        held = conversations.load_conversation(session=session, person_id=ann)
        assert held is not None
        conversations.save_conversation(session=session, person_id=ann, flow="idea",
                                        step="topic", context={}, misses=0, now=clock.now())
        assert (held.step, held.misses) == ("topic", 0)
        again = conversations.load_conversation(session=session, person_id=ann)
        assert again is held

        conversations.clear_conversation(session=session, person_id=ann)
        assert conversations.load_conversation(session=session, person_id=ann) is None

    assert _stored(database) == []

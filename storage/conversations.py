"""Conversation state: the pending question each person has been asked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from storage.tables import Conversation


def load_conversation(*, session: Session, person_id: int) -> Conversation | None:
    return session.get(Conversation, person_id)


def save_conversation(
    *,
    session: Session,
    person_id: int,
    flow: str,
    step: str,
    context: dict[str, Any],
    misses: int,
    now: datetime,
) -> None:
    conversation = session.get(Conversation, person_id)
    if conversation is None:
        conversation = Conversation(person_id=person_id, flow=flow, step=step)
    conversation.flow = flow
    conversation.step = step
    conversation.context = dict(context)
    conversation.misses = misses
    conversation.updated_at = now
    session.add(conversation)


def clear_conversation(*, session: Session, person_id: int) -> None:
    conversation = session.get(Conversation, person_id)
    if conversation is not None:
        session.delete(conversation)

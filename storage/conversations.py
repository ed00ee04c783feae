"""Conversation state: the pending question each person has been asked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from storage.database import write_through
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
    conversation = session.get(Conversation, person_id) or Conversation(
        person_id=person_id, flow=flow, step=step)
    write_through(session, conversation, flow=flow, step=step, context=dict(context),
                  misses=misses, updated_at=now)


def clear_conversation(*, session: Session, person_id: int) -> None:
    conversation = session.get(Conversation, person_id)
    if conversation is not None:
        session.delete(conversation)

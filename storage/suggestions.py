"""Suggestions: ideas and feedback people send."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from storage.tables import Suggestion


def record_suggestion(
    *,
    session: Session,
    text: str,
    topic: str,
    now: datetime,
    person_id: int | None,
    service_id: int | None,
    inbox_id: int | None = None,
) -> Suggestion:
    """Store an idea; its id is the reference number the person is told."""
    suggestion = Suggestion(
        person_id=person_id,
        service_id=service_id,
        text=text,
        topic=topic,
        inbox_id=inbox_id,
        created_at=now,
    )
    session.add(suggestion)
    session.flush()
    return suggestion

"""The inbox: every inbound message stored once, before it is handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from storage.tables import InboxMessage, InboxStatus


def store_inbound(
    *,
    session: Session,
    channel: str,
    provider_id: str,
    address: str,
    text: str,
    received_at: datetime,
    media: list[str] | None = None,
) -> int | None:
    """Store a message and return its inbox id, or None if this delivery was seen before.

    The insert is ``ON CONFLICT DO NOTHING`` on (channel, provider id), so a provider's
    retry of the same message is acknowledged and dropped without an error.
    """
    values = {
        "channel": channel,
        "provider_id": provider_id,
        "address": address,
        "text": text,
        "media": media or [],
        "received_at": received_at,
        "status": InboxStatus.RECEIVED,
    }
    dialect = session.get_bind().dialect.name
    table = InboxMessage.__table__  # type: ignore[attr-defined]
    statement: sqlite.Insert | postgresql.Insert
    if dialect == "postgresql":
        statement = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:
        result = session.execute(insert(table).values(**values).returning(table.c.id))
        return result.scalar_one()
    result = session.execute(statement.returning(table.c.id))
    return result.scalar_one_or_none()


def next_unhandled(*, session: Session, address: str) -> InboxMessage | None:
    """The oldest message from ``address`` not yet handled: one person's messages go in order."""
    return session.exec(
        select(InboxMessage)
        .where(InboxMessage.address == address, InboxMessage.status == InboxStatus.RECEIVED)
        .order_by(col(InboxMessage.id))
        .limit(1)
    ).first()


def addresses_waiting(*, session: Session, limit: int = 100) -> list[str]:
    """Addresses with messages received but not yet handled, oldest first."""
    rows = session.exec(
        select(InboxMessage.address, col(InboxMessage.id))
        .where(InboxMessage.status == InboxStatus.RECEIVED)
        .order_by(col(InboxMessage.id))
        .limit(limit * 10)
    )
    seen: dict[str, None] = {}
    for address, _ in rows:
        seen.setdefault(address, None)
        if len(seen) >= limit:
            break
    return list(seen)


def mark_handled(
    *, session: Session, message: InboxMessage, person_id: int | None, now: datetime
) -> None:
    message.status = InboxStatus.HANDLED
    message.person_id = person_id
    message.handled_at = now
    session.add(message)


def mark_failed(*, session: Session, message_id: int, error: str, now: datetime) -> None:
    """Park a message that could not be handled, keeping it and the reason for staff."""
    message = session.get(InboxMessage, message_id)
    if message is None or message.status != InboxStatus.RECEIVED:
        return
    message.status = InboxStatus.FAILED
    message.error = error[:2000]
    message.handled_at = now
    session.add(message)

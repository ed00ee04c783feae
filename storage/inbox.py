"""The inbox: every inbound message stored once, before it is handled."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, func
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from storage.database import insert_ignoring_repeats, write_through
from storage.tables import InboxMessage, InboxStatus

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(text: str) -> str:
    """``text`` as received, less what no database will store.

    PostgreSQL refuses NUL in text, and no UTF-8 database takes a lone surrogate. A NUL
    is never something a person wrote, so it is dropped; a lone surrogate is a broken
    character, so it becomes U+FFFD. The message is stored rather than lost.
    """
    return _LONE_SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def store_inbound(*, session: Session, row: dict[str, Any]) -> int | None:
    """Store one message (a row from :func:`arriving`) in the session's transaction; its
    inbox id, or None if this delivery was seen before.

    The insert is ``ON CONFLICT DO NOTHING`` on (channel, provider id), so a provider's
    retry of the same message is acknowledged and dropped without an error.
    """
    return store_many(connection=session.connection(), rows=[row])[0]


def arriving(
    *,
    channel: str,
    provider_id: str,
    address: str,
    text: str,
    received_at: datetime,
    media: list[str] | None = None,
    provider_answered: bool = False,
) -> dict[str, Any]:
    """The inbox row for a message as it arrives, ready to insert."""
    return {
        "channel": channel,
        "provider_id": provider_id,
        "address": address,
        "text": storable_text(text),
        "media": media or [],
        "received_at": received_at,
        "provider_answered": provider_answered,
        "status": InboxStatus.RECEIVED,
    }


def store_many(*, connection: Connection, rows: Sequence[dict[str, Any]]) -> list[int | None]:
    """Store messages that arrived together (rows from :func:`arriving`): SQLAlchemy sends
    them as one multi-row insert, and the keys it returns say which rows were new. For each,
    its inbox id, or None if this delivery was seen before (also when the same delivery
    comes twice among ``rows``: the first is stored)."""
    if not rows:
        return []
    table = InboxMessage.__table__  # type: ignore[attr-defined]
    stored = {
        (channel, provider_id): inbox_id
        for inbox_id, channel, provider_id in connection.execute(
            insert_ignoring_repeats(connection.dialect.name, table, "id", "channel",
                                    "provider_id"),
            list(rows))
    }
    # The first of two rows for one delivery takes its id; the repeat gets None.
    return [stored.pop((row["channel"], row["provider_id"]), None) for row in rows]


_OLDEST_UNHANDLED = (
    select(InboxMessage)
    .where(InboxMessage.address == bindparam("address"),
           InboxMessage.status == InboxStatus.RECEIVED)
    .order_by(col(InboxMessage.id))
    .limit(bindparam("count", type_=Integer))
)
"""Built once: every message handled asks it, and building it costs more than running it."""


def oldest_unhandled(*, session: Session, address: str, count: int) -> list[InboxMessage]:
    """Up to ``count`` of the oldest messages from ``address`` not yet handled, oldest first:
    the engine asks for two, to handle one and know whether another is waiting."""
    return list(session.exec(_OLDEST_UNHANDLED, params={"address": address, "count": count}))


def addresses_waiting(*, session: Session, limit: int = 100) -> list[str]:
    """Addresses with messages received but not yet handled, oldest first."""
    oldest = func.min(InboxMessage.id)
    rows = session.exec(
        select(InboxMessage.address)
        .where(InboxMessage.status == InboxStatus.RECEIVED)
        .group_by(col(InboxMessage.address))
        .order_by(oldest)
        .limit(limit)
    )
    return list(rows)


def mark_handled(
    *, session: Session, message: InboxMessage, person_id: int | None, now: datetime
) -> None:
    write_through(session, message, status=InboxStatus.HANDLED, person_id=person_id,
                  handled_at=now)


def mark_failed(*, session: Session, message_id: int, error: str, now: datetime) -> None:
    """Park a message that could not be handled, keeping it and the reason for staff."""
    message = session.get(InboxMessage, message_id)
    if message is None or message.status != InboxStatus.RECEIVED:
        return
    message.status = InboxStatus.FAILED
    message.error = error[:2000]
    message.handled_at = now
    session.add(message)

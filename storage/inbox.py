"""The inbox: every inbound message stored once, before it is handled."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Integer, bindparam, func
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from storage.database import insert_ignoring_repeats
from storage.prepared import Prepared, updating
from storage.tables import InboxMessage, InboxStatus

_TABLE = InboxMessage.__table__  # type: ignore[attr-defined]
_ARRIVING = ("channel", "provider_id", "address", "text", "media", "received_at",
             "provider_answered", "status")

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
    """Store messages that arrived together (rows from :func:`arriving`) in one multi-row
    insert; the keys it returns say which rows were new. For each, its inbox id, or None if
    this delivery was seen before (also when the same delivery comes twice among ``rows``:
    the first is stored)."""
    if not rows:
        return []
    values = rows[0] if len(rows) == 1 else {
        f"{name}_{index}": row[name] for index, row in enumerate(rows) for name in _ARRIVING}
    stored = {
        (channel, provider_id): inbox_id
        for inbox_id, channel, provider_id in _storing(connection.dialect.name, len(rows))
        .rows(connection, values)
    }
    # The first of two rows for one delivery takes its id; the repeat gets None.
    return [stored.pop((row["channel"], row["provider_id"]), None) for row in rows]


@functools.lru_cache(maxsize=512)
def _storing(dialect: str, count: int) -> Prepared:
    """The insert of ``count`` arriving messages that ignores repeats, built once per size:
    one message's values go by the columns' names, each of many by ``<column>_<index>``."""
    statement = insert_ignoring_repeats(dialect, _TABLE, "id", "channel", "provider_id")
    if count == 1:
        return Prepared(statement, given=_ARRIVING)
    return Prepared(statement.values([
        {name: bindparam(f"{name}_{index}", type_=_TABLE.c[name].type) for name in _ARRIVING}
        for index in range(count)
    ]))


@dataclass(frozen=True)
class Arrived:
    """A message waiting in the inbox, with what handling it needs."""

    id: int
    channel: str
    address: str
    text: str
    media: tuple[str, ...]
    provider_answered: bool


_OLDEST_UNHANDLED = Prepared(
    sa.select(_TABLE.c.id, _TABLE.c.channel, _TABLE.c.address, _TABLE.c.text, _TABLE.c.media,
           _TABLE.c.provider_answered)
    .where(_TABLE.c.address == bindparam("address"), _TABLE.c.status == InboxStatus.RECEIVED)
    .order_by(_TABLE.c.id)
    .limit(bindparam("count", type_=Integer))
)


def oldest_unhandled(*, session: Session, address: str, count: int) -> list[Arrived]:
    """Up to ``count`` of the oldest messages from ``address`` not yet handled, oldest first:
    the engine asks for two, to handle one and know whether another is waiting."""
    return [Arrived(id=inbox_id, channel=channel, address=address, text=text,
                    media=tuple(media), provider_answered=provider_answered)
            for inbox_id, channel, address, text, media, provider_answered
            in _OLDEST_UNHANDLED.rows(session, {"address": address,
                                                             "count": count})]


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


_HANDLED = Prepared(updating(_TABLE, keys=["id"], columns=["person_id", "handled_at"],
                             status=InboxStatus.HANDLED))
_HANDLED_KEEPING = Prepared(updating(_TABLE, keys=["id"],
                                     columns=["person_id", "handled_at", "text"],
                                     status=InboxStatus.HANDLED))


def mark_handled(*, session: Session, message_id: int, person_id: int | None, now: datetime,
                 kept: str | None = None) -> None:
    """Record that a message was handled (from ``person_id``, None for a stranger);
    ``kept`` takes the place of its words when they are not to be kept (a ballot's)."""
    params = {"key_id": message_id, "new_person_id": person_id, "new_handled_at": now}
    if kept is None:
        _HANDLED.write(session, params)
    else:
        _HANDLED_KEEPING.write(session, {**params, "new_text": kept})


def mark_failed(*, session: Session, message_id: int, error: str, now: datetime) -> None:
    """Park a message that could not be handled, keeping it and the reason for staff."""
    message = session.get(InboxMessage, message_id)
    if message is None or message.status != InboxStatus.RECEIVED:
        return
    message.status = InboxStatus.FAILED
    message.error = error[:2000]
    message.handled_at = now
    session.add(message)

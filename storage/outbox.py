"""The outbox: every message the bot will send, and what became of it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Exists, String, cast, insert, literal, update
from sqlalchemy.orm import Mapped, aliased
from sqlmodel import Session, col, select

from storage import delivery
from storage.prepared import Prepared
from storage.tables import Address, OutboxMessage, OutboxStatus, Priority

CLAIM_LEASE = timedelta(minutes=5)
CLEARED = "[a voting message, cleared once sent]"


_TABLE = OutboxMessage.__table__  # type: ignore[attr-defined]
_QUEUED = ("person_id", "address", "channel", "text", "options", "footer", "picture", "audio",
           "priority", "in_reply_to", "dedupe_key", "sensitive", "created_at", "next_attempt_at")
_QUEUE = Prepared(insert(_TABLE).returning(_TABLE.c.id), given=_QUEUED)
"""A turn queues its replies with it, and a reminder run its thousands."""


def queue_message(
    *,
    session: Session,
    address: str,
    channel: str,
    text: str,
    now: datetime,
    person_id: int | None = None,
    options: list[dict[str, Any]] | None = None,
    footer: str = "",
    picture: str | None = None,
    audio: bool = False,
    priority: int = Priority.REPLY,
    in_reply_to: int | None = None,
    dedupe_key: str | None = None,
    sensitive: bool = False,
) -> int:
    """Queue a message in the caller's transaction, for the dispatcher to send after commit;
    its outbox id. It is inserted at once, with no object to keep in the session; the
    table's defaults make it queued, not yet tried."""
    return int(_QUEUE.rows(session, {
        "person_id": person_id,
        "address": address,
        "channel": channel,
        "text": text,
        "options": options or [],
        "footer": footer,
        "picture": picture,
        "audio": audio,
        "priority": priority,
        "in_reply_to": in_reply_to,
        "dedupe_key": dedupe_key,
        "sensitive": sensitive,
        "created_at": now,
        "next_attempt_at": now,
    })[0][0])


def claim_due(
    *,
    session: Session,
    now: datetime,
    channels: Collection[str],
    address: str | None = None,
    limit: int = 50,
    max_priority: int | None = None,
) -> list[OutboxMessage]:
    """Mark due messages as being sent and return them, replies first, oldest first.

    On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED`` so that several
    dispatchers never claim the same message; SQLite's write lock does the same there.
    A claim is a lease: a message still "sending" when :data:`CLAIM_LEASE` has passed
    (its dispatcher crashed or was killed) is claimed again, so it is never stranded.

    One person's messages keep their order: a message waits while an older one to the
    same address is waiting to be retried or is being sent by another dispatcher.
    ``max_priority`` leaves lower-priority (bulk) messages for later, as in quiet hours.
    Messages to an address marked inactive are not sent; they are cancelled here.
    """
    earlier = aliased(OutboxMessage)
    held_back = (
        select(earlier.id)
        .where(
            earlier.address == OutboxMessage.address,
            col(earlier.id) < OutboxMessage.id,
            col(earlier.status).in_([OutboxStatus.QUEUED, OutboxStatus.SENDING]),
            col(earlier.next_attempt_at) > now,
        )
        .exists()
    )
    query = select(OutboxMessage).where(
        col(OutboxMessage.status).in_([OutboxStatus.QUEUED, OutboxStatus.SENDING]),
        col(OutboxMessage.channel).in_(list(channels)),
        col(OutboxMessage.next_attempt_at) <= now,
        ~held_back,
    )
    if address is not None:
        query = query.where(col(OutboxMessage.address) == address)
    if max_priority is not None:
        query = query.where(col(OutboxMessage.priority) <= max_priority)
    query = (
        query.order_by(col(OutboxMessage.priority), col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list(session.exec(query))
    inactive = _inactive_addresses(session, {message.address for message in claimed})
    sendable = []
    for message in claimed:
        if message.address in inactive:
            message.status = OutboxStatus.CANCELLED
            message.error = f"not sent: {inactive[message.address]}"
        else:
            message.status = OutboxStatus.SENDING
            message.attempts += 1
            message.next_attempt_at = now + CLAIM_LEASE
            sendable.append(message)
        session.add(message)
    session.flush()
    return sendable


def _inactive_addresses(session: Session, urns: set[str]) -> dict[str, str]:
    if not urns:
        return {}
    rows = session.exec(
        select(Address.urn, Address.inactive_reason).where(
            col(Address.urn).in_(urns), col(Address.active).is_(False)
        )
    )
    return {urn: reason or "the address is inactive" for urn, reason in rows}


def release(*, session: Session, message_ids: Collection[int], now: datetime) -> None:
    """Give back claimed messages that were not handed to a provider: they are queued again."""
    if not message_ids:
        return
    session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(list(message_ids)),
            col(OutboxMessage.status) == OutboxStatus.SENDING,
        )
        .values(
            status=OutboxStatus.QUEUED,
            attempts=OutboxMessage.attempts - 1,
            next_attempt_at=now,
        )
    )


def mark_sent(
    *, session: Session, message_id: int, provider_ids: Sequence[str], now: datetime
) -> None:
    """Record that the provider took the message, and tie on any report that came first."""
    message = session.get_one(OutboxMessage, message_id)
    message.status = OutboxStatus.SENT
    message.provider_id = provider_ids[0][:100] if provider_ids else None
    message.sent_at = now
    message.error = None
    if message.sensitive:
        message.text = CLEARED
        message.options = []
        message.footer = ""
    session.add(message)
    delivery.link_reports(
        session=session, message=message, provider_ids=provider_ids, now=now
    )


def mark_retry(
    *, session: Session, message_id: int, error: str, next_attempt_at: datetime
) -> None:
    message = session.get_one(OutboxMessage, message_id)
    message.status = OutboxStatus.QUEUED
    message.error = error[:2000]
    message.next_attempt_at = next_attempt_at
    session.add(message)


def mark_failed(*, session: Session, message_id: int, error: str) -> None:
    message = session.get_one(OutboxMessage, message_id)
    message.status = OutboxStatus.FAILED
    message.error = error[:2000]
    session.add(message)


def cancel_queued(
    *, session: Session, reason: str, person_id: int | None = None, address: str | None = None,
    min_priority: int = Priority.REPLY,
    include_claimed: bool = False,
) -> int:
    """Cancel messages not yet sent to a person or an address; returns how many.

    ``include_claimed`` also cancels messages a dispatcher holds but has not handed over,
    as when it learns mid-round that the address is unreachable.
    """
    statuses = [OutboxStatus.QUEUED, OutboxStatus.SENDING] if include_claimed else [
        OutboxStatus.QUEUED
    ]
    query = update(OutboxMessage).where(
        col(OutboxMessage.status).in_(statuses),
        col(OutboxMessage.priority) >= min_priority,
    )
    if person_id is not None:
        query = query.where(col(OutboxMessage.person_id) == person_id)
    if address is not None:
        query = query.where(col(OutboxMessage.address) == address)
    result = session.execute(
        query.values(status=OutboxStatus.CANCELLED, error=reason)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def queued_for(*, key_prefix: str, person_id: Mapped[int | None]) -> Exists:
    """Whether a message keyed ``key_prefix`` and the person's id is in the outbox, as a
    clause: the people still to be sent a reminder are found in one query, each looked up
    in the unique key's index, however many were sent it already."""
    return (
        select(OutboxMessage.id)
        .where(col(OutboxMessage.dedupe_key) == literal(key_prefix) + cast(person_id, String))
        .exists()
    )


def keys_queued(*, session: Session, keys: Collection[str]) -> set[str]:
    """Which of ``keys`` some outbox message already carries (asked a few hundred at a time)."""
    wanted = list(keys)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(key for key in session.exec(
            select(OutboxMessage.dedupe_key)
            .where(col(OutboxMessage.dedupe_key).in_(wanted[start:start + 500]))
        ) if key is not None)
    return found

"""The outbox: every message the bot will send, and what became of it."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from storage.tables import OutboxMessage, OutboxStatus, Priority

CLAIM_LEASE = timedelta(minutes=5)


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
) -> OutboxMessage:
    """Queue a message in the caller's transaction; the dispatcher sends it after commit."""
    message = OutboxMessage(
        person_id=person_id,
        address=address,
        channel=channel,
        text=text,
        options=options or [],
        footer=footer,
        picture=picture,
        audio=audio,
        priority=priority,
        in_reply_to=in_reply_to,
        dedupe_key=dedupe_key,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(message)
    session.flush()
    return message


def claim_due(
    *,
    session: Session,
    now: datetime,
    channels: Collection[str],
    address: str | None = None,
    limit: int = 50,
) -> list[OutboxMessage]:
    """Mark due messages as being sent and return them, replies first, oldest first.

    On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED`` so that several
    dispatchers never claim the same message; SQLite's write lock does the same there.
    A claim is a lease: a message still "sending" when :data:`CLAIM_LEASE` has passed
    (its dispatcher crashed or was killed) is claimed again, so it is never stranded.
    """
    query = select(OutboxMessage).where(
        col(OutboxMessage.status).in_([OutboxStatus.QUEUED, OutboxStatus.SENDING]),
        col(OutboxMessage.channel).in_(list(channels)),
        col(OutboxMessage.next_attempt_at) <= now,
    )
    if address is not None:
        query = query.where(OutboxMessage.address == address)
    query = (
        query.order_by(col(OutboxMessage.priority), col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list(session.exec(query))
    for message in claimed:
        message.status = OutboxStatus.SENDING
        message.attempts += 1
        message.next_attempt_at = now + CLAIM_LEASE
        session.add(message)
    session.flush()
    return claimed


def mark_sent(
    *, session: Session, message_id: int, provider_id: str | None, now: datetime
) -> None:
    message = session.get_one(OutboxMessage, message_id)
    message.status = OutboxStatus.SENT
    message.provider_id = provider_id
    message.sent_at = now
    message.error = None
    session.add(message)


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

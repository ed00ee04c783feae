"""The outbox dispatcher: sends queued messages through the channels, with retries."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Collection, Mapping
from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.clock import Clock
from channels.base import Delivery, PermanentFailure, Sender, TemporaryFailure
from storage import outbox
from storage.database import transaction
from storage.tables import OutboxMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BASE_DELAY = timedelta(seconds=5)
MAX_DELAY = timedelta(minutes=30)


def backoff_delay(attempts: int, *, rng: random.Random) -> timedelta:
    """How long to wait after ``attempts`` tries: doubling from 5 seconds, jittered, capped."""
    doublings = min(max(attempts - 1, 0), 16)  # past 16 the cap applies anyway
    ceiling = min(BASE_DELAY * (2**doublings), MAX_DELAY)
    return ceiling * (0.5 + rng.random() / 2)


class Dispatcher:
    """Claims due outbox rows for the channels it has senders for, and sends them."""

    def __init__(
        self,
        *,
        database: Engine,
        clock: Clock,
        senders: Mapping[str, Sender],
        rng: random.Random | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.database = database
        self.clock = clock
        self.senders = senders
        self.rng = rng or random.Random()  # noqa: S311  (jitter, not secrets)
        self.max_attempts = max_attempts

    async def dispatch_due(
        self,
        *,
        address: str | None = None,
        channels: Collection[str] | None = None,
        limit: int = 50,
    ) -> int:
        """Send what is due now; returns how many messages were handed to a provider.

        ``channels`` picks which of this dispatcher's senders' channels to claim for;
        a message for a channel with no sender waits for a dispatcher that has one.
        """
        asked = self.senders if channels is None else channels
        wanted = [channel for channel in asked if channel in self.senders]
        if not wanted:
            return 0
        claimed = await asyncio.to_thread(self._claim, wanted, address, limit)
        sent = 0
        for message in claimed:
            sent += await self._send(message)
        return sent

    def _claim(
        self, channels: list[str], address: str | None, limit: int
    ) -> list[OutboxMessage]:
        with transaction(self.database) as session:
            return outbox.claim_due(
                session=session, now=self.clock.now(), channels=channels, address=address,
                limit=limit,
            )

    async def _send(self, message: OutboxMessage) -> int:
        assert message.id is not None
        sender = self.senders[message.channel]  # only channels with a sender are claimed
        delivery = Delivery(
            outbox_id=message.id,
            address=message.address,
            text=message.text,
            options=tuple(message.options),
            footer=message.footer,
            picture=message.picture,
        )
        try:
            provider_id = await sender.send(delivery)
        except PermanentFailure as failure:
            log.warning("outbox message %s failed: %s", message.id, failure)
            await asyncio.to_thread(self._record_failed, message.id, str(failure))
            return 0
        except TemporaryFailure as failure:
            await asyncio.to_thread(
                self._record_retry, message.id, message.attempts, str(failure),
                failure.retry_after,
            )
            return 0
        await asyncio.to_thread(self._record_sent, message.id, provider_id)
        return 1

    def _record_sent(self, message_id: int, provider_id: str | None) -> None:
        with transaction(self.database) as session:
            outbox.mark_sent(
                session=session, message_id=message_id, provider_id=provider_id,
                now=self.clock.now(),
            )

    def _record_failed(self, message_id: int, reason: str) -> None:
        with transaction(self.database) as session:
            outbox.mark_failed(session=session, message_id=message_id, error=reason)

    def _record_retry(
        self, message_id: int, attempts: int, reason: str, retry_after: float | None
    ) -> None:
        with transaction(self.database) as session:
            if attempts >= self.max_attempts:
                outbox.mark_failed(
                    session=session, message_id=message_id,
                    error=f"gave up after {attempts} attempts: {reason}",
                )
                return
            delay = backoff_delay(attempts, rng=self.rng)
            if retry_after is not None:
                delay = max(delay, timedelta(seconds=retry_after))
            outbox.mark_retry(
                session=session, message_id=message_id, error=reason,
                next_attempt_at=self.clock.now() + delay,
            )


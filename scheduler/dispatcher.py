"""The outbox dispatcher: sends queued messages through the channels, paced, with retries.

Each channel runs its own loop, so a slow SMS number never holds up Telegram replies.
A loop claims a batch of due rows (replies before bulk sends; bulk sends wait out quiet
hours), hands them to the channel's sender at the channel's pace, and records what
happened: sent with the provider's ids, retried later with backoff, or failed with the
reason in the message and the audit log. A message claimed but not handed over, because
the dispatcher is stopping or an earlier message to that person must be retried first,
is given back to the queue. A dispatcher killed mid-send loses nothing: its claims are
leases that expire, and the messages are sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import weakref
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.engine import Engine

from bot.clock import Clock
from channels.base import Delivery, PermanentFailure, Sender, TemporaryFailure, Unreachable
from scheduler.pacing import MonotonicTimer, Pace, Pacer, Timer
from scheduler.quiet_hours import QuietHours
from storage import outbox, people
from storage.audit import record_audit
from storage.database import transaction
from storage.tables import OutboxMessage, Priority

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BASE_DELAY = timedelta(seconds=5)
MAX_DELAY = timedelta(minutes=30)
POLL_SECONDS = 1.0
ACTOR = "dispatcher"

T = TypeVar("T")


def backoff_delay(attempts: int, *, rng: random.Random) -> timedelta:
    """How long to wait after ``attempts`` tries: doubling from 5 seconds, jittered, capped."""
    doublings = min(max(attempts - 1, 0), 16)  # past 16 the cap applies anyway
    ceiling = min(BASE_DELAY * (2**doublings), MAX_DELAY)
    return ceiling * (0.5 + rng.random() / 2)


class Outcome(enum.Enum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    UNREACHABLE = "unreachable"


class Dispatcher:
    """Claims due outbox rows for the channels it has senders for, and sends them."""

    def __init__(
        self,
        *,
        database: Engine,
        clock: Clock,
        senders: Mapping[str, Sender],
        paces: Mapping[str, Pace] | None = None,
        quiet_hours: QuietHours | None = None,
        rng: random.Random | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        timer: Timer | None = None,
        concurrency: int = 8,
        batch: int = 50,
    ) -> None:
        self.database = database
        self.clock = clock
        self.senders = senders
        self.pacers = {
            channel: Pacer(pace) for channel, pace in (paces or {}).items() if channel in senders
        }
        self.quiet_hours = quiet_hours
        self.rng = rng or random.Random()  # noqa: S311  (jitter, not secrets)
        self.max_attempts = max_attempts
        self.timer = timer or MonotonicTimer()
        self.concurrency = concurrency
        self.batch = batch
        self._wake: dict[str, asyncio.Event] = {channel: asyncio.Event() for channel in senders}
        self._stopping = False
        self._stopped = asyncio.Event()
        self._rounds = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # The database work runs on one thread of its own. Spread over a pool, the writes that
        # follow each send take turns with the event loop for the interpreter lock, and the
        # sends they delay arrive at the provider bunched together, past its limit.
        self._database_thread = ThreadPoolExecutor(max_workers=1,
                                                   thread_name_prefix="dispatcher-database")
        weakref.finalize(self, self._database_thread.shutdown, wait=False)

    # -- running ---------------------------------------------------------------------------

    async def run(self, *, poll_seconds: float = POLL_SECONDS) -> None:
        """Send for every channel until :meth:`stop`; each channel in a loop of its own."""
        async with asyncio.TaskGroup() as group:
            for channel in self.senders:
                group.create_task(self._run_channel(channel, poll_seconds))

    def wake(self, channel: str | None = None) -> None:
        """Something was queued: look now rather than at the next poll."""
        for name, event in self._wake.items():
            if channel is None or channel == name:
                event.set()

    def stop(self) -> None:
        """Stop claiming; messages in hand are sent or given back, then :meth:`run` returns."""
        self._stopping = True
        self._stopped.set()
        self.wake()

    async def _run_channel(self, channel: str, poll_seconds: float) -> None:
        event = self._wake[channel]
        while not self._stopping:
            event.clear()
            try:
                claimed, _ = await self._dispatch_channel(channel, None,
                                                          self._batch_for(channel))
            except Exception:
                log.exception("the %s dispatcher failed; trying again shortly", channel)
                claimed = 0
            if claimed == 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=poll_seconds)

    def _batch_for(self, channel: str) -> int:
        """Claim about two seconds' worth: short leases, and a new reply is not kept waiting."""
        pacer = self.pacers.get(channel)
        if pacer is None:
            return self.batch
        return max(1, min(self.batch, int(pacer.pace.rate * 2)))

    # -- one round -------------------------------------------------------------------------

    async def dispatch_due(
        self,
        *,
        address: str | None = None,
        channels: Collection[str] | None = None,
        limit: int = 50,
    ) -> int:
        """Send what is due now, once round; returns how many were handed to a provider.

        ``channels`` picks which of this dispatcher's senders' channels to claim for;
        a message for a channel with no sender waits for a dispatcher that has one.
        """
        asked = self.senders if channels is None else channels
        wanted = [channel for channel in asked if channel in self.senders]
        sent = 0
        for channel in wanted:
            sent += (await self._dispatch_channel(channel, address, limit))[1]
        return sent

    async def wait_idle(self) -> None:
        """Return when no round is claiming or sending (what was claimed has been settled)."""
        await self._idle.wait()

    async def _dispatch_channel(
        self, channel: str, address: str | None, limit: int
    ) -> tuple[int, int]:
        """One round for one channel: (messages claimed, messages handed to the provider)."""
        self._rounds += 1
        self._idle.clear()
        try:
            return await self._dispatch_round(channel, address, limit)
        finally:
            self._rounds -= 1
            if self._rounds == 0:
                self._idle.set()

    async def _dispatch_round(
        self, channel: str, address: str | None, limit: int
    ) -> tuple[int, int]:
        now = self.clock.now()
        quiet = self.quiet_hours is not None and self.quiet_hours.contains(now)
        max_priority = Priority.REPLY if quiet else None
        claimed = await self._in_database(self._claim, channel, address, limit, max_priority)
        if not claimed:
            return 0, 0
        return len(claimed), await self._send_paced(channel, claimed)

    async def _send_paced(self, channel: str, claimed: list[OutboxMessage]) -> int:
        sender = self.senders[channel]
        pacer = self.pacers.get(channel)
        pending = list(claimed)
        # A message's cost (an SMS's segments) is worked out once, not at every look.
        costs = {message.id: sender.cost(self._delivery(message)) for message in claimed}
        inflight: dict[asyncio.Task[Outcome], OutboxMessage] = {}
        busy: set[str] = set()
        sent = 0
        try:
            while pending or inflight:
                if self._stopping and pending:
                    await self._give_back(pending)
                    pending = []
                    continue
                message, wait = self._next_ready(pending, busy, costs, pacer)
                if message is not None and len(inflight) < self.concurrency:
                    pending.remove(message)
                    booking = (pacer.record(costs[message.id], message.address,
                                            self.timer.now())
                               if pacer is not None else None)
                    busy.add(message.address)
                    task = asyncio.create_task(self._send(sender, pacer, booking, message))
                    inflight[task] = message
                    continue
                if not inflight:
                    await self._pause(wait)
                    continue
                timeout = wait if message is None and wait > 0 else None
                done, _ = await asyncio.wait(
                    inflight, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    finished = inflight.pop(task)
                    busy.discard(finished.address)
                    outcome = task.result()
                    if outcome is Outcome.SENT:
                        sent += 1
                    elif outcome is Outcome.UNREACHABLE:
                        # Its other messages in hand were cancelled with it.
                        pending = [m for m in pending if m.address != finished.address]
                    elif outcome is Outcome.RETRY:
                        # Later messages to this person wait behind the one to retry.
                        behind = [m for m in pending if m.address == finished.address]
                        pending = [m for m in pending if m.address != finished.address]
                        await self._give_back(behind)
        except BaseException:
            await self._give_back(pending)
            for task in inflight:
                task.cancel()
            raise
        return sent

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` on the timer, or less if the dispatcher is told to stop."""
        sleeping = asyncio.ensure_future(self.timer.sleep(seconds))
        stopping = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({sleeping, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            stopping.cancel()

    def _next_ready(
        self,
        pending: list[OutboxMessage],
        busy: set[str],
        costs: Mapping[int | None, float],
        pacer: Pacer | None,
    ) -> tuple[OutboxMessage | None, float]:
        """The first message that may go now, keeping each person's messages in order;
        or None and how long until one may."""
        now = self.timer.now()
        passed_over: set[str] = set()
        soonest: float | None = None
        # The channel's wait depends only on a message's cost: ask the pacer once a cost,
        # so a long batch costs one look at the pacer, not one a message.
        channel_waits: dict[float, float] = {}
        for message in pending:
            if message.address in busy or message.address in passed_over:
                passed_over.add(message.address)
                continue
            if pacer is None:
                return message, 0.0
            cost = costs[message.id]
            channel_wait = channel_waits.get(cost)
            if channel_wait is None:
                channel_wait = channel_waits[cost] = pacer.wait_for(cost, now)
            wait = max(pacer.chat_wait(message.address, now), channel_wait)
            if wait <= 0:
                return message, 0.0
            passed_over.add(message.address)
            soonest = wait if soonest is None else min(soonest, wait)
        return None, soonest if soonest is not None else POLL_SECONDS

    # -- one message -----------------------------------------------------------------------

    @staticmethod
    def _delivery(message: OutboxMessage) -> Delivery:
        assert message.id is not None
        return Delivery(
            outbox_id=message.id,
            address=message.address,
            text=message.text,
            options=tuple(message.options),
            footer=message.footer,
            picture=message.picture,
        )

    async def _send(
        self, sender: Sender, pacer: Pacer | None, booking: int | None, message: OutboxMessage
    ) -> Outcome:
        assert message.id is not None
        try:
            try:
                provider_ids = await sender.send(self._delivery(message))
            finally:
                if pacer is not None and booking is not None:
                    pacer.answered(booking, self.timer.now())
        except Unreachable as failure:
            log.warning("outbox message %s: %s is unreachable: %s", message.id, message.address,
                        failure)
            await self._in_database(self._record_unreachable, message, str(failure))
            return Outcome.UNREACHABLE
        except PermanentFailure as failure:
            log.warning("outbox message %s failed: %s", message.id, failure)
            await self._in_database(self._record_failed, message, str(failure))
            return Outcome.FAILED
        except TemporaryFailure as failure:
            if failure.retry_after is not None and pacer is not None:
                pacer.pause(failure.retry_after, self.timer.now())
            return await self._in_database(self._record_retry, message, str(failure),
                                           failure.retry_after)
        await self._in_database(self._record_sent, message.id, provider_ids)
        return Outcome.SENT

    async def _in_database(self, work: Callable[..., T], *arguments: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._database_thread, work, *arguments)

    def _claim(
        self, channel: str, address: str | None, limit: int, max_priority: int | None
    ) -> list[OutboxMessage]:
        with transaction(self.database) as session:
            return outbox.claim_due(
                session=session, now=self.clock.now(), channels=[channel], address=address,
                limit=limit, max_priority=max_priority,
            )

    async def _give_back(self, messages: Iterable[OutboxMessage]) -> None:
        ids = [message.id for message in messages if message.id is not None]
        if ids:
            await self._in_database(self._release, ids)

    def _release(self, ids: list[int]) -> None:
        with transaction(self.database) as session:
            outbox.release(session=session, message_ids=ids, now=self.clock.now())

    def _record_sent(self, message_id: int, provider_ids: tuple[str, ...]) -> None:
        with transaction(self.database) as session:
            outbox.mark_sent(
                session=session, message_id=message_id, provider_ids=provider_ids,
                now=self.clock.now(),
            )

    def _record_failed(self, message: OutboxMessage, reason: str) -> None:
        assert message.id is not None
        now = self.clock.now()
        with transaction(self.database) as session:
            outbox.mark_failed(session=session, message_id=message.id, error=reason)
            record_audit(session=session, actor=ACTOR, action="outbox.failed",
                         subject=f"outbox:{message.id}", at=now,
                         detail={"channel": message.channel, "reason": reason[:500]})

    def _record_unreachable(self, message: OutboxMessage, reason: str) -> None:
        assert message.id is not None
        now = self.clock.now()
        with transaction(self.database) as session:
            outbox.mark_failed(session=session, message_id=message.id, error=reason)
            outbox.cancel_queued(session=session, address=message.address, include_claimed=True,
                                 reason=f"not sent: {reason}"[:2000])
            if people.deactivate_address(session=session, urn=message.address, reason=reason,
                                         now=now):
                record_audit(session=session, actor=ACTOR, action="address.deactivated",
                             subject=message.address, at=now, detail={"reason": reason[:500]})
            record_audit(session=session, actor=ACTOR, action="outbox.failed",
                         subject=f"outbox:{message.id}", at=now,
                         detail={"channel": message.channel, "reason": reason[:500]})

    def _record_retry(
        self, message: OutboxMessage, reason: str, retry_after: float | None
    ) -> Outcome:
        assert message.id is not None
        attempts = message.attempts
        if attempts >= self.max_attempts:
            self._record_failed(message, f"gave up after {attempts} attempts: {reason}")
            return Outcome.FAILED
        now = self.clock.now()
        delay = backoff_delay(attempts, rng=self.rng)
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        with transaction(self.database) as session:
            outbox.mark_retry(
                session=session, message_id=message.id, error=reason,
                next_attempt_at=now + delay,
            )
        return Outcome.RETRY

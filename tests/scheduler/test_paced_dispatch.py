"""The dispatcher end to end: paced per channel and per chat, paused when the provider asks,
quiet at night for bulk sends, and nothing lost or sent twice on the way."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.clock import ManualClock
from channels.base import Delivery, PermanentFailure, TemporaryFailure, Unreachable
from scheduler.dispatcher import Dispatcher
from scheduler.pacing import MonotonicTimer, Pace, Timer
from scheduler.quiet_hours import QuietHours
from storage import outbox, people
from storage.database import transaction
from storage.tables import Address, AuditEntry, OutboxMessage, OutboxStatus, Priority

RATE = 5
PACE = Pace(rate=RATE, chat_gap=1.0)
EPSILON = 1e-9
LONDON = ZoneInfo("Europe/London")


class FakeTimer:
    """A monotonic clock that moves only when the dispatcher sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.time = start

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.time += max(seconds, 0.0)
        await asyncio.sleep(0)


@dataclass(frozen=True)
class Attempt:
    at: float
    address: str
    text: str
    outbox_id: int


class TelegramEdge:
    """Telegram at the network edge: records what it is handed and when (on the timer the
    dispatcher paces by), fails a message when told, refuses chats that blocked the bot."""

    channel = "telegram"

    def __init__(
        self,
        timer: Timer,
        *,
        failures: dict[str, list[Exception]] | None = None,
        blocked: dict[str, str] | None = None,
        on_send: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.timer = timer
        self.failures = failures or {}
        self.blocked = blocked or {}
        self.on_send = on_send
        self.attempts: list[Attempt] = []
        self.delivered: list[Attempt] = []

    def cost(self, delivery: Delivery) -> int:
        return 1

    async def send(self, delivery: Delivery) -> tuple[str, ...]:
        attempt = Attempt(
            at=self.timer.now(), address=delivery.address, text=delivery.text,
            outbox_id=delivery.outbox_id,
        )
        self.attempts.append(attempt)
        if delivery.address in self.blocked:
            raise Unreachable(self.blocked[delivery.address])
        waiting = self.failures.get(delivery.text)
        if waiting:
            raise waiting.pop(0)
        self.delivered.append(attempt)
        if self.on_send is not None:
            self.on_send(delivery)
        return (f"tg{len(self.delivered)}",)

    def texts(self) -> list[str]:
        return [attempt.text for attempt in self.delivered]

    def times_of(self, address: str) -> list[float]:
        return [attempt.at for attempt in self.delivered if attempt.address == address]


def chat(number: int) -> str:
    return f"telegram:{1000 + number}"


ANN, BOB, CAT = chat(1), chat(2), chat(3)


def _queue(
    database: Engine, clock: ManualClock, text: str, *, address: str,
    priority: int = Priority.REPLY, person_id: int | None = None,
) -> int:
    with transaction(database) as session:
        return outbox.queue_message(
            session=session, address=address, channel="telegram", text=text, now=clock.now(),
            priority=priority, person_id=person_id,
        )


def _row(database: Engine, message_id: int) -> OutboxMessage:
    with transaction(database) as session:
        return session.get_one(OutboxMessage, message_id)


def _rows(database: Engine) -> dict[str, OutboxMessage]:
    with transaction(database) as session:
        return {row.text: row for row in session.exec(select(OutboxMessage))}


def _audit(database: Engine) -> list[AuditEntry]:
    with transaction(database) as session:
        return list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))))


def _dispatcher(
    database: Engine, clock: ManualClock, sender: TelegramEdge, timer: Timer, **kwargs: Any
) -> Dispatcher:
    return Dispatcher(
        database=database, clock=clock, senders={"telegram": sender},
        paces={"telegram": PACE}, rng=random.Random(7), timer=timer, **kwargs,
    )


def busiest_window(times: list[float], window: float) -> int:
    return max(
        sum(1 for other in times if start <= other < start + window - EPSILON)
        for start in times
    )


# -- the channel's rate ------------------------------------------------------------------


async def test_thirty_chats_are_sent_at_the_channels_rate(
    database: Engine, clock: ManualClock
) -> None:
    ids = [_queue(database, clock, f"hello {n}", address=chat(n)) for n in range(30)]
    timer = FakeTimer()
    sender = TelegramEdge(timer)
    started = timer.now()

    sent = await _dispatcher(database, clock, sender, timer).dispatch_due()

    assert sent == 30
    assert sorted(sender.texts()) == sorted(f"hello {n}" for n in range(30))
    times = [attempt.at for attempt in sender.delivered]
    assert busiest_window(times, PACE.window) <= RATE
    assert max(times) - started < 30 / RATE + 2
    assert {_row(database, message_id).status for message_id in ids} == {OutboxStatus.SENT}


async def test_run_keeps_the_rate_from_one_round_to_the_next(
    database: Engine, clock: ManualClock
) -> None:
    for n in range(30):
        _queue(database, clock, f"hello {n}", address=chat(n))
    timer = FakeTimer()
    all_sent = asyncio.Event()

    def count(_delivery: Delivery) -> None:
        if len(sender.delivered) == 30:
            all_sent.set()

    sender = TelegramEdge(timer, on_send=count)
    dispatcher = _dispatcher(database, clock, sender, timer)
    running = asyncio.create_task(dispatcher.run(poll_seconds=60))
    try:
        await asyncio.wait_for(all_sent.wait(), timeout=5)
    finally:
        dispatcher.stop()
        await asyncio.wait_for(running, timeout=5)

    times = [attempt.at for attempt in sender.delivered]
    assert len(set(sender.texts())) == 30
    assert busiest_window(times, PACE.window) <= RATE
    assert max(times) - min(times) < 30 / RATE + 2


# -- one chat at a time ------------------------------------------------------------------


async def test_one_chats_messages_go_in_order_a_second_apart_without_holding_up_others(
    database: Engine, clock: ManualClock
) -> None:
    for text, address in [("ann 1", ANN), ("ann 2", ANN), ("bob 1", BOB), ("ann 3", ANN),
                          ("cat 1", CAT), ("bob 2", BOB)]:
        _queue(database, clock, text, address=address)
    timer = FakeTimer()
    sender = TelegramEdge(timer)

    assert await _dispatcher(database, clock, sender, timer).dispatch_due() == 6

    to_ann = [attempt.text for attempt in sender.delivered if attempt.address == ANN]
    assert to_ann == ["ann 1", "ann 2", "ann 3"]
    ann = sender.times_of(ANN)
    assert all(later - earlier >= 1.0 - EPSILON for earlier, later in itertools.pairwise(ann))
    # Bob's and Cat's first messages went with Ann's first, not after Ann's third.
    sent_at = {attempt.text: attempt.at for attempt in sender.delivered}
    assert sent_at["bob 1"] == sent_at["cat 1"] == sent_at["ann 1"]
    assert sent_at["bob 2"] < sent_at["ann 3"]
    assert [attempt.text for attempt in sender.delivered if attempt.address == BOB] == [
        "bob 1", "bob 2"
    ]


# -- the provider asks the channel to wait -----------------------------------------------


async def test_retry_after_pauses_the_channel_and_the_chat_waits_behind_its_message(
    database: Engine, clock: ManualClock
) -> None:
    first = _queue(database, clock, "ann 1", address=ANN)
    for n in range(4, 8):
        _queue(database, clock, f"other {n}", address=chat(n))
    second = _queue(database, clock, "ann 2", address=ANN)
    third = _queue(database, clock, "ann 3", address=ANN)
    for n in range(8, 12):
        _queue(database, clock, f"other {n}", address=chat(n))
    timer = FakeTimer()
    sender = TelegramEdge(
        timer, failures={"ann 1": [TemporaryFailure("429: retry after 30", retry_after=30)]}
    )
    dispatcher = _dispatcher(database, clock, sender, timer)

    await dispatcher.dispatch_due()

    [failed] = [attempt for attempt in sender.attempts if attempt.text == "ann 1"]
    later = [attempt for attempt in sender.delivered if attempt.at > failed.at]
    assert later, "some messages had to wait for the next window"
    assert min(attempt.at for attempt in later) >= failed.at + 30
    assert sorted(sender.texts()) == sorted(f"other {n}" for n in range(4, 12))

    row = _row(database, first)
    assert (row.status, row.error) == (OutboxStatus.QUEUED, "429: retry after 30")
    assert row.next_attempt_at >= clock.now() + timedelta(seconds=30)
    for given_back in (second, third):
        row = _row(database, given_back)
        assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 0)

    clock.advance(timedelta(seconds=10))
    assert await dispatcher.dispatch_due() == 0  # Ann's messages still wait for the first

    clock.advance(timedelta(seconds=21))
    assert await dispatcher.dispatch_due() == 3

    assert [attempt.text for attempt in sender.delivered if attempt.address == ANN] == [
        "ann 1", "ann 2", "ann 3"
    ]
    ann = sender.times_of(ANN)
    assert all(later - earlier >= 1.0 - EPSILON for earlier, later in itertools.pairwise(ann))
    assert Counter(sender.texts()) == Counter(
        ["ann 1", "ann 2", "ann 3", *(f"other {n}" for n in range(4, 12))]
    )
    assert {row.status for row in _rows(database).values()} == {OutboxStatus.SENT}
    assert _row(database, first).attempts == 2
    assert _row(database, second).attempts == 1


# -- quiet hours -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("evening", "before_eight", "eight"),
    [
        # winter: London is on UTC
        (datetime(2026, 3, 2, 22, 0, tzinfo=UTC), datetime(2026, 3, 3, 7, 59, tzinfo=UTC),
         datetime(2026, 3, 3, 8, 0, tzinfo=UTC)),
        # summer: 08:00 in London is 07:00 UTC
        (datetime(2026, 7, 1, 20, 30, tzinfo=UTC), datetime(2026, 7, 2, 6, 59, tzinfo=UTC),
         datetime(2026, 7, 2, 7, 0, tzinfo=UTC)),
        # the night the clocks go forward
        (datetime(2026, 3, 28, 21, 30, tzinfo=UTC), datetime(2026, 3, 29, 6, 59, tzinfo=UTC),
         datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),
    ],
    ids=["winter", "summer", "clocks-forward"],
)
async def test_replies_go_at_night_but_bulk_sends_wait_for_eight_in_the_morning(
    database: Engine, clock: ManualClock, evening: datetime, before_eight: datetime,
    eight: datetime,
) -> None:
    clock.set(evening)
    invitation = _queue(database, clock, "invitation to Ann", address=ANN,
                        priority=Priority.BULK)
    reminder = _queue(database, clock, "reminder to Cat", address=CAT, priority=Priority.BULK)
    reply = _queue(database, clock, "reply to Bob", address=BOB)
    reply_to_ann = _queue(database, clock, "reply to Ann", address=ANN)
    timer = FakeTimer()
    sender = TelegramEdge(timer)
    dispatcher = _dispatcher(
        database, clock, sender, timer,
        quiet_hours=QuietHours.parse("21:00-08:00", LONDON),
    )

    assert await dispatcher.dispatch_due() == 2
    assert sorted(sender.texts()) == ["reply to Ann", "reply to Bob"]
    assert _row(database, reply).status == OutboxStatus.SENT
    assert _row(database, reply_to_ann).status == OutboxStatus.SENT
    for bulk in (invitation, reminder):
        row = _row(database, bulk)
        assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 0)

    clock.set(before_eight)
    assert await dispatcher.dispatch_due() == 0
    assert _row(database, invitation).status == OutboxStatus.QUEUED

    clock.set(eight)
    assert await dispatcher.dispatch_due() == 2
    assert sorted(sender.texts()) == [
        "invitation to Ann", "reminder to Cat", "reply to Ann", "reply to Bob"
    ]
    assert _row(database, invitation).status == OutboxStatus.SENT
    assert _row(database, reminder).status == OutboxStatus.SENT


async def test_bulk_sends_go_by_day(database: Engine, clock: ManualClock) -> None:
    # 10:30 in London
    invitation = _queue(database, clock, "invitation", address=ANN, priority=Priority.BULK)
    timer = FakeTimer()
    sender = TelegramEdge(timer)
    dispatcher = _dispatcher(
        database, clock, sender, timer,
        quiet_hours=QuietHours.parse("21:00-08:00", LONDON),
    )

    assert await dispatcher.dispatch_due() == 1
    assert _row(database, invitation).status == OutboxStatus.SENT


# -- failures that will not go away ------------------------------------------------------

BLOCKED = "Forbidden: bot was blocked by the user"


def _add_ann(database: Engine, clock: ManualClock) -> int:
    with transaction(database) as session:
        person = people.add_person(session=session, urns=[ANN], now=clock.now(), name="Ann")
        assert person.id is not None
        return person.id


def _address(database: Engine, urn: str) -> Address:
    with transaction(database) as session:
        return session.exec(select(Address).where(Address.urn == urn)).one()


async def test_an_unreachable_chat_is_marked_inactive_and_its_queued_messages_cancelled(
    database: Engine, clock: ManualClock
) -> None:
    ann_id = _add_ann(database, clock)
    blocked = _queue(database, clock, "ann 1", address=ANN, person_id=ann_id)
    to_bob = _queue(database, clock, "bob 1", address=BOB)
    # a reminder for Ann, queued for tomorrow
    clock.advance(timedelta(days=1))
    tomorrow = _queue(database, clock, "reminder for Ann", address=ANN, person_id=ann_id,
                      priority=Priority.BULK)
    clock.advance(timedelta(days=-1))
    timer = FakeTimer()
    sender = TelegramEdge(timer, blocked={ANN: BLOCKED})
    dispatcher = _dispatcher(database, clock, sender, timer)

    assert await dispatcher.dispatch_due() == 1

    address = _address(database, ANN)
    assert (address.active, address.inactive_reason, address.inactive_at) == (
        False, BLOCKED, clock.now()
    )
    row = _row(database, blocked)
    assert (row.status, row.error) == (OutboxStatus.FAILED, BLOCKED)
    row = _row(database, tomorrow)
    assert row.status == OutboxStatus.CANCELLED
    assert BLOCKED in (row.error or "")
    assert _row(database, to_bob).status == OutboxStatus.SENT
    audit = [(entry.actor, entry.action, entry.subject, entry.detail, entry.at)
             for entry in _audit(database)]
    assert audit == [
        ("dispatcher", "address.deactivated", ANN, {"reason": BLOCKED}, clock.now()),
        ("dispatcher", "outbox.failed", f"outbox:{blocked}",
         {"channel": "telegram", "reason": BLOCKED}, clock.now()),
    ]

    clock.advance(timedelta(days=2))
    assert await dispatcher.dispatch_due() == 0
    assert [attempt.text for attempt in sender.attempts if attempt.address == ANN] == ["ann 1"]


async def test_messages_to_an_unreachable_chat_claimed_in_the_same_round_are_not_sent(
    database: Engine, clock: ManualClock
) -> None:
    ann_id = _add_ann(database, clock)
    blocked = _queue(database, clock, "ann 1", address=ANN, person_id=ann_id)
    to_bob = _queue(database, clock, "bob 1", address=BOB)
    second = _queue(database, clock, "ann 2", address=ANN, person_id=ann_id)
    third = _queue(database, clock, "ann 3", address=ANN, person_id=ann_id)
    timer = FakeTimer()
    sender = TelegramEdge(timer, blocked={ANN: BLOCKED})

    await _dispatcher(database, clock, sender, timer).dispatch_due()

    # Once Telegram has said the person blocked the bot, nothing more is sent to them.
    assert [attempt.text for attempt in sender.attempts if attempt.address == ANN] == ["ann 1"]
    assert _row(database, blocked).status == OutboxStatus.FAILED
    assert _row(database, to_bob).status == OutboxStatus.SENT
    for later in (second, third):
        assert _row(database, later).status == OutboxStatus.CANCELLED
    assert [entry.action for entry in _audit(database)] == [
        "address.deactivated", "outbox.failed"
    ]


async def test_a_permanent_failure_is_recorded_and_audited_and_the_chat_goes_on(
    database: Engine, clock: ManualClock
) -> None:
    ann_id = _add_ann(database, clock)
    refused = _queue(database, clock, "ann 1", address=ANN, person_id=ann_id)
    after = _queue(database, clock, "ann 2", address=ANN, person_id=ann_id)
    to_bob = _queue(database, clock, "bob 1", address=BOB)
    reason = "400: Bad Request: message is too long"
    timer = FakeTimer()
    sender = TelegramEdge(timer, failures={"ann 1": [PermanentFailure(reason)]})
    dispatcher = _dispatcher(database, clock, sender, timer)

    assert await dispatcher.dispatch_due() == 2

    row = _row(database, refused)
    assert (row.status, row.error, row.attempts) == (OutboxStatus.FAILED, reason, 1)
    assert _row(database, after).status == OutboxStatus.SENT
    assert _row(database, to_bob).status == OutboxStatus.SENT
    audit = [(entry.actor, entry.action, entry.subject, entry.detail, entry.at)
             for entry in _audit(database)]
    assert audit == [
        ("dispatcher", "outbox.failed", f"outbox:{refused}",
         {"channel": "telegram", "reason": reason}, clock.now()),
    ]
    assert _address(database, ANN).active is True  # a refused message deactivates nothing

    clock.advance(timedelta(hours=1))
    assert await dispatcher.dispatch_due() == 0
    assert [attempt.text for attempt in sender.attempts].count("ann 1") == 1


# -- stopping and waking -----------------------------------------------------------------


async def test_stop_gives_back_what_was_not_handed_over_and_run_returns(
    database: Engine, clock: ManualClock
) -> None:
    # A round claims two seconds' worth (ten messages at five a second).
    ids = [_queue(database, clock, f"hello {n}", address=chat(n)) for n in range(10)]
    timer = FakeTimer()
    sender = TelegramEdge(timer, on_send=lambda _delivery: dispatcher.stop())
    dispatcher = _dispatcher(database, clock, sender, timer)

    await asyncio.wait_for(dispatcher.run(poll_seconds=60), timeout=5)

    sent = set(sender.texts())
    assert 1 <= len(sent) <= RATE
    assert len(sender.delivered) == len(sent)
    given_back = 0
    for n, message_id in enumerate(ids):
        row = _row(database, message_id)
        if f"hello {n}" in sent:
            assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)
        else:
            assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 0)
            assert row.next_attempt_at <= clock.now()
            given_back += 1
    assert given_back >= 10 - RATE

    # ... and the next dispatcher sends them.
    later = TelegramEdge(timer)
    assert await _dispatcher(database, clock, later, timer).dispatch_due() == given_back
    assert sorted(sent | set(later.texts())) == sorted(f"hello {n}" for n in range(10))


async def test_run_sends_a_message_queued_while_it_waits_once_woken(
    database: Engine, clock: ManualClock
) -> None:
    loop = asyncio.get_running_loop()
    looked = asyncio.Event()
    sent = asyncio.Event()

    def on_commit(_connection: Any) -> None:  # the dispatcher's first look at the outbox
        loop.call_soon_threadsafe(looked.set)

    sender = TelegramEdge(MonotonicTimer(), on_send=lambda _delivery: sent.set())
    dispatcher = Dispatcher(
        database=database, clock=clock, senders={"telegram": sender},
        paces={"telegram": PACE}, timer=MonotonicTimer(),
    )
    event.listen(database, "commit", on_commit)
    try:
        # Polls an hour apart: only wake() can get the message out within the test.
        running = asyncio.create_task(dispatcher.run(poll_seconds=3600))
        try:
            await asyncio.wait_for(looked.wait(), timeout=5)
            assert sender.attempts == []
            message_id = _queue(database, clock, "hello Ann", address=ANN)
            dispatcher.wake("telegram")
            await asyncio.wait_for(sent.wait(), timeout=5)
        finally:
            dispatcher.stop()
            await asyncio.wait_for(running, timeout=5)
    finally:
        event.remove(database, "commit", on_commit)

    assert sender.texts() == ["hello Ann"]
    row = _row(database, message_id)
    assert (row.status, row.provider_id) == (OutboxStatus.SENT, "tg1")


class WatchedTimer(MonotonicTimer):
    """The real monotonic clock, which says when the dispatcher starts to wait on it."""

    def __init__(self) -> None:
        self.waiting = asyncio.Event()
        self.waits: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.waiting.set()
        await super().sleep(seconds)


async def test_stop_while_the_provider_has_paused_the_channel_returns_at_once(
    database: Engine, clock: ManualClock
) -> None:
    """Telegram's flood waits run to minutes; stopping must not wait them out."""
    _queue(database, clock, "ann 1", address=ANN)
    waiting = _queue(database, clock, "bob 1", address=BOB)
    timer = WatchedTimer()
    sender = TelegramEdge(
        timer, failures={"ann 1": [TemporaryFailure("429: retry after 300", retry_after=300)]}
    )
    dispatcher = Dispatcher(
        database=database, clock=clock, senders={"telegram": sender},
        paces={"telegram": Pace(rate=1)}, timer=timer,
    )
    running = asyncio.create_task(dispatcher.run(poll_seconds=3600))
    try:
        await asyncio.wait_for(timer.waiting.wait(), timeout=5)
        assert max(timer.waits) > 200  # the round is waiting out the provider's pause
    finally:
        dispatcher.stop()
        await asyncio.wait_for(running, timeout=5)

    assert sender.delivered == []
    row = _row(database, waiting)
    assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 0)

"""The dispatcher: queued messages reach the channel once, failures wait and retry, then stop."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from bot.clock import ManualClock
from channels.base import Delivery, PermanentFailure, TemporaryFailure
from scheduler.dispatcher import Dispatcher, backoff_delay
from storage import outbox
from storage.database import transaction
from storage.tables import OutboxMessage, OutboxStatus

ANN = "tel:+447700900123"
BOB = "tel:+447700900456"


class RecordingSender:
    """An SMS provider at the network edge: records what it was given, fails when told."""

    channel = "sms"

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.attempts: list[Delivery] = []
        self.delivered: list[Delivery] = []

    def cost(self, delivery: Delivery) -> int:
        return 1

    async def send(self, delivery: Delivery) -> tuple[str, ...]:
        self.attempts.append(delivery)
        if self.failures:
            raise self.failures.pop(0)
        self.delivered.append(delivery)
        return (f"SM{len(self.delivered):04d}",)


def _queue(
    database: Engine, clock: ManualClock, text: str, *, address: str = ANN, channel: str = "sms"
) -> int:
    with transaction(database) as session:
        return outbox.queue_message(
            session=session, address=address, channel=channel, text=text, now=clock.now(),
            options=[{"number": 1, "emoji": "👍", "label": "Yes"}], footer="Reply 1.",
            picture="thumbs.png",
        )


def _row(database: Engine, message_id: int) -> OutboxMessage:
    with transaction(database) as session:
        return session.get_one(OutboxMessage, message_id)


def _dispatcher(
    database: Engine, clock: ManualClock, sender: RecordingSender, max_attempts: int = 6
) -> Dispatcher:
    return Dispatcher(
        database=database, clock=clock, senders={"sms": sender}, rng=random.Random(7),
        max_attempts=max_attempts,
    )


async def test_due_messages_are_sent_and_marked_sent(database: Engine, clock: ManualClock) -> None:
    message_id = _queue(database, clock, "Thank you for your idea.")
    clock.advance(timedelta(minutes=1))
    sender = RecordingSender()

    sent = await _dispatcher(database, clock, sender).dispatch_due()

    assert sent == 1
    assert sender.delivered == [
        Delivery(
            outbox_id=message_id, address=ANN, text="Thank you for your idea.",
            options=({"number": 1, "emoji": "👍", "label": "Yes"},), footer="Reply 1.",
            picture="thumbs.png",
        )
    ]
    row = _row(database, message_id)
    assert (row.status, row.provider_id, row.sent_at) == (OutboxStatus.SENT, "SM0001", clock.now())
    assert (row.attempts, row.error) == (1, None)


async def test_a_sent_message_is_not_sent_again(database: Engine, clock: ManualClock) -> None:
    _queue(database, clock, "Hello")
    sender = RecordingSender()
    dispatcher = _dispatcher(database, clock, sender)

    assert await dispatcher.dispatch_due() == 1
    clock.advance(timedelta(hours=1))
    assert await dispatcher.dispatch_due() == 0
    assert [delivery.text for delivery in sender.attempts] == ["Hello"]


async def test_a_temporary_failure_waits_before_the_next_try(
    database: Engine, clock: ManualClock
) -> None:
    message_id = _queue(database, clock, "Hello")
    sender = RecordingSender(TemporaryFailure("503 from Twilio"))
    dispatcher = _dispatcher(database, clock, sender)
    failed_at = clock.now()

    assert await dispatcher.dispatch_due() == 0

    row = _row(database, message_id)
    assert (row.status, row.attempts, row.error) == (OutboxStatus.QUEUED, 1, "503 from Twilio")
    wait = row.next_attempt_at - failed_at
    assert timedelta(seconds=2.5) <= wait <= timedelta(seconds=5)
    assert await dispatcher.dispatch_due() == 0
    clock.set(row.next_attempt_at - timedelta(microseconds=1))
    assert await dispatcher.dispatch_due() == 0
    assert len(sender.attempts) == 1

    clock.set(row.next_attempt_at)
    assert await dispatcher.dispatch_due() == 1

    row = _row(database, message_id)
    assert (row.status, row.attempts, row.error) == (OutboxStatus.SENT, 2, None)
    assert len(sender.attempts) == 2


async def test_retry_after_from_the_provider_is_respected(
    database: Engine, clock: ManualClock
) -> None:
    message_id = _queue(database, clock, "Hello")
    sender = RecordingSender(TemporaryFailure("429 too many requests", retry_after=60))

    await _dispatcher(database, clock, sender).dispatch_due()

    row = _row(database, message_id)
    assert row.status == OutboxStatus.QUEUED
    assert row.next_attempt_at - clock.now() >= timedelta(seconds=60)


async def test_the_dispatcher_gives_up_after_max_attempts(
    database: Engine, clock: ManualClock
) -> None:
    message_id = _queue(database, clock, "Hello")
    sender = RecordingSender(*[TemporaryFailure("network unreachable")] * 10)
    dispatcher = _dispatcher(database, clock, sender, max_attempts=3)

    for _ in range(5):
        await dispatcher.dispatch_due()
        clock.advance(timedelta(hours=1))

    row = _row(database, message_id)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 3)
    assert "gave up" in (row.error or "")
    assert "network unreachable" in (row.error or "")
    assert len(sender.attempts) == 3


async def test_a_permanent_failure_fails_at_once(database: Engine, clock: ManualClock) -> None:
    message_id = _queue(database, clock, "Hello")
    sender = RecordingSender(PermanentFailure("21610: the person replied STOP"))
    dispatcher = _dispatcher(database, clock, sender)

    assert await dispatcher.dispatch_due() == 0
    clock.advance(timedelta(hours=1))
    assert await dispatcher.dispatch_due() == 0

    row = _row(database, message_id)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
    assert row.error == "21610: the person replied STOP"
    assert len(sender.attempts) == 1


async def test_a_channel_without_a_sender_waits(database: Engine, clock: ManualClock) -> None:
    waiting = _queue(database, clock, "Hello on Telegram", address="telegram:1", channel="telegram")
    _queue(database, clock, "Hello by SMS")
    sender = RecordingSender()

    assert await _dispatcher(database, clock, sender).dispatch_due() == 1

    row = _row(database, waiting)
    assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 0)
    assert [delivery.text for delivery in sender.attempts] == ["Hello by SMS"]


async def test_asking_for_a_channel_without_a_sender_leaves_its_messages_waiting(
    database: Engine, clock: ManualClock
) -> None:
    waiting = _queue(database, clock, "Hello on Telegram", address="telegram:1", channel="telegram")
    sender = RecordingSender()

    await _dispatcher(database, clock, sender).dispatch_due(channels=["sms", "telegram"])

    assert _row(database, waiting).status == OutboxStatus.QUEUED


async def test_dispatch_for_one_address_sends_only_its_messages(
    database: Engine, clock: ManualClock
) -> None:
    to_ann = _queue(database, clock, "to Ann", address=ANN)
    to_bob = _queue(database, clock, "to Bob", address=BOB)
    sender = RecordingSender()

    assert await _dispatcher(database, clock, sender).dispatch_due(address=BOB) == 1

    assert [delivery.address for delivery in sender.delivered] == [BOB]
    assert _row(database, to_ann).status == OutboxStatus.QUEUED
    assert _row(database, to_bob).status == OutboxStatus.SENT


async def test_messages_claimed_when_sending_crashed_are_sent_later(
    database: Engine, clock: ManualClock
) -> None:
    _queue(database, clock, "first")
    _queue(database, clock, "second")
    crashing = RecordingSender(RuntimeError("bug in a channel adapter"))
    with pytest.raises(RuntimeError):
        await _dispatcher(database, clock, crashing).dispatch_due()

    clock.advance(timedelta(hours=1))
    sender = RecordingSender()
    await _dispatcher(database, clock, sender).dispatch_due()

    assert sorted(delivery.text for delivery in sender.delivered) == ["first", "second"]


# (attempts already made, shortest wait, longest wait)
BACKOFF = [
    (0, timedelta(seconds=2.5), timedelta(seconds=5)),
    (1, timedelta(seconds=2.5), timedelta(seconds=5)),
    (2, timedelta(seconds=5), timedelta(seconds=10)),
    (3, timedelta(seconds=10), timedelta(seconds=20)),
    (4, timedelta(seconds=20), timedelta(seconds=40)),
    (6, timedelta(seconds=80), timedelta(seconds=160)),
    (9, timedelta(seconds=640), timedelta(seconds=1280)),
    (10, timedelta(minutes=15), timedelta(minutes=30)),
    (20, timedelta(minutes=15), timedelta(minutes=30)),
    (40, timedelta(minutes=15), timedelta(minutes=30)),
]


@pytest.mark.parametrize(("attempts", "shortest", "longest"), BACKOFF)
def test_backoff_delay_doubles_with_jitter_and_stops_at_thirty_minutes(
    attempts: int, shortest: timedelta, longest: timedelta
) -> None:
    rng = random.Random(2026)

    delays = [backoff_delay(attempts, rng=rng) for _ in range(200)]

    assert all(shortest <= delay <= longest for delay in delays)
    assert max(delays) - min(delays) > (longest - shortest) / 2


def test_backoff_delay_grows_with_each_attempt_for_the_same_jitter() -> None:
    delays = [backoff_delay(attempts, rng=random.Random(5)) for attempts in range(1, 13)]

    assert delays == sorted(delays)
    assert delays[0] < delays[1] < delays[8]
    assert delays[-1] == delays[-2] <= timedelta(minutes=30)


def test_backoff_delay_stays_capped_however_many_attempts() -> None:
    assert backoff_delay(64, rng=random.Random(1)) <= timedelta(minutes=30)

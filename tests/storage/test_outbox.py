"""The outbox: messages are queued, claimed replies first, and what became of them kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text as sql
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.clock import ManualClock
from storage import outbox, people
from storage.database import transaction
from storage.tables import OutboxMessage, OutboxStatus, Priority

ANN = "tel:+447700900123"
BOB = "tel:+447700900456"
CATH = "telegram:123456789"


def _queue(
    database: Engine,
    clock: ManualClock,
    text: str,
    *,
    address: str = ANN,
    channel: str = "sms",
    priority: int = Priority.REPLY,
    dedupe_key: str | None = None,
    at: timedelta = timedelta(),
) -> int:
    """Queue a message made ``at`` after now; the clock itself does not move."""
    with transaction(database) as session:
        return outbox.queue_message(
            session=session, address=address, channel=channel, text=text,
            now=clock.now() + at, priority=priority, dedupe_key=dedupe_key,
        )


def _claim(
    database: Engine,
    clock: ManualClock,
    *,
    channels: tuple[str, ...] = ("sms",),
    address: str | None = None,
    limit: int = 50,
) -> list[str]:
    with transaction(database) as session:
        claimed = outbox.claim_due(
            session=session, now=clock.now(), channels=channels, address=address, limit=limit
        )
        return [message.text for message in claimed]


def _rows(database: Engine) -> dict[str, OutboxMessage]:
    with transaction(database) as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        return {row.text: row for row in rows}


def test_a_queued_message_keeps_what_it_says(database: Engine, clock: ManualClock) -> None:
    with transaction(database) as session:
        outbox.queue_message(
            session=session, address=ANN, channel="sms", text="Which do you like?",
            now=clock.now(), options=[{"number": 1, "emoji": "🍎", "label": "Food"}],
            footer="Reply with a number.", picture="food.png",
        )

    row = _rows(database)["Which do you like?"]
    assert (row.address, row.channel, row.status, row.attempts) == (ANN, "sms", "queued", 0)
    assert row.options == [{"number": 1, "emoji": "🍎", "label": "Food"}]
    assert (row.footer, row.picture, row.priority) == ("Reply with a number.", "food.png", 0)
    assert row.created_at == row.next_attempt_at == clock.now()


def test_replies_go_before_bulk_and_older_before_newer(
    database: Engine, clock: ManualClock
) -> None:
    _queue(database, clock, "bulk 1", priority=Priority.BULK, at=timedelta(minutes=-5))
    _queue(database, clock, "reply 1", at=timedelta(minutes=-4))
    _queue(database, clock, "bulk 2", priority=Priority.BULK, at=timedelta(minutes=-3))
    _queue(database, clock, "reply 2", at=timedelta(minutes=-2))

    assert _claim(database, clock) == ["reply 1", "reply 2", "bulk 1", "bulk 2"]


def test_only_what_is_due_queued_and_on_the_channels_asked_for_is_claimed(
    database: Engine, clock: ManualClock
) -> None:
    _queue(database, clock, "due")
    _queue(database, clock, "later", address=BOB, at=timedelta(seconds=1))
    _queue(database, clock, "telegram", channel="telegram", address=CATH)
    _queue(database, clock, "console", channel="console", address="console:ann")
    already_sent = _queue(database, clock, "sent")
    with transaction(database) as session:
        outbox.mark_sent(session=session, message_id=already_sent, provider_ids=["SM1"],
                         now=clock.now())

    assert _claim(database, clock) == ["due"]
    assert _claim(database, clock) == []
    assert _claim(database, clock, channels=("sms", "telegram")) == ["telegram"]
    clock.advance(timedelta(seconds=1))
    assert _claim(database, clock, channels=("sms", "console")) == ["later", "console"]


def test_only_the_address_asked_for_is_claimed(database: Engine, clock: ManualClock) -> None:
    _queue(database, clock, "to Ann", address=ANN)
    _queue(database, clock, "to Bob", address=BOB)

    assert _claim(database, clock, address=BOB) == ["to Bob"]
    assert _claim(database, clock) == ["to Ann"]


def test_a_claim_takes_no_more_than_its_limit(database: Engine, clock: ManualClock) -> None:
    for n in range(5):
        _queue(database, clock, f"message {n}", address=f"tel:+44770090010{n}")

    assert _claim(database, clock, limit=2) == ["message 0", "message 1"]
    assert _claim(database, clock, limit=10) == ["message 2", "message 3", "message 4"]


def test_a_persons_next_message_waits_while_an_earlier_one_is_being_sent(
    database: Engine, clock: ManualClock
) -> None:
    first = _queue(database, clock, "first to Ann")
    assert _claim(database, clock, limit=1) == ["first to Ann"]
    _queue(database, clock, "second to Ann")
    _queue(database, clock, "to Bob", address=BOB)

    assert _claim(database, clock) == ["to Bob"]

    with transaction(database) as session:
        outbox.mark_sent(session=session, message_id=first, provider_ids=["SM1"],
                         now=clock.now())
    assert _claim(database, clock) == ["second to Ann"]


def test_a_persons_next_message_waits_behind_one_waiting_to_be_retried(
    database: Engine, clock: ManualClock
) -> None:
    first = _queue(database, clock, "first to Ann")
    _claim(database, clock)
    with transaction(database) as session:
        outbox.mark_retry(session=session, message_id=first, error="503",
                          next_attempt_at=clock.now() + timedelta(seconds=30))
    _queue(database, clock, "second to Ann")

    assert _claim(database, clock) == []
    clock.advance(timedelta(seconds=30))
    assert _claim(database, clock) == ["first to Ann", "second to Ann"]


def test_bulk_messages_can_be_left_for_later_while_replies_go(
    database: Engine, clock: ManualClock
) -> None:
    _queue(database, clock, "invitation", priority=Priority.BULK)
    _queue(database, clock, "reply")

    with transaction(database) as session:
        claimed = outbox.claim_due(session=session, now=clock.now(), channels=["sms"],
                                   max_priority=Priority.REPLY)
        assert [message.text for message in claimed] == ["reply"]
    assert _rows(database)["invitation"].status == OutboxStatus.QUEUED


def test_messages_to_an_inactive_address_are_cancelled_not_sent(
    database: Engine, clock: ManualClock
) -> None:
    with transaction(database) as session:
        people.add_person(session=session, urns=[ANN], now=clock.now())
        people.deactivate_address(session=session, urn=ANN, reason="blocked the bot",
                                  now=clock.now())
    _queue(database, clock, "to Ann")
    _queue(database, clock, "to Bob", address=BOB)

    assert _claim(database, clock) == ["to Bob"]
    row = _rows(database)["to Ann"]
    assert (row.status, row.error) == (OutboxStatus.CANCELLED, "not sent: blocked the bot")


def test_released_messages_are_queued_again_with_the_attempt_undone(
    database: Engine, clock: ManualClock
) -> None:
    message_id = _queue(database, clock, "hello")
    _claim(database, clock)

    with transaction(database) as session:
        outbox.release(session=session, message_ids=[message_id], now=clock.now())

    row = _rows(database)["hello"]
    assert (row.status, row.attempts, row.next_attempt_at) == (
        OutboxStatus.QUEUED, 0, clock.now()
    )
    assert _claim(database, clock) == ["hello"]


def test_claimed_messages_are_being_sent_on_their_first_attempt(
    database: Engine, clock: ManualClock
) -> None:
    _queue(database, clock, "hello")
    _queue(database, clock, "not claimed", channel="telegram", address=CATH)

    _claim(database, clock)

    rows = _rows(database)
    assert (rows["hello"].status, rows["hello"].attempts) == (OutboxStatus.SENDING, 1)
    assert (rows["not claimed"].status, rows["not claimed"].attempts) == (OutboxStatus.QUEUED, 0)


def test_sent_retry_and_failed_are_stored(database: Engine, clock: ManualClock) -> None:
    sent = _queue(database, clock, "sent")
    retried = _queue(database, clock, "retried")
    failed = _queue(database, clock, "failed")
    _claim(database, clock)
    clock.advance(timedelta(seconds=3))
    later = clock.now() + timedelta(seconds=30)

    with transaction(database) as session:
        outbox.mark_sent(session=session, message_id=sent, provider_ids=["SM42"], now=clock.now())
        outbox.mark_retry(session=session, message_id=retried, error="503 from Twilio",
                          next_attempt_at=later)
        outbox.mark_failed(session=session, message_id=failed, error="number cannot get texts")

    rows = _rows(database)
    assert (rows["sent"].status, rows["sent"].provider_id, rows["sent"].sent_at) == (
        OutboxStatus.SENT, "SM42", clock.now()
    )
    assert (rows["retried"].status, rows["retried"].next_attempt_at) == (OutboxStatus.QUEUED, later)
    assert rows["retried"].error == "503 from Twilio"
    assert (rows["failed"].status, rows["failed"].error) == (
        OutboxStatus.FAILED, "number cannot get texts"
    )
    assert _claim(database, clock) == []
    clock.advance(timedelta(seconds=30))
    assert _claim(database, clock) == ["retried"]
    assert _rows(database)["retried"].attempts == 2


def test_two_dispatchers_never_claim_the_same_message(
    database: Engine, clock: ManualClock
) -> None:
    if database.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite's one writer waits instead")
    for n in range(8):
        _queue(database, clock, f"message {n}")

    with Session(database) as first, Session(database) as second:
        first_claim = outbox.claim_due(session=first, now=clock.now(), channels=["sms"], limit=5)
        # Waiting for the first session's rows would be the bug: fail rather than hang.
        second.execute(sql("SET LOCAL lock_timeout = '2s'"))
        second_claim = outbox.claim_due(session=second, now=clock.now(), channels=["sms"], limit=5)
        first_ids = {message.id for message in first_claim}
        second_ids = {message.id for message in second_claim}
        second.commit()
        first.rollback()

    assert len(first_ids) == 5
    assert len(second_ids) == 3
    assert first_ids.isdisjoint(second_ids)
    assert _claim(database, clock, limit=10) == [f"message {n}" for n in range(5)]


def test_a_dedupe_key_is_queued_once(database: Engine, clock: ManualClock) -> None:
    _queue(database, clock, "Reminder: vote by Friday", dedupe_key="vote-reminder:7:ann")

    with pytest.raises(IntegrityError), transaction(database) as session:
        outbox.queue_message(
            session=session, address=ANN, channel="sms", text="Reminder again",
            now=clock.now(), dedupe_key="vote-reminder:7:ann",
        )

    assert list(_rows(database)) == ["Reminder: vote by Friday"]


def test_messages_without_a_dedupe_key_are_all_kept(database: Engine, clock: ManualClock) -> None:
    _queue(database, clock, "first")
    _queue(database, clock, "second")

    assert list(_rows(database)) == ["first", "second"]

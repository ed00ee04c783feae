"""The inbox: each delivery stored once, and handed out one address at a time, in order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import ManualClock
from storage import inbox
from storage.database import transaction
from storage.tables import InboxMessage, InboxStatus

ANN = "tel:+447700900123"
BOB = "telegram:123456789"
CAT = "console:cat"


def _store(
    database: Engine,
    clock: ManualClock,
    *,
    address: str = ANN,
    text: str = "2",
    channel: str = "sms",
    provider_id: str | None = None,
) -> int | None:
    """Store one message a second after the last, as a channel would."""
    clock.advance(timedelta(seconds=1))
    with transaction(database) as session:
        return inbox.store_inbound(session=session, row=inbox.arriving(
            channel=channel,
            provider_id=provider_id or f"{channel}-{clock.now().timestamp()}",
            address=address,
            text=text,
            received_at=clock.now(),
        ))


def _oldest(session: Session, address: str) -> inbox.Arrived | None:
    waiting = inbox.oldest_unhandled(session=session, address=address, count=1)
    return waiting[0] if waiting else None


def _add(database: Engine, clock: ManualClock, *, address: str = ANN, text: str = "2") -> int:
    inbox_id = _store(database, clock, address=address, text=text)
    assert inbox_id is not None
    return inbox_id


def _rows(database: Engine) -> list[InboxMessage]:
    with transaction(database) as session:
        return list(session.exec(select(InboxMessage).order_by(col(InboxMessage.id))))


def test_a_message_is_stored_with_what_the_channel_said(
    database: Engine, clock: ManualClock
) -> None:
    with transaction(database) as session:
        inbox_id = inbox.store_inbound(session=session, row=inbox.arriving(
            channel="sms", provider_id="SM0001", address=ANN, text="VOTE 2",
            received_at=clock.now(), media=["https://example.org/photo.jpg"],
        ))

    [row] = _rows(database)
    assert isinstance(inbox_id, int)
    assert row.id == inbox_id
    assert (row.channel, row.provider_id, row.address, row.text) == ("sms", "SM0001", ANN, "VOTE 2")
    assert row.media == ["https://example.org/photo.jpg"]
    assert row.received_at == clock.now()
    assert row.status == InboxStatus.RECEIVED
    assert row.handled_at is None


def test_a_repeated_delivery_is_dropped(database: Engine, clock: ManualClock) -> None:
    first = _store(database, clock, provider_id="SM0001", text="2")
    again = _store(database, clock, provider_id="SM0001", text="2")

    assert first is not None
    assert again is None
    assert [row.id for row in _rows(database)] == [first]


def test_messages_arriving_together_are_stored_in_one_go_each_delivery_once(
    database: Engine, clock: ManualClock
) -> None:
    earlier = _store(database, clock, provider_id="SM0001", text="1")
    arrived = [
        inbox.arriving(channel=channel, provider_id=provider_id, address=address, text=text,
                       received_at=clock.now())
        for channel, provider_id, address, text in [
            ("sms", "SM0002", ANN, "2"),
            ("sms", "SM0001", ANN, "1"),       # stored before: a provider's retry
            ("telegram", "SM0002", BOB, "yes"),  # the same id on another channel is new
            ("sms", "SM0003", CAT, "😀"),
            ("sms", "SM0002", ANN, "2"),       # twice in one batch: stored once
        ]
    ]

    with database.begin() as connection:
        ids = inbox.store_many(connection=connection, rows=arrived)

    rows = _rows(database)
    assert [(row.channel, row.provider_id, row.text) for row in rows] == [
        ("sms", "SM0001", "1"), ("sms", "SM0002", "2"), ("telegram", "SM0002", "yes"),
        ("sms", "SM0003", "😀"),
    ]
    assert ids == [rows[1].id, None, rows[2].id, rows[3].id, None]
    assert earlier == rows[0].id


def test_the_same_provider_id_on_another_channel_is_a_new_message(
    database: Engine, clock: ManualClock
) -> None:
    by_sms = _store(database, clock, channel="sms", provider_id="1001")
    by_telegram = _store(database, clock, channel="telegram", provider_id="1001", address=BOB)

    assert by_sms is not None
    assert by_telegram is not None
    assert by_sms != by_telegram
    assert [(row.channel, row.provider_id) for row in _rows(database)] == [
        ("sms", "1001"),
        ("telegram", "1001"),
    ]


def test_the_oldest_waiting_message_of_an_address_comes_first(
    database: Engine, clock: ManualClock
) -> None:
    ann_first = _add(database, clock, address=ANN, text="SURVEY")
    _store(database, clock, address=BOB, text="VOTE")
    ann_second = _add(database, clock, address=ANN, text="2")

    with transaction(database) as session:
        both = inbox.oldest_unhandled(session=session, address=ANN, count=2)
        assert [waiting.id for waiting in both] == [ann_first, ann_second]
        message = _oldest(session, ANN)
        assert message is not None
        assert (message.id, message.text) == (ann_first, "SURVEY")
        inbox.mark_handled(session=session, message_id=message.id, person_id=None,
                           now=clock.now())

    with transaction(database) as session:
        message = _oldest(session, ANN)
        assert message is not None
        assert (message.id, message.text) == (ann_second, "2")
        inbox.mark_failed(session=session, message_id=ann_second, error="boom", now=clock.now())

    with transaction(database) as session:
        assert _oldest(session, ANN) is None
        assert _oldest(session, CAT) is None
        waiting_for_bob = _oldest(session, BOB)
        assert waiting_for_bob is not None
        assert waiting_for_bob.text == "VOTE"


def test_marking_handled_and_failed_is_stored(database: Engine, clock: ManualClock) -> None:
    handled_id = _add(database, clock, text="2")
    failed_id = _add(database, clock, text="3")
    clock.advance(timedelta(minutes=1))

    with transaction(database) as session:
        inbox.mark_handled(session=session, message_id=handled_id, person_id=None,
                           now=clock.now())
        inbox.mark_failed(
            session=session, message_id=failed_id, error="x" * 5000, now=clock.now()
        )

    handled, failed = _rows(database)
    assert (handled.status, handled.handled_at, handled.error) == (
        InboxStatus.HANDLED, clock.now(), None
    )
    assert (failed.status, failed.handled_at) == (InboxStatus.FAILED, clock.now())
    assert failed.error == "x" * 2000


def test_words_not_to_be_kept_are_replaced_when_the_message_is_handled(
    database: Engine, clock: ManualClock
) -> None:
    ballot_reply = _add(database, clock, text="2")
    answer = _add(database, clock, text="yes")
    with transaction(database) as session:
        inbox.mark_handled(session=session, message_id=ballot_reply, person_id=None,
                           now=clock.now(), kept="[a reply to a ballot, not kept]")
        inbox.mark_handled(session=session, message_id=answer, person_id=None, now=clock.now())

    assert [(row.text, row.status) for row in _rows(database)] == [
        ("[a reply to a ballot, not kept]", InboxStatus.HANDLED), ("yes", InboxStatus.HANDLED)]


def test_a_handled_message_is_not_marked_failed_afterwards(
    database: Engine, clock: ManualClock
) -> None:
    message_id = _add(database, clock)
    with transaction(database) as session:
        inbox.mark_handled(session=session, message_id=message_id, person_id=None,
                           now=clock.now())

    with transaction(database) as session:
        inbox.mark_failed(session=session, message_id=message_id, error="late", now=clock.now())

    [row] = _rows(database)
    assert (row.status, row.error) == (InboxStatus.HANDLED, None)


def test_addresses_waiting_go_by_their_oldest_waiting_message(
    database: Engine, clock: ManualClock
) -> None:
    ann_first = _add(database, clock, address=ANN)
    _store(database, clock, address=BOB)
    _store(database, clock, address=CAT)
    _store(database, clock, address=ANN)
    _store(database, clock, address=BOB)

    with transaction(database) as session:
        assert inbox.addresses_waiting(session=session) == [ANN, BOB, CAT]
        inbox.mark_handled(session=session, message_id=ann_first, person_id=None,
                           now=clock.now())

    with transaction(database) as session:
        assert inbox.addresses_waiting(session=session) == [BOB, CAT, ANN]
        assert inbox.addresses_waiting(session=session, limit=2) == [BOB, CAT]


def test_no_address_waits_when_everything_is_handled(database: Engine, clock: ManualClock) -> None:
    message_id = _add(database, clock)
    with transaction(database) as session:
        inbox.mark_failed(session=session, message_id=message_id, error="x", now=clock.now())

    with transaction(database) as session:
        assert inbox.addresses_waiting(session=session) == []


def test_a_busy_address_does_not_hide_the_others(database: Engine, clock: ManualClock) -> None:
    for _ in range(25):
        _store(database, clock, address=ANN)
    _store(database, clock, address=BOB)

    with transaction(database) as session:
        assert inbox.addresses_waiting(session=session, limit=2) == [ANN, BOB]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(("I want more trips out. " * 435)[:10_000], id="10,000 characters"),
        pytest.param("2️⃣ 👍🏽 👩‍🦽‍➡️ 🏴󠁧󠁢󠁷󠁬󠁳󠁿 ✨", id="emoji sequences"),
        pytest.param("Diolch yn fawr! Ŵ ŷ â — “quotes” ½ €", id="Welsh and punctuation"),
        pytest.param("مرحبا שלום 你好 नमस्ते", id="other scripts"),
        pytest.param(
            "e\u0301 \u200b\u200d \ufeff tab\there\r\nnew line", id="combining and invisible"
        ),
    ],
)
def test_any_text_is_stored_whole(database: Engine, clock: ManualClock, text: str) -> None:
    message_id = _add(database, clock, text=text)

    with transaction(database) as session:
        stored = session.get_one(InboxMessage, message_id)

    assert len(stored.text) == len(text)
    assert stored.text == text


def test_a_nul_character_does_not_stop_a_message_being_stored(
    database: Engine, clock: ManualClock
) -> None:
    message_id = _add(database, clock, text="VOTE\x002")

    with transaction(database) as session:
        stored = session.get_one(InboxMessage, message_id)
    assert stored.text == "VOTE2"

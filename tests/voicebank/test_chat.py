"""Chatting in the terminal, in process: lines in, replies out, through inbox, engine, outbox."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.clock import ManualClock
from storage.database import transaction
from storage.outbox import queue_message
from storage.tables import OutboxMessage
from voicebank.chat import chat, lines_from
from voicebank.demo import ensure_demo_organisation
from voicebank.settings import ENV_PREFIX, load_settings
from voicebank.wiring import Voicebank, assemble

ADDRESS = "tel:+447700900123"
REMINDER = "Zoe is visiting Willow House tomorrow at 2pm. 🗓️"


@pytest.fixture
def voicebank(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
) -> Iterator[Voicebank]:
    for name in [n for n in os.environ if n.upper().startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)  # nor the developer's own settings
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    assembled = assemble(load_settings(database_url=f"sqlite:///{tmp_path / 'v.db'}"),
                         clock=clock)
    ensure_demo_organisation(database=assembled.database, clock=assembled.clock)
    try:
        yield assembled
    finally:
        assembled.close()


def queue_reminder(voicebank: Voicebank, channel: str) -> None:
    with transaction(voicebank.database) as session:
        queue_message(session=session, address=ADDRESS, channel=channel, text=REMINDER,
                      now=voicebank.clock.now())


def outbox_statuses(voicebank: Voicebank) -> list[tuple[str, str]]:
    with Session(voicebank.database) as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        return [(row.channel, row.status) for row in rows]


async def test_replies_arrive_in_order(voicebank: Voicebank) -> None:
    written: list[str] = []

    sent = await chat(
        voicebank, address=ADDRESS, write=written.append,
        read_line=lines_from(["hello\n", "JOIN oak3\n", "\n", "1\n", "More trips out\n",
                              "5\n", "yes\n", "skip\n"]),
    )

    assert sent == 7  # the blank line is not a message
    assert "JOIN" in written[0]
    assert "Welcome to Voicebank" in written[1]
    assert "Oak Lodge" in written[1]
    assert "Tell us an idea" in written[2]
    assert "What is your idea" in written[3]
    assert "What is your idea about?" in written[4]
    assert "Can we tell staff this idea is from you?" in written[5]
    assert "Do you have a photo" in written[6]
    assert "Your idea number is 1" in written[7]
    assert len(written) == 8
    assert {status for _, status in outbox_statuses(voicebank)} == {"sent"}


async def test_a_message_queued_for_sms_is_shown_when_sms_is_not_set_up(
    voicebank: Voicebank,
) -> None:
    queue_reminder(voicebank, "sms")
    written: list[str] = []

    await chat(voicebank, address=ADDRESS, read_line=lines_from([]), write=written.append,
               show_as_console=["sms"])

    assert written == [REMINDER]
    assert outbox_statuses(voicebank) == [("sms", "sent")]


async def test_a_message_queued_for_sms_waits_when_sms_is_set_up(voicebank: Voicebank) -> None:
    queue_reminder(voicebank, "sms")
    written: list[str] = []

    await chat(voicebank, address=ADDRESS, read_line=lines_from(["hello\n"]),
               write=written.append, show_as_console=[])

    assert REMINDER not in written
    assert len(written) == 1
    assert "JOIN" in written[0]
    assert outbox_statuses(voicebank) == [("sms", "queued"), ("console", "sent")]


async def test_messages_for_someone_else_are_not_shown(voicebank: Voicebank) -> None:
    with transaction(voicebank.database) as session:
        queue_message(session=session, address="tel:+447700900001", channel="sms",
                      text=REMINDER, now=voicebank.clock.now())
    written: list[str] = []

    await chat(voicebank, address=ADDRESS, read_line=lines_from([]), write=written.append,
               show_as_console=["sms"])

    assert written == []
    assert outbox_statuses(voicebank) == [("sms", "queued")]

"""One outbox dispatcher in a process of its own, as a second machine would run one (for P5).

Started by :mod:`bench.p5_workers` as ``python -m bench.dispatch_worker``. It builds the real
:class:`~scheduler.dispatcher.Dispatcher` and Telegram sender from settings as the app does,
sends a few warm-up messages, prints ``ready``, waits for ``go`` on standard input, then runs
the dispatcher until nothing is left queued or being sent, and prints what it sent as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.clock import SystemClock
from channels.base import Delivery, Sender, TemporaryFailure
from channels.telegram import CHANNEL, TelegramSender
from scheduler.dispatcher import Dispatcher
from scheduler.pacing import Pace
from storage.database import create_database_engine, transaction
from storage.tables import OutboxMessage, OutboxStatus
from voicebank.runtime import telegram_bot
from voicebank.settings import Settings

READY = "ready"
GO = "go"
POLL_SECONDS = 0.1
CHAT_GAP = 1.0


class CountingSender:
    """The real sender, counting what this process handed over and what the provider took."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.channel = sender.channel
        self.sent = 0
        self.failed = 0

    def cost(self, delivery: Delivery) -> int:
        return self.sender.cost(delivery)

    async def send(self, delivery: Delivery) -> tuple[str, ...]:
        try:
            provider_ids = await self.sender.send(delivery)
        except TemporaryFailure:
            self.failed += 1
            raise
        self.sent += 1
        return provider_ids


def unsent(database: Engine) -> int:
    """Telegram messages still queued or being sent, by any dispatcher."""
    with transaction(database) as session:
        return int(session.exec(
            select(func.count()).select_from(OutboxMessage).where(
                col(OutboxMessage.channel) == CHANNEL,
                col(OutboxMessage.status).in_([OutboxStatus.QUEUED, OutboxStatus.SENDING]))
        ).one())


async def until_drained(database: Engine, running: asyncio.Task[None], seconds: float) -> bool:
    """Poll the outbox until it is empty; False if ``seconds`` pass or the dispatcher ends."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not running.done():
        if await asyncio.to_thread(unsent, database) == 0:
            return True
        await asyncio.wait({running}, timeout=POLL_SECONDS)
    return False


async def work(arguments: argparse.Namespace) -> dict[str, Any]:
    """Warm up, say ready, wait for go, send until the outbox is empty; report the counts."""
    settings = Settings(
        database_url=arguments.database, telegram_token=arguments.token,
        telegram_api_url=arguments.telegram_api, telegram_rate=arguments.rate,
        telegram_chat_gap=CHAT_GAP,
    )
    database = create_database_engine(settings.database_url)
    bot = telegram_bot(settings)
    try:
        await bot.initialize()
        sender = CountingSender(TelegramSender(bot=bot))
        dispatcher = Dispatcher(
            database=database, clock=SystemClock(), senders={CHANNEL: sender},
            paces={CHANNEL: Pace(rate=settings.telegram_rate,
                                 chat_gap=settings.telegram_chat_gap)},
            max_attempts=settings.send_attempts,
        )
        warmed = await dispatcher.dispatch_due(limit=arguments.warm_up)
        print(READY, flush=True)
        if (await asyncio.to_thread(sys.stdin.readline)).strip() != GO:
            return {"error": f"expected {GO!r} on standard input"}
        sender.sent = sender.failed = 0
        began, cpu_began = time.monotonic(), time.process_time()
        running = asyncio.create_task(dispatcher.run())
        try:
            drained = await until_drained(database, running, arguments.deadline)
        finally:
            dispatcher.stop()
            await running
        # CPU seconds against wall seconds: near 1 means this process, not the provider,
        # was the bound.
        return {"warm_up": warmed, "sent": sender.sent, "temporary_failures": sender.failed,
                "drained": drained, "seconds": round(time.monotonic() - began, 3),
                "cpu_seconds": round(time.process_time() - cpu_began, 3)}
    finally:
        await bot.shutdown()
        database.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dispatch_worker",
                                     description=__doc__)
    parser.add_argument("--database", required=True, help="the outbox's database URL")
    parser.add_argument("--telegram-api", required=True, help="the Bot API base URL")
    parser.add_argument("--token", required=True, help="the bot's token")
    parser.add_argument("--rate", type=float, required=True,
                        help="this process's Telegram pace, messages a second")
    parser.add_argument("--warm-up", type=int, default=0,
                        help="messages to send before saying ready")
    parser.add_argument("--deadline", type=float, default=300.0,
                        help="seconds to give up after, if the outbox never empties")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    report = asyncio.run(work(arguments))
    print(json.dumps(report), flush=True)
    return 0 if "error" not in report else 1


if __name__ == "__main__":
    sys.exit(main())

"""P5 workers: two dispatcher processes sharing one PostgreSQL outbox, against one alone.

Each run queues N messages to as many chats in one PostgreSQL database and times separate
``bench.dispatch_worker`` processes (the real dispatcher and Telegram sender, paced well above
what they reach) from ``go`` until the outbox's last message is recorded as sent. The Bot API
double answers each send after a fixed delay, as Telegram across the internet does; each
worker reports the CPU time it used, which says whether the provider or the processor bound
it. From the double's record and the outbox, every message must have been sent exactly once:
none claimed by both workers. One dispatcher and two take turns, twice each, and the
figure sets the best of each against the other.

A last run (``--full`` only) shows what per-process pacing means: two workers each paced at
a provider's limit send, together, at up to twice that limit.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select

from bench.common import Figure, Run, Skipped
from bench.dispatch_worker import GO, READY
from bot.clock import SystemClock
from channels.telegram import CHANNEL
from storage import outbox
from storage.database import create_database_engine, transaction
from storage.tables import OutboxMessage, OutboxStatus, Priority
from tests.doubles.telegram_api import DEFAULT_TOKEN, TelegramDouble

BENCH = "P5"
TITLE = "two dispatcher processes against one on PostgreSQL"

LATENCY = 0.05
"""Seconds the Bot API double takes to answer a send."""
UNBOUNDED_PACE = 1000.0
"""A pace no dispatcher reaches here, so sending, not pacing, bounds throughput."""
PROVIDER_LIMIT = 30.0
WARM_UP = 5
"""Messages each worker sends before it says it is ready."""
TARGET = 1.5
ROUNDS = (1, 2, 2, 1)
"""Dispatchers in each timed run: the figure takes the best run of one and of two."""
FIRST_CHAT = 7_000_000
START_SECONDS = 60.0
REPO = Path(__file__).resolve().parents[1]


class SlowTelegramDouble(TelegramDouble):
    """The Bot API double, answering each send after ``latency`` seconds, as a provider across
    the internet does."""

    def __init__(self, *, latency: float) -> None:
        super().__init__()
        self.latency = latency

    async def _send(self, method: str, params: dict[str, Any]) -> web.Response:
        await asyncio.sleep(self.latency)  # the provider's time to answer
        return await super()._send(method, params)


@dataclass(frozen=True)
class Drain:
    """One timed drain of the outbox by ``workers`` dispatcher processes."""

    workers: int
    messages: int
    seconds: float
    sent_by_worker: list[int]
    cpu_share_by_worker: list[float]
    temporary_failures: int
    exactly_once: int
    lost: int
    twice: int
    unexpected: int
    claimed_again: int
    unsettled: int
    busiest: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0

    @property
    def clean(self) -> bool:
        """Every message sent exactly once and recorded as sent."""
        return (self.exactly_once == self.messages and self.twice == self.unexpected == 0
                and self.claimed_again == 0 and self.unsettled == 0)

    def as_detail(self) -> dict[str, Any]:
        return {
            "messages": self.messages, "seconds": round(self.seconds, 3),
            "messages_per_s": round(self.rate, 1), "sent_by_worker": self.sent_by_worker,
            "cpu_s_per_s_by_worker": self.cpu_share_by_worker,
            "temporary_failures": self.temporary_failures, "exactly_once": self.exactly_once,
            "lost": self.lost, "sent_twice": self.twice, "unexpected_sends": self.unexpected,
            "claimed_more_than_once": self.claimed_again, "not_marked_sent": self.unsettled,
            "busiest_1s_window": self.busiest,
        }


def text_for(n: int) -> str:
    return f"Outbox message {n}: the garden opens on Saturday at 2pm."


def queue_messages(database: Engine, first: int, count: int) -> list[int]:
    """Queue messages ``first`` to ``first + count - 1``, each to a chat of its own."""
    now = SystemClock().now()
    ids = []
    with transaction(database) as session:
        for n in range(first, first + count):
            ids.append(outbox.queue_message(
                session=session, address=f"{CHANNEL}:{FIRST_CHAT + n}", channel=CHANNEL,
                text=text_for(n), now=now, priority=Priority.BULK,
            ))
    return ids


def sent_times(database: Engine, ids: list[int]) -> tuple[list[datetime], int, int]:
    """When each of ``ids`` was recorded as sent, how many were not, and how many were
    claimed more than once (each claim counts an attempt)."""
    with transaction(database) as session:
        rows = list(session.exec(
            select(OutboxMessage.status, OutboxMessage.sent_at, OutboxMessage.attempts).where(
                col(OutboxMessage.id).in_(ids))))
    times = [sent_at for status, sent_at, _ in rows
             if status == OutboxStatus.SENT and sent_at is not None]
    return times, len(ids) - len(times), sum(1 for *_, attempts in rows if attempts > 1)


def busiest_window(times: list[float], seconds: float = 1.0) -> int:
    """The most of ``times`` in any window ``[t, t + seconds)``."""
    ordered = sorted(times)
    best = end = 0
    for start, at in enumerate(ordered):
        while end < len(ordered) and ordered[end] < at + seconds:
            end += 1
        best = max(best, end - start)
    return best


async def start_worker(
    url: str, double: TelegramDouble, pace: float, deadline: float
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.dispatch_worker", "--database", url,
        "--telegram-api", double.base_url, "--token", DEFAULT_TOKEN, "--rate", str(pace),
        "--warm-up", str(WARM_UP),
        "--deadline", str(deadline),
        cwd=REPO, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )


async def read_line(process: asyncio.subprocess.Process, seconds: float) -> str:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=seconds)
    if not line:
        raise RuntimeError(f"dispatcher worker {process.pid} ended early "
                           f"(exit status {await process.wait()})")
    return line.decode().strip()


async def drive(
    url: str, database: Engine, double: TelegramDouble, *, first: int, workers: int,
    count: int, pace: float,
) -> Drain:
    """Queue warm-up messages and start the workers; once they are ready, queue the
    messages to time, say go, and time the drain."""
    deadline = START_SECONDS + count / 10
    warm_up = WARM_UP * workers
    earlier = len(double.sent())
    await asyncio.to_thread(queue_messages, database, first, warm_up)
    processes = [await start_worker(url, double, pace, deadline) for _ in range(workers)]
    try:
        for process in processes:
            if (said := await read_line(process, START_SECONDS)) != READY:
                raise RuntimeError(f"dispatcher worker {process.pid} said {said!r}")
        ids = await asyncio.to_thread(queue_messages, database, first + warm_up, count)
        go = datetime.now(UTC)
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(f"{GO}\n".encode())
            await process.stdin.drain()
        reports = [json.loads(await read_line(process, deadline + START_SECONDS))
                   for process in processes]
        for process in processes:
            await process.wait()
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    times, unsettled, claimed_again = await asyncio.to_thread(sent_times, database, ids)
    seconds = (max(times) - go).total_seconds() if times else 0.0

    expected = Counter((FIRST_CHAT + n, text_for(n)) for n in range(first,
                                                                    first + warm_up + count))
    sends = double.sent()[earlier:]
    got = Counter((call.params.get("chat_id"), call.params.get("text")) for call in sends)
    timed = {(FIRST_CHAT + n, text_for(n)) for n in range(first + warm_up,
                                                           first + warm_up + count)}
    return Drain(
        workers=workers, messages=count, seconds=seconds,
        sent_by_worker=[int(report.get("sent", 0)) for report in reports],
        cpu_share_by_worker=[
            round(float(report.get("cpu_seconds", 0.0)) / float(report.get("seconds", 1.0)), 2)
            for report in reports],
        temporary_failures=sum(int(report.get("temporary_failures", 0)) for report in reports),
        exactly_once=sum(1 for key in timed if got[key] == 1),
        lost=sum(1 for key in expected if got[key] == 0),
        twice=sum(1 for key in expected if got[key] > 1),
        unexpected=sum(n for key, n in got.items() if key not in expected),
        claimed_again=claimed_again,
        unsettled=unsettled,
        busiest=float(busiest_window([call.at for call in sends
                                      if (call.params.get("chat_id"),
                                          call.params.get("text")) in timed])),
    )


async def drains(
    url: str, database: Engine, double: TelegramDouble, count: int, paced_count: int
) -> tuple[list[Drain], list[Drain], Drain | None]:
    """One dispatcher, two, two again and one again, unbounded (so a busy moment on the
    machine does not fall on one side only); then, unless ``paced_count`` is 0, two paced
    at the provider's limit each."""
    ones: list[Drain] = []
    twos: list[Drain] = []
    for index, workers in enumerate(ROUNDS):
        drain = await drive(url, database, double, first=2 * index * count, workers=workers,
                            count=count, pace=UNBOUNDED_PACE)
        (ones if workers == 1 else twos).append(drain)
    paced = None
    if paced_count:
        paced = await drive(url, database, double, first=2 * len(ROUNDS) * count, workers=2,
                            count=paced_count, pace=PROVIDER_LIMIT)
    return ones, twos, paced


def unreachable(url: str) -> str | None:
    """Why the PostgreSQL server cannot be used, or None if it answers."""
    engine = create_database_engine(url)
    try:
        with engine.connect():
            return None
    except OperationalError as error:
        first_line = str(error.orig).strip().splitlines()[0]
        return f"PostgreSQL at {engine.url.render_as_string()} did not answer: {first_line}"
    finally:
        engine.dispose()


def run(run: Run) -> list[Figure | Skipped]:
    if run.postgres_url is None:
        return [Skipped(BENCH, "needs PostgreSQL: pass --postgres URL")]
    reason = unreachable(run.postgres_url)
    if reason is not None:
        return [Skipped(BENCH, reason)]
    count = run.size(300, 3000)
    # Quick runs leave out the per-process pacing run: it shows a design limit, not a target.
    paced_count = run.size(0, 600)
    # The runs share one database and one double (Telegram numbers messages in a chat, and
    # the outbox keys delivery reports by that number, so a fresh double would repeat them):
    # what earlier runs sent stays behind as sent rows, as it would in a live outbox.
    with SlowTelegramDouble(latency=LATENCY) as double, \
            run.database("postgresql", "p5") as (url, database):
        ones, twos, paced = asyncio.run(drains(url, database, double, count, paced_count))
    one, two = (max(drains_, key=lambda drain: drain.rate) for drains_ in (ones, twos))
    scaling = Figure(
        BENCH, "2 dispatchers vs 1 on PostgreSQL", round(two.rate, 1), "messages/s",
        baseline=round(one.rate, 1), baseline_name="1 dispatcher",
        target=f"ratio >= {TARGET}, none claimed twice",
        detail={"provider_latency_s": LATENCY, "pace_each": UNBOUNDED_PACE,
                "rounds": list(ROUNDS),
                "one_messages_per_s_by_round": [round(d.rate, 1) for d in ones],
                "two_messages_per_s_by_round": [round(d.rate, 1) for d in twos],
                "one": one.as_detail(), "two": two.as_detail()},
    )
    scaling.met = ((scaling.ratio or 0.0) >= TARGET
                   and all(drain.clean for drain in (*ones, *twos)))
    if paced is None:
        return [scaling]
    per_process = Figure(
        BENCH, f"2 dispatchers paced {PROVIDER_LIMIT:g}/s each: busiest 1 s", paced.busiest,
        "messages", baseline=PROVIDER_LIMIT, baseline_name="each one's pace",
        higher_is_better=False,
        detail={"why": "pacing is kept per process: M dispatchers send up to M times the pace "
                       "set, so each must be set to the channel's limit divided by M",
                **paced.as_detail()},
    )
    return [scaling, per_process]

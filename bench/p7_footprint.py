"""P7: Voicebank's resident memory idle and with many conversations in progress, and its
start-up time to the first healthy response, each beside a bare Starlette app under uvicorn.

The conversations are real ones: people from as many numbers text the join code through the
signed Twilio webhook, are welcomed, and are asked the menu question, which waits for their
answer (mid-onboarding, as the engine stores it). Memory is VmRSS from /proc, children
included, in MB of 10^6 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bench.common import Figure, Run, Skipped
from bench.loadgen import HOST, INBOUND_PATH, LoadPlan, LoadReport, generate_load
from bench.p2_webhook import (
    JOIN_CODE,
    SMS_NUMBER,
    ServerProcess,
    add_join_service,
    bare_command,
    count_rows,
    free_port,
    inbox_counts,
    peak_resident_mb,
    phone_number,
    resident_mb,
    serving,
    voicebank_command,
    voicebank_environment,
    wait_until_handled,
    wait_until_idle,
)
from storage.tables import Conversation, OutboxMessage, Person
from tests.doubles.twilio_api import TEST_AUTH_TOKEN, TwilioDouble

TITLE = "resident memory idle and with conversations in progress, and start-up time"
BENCH = "P7"
TARGET_MB = 300.0
CLIENTS = 20


@dataclass
class Footprint:
    """One server's start-up times and its memory once healthy and idle."""

    startups: list[float]
    idle_mb: float
    idle_settled: bool


@dataclass
class InProgress:
    """Voicebank once the conversations were taken in and handled."""

    load: LoadReport
    handled_within: float | None
    settled: bool
    resident_mb: float
    peak_mb: float
    conversations: int
    people: int
    inbox: dict[str, int]
    outbox: int


def _bare(run: Run, starts: int) -> Footprint:
    startups: list[float] = []
    idle_mb, settled = 0.0, False
    for start in range(starts):
        port = free_port()
        with serving("bare", bare_command(port), workdir=run.workdir, port=port) as server:
            startups.append(server.startup_seconds)
            if start == 0:
                settled = wait_until_idle(server.process.pid)
                idle_mb = resident_mb(server.process.pid)
    return Footprint(startups=startups, idle_mb=idle_mb, idle_settled=settled)


def _joins(port: int, count: int) -> LoadPlan:
    """``count`` people, each texting the join code once from their own number."""
    url = f"http://{HOST}:{port}{INBOUND_PATH}"
    return LoadPlan(target=url, signed_url=url, auth_token=TEST_AUTH_TOKEN, to=SMS_NUMBER,
                    concurrency=CLIENTS, warmup=[],
                    timed=[(phone_number(n), f"JOIN {JOIN_CODE}") for n in range(count)])


def _take_in(run: Run, server: ServerProcess, conversations: int, database: Engine
             ) -> InProgress:
    """Have ``conversations`` people join through the app, wait until every text is handled
    and the process is quiet again, and read its memory."""
    pid = server.process.pid
    load = generate_load(_joins(server.port, conversations), run.workdir, "p7")
    handled_within = wait_until_handled(database, within=run.size(300, 1800))
    settled = wait_until_idle(pid)
    return InProgress(
        load=load, handled_within=handled_within, settled=settled,
        resident_mb=resident_mb(pid), peak_mb=peak_resident_mb(pid),
        conversations=count_rows(database, Conversation), people=count_rows(database, Person),
        inbox=inbox_counts(database), outbox=count_rows(database, OutboxMessage),
    )


def _voicebank(run: Run, starts: int, conversations: int, url: str, database: Engine,
               twilio: TwilioDouble) -> tuple[Footprint, InProgress]:
    """Start Voicebank ``starts`` times on one database; the last time, measure it idle and
    then with the conversations in progress."""
    add_join_service(database)
    startups: list[float] = []
    for _ in range(starts - 1):
        port = free_port()
        settings = voicebank_environment(database_url=url, port=port,
                                         twilio_url=twilio.base_url)
        with serving("voicebank", voicebank_command(port), workdir=run.workdir, port=port,
                     settings=settings) as server:
            startups.append(server.startup_seconds)
    port = free_port()
    settings = voicebank_environment(database_url=url, port=port, twilio_url=twilio.base_url)
    with serving("voicebank", voicebank_command(port), workdir=run.workdir, port=port,
                 settings=settings) as server:
        startups.append(server.startup_seconds)
        idle_settled = wait_until_idle(server.process.pid)
        idle = Footprint(startups=startups, idle_mb=resident_mb(server.process.pid),
                         idle_settled=idle_settled)
        busy = _take_in(run, server, conversations, database)
    return idle, busy


def _figures(bare: Footprint, voicebank: Footprint, busy: InProgress, conversations: int
             ) -> list[Figure | Skipped]:
    idle_figure = Figure(
        bench=BENCH, name="resident memory, idle", value=voicebank.idle_mb, unit="MB",
        baseline=bare.idle_mb, baseline_name="bare Starlette idle", higher_is_better=False,
        target=f"< {TARGET_MB:.0f} MB", met=voicebank.idle_mb < TARGET_MB,
        detail={"settled_before_reading": voicebank.idle_settled,
                "bare_settled_before_reading": bare.idle_settled},
    )
    busy_figure = Figure(
        bench=BENCH, name=f"resident memory, {conversations:,} conversations in progress",
        value=busy.resident_mb, unit="MB", baseline=bare.idle_mb,
        baseline_name="bare Starlette idle", higher_is_better=False,
        target=f"< {TARGET_MB:.0f} MB",
        met=busy.resident_mb < TARGET_MB and busy.conversations >= conversations,
        detail={
            "idle_mb": round(voicebank.idle_mb, 1),
            "grew_by_mb": round(busy.resident_mb - voicebank.idle_mb, 1),
            "peak_mb": round(busy.peak_mb, 1),
            "conversations_stored": busy.conversations,
            "people": busy.people,
            "inbox_by_status": busy.inbox,
            "outbox_rows": busy.outbox,
            "join_texts_per_s": round(busy.load.per_second, 1),
            "join_failures": busy.load.failures,
            "handled_all_within_s_after_load": (None if busy.handled_within is None
                                                else round(busy.handled_within, 1)),
            "settled_before_reading": busy.settled,
            "note": "met needs the memory under the bar and every conversation stored",
        },
    )
    startup = Figure(
        bench=BENCH, name="start-up to first healthy response", value=min(voicebank.startups),
        unit="s", baseline=min(bare.startups), baseline_name="bare Starlette",
        higher_is_better=False,
        detail={"starts": [round(s, 2) for s in voicebank.startups],
                "bare_starts": [round(s, 2) for s in bare.startups],
                "note": "best of the starts, each on the same migrated SQLite file"},
    )
    return [idle_figure, busy_figure, startup]


def run(run: Run) -> list[Figure | Skipped]:
    starts = run.size(1, 3)
    conversations = run.size(300, 10_000)
    bare = _bare(run, starts)
    with TwilioDouble() as twilio, run.database("sqlite", "p7") as (url, database):
        voicebank, busy = _voicebank(run, starts, conversations, url, database, twilio)
    return _figures(bare, voicebank, busy, conversations)

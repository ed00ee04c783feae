"""P2: signed Twilio webhooks per second through uvicorn, with the signature check and the inbox
insert, and their latency at 100 clients, against a bare Starlette endpoint on the same server.

Both servers run as a user runs them, in their own process (``voicebank run``, and uvicorn with
the same settings for the bare app); the load generator runs in a third. This module also holds
the server-process helpers P7 uses.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from bench.common import Figure, Run, Skipped
from bench.loadgen import EMPTY_TWIML, HOST, INBOUND_PATH, LoadPlan, LoadReport, generate_load
from storage import people
from storage.database import create_database_engine, transaction
from storage.tables import InboxMessage, InboxStatus, OutboxMessage
from tests.doubles.twilio_api import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TwilioDouble
from voicebank.web import webhooks

TITLE = "signed Twilio webhooks through uvicorn, against a bare Starlette endpoint"
BENCH = "P2"
REPO = Path(__file__).resolve().parents[1]
SMS_NUMBER = "+447700900000"
JOIN_CODE = "WILLOW1"
CLIENTS = 100
TARGET_RATIO = 0.3
TARGET_P99_MS = 250.0
HEALTHY_WITHIN = 60.0
STOP_WITHIN = 40.0
# What people text once they have joined, in turn: the engine answers each for real.
CONVERSATION = ("MENU", "IDEA", "More trips to the seaside please", "1", "yes", "HELP",
                "hello", "2", "MENU", "SURVEY", "thanks")


def phone_number(index: int) -> str:
    """The ``index``-th person's mobile number (07700 9xxxxx, kept for drama)."""
    return f"+447700{900001 + index}"


def conversation_traffic(*, people_count: int, messages: int) -> list[tuple[str, str]]:
    """``messages`` texts from ``people_count`` numbers: everyone joins first, then each says
    the next thing in :data:`CONVERSATION`, round and round."""
    traffic = []
    for index in range(messages):
        person, turn = index % people_count, index // people_count
        body = f"JOIN {JOIN_CODE}" if turn == 0 else CONVERSATION[(turn - 1) % len(CONVERSATION)]
        traffic.append((phone_number(person), body))
    return traffic


# -- server processes ---------------------------------------------------------------------------


@dataclass
class ServerProcess:
    """A web server in its own process, healthy, with how long it took to get there."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    startup_seconds: float
    log: Path


def free_port() -> int:
    """A TCP port nothing listens on now (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def voicebank_command(port: int | None, *roles: str) -> list[str]:
    """``voicebank run`` on ``port`` (``voicebank worker`` without one), with ``roles`` such as
    ``--no-handling``: the installed script beside this Python, as a user runs it, or the same
    entry point through ``-c`` when the script is not there."""
    script = Path(sys.executable).with_name("voicebank")
    arguments = (["run", "--host", HOST, "--port", str(port)] if port is not None
                 else ["worker"]) + list(roles)
    if script.is_file():
        return [str(script), *arguments]
    entry = "import sys; from voicebank.cli import main; sys.argv[0] = 'voicebank'; main()"
    return [sys.executable, "-c", entry, *arguments]


def bare_command(port: int) -> list[str]:
    return [sys.executable, "-m", "bench.loadgen", "serve", "--port", str(port)]


def voicebank_environment(*, database_url: str, port: int, twilio_url: str | None
                          ) -> dict[str, str]:
    """The process environment for ``voicebank run``: SMS on, pointed at the Twilio double.

    Quiet hours are off so the dispatcher behaves the same whatever the time of day.
    """
    settings = {
        "VOICEBANK_DATABASE_URL": database_url,
        "VOICEBANK_PUBLIC_URL": f"http://{HOST}:{port}",
        "VOICEBANK_QUIET_HOURS": "",
    }
    if twilio_url is not None:
        settings |= {
            "VOICEBANK_TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID,
            "VOICEBANK_TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
            "VOICEBANK_TWILIO_FROM": SMS_NUMBER,
            "VOICEBANK_TWILIO_API_URL": twilio_url,
        }
    return settings


def _environment(settings: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any Voicebank settings of its own, plus ``settings``;
    the repository is on the path so ``bench`` and ``tests`` import from the work directory."""
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("VOICEBANK_")}
    path = environment.get("PYTHONPATH")
    environment["PYTHONPATH"] = f"{REPO}{os.pathsep}{path}" if path else str(REPO)
    return environment | dict(settings)


def _answers_healthy(port: int) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@contextlib.contextmanager
def working(name: str, command: list[str], *, workdir: Path,
            settings: Mapping[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` (a worker, serving no web) until the block ends."""
    with (workdir / f"{name}.log").open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own commands
            command, cwd=workdir, env=_environment(settings), stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            _stop(process)


@contextlib.contextmanager
def serving(name: str, command: list[str], *, workdir: Path, port: int,
            settings: Mapping[str, str] | None = None) -> Iterator[ServerProcess]:
    """Start ``command`` in ``workdir`` (so no ``.env`` of the repository is read), wait for
    its first 200 from /healthz, and stop it with Ctrl+C when the block ends."""
    log = workdir / f"{name}-{port}.log"
    with log.open("wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 - our own commands
            command, cwd=workdir, env=_environment(settings or {}),
            stdout=output, stderr=subprocess.STDOUT,
        )
        try:
            while not _answers_healthy(port):
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode} before it was "
                                       f"healthy:\n{_tail(log)}")
                if time.perf_counter() - started > HEALTHY_WITHIN:
                    raise RuntimeError(f"{name} was not healthy within {HEALTHY_WITHIN:.0f} s:"
                                       f"\n{_tail(log)}")
                time.sleep(0.01)
            startup = time.perf_counter() - started
            yield ServerProcess(name, process, port, startup, log)
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(log: Path, characters: int = 3000) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-characters:]


# -- memory and CPU of a process ----------------------------------------------------------------


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants, as /proc lists them."""
    tree, index = [pid], 0
    while index < len(tree):
        for task in Path(f"/proc/{tree[index]}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                tree.extend(int(child) for child in task.read_text().split())
        index += 1
    return tree


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def resident_mb(pid: int) -> float:
    """Resident memory (VmRSS) of the process and its children, in MB (10^6 bytes)."""
    return sum(_status_kib(member, "VmRSS") for member in _process_tree(pid)) * 1024 / 1e6


def peak_resident_mb(pid: int) -> float:
    """The most resident memory (VmHWM) the process and its children have held, in MB (the
    sum of each one's own peak)."""
    return sum(_status_kib(member, "VmHWM") for member in _process_tree(pid)) * 1024 / 1e6


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = int(fields[11]) + int(fields[12])  # utime and stime
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pid: int, *, window: float = 0.5, busy: float = 0.05,
                    within: float = 15.0) -> bool:
    """Poll until the process used under ``busy`` of a CPU over ``window`` seconds; False if
    it was still busy after ``within`` seconds."""
    deadline = time.perf_counter() + within
    before = _cpu_seconds(pid)
    while time.perf_counter() < deadline:
        time.sleep(window)
        after = _cpu_seconds(pid)
        if after - before < busy * window:
            return True
        before = after
    return False


# -- the database ----------------------------------------------------------------------------


def add_join_service(database: Engine) -> None:
    """The service people join by texting :data:`JOIN_CODE`."""
    with transaction(database) as session:
        constituency = people.add_constituency(session=session, name="Willow area")
        assert constituency.id is not None
        people.add_service(session=session, name="Willow House",
                           constituency_id=constituency.id, join_code=JOIN_CODE)


def inbox_counts(database: Engine) -> dict[str, int]:
    """Inbox rows by status."""
    with Session(database) as session:
        rows = session.exec(select(InboxMessage.status, func.count())
                            .group_by(col(InboxMessage.status))).all()
    return {str(status): int(count) for status, count in rows}


def count_rows(database: Engine, table: type[Any]) -> int:
    with Session(database) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def wait_until_handled(database: Engine, *, within: float) -> float | None:
    """Poll until no inbox row is waiting to be handled; the seconds it took, or None if
    some still waited after ``within`` seconds."""
    started = time.perf_counter()
    while inbox_counts(database).get(InboxStatus.RECEIVED, 0):
        if time.perf_counter() - started > within:
            return None
        time.sleep(0.1)
    return time.perf_counter() - started


# -- the benchmark ---------------------------------------------------------------------------


@dataclass
class Sizes:
    """How many people text, how much each phase sends at most, and for how long at most."""

    people: int
    warmup: int
    warmup_seconds: float
    timed: int
    seconds: float
    drain_within: float


def _plan(port: int, sizes: Sizes) -> LoadPlan:
    traffic = conversation_traffic(people_count=sizes.people,
                                   messages=sizes.warmup + sizes.timed)
    url = f"http://{HOST}:{port}{INBOUND_PATH}"
    return LoadPlan(target=url, signed_url=url, auth_token=TEST_AUTH_TOKEN, to=SMS_NUMBER,
                    concurrency=CLIENTS, warmup=traffic[:sizes.warmup],
                    timed=traffic[sizes.warmup:], warmup_seconds=sizes.warmup_seconds,
                    seconds=sizes.seconds)


def _bare(run: Run, sizes: Sizes) -> LoadReport:
    port = free_port()
    with serving("bare", bare_command(port), workdir=run.workdir, port=port):
        return generate_load(_plan(port, sizes), run.workdir, "p2-bare")


@dataclass
class ProductRun:
    """Voicebank under the load, and what its database held afterwards."""

    load: LoadReport
    inbox: int
    expected: int
    handled_after: float | None
    inbox_by_status: dict[str, int]
    outbox: int


LAYOUTS = {
    # docs/deploy.md: a web worker that only stores what arrives, a worker handles it.
    "web worker": ("--no-handling", "--no-dispatcher", "--no-scheduler"),
    # The one-machine default: the same process stores, handles, sends and schedules.
    "all in one process": (),
}


def _product(run: Run, sizes: Sizes, database_url: str, database: Engine,
             twilio: TwilioDouble, layout: str) -> ProductRun:
    add_join_service(database)
    port = free_port()
    settings = voicebank_environment(database_url=database_url, port=port,
                                     twilio_url=twilio.base_url)
    with serving("voicebank", voicebank_command(port, *LAYOUTS[layout]), workdir=run.workdir,
                 port=port, settings=settings):
        load = generate_load(_plan(port, sizes), run.workdir, "p2-voicebank")
        inbox = count_rows(database, InboxMessage)
        handling = (working("voicebank-worker", voicebank_command(None, "--no-scheduler"),
                            workdir=run.workdir, settings=settings)
                    if LAYOUTS[layout] else contextlib.nullcontext())
        with handling:
            handled_after = wait_until_handled(database, within=sizes.drain_within)
        by_status = inbox_counts(database)
        outbox = count_rows(database, OutboxMessage)
    return ProductRun(load=load, inbox=inbox, expected=load.warmup_sent + load.sent,
                      handled_after=handled_after, inbox_by_status=by_status, outbox=outbox)


def _figures(backend: str, layout: str, bare: LoadReport, product: ProductRun
             ) -> list[Figure | Skipped]:
    load = product.load
    inbox_exact = product.inbox == product.expected
    throughput = Figure(
        bench=BENCH, name=f"signed webhooks/s, {CLIENTS} clients, {layout} ({backend})",
        value=load.per_second, unit="req/s", baseline=bare.per_second,
        baseline_name="bare Starlette", target=f"ratio >= {TARGET_RATIO}",
        detail={
            "requests": load.sent, "seconds": round(load.seconds, 2),
            "statuses": load.statuses, "errors": load.errors, "failures": load.failures,
            "bare_requests": bare.sent, "bare_failures": bare.failures,
            "inbox_rows": product.inbox, "messages_sent": product.expected,
            "inbox_holds_exactly_what_was_sent": inbox_exact,
            "inbox_by_status": product.inbox_by_status,
            "handled_all_within_s_after_load": (None if product.handled_after is None
                                                else round(product.handled_after, 2)),
            "outbox_rows": product.outbox,
            "note": "met needs the ratio, no failed request and the inbox holding exactly the "
                    "messages sent (warm-up included)",
        },
    )
    ratio = throughput.ratio or 0.0
    throughput.met = ratio >= TARGET_RATIO and load.failures == 0 and inbox_exact
    latency = Figure(
        bench=BENCH, name=f"p99 latency, {CLIENTS} clients, {layout} ({backend})",
        value=load.p99_ms, unit="ms", baseline=bare.p99_ms, baseline_name="bare Starlette p99",
        higher_is_better=False, target=f"p99 < {TARGET_P99_MS:.0f} ms",
        met=load.p99_ms < TARGET_P99_MS and load.failures == 0,
        detail={"p50_ms": round(load.p50_ms, 1), "max_ms": round(load.max_ms, 1),
                "bare_p50_ms": round(bare.p50_ms, 1), "bare_max_ms": round(bare.max_ms, 1),
                # Every client waits for its answer before sending again, so the mean latency
                # is about clients / throughput (Little's law): the latency bar is also a
                # throughput bar.
                "clients_over_throughput_ms": round(CLIENTS / load.per_second * 1000, 1)
                if load.per_second else None},
    )
    return [throughput, latency]


def run(run: Run) -> list[Figure | Skipped]:
    if webhooks.EMPTY_TWIML != EMPTY_TWIML:
        raise RuntimeError("the bare endpoint must answer with the same TwiML as Voicebank")
    sizes = Sizes(
        people=run.size(150, 1_000), warmup=run.size(200, 1_000),
        warmup_seconds=run.size(1, 30), timed=run.size(1_500, 20_000),
        seconds=run.size(4, 20), drain_within=run.size(15, 300),
    )
    results: list[Figure | Skipped] = []
    bare = _bare(run, sizes)
    with TwilioDouble() as twilio:
        for backend in ("sqlite", "postgresql"):
            unreachable = postgres_unreachable(run) if backend == "postgresql" else None
            if unreachable is not None:
                results.append(Skipped(BENCH, f"PostgreSQL figures: {unreachable}"))
                continue
            for layout in LAYOUTS:
                with run.database(backend, "p2") as (url, database):
                    product = _product(run, sizes, url, database, twilio, layout)
                results.extend(_figures(backend, layout, bare, product))
    return results


def postgres_unreachable(run: Run) -> str | None:
    """Why the PostgreSQL figures cannot be measured here, or None when they can."""
    if run.postgres_url is None:
        return "no server given (--postgres URL)"
    server = create_database_engine(run.postgres_url)
    try:
        with server.connect():
            return None
    except OperationalError as error:
        return f"the server did not answer ({error.orig or error})".replace("\n", " ")
    finally:
        server.dispose()

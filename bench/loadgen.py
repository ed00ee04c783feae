"""The processes the webhook benchmarks start beside the app: the load generator, and the bare
Starlette endpoint it is measured against.

``python -m bench.loadgen serve --port P`` serves :data:`bare_app` the way ``voicebank run``
serves Voicebank. ``python -m bench.loadgen send PLAN.json`` signs every inbound SMS of the plan
as Twilio would, posts the warm-up, then the timed ones, from many keep-alive clients at once,
and prints what each phase saw as JSON; :func:`generate_load` runs it and makes the
:class:`LoadReport`. Only Starlette and the standard library load at import, so the bare
server's memory is Starlette's and uvicorn's, nothing of ours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

HOST = "127.0.0.1"
INBOUND_PATH = "/sms/twilio"
# The same empty answer voicebank.web.webhooks gives Twilio (p2_webhook checks they match).
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
REQUEST_TIMEOUT = 60.0


async def bare_inbound(request: Request) -> Response:
    """Read the form and answer with empty TwiML: a webhook with none of Voicebank's work."""
    await request.form()
    return Response(EMPTY_TWIML, media_type="application/xml")


async def bare_healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


bare_app = Starlette(routes=[
    Route(INBOUND_PATH, bare_inbound, methods=["POST"]),
    Route("/healthz", bare_healthz),
])


@dataclass
class LoadPlan:
    """Who texts what, in order: the warm-up first, then the timed messages. Each phase ends
    when its messages run out or its seconds (None: no limit) are up."""

    target: str
    signed_url: str
    auth_token: str
    to: str
    concurrency: int
    warmup: list[tuple[str, str]]
    timed: list[tuple[str, str]]
    warmup_seconds: float | None = None
    seconds: float | None = None


@dataclass
class LoadReport:
    """What the timed phase saw: requests answered, their rate and latency, and failures."""

    sent: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    errors: dict[str, int]
    warmup_sent: int

    @property
    def failures(self) -> int:
        """Requests not answered with a 2xx (refused, failed or never answered)."""
        refused = sum(n for status, n in self.statuses.items() if not status.startswith("2"))
        return refused + sum(self.errors.values())


@dataclass
class _Phase:
    """One phase as the load generator saw it: every latency, for percentiles."""

    sent: int
    seconds: float
    latencies: list[float]
    statuses: dict[str, int]
    errors: dict[str, int]


def generate_load(plan: LoadPlan, workdir: Path, name: str) -> LoadReport:
    """Run the plan in a separate process (so the client does not share the server's
    interpreter) and return what its timed phase saw."""
    from bench.common import percentile

    plan_file = workdir / f"{name}-plan.json"
    plan_file.write_text(json.dumps(asdict(plan)), encoding="utf-8")
    finished = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.loadgen", "send", str(plan_file)],
        capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parents[1],
    )
    if finished.returncode != 0:
        raise RuntimeError(f"the load generator failed ({finished.returncode}):\n"
                           f"{finished.stderr[-3000:]}")
    phases = json.loads(finished.stdout)
    warmup, timed = _Phase(**phases["warmup"]), _Phase(**phases["timed"])
    if warmup.errors or any(not status.startswith("2") for status in warmup.statuses):
        raise RuntimeError(f"the warm-up failed: {warmup.statuses} {warmup.errors}")
    answered = sum(timed.statuses.values())
    return LoadReport(
        sent=timed.sent,
        seconds=timed.seconds,
        per_second=answered / timed.seconds if timed.seconds else 0.0,
        p50_ms=percentile(timed.latencies, 0.50) * 1000,
        p99_ms=percentile(timed.latencies, 0.99) * 1000,
        max_ms=max(timed.latencies, default=0.0) * 1000,
        statuses=timed.statuses,
        errors=timed.errors,
        warmup_sent=warmup.sent,
    )


def _signed(plan: LoadPlan, messages: list[tuple[str, str]]) -> list[tuple[bytes, str]]:
    """Each message as the form body and X-Twilio-Signature Twilio would send, with a new
    MessageSid each."""
    from urllib.parse import urlencode

    from tests.doubles.twilio_api import inbound_sms_params, twilio_signature

    signed = []
    for sender, body in messages:
        params = inbound_sms_params(from_=sender, to=plan.to, body=body,
                                    sid="SM" + secrets.token_hex(16))
        signed.append((urlencode(params).encode("utf-8"),
                       twilio_signature(plan.auth_token, plan.signed_url, params)))
    return signed


async def _post_all(
    plan: LoadPlan, requests: list[tuple[bytes, str]], seconds: float | None
) -> _Phase:
    """Post ``requests`` from ``plan.concurrency`` clients, each taking the next one in turn,
    until they run out or ``seconds`` are up."""
    import aiohttp

    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    pending = iter(requests)
    started = time.perf_counter()
    deadline = None if seconds is None else started + seconds
    sent = 0

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal sent
        for body, signature in pending:
            if deadline is not None and time.perf_counter() >= deadline:
                return
            sent += 1
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "X-Twilio-Signature": signature}
            begun = time.perf_counter()
            try:
                async with session.post(plan.target, data=body, headers=headers) as response:
                    await response.read()
                    statuses[str(response.status)] += 1
            except (aiohttp.ClientError, TimeoutError) as error:
                errors[type(error).__name__] += 1
                continue
            latencies.append(time.perf_counter() - begun)

    connector = aiohttp.TCPConnector(limit=plan.concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async with asyncio.TaskGroup() as group:
            for _ in range(plan.concurrency):
                group.create_task(client(session))
        elapsed = time.perf_counter() - started
    return _Phase(sent, elapsed, latencies, dict(statuses), dict(errors))


async def send(plan: LoadPlan) -> dict[str, _Phase]:
    """Sign everything first, then run the warm-up and the timed phase, each on its own pool
    of keep-alive connections."""
    warmup = _signed(plan, plan.warmup)
    timed = _signed(plan, plan.timed)
    return {"warmup": await _post_all(plan, warmup, plan.warmup_seconds),
            "timed": await _post_all(plan, timed, plan.seconds)}


def serve_bare(port: int) -> None:
    """Serve :data:`bare_app` with the settings ``voicebank run`` gives uvicorn."""
    import uvicorn

    uvicorn.run(bare_app, host=HOST, port=port, log_level="info")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_command = commands.add_parser("serve", help="serve the bare Starlette endpoint")
    serve_command.add_argument("--port", type=int, required=True)
    send_command = commands.add_parser("send", help="run a load plan and print the report")
    send_command.add_argument("plan", type=Path)
    arguments = parser.parse_args(argv)
    if arguments.command == "serve":
        serve_bare(arguments.port)
        return 0
    raw: dict[str, Any] = json.loads(arguments.plan.read_text(encoding="utf-8"))
    raw["warmup"] = [tuple(pair) for pair in raw["warmup"]]
    raw["timed"] = [tuple(pair) for pair in raw["timed"]]
    phases = asyncio.run(send(LoadPlan(**raw)))
    print(json.dumps({name: asdict(phase) for name, phase in phases.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

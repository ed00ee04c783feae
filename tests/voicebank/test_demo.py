"""The demo organisation, in the database and as ``voicebank demo`` serves it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import ManualClock
from storage.tables import (
    Address,
    AuditEntry,
    Constituency,
    Person,
    PersonRole,
    Role,
    Service,
)
from voicebank.demo import (
    CONSTITUENCIES,
    MPS,
    SERVICE_USERS,
    STAFF,
    demo_services,
    ensure_demo_organisation,
)
from voicebank.settings import ENV_PREFIX

SCRIPT = Path(sys.executable).parent / "voicebank"
TIMEOUT = 60
DRAMA = re.compile(r"^tel:\+447700900\d{3}$")
TABLES = (Constituency, Service, Person, Address, PersonRole, AuditEntry)


def counts(database: Engine) -> dict[str, int]:
    with Session(database) as session:
        return {
            table.__name__: session.exec(select(func.count()).select_from(table)).one()
            for table in TABLES
        }


def test_the_demo_organisation(database: Engine, clock: ManualClock) -> None:
    assert ensure_demo_organisation(database=database, clock=clock) is True

    with Session(database) as session:
        constituencies = session.exec(select(Constituency.name)).all()
        services = session.exec(select(Service)).all()
        people = session.exec(select(Person)).all()
        addresses = session.exec(select(Address.urn)).all()
        mps = session.exec(
            select(Person.name).join(PersonRole, col(PersonRole.person_id) == col(Person.id))
            .where(PersonRole.role == Role.MP)
        ).all()
        staff = session.exec(
            select(Person.name).join(PersonRole, col(PersonRole.person_id) == col(Person.id))
            .where(PersonRole.role == Role.STAFF)
        ).all()

    assert sorted(constituencies) == sorted(CONSTITUENCIES)
    assert len(constituencies) == 3
    assert len(services) == 6
    assert len({service.join_code for service in services}) == 6
    assert {s.join_code for s in services} == {s.join_code for s in demo_services()}
    assert len(people) == len(SERVICE_USERS) + len(MPS) + len(STAFF) == 30
    assert all(person.service_id is not None for person in people)
    assert sorted(mps) == sorted(MPS)
    assert len(mps) == 2
    assert sorted(staff) == sorted(STAFF)
    assert len(staff) == 3
    assert len(addresses) == len(people)
    assert all(DRAMA.match(urn) for urn in addresses), addresses


def test_the_demo_organisation_is_made_once(database: Engine, clock: ManualClock) -> None:
    assert ensure_demo_organisation(database=database, clock=clock) is True
    before = counts(database)

    assert ensure_demo_organisation(database=database, clock=clock) is False

    assert counts(database) == before


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo_environment(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(ENV_PREFIX)}
    return {**env, "PYTHONIOENCODING": "utf-8", **settings}


async def read_until(stream: asyncio.StreamReader, marker: str) -> str:
    """Lines from ``stream`` up to and including the one containing ``marker``."""
    seen = []
    while True:
        line = (await stream.readline()).decode("utf-8")
        if not line:
            raise AssertionError(f"output ended before {marker!r}:\n{''.join(seen)}")
        seen.append(line)
        if marker in line:
            return "".join(seen)


async def test_voicebank_demo_serves_a_fresh_sqlite_file(tmp_path: Path) -> None:
    if not SCRIPT.exists():
        pytest.skip(f"the voicebank console script is not installed next to {sys.executable}")
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT), "demo", "--host", "127.0.0.1", "--port", str(port),
        cwd=tmp_path, env=demo_environment(), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        shown = await asyncio.wait_for(read_until(process.stdout, "Ctrl+C"), TIMEOUT)
        await asyncio.wait_for(read_until(process.stderr, "Application startup complete"),
                               TIMEOUT)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health = await client.get("/healthz", timeout=TIMEOUT)
            signed_in = await client.post("/sign-in", timeout=TIMEOUT, data={
                "email": "lead@demo.voicebank", "password": "voicebank-demo", "next": "/"})
            client.cookies.update(signed_in.cookies)
            overview = await client.get("/", timeout=TIMEOUT)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), TIMEOUT)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

    assert "Created the demo organisation" in shown
    for service in demo_services():
        assert re.search(rf"{service.join_code}\s+{service.name} \({service.constituency}\)",
                         shown), shown
    assert "voicebank chat --as tel:+447700900123" in shown
    assert f"JOIN {demo_services()[0].join_code}" in shown
    assert f"http://127.0.0.1:{port}" in shown
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert (tmp_path / "voicebank.db").is_file()
    assert f"http://127.0.0.1:{port}/sign-in" in shown
    assert "email lead@demo.voicebank   password voicebank-demo" in shown
    assert signed_in.status_code == 303
    assert overview.status_code == 200
    assert "<h1>Overview</h1>" in overview.text


def test_voicebank_demo_refuses_a_database_server(tmp_path: Path) -> None:
    if not SCRIPT.exists():
        pytest.skip(f"the voicebank console script is not installed next to {sys.executable}")
    url = "postgresql+psycopg://voicebank@127.0.0.1:9/voicebank"
    process = subprocess.Popen(  # noqa: S603  (our own script, fixed arguments)
        [str(SCRIPT), "demo", "--port", str(free_port())],
        cwd=tmp_path, env=demo_environment(VOICEBANK_DATABASE_URL=url), text=True,
        encoding="utf-8", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
        process.wait()

    assert process.returncode == 2
    assert "SQLite" in stderr
    assert "VOICEBANK_DATABASE_URL" in stderr
    assert list(tmp_path.iterdir()) == []

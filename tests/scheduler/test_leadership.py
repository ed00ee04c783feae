"""One leader at a time for the scheduler and Telegram polling, however many processes start,
on SQLite (a file lock) and PostgreSQL (a session-level advisory lock)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from scheduler.jobs import run_if_leading
from scheduler.leadership import Leadership
from storage.database import create_database_engine
from tests.advisory_locks import holders


@pytest.fixture
def other_process(database: Engine) -> Iterator[Engine]:
    """A second engine on the same database, as another process would have."""
    other = create_database_engine(database.url.render_as_string(hide_password=False))
    yield other
    other.dispose()


def test_one_process_leads_and_the_other_stands_by_until_it_lets_go(
    database: Engine, other_process: Engine
) -> None:
    first = Leadership(database, "voicebank scheduler")
    second = Leadership(other_process, "voicebank scheduler")
    try:
        assert first.try_lead() is True
        assert second.try_lead() is False
        assert first.try_lead() is True  # asking again keeps the lead
        assert second.try_lead() is False

        first.release()

        assert second.try_lead() is True
        assert first.try_lead() is False
    finally:
        first.release()
        second.release()


def test_each_kind_of_work_has_its_own_leader(database: Engine, other_process: Engine) -> None:
    scheduler = Leadership(database, "voicebank scheduler")
    polling = Leadership(other_process, "voicebank telegram polling")
    try:
        assert scheduler.try_lead() is True
        assert polling.try_lead() is True
    finally:
        scheduler.release()
        polling.release()


async def test_the_ticks_run_only_in_the_leading_process(
    database: Engine, other_process: Engine
) -> None:
    ran: list[str] = []

    async def tick(name: str) -> str:
        ran.append(name)
        return name

    first = Leadership(database, "voicebank scheduler")
    second = Leadership(other_process, "voicebank scheduler")
    try:
        assert await run_if_leading(first, tick, "first") == "first"
        assert await run_if_leading(second, tick, "second") is None
        assert await run_if_leading(first, tick, "first") == "first"
    finally:
        first.release()
        second.release()

    assert ran == ["first", "first"]


@pytest.mark.postgres
def test_a_leader_whose_session_dies_loses_the_lead_and_another_takes_it(
    postgres_url: str,
) -> None:
    leader_engine = create_database_engine(postgres_url)
    other_engine = create_database_engine(postgres_url)
    leader = Leadership(leader_engine, "voicebank scheduler")
    other = Leadership(other_engine, "voicebank scheduler")
    try:
        assert leader.try_lead() is True
        assert other.try_lead() is False
        # The leader's database session ends, as when its process is killed or cut off.
        with other_engine.connect() as connection:
            # With a timeout, it waits until the session has ended and let go of its locks.
            ended = [connection.execute(text("SELECT pg_terminate_backend(:pid, 10000)"),
                                        {"pid": holder.pid}).scalar_one()
                     for holder in holders(connection, "voicebank scheduler")]
        assert ended == [True]

        assert other.try_lead() is True
        assert leader.try_lead() is False
    finally:
        leader.release()
        other.release()
        leader_engine.dispose()
        other_engine.dispose()

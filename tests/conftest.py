"""Shared fixtures: a migrated database on SQLite and, when configured, on PostgreSQL.

Set VOICEBANK_TEST_POSTGRES_URL (for example
postgresql+psycopg://postgres@127.0.0.1:5432/test) to run every database test on
PostgreSQL too; the tests make and drop a database of their own on that server.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

from bot.clock import ManualClock
from bot.engine import ConversationEngine
from storage.database import create_database_engine
from storage.migrate import upgrade_database

POSTGRES_ENV = "VOICEBANK_TEST_POSTGRES_URL"
# python-telegram-bot gives durations as timedelta when this is set, as the app sets it.
os.environ.setdefault("PTB_TIMEDELTA", "true")
START = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "voicebank.db"
    engine = create_database_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database made for this test run, dropped at its end."""
    server_url = os.environ.get(POSTGRES_ENV)
    if not server_url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} set to a server's URL")
    server = create_database_engine(server_url)
    name = f"voicebank_test_{uuid.uuid4().hex[:10]}"
    with server.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_database_engine(url)
        upgrade_database(engine)
        engine.dispose()
        yield url
    finally:
        with server.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def _empty_postgres(engine: Engine) -> None:
    tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty, migrated database: a SQLite file, then PostgreSQL when configured."""
    if request.param == "sqlite":
        path = tmp_path / "voicebank.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = create_database_engine(f"sqlite:///{path}")
    else:
        engine = create_database_engine(request.getfixturevalue("postgres_url"))
        _empty_postgres(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def engine(database: Engine, clock: ManualClock) -> ConversationEngine:
    return ConversationEngine(database=database, clock=clock)

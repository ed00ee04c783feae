"""Engines and transactions: SQLite set up for several writers, PostgreSQL locks by name."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import func, select

import storage.database
from storage import people
from storage.database import (
    WriteTurns,
    advisory_key,
    create_database_engine,
    held_row,
    lock_name,
    transaction,
    write_turns_for,
)
from storage.tables import Constituency, Service

THREADS = 8
TRANSACTIONS_EACH = 40


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[Engine]:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_database(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """A migrated SQLite file, for the tests about SQLite alone."""
    path = tmp_path / "voicebank.db"
    shutil.copy(sqlite_template, path)
    engine = create_database_engine(f"sqlite:///{path}")
    try:
        yield engine
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout_and_foreign_keys(sqlite_file: Engine) -> None:
    with sqlite_file.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA busy_timeout").scalar() == 30_000
        assert pragma("PRAGMA foreign_keys").scalar() == 1


def test_sqlite_refuses_a_row_pointing_at_nothing(sqlite_database: Engine) -> None:
    with pytest.raises(IntegrityError), transaction(sqlite_database) as session:
        session.add(Service(name="Oak House", constituency_id=999, join_code="OAK"))

    with transaction(sqlite_database) as session:
        assert session.exec(select(func.count()).select_from(Service)).one() == 0


def test_a_sqlite_transaction_holds_the_write_lock_from_its_start(
    sqlite_database: Engine, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "voicebank.db", isolation_level=None, timeout=0)
    try:
        with transaction(sqlite_database) as session:
            session.exec(select(Constituency)).all()
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_plain_deferred_transactions_that_read_then_write_fail_with_locked(
    tmp_path: Path,
) -> None:
    """The failure BEGIN IMMEDIATE prevents: an older snapshot cannot become a writer."""
    path = tmp_path / "plain.db"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE counter (n INTEGER)")
    setup.execute("INSERT INTO counter VALUES (0)")
    setup.close()
    first = sqlite3.connect(path, isolation_level=None, timeout=5)
    second = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        first.execute("BEGIN")
        (seen,) = first.execute("SELECT n FROM counter").fetchone()
        second.execute("BEGIN")
        second.execute("UPDATE counter SET n = n + 1")
        second.execute("COMMIT")
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            first.execute("UPDATE counter SET n = ?", (seen + 1,))
    finally:
        first.close()
        second.close()


def _add_counter(database: Engine) -> int:
    with transaction(database) as session:
        counter = Constituency(name="0")
        session.add(counter)
        session.flush()
        assert counter.id is not None
        return counter.id


def _count_concurrently(database: Engine, counter_id: int, *, lock: bool) -> int:
    start = threading.Barrier(THREADS)

    def add_one_at_a_time() -> None:
        start.wait()
        for _ in range(TRANSACTIONS_EACH):
            with transaction(database) as session:
                if lock:
                    lock_name(session, "counter")
                counter = session.get_one(Constituency, counter_id)
                counter.name = str(int(counter.name) + 1)
                session.add(counter)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        workers = [pool.submit(add_one_at_a_time) for _ in range(THREADS)]
        for worker in workers:
            worker.result()
    with transaction(database) as session:
        return int(session.get_one(Constituency, counter_id).name)


def test_sqlite_writers_that_read_first_take_turns_without_locked_errors(
    sqlite_database: Engine,
) -> None:
    counter_id = _add_counter(sqlite_database)

    total = _count_concurrently(sqlite_database, counter_id, lock=False)

    assert total == THREADS * TRANSACTIONS_EACH


def test_writers_holding_a_named_lock_never_lose_an_update(database: Engine) -> None:
    counter_id = _add_counter(database)

    total = _count_concurrently(database, counter_id, lock=True)

    assert total == THREADS * TRANSACTIONS_EACH


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite+pysqlite:///:memory:"],
)
def test_an_in_memory_sqlite_database_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="SQLite file"):
        create_database_engine(url)


def test_advisory_key_is_the_same_number_in_every_process() -> None:
    assert advisory_key("counter") == advisory_key("counter")
    assert advisory_key("counter") == -2_563_603_182_503_950_609


@pytest.mark.parametrize(
    "name", ["", "counter", "address:tel:+447700900123", "address:telegram:123456789", "ŵ💡"]
)
def test_advisory_key_fits_a_signed_64_bit_integer(name: str) -> None:
    assert -(2**63) <= advisory_key(name) < 2**63


def test_advisory_keys_of_different_names_differ() -> None:
    names = [f"address:tel:+4477009{n:05d}" for n in range(2_000)] + ["counter", "tick"]

    assert len({advisory_key(name) for name in names}) == len(names)


def test_held_row_is_the_sessions_own_copy_of_a_row_or_none(database: Engine) -> None:
    with transaction(database) as session:
        riverside = people.add_constituency(session=session, name="Riverside")
        assert riverside.id is not None
        willow = people.add_service(session=session, name="Willow House",
                                    constituency_id=riverside.id, join_code="WILLOW1")
    with transaction(database) as session:
        assert held_row(session, Service, willow.id) is None, "not read in this session"
        loaded = session.get_one(Service, willow.id)
        assert held_row(session, Service, willow.id) is loaded
        assert held_row(session, Constituency, riverside.id) is None


def _turns_of(database: Engine) -> WriteTurns:
    assert database.url.database is not None
    return write_turns_for(os.path.realpath(database.url.database))


def test_sqlite_writers_in_one_process_get_the_lock_in_the_order_they_asked(
        sqlite_database: Engine) -> None:
    turns = _turns_of(sqlite_database)
    order: list[int] = []

    def write(number: int) -> None:
        with transaction(sqlite_database) as session:
            order.append(number)
            session.add(Constituency(name=f"Area {number}"))

    with ThreadPoolExecutor(max_workers=5) as pool:
        with transaction(sqlite_database) as session:
            session.add(Constituency(name="First"))
            session.flush()  # holds the lock from here
            writers = []
            for number in range(1, 6):
                writers.append(pool.submit(write, number))
                waited = time.monotonic()
                while turns.waiting < number:  # each asks only once the one before waits
                    assert time.monotonic() - waited < 10, "a writer never came to wait"
                    time.sleep(0.001)
        for writer in writers:
            writer.result()
    assert order == [1, 2, 3, 4, 5]
    with transaction(sqlite_database) as session:
        assert session.exec(select(func.count()).select_from(Constituency)).one() == 6


def _read_then_fail(database: Engine) -> None:
    with transaction(database) as session:
        session.exec(select(Constituency)).all()
        raise LookupError("something the handling did not expect")


def test_a_transaction_that_fails_passes_the_turn_on(sqlite_database: Engine) -> None:
    with pytest.raises(IntegrityError), transaction(sqlite_database) as session:
        session.add(Service(name="Oak House", constituency_id=999, join_code="OAK"))
    with pytest.raises(LookupError):
        _read_then_fail(sqlite_database)
    turns = _turns_of(sqlite_database)
    assert turns.take(timeout=0)  # nobody holds it
    turns.give_back()


def test_a_writer_that_waits_too_long_gives_up_and_leaves_the_queue() -> None:
    turns = WriteTurns()
    assert turns.take(timeout=1)
    assert not turns.take(timeout=0.05)
    assert turns.waiting == 0
    turns.give_back()
    assert turns.take(timeout=0)  # given back to nobody: free again
    turns.give_back()


def test_writers_past_the_busy_timeout_are_told_the_database_is_locked(
        sqlite_database: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.database, "SQLITE_BUSY_TIMEOUT_MS", 50)
    with transaction(sqlite_database) as holding, ThreadPoolExecutor(max_workers=1) as pool:
        holding.connection()  # begins, and holds the lock
        waiting = pool.submit(lambda: _add_counter(sqlite_database))
        with pytest.raises(OperationalError, match="database is locked"):
            waiting.result()

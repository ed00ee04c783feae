"""Database engines and transactions that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import hashlib
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, event, insert, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, SQLModel, create_engine

from storage.prepared import hold_connection, run_on_driver

SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_database_engine(url: str, *, echo: bool = False) -> Engine:
    """Build an engine for ``url``.

    SQLite runs in WAL mode with a busy timeout, foreign keys on, and every transaction
    opened with ``BEGIN IMMEDIATE`` so that a transaction that reads and then writes holds
    the write lock from its start: concurrent writers wait their turn instead of failing
    with "database is locked". PostgreSQL needs nothing special.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True)

    if parsed.database is None or parsed.database in ("", ":memory:"):
        raise ValueError("Voicebank needs a SQLite file, not an in-memory database")
    turns = write_turns_for(os.path.realpath(parsed.database))
    # Connections are pooled: closing a SQLite file's last connection checkpoints and
    # removes its WAL, which the next write makes again, at a disk sync each time.
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False,
                      "factory": TurnTakingConnection},
    )

    @event.listens_for(engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, not the driver, decide when a transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        dbapi_connection.turns = turns

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        dbapi_connection = connection.connection.dbapi_connection
        if not dbapi_connection.take_turn():
            # What SQLite itself says when its busy timeout runs out.
            raise OperationalError("BEGIN IMMEDIATE", None,
                                   sqlite3.OperationalError("database is locked"))
        try:
            run_on_driver(connection, "BEGIN IMMEDIATE").close()
        except BaseException:
            dbapi_connection.end_turn()
            raise

    return engine


class WriteTurns:
    """First come, first served: the order in which one process's threads take SQLite's
    write lock.

    SQLite's own busy handler makes a waiting writer sleep, longer each time it finds the
    lock taken, so under load a thread that has waited longest is the likeliest to lose
    the lock again: a webhook storing a message could wait seconds behind message
    handling. Here a thread that finishes hands the turn straight to the one that has
    waited longest. Other processes still meet at SQLite's lock, as before."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._taken = False
        self._waiting: deque[threading.Lock] = deque()

    def take(self, timeout: float) -> bool:
        """Wait for the turn; False if ``timeout`` seconds passed first."""
        with self._guard:
            if not self._taken:
                self._taken = True
                return True
            handed = threading.Lock()
            handed.acquire()
            self._waiting.append(handed)
        if handed.acquire(timeout=timeout):
            return True
        with self._guard:
            if handed in self._waiting:
                self._waiting.remove(handed)
                return False
        return True  # handed over just as the wait ran out

    @property
    def waiting(self) -> int:
        """How many threads are waiting for the turn."""
        with self._guard:
            return len(self._waiting)

    def give_back(self) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().release()  # the turn passes on; still taken
            else:
                self._taken = False


_turns_by_file: dict[str, WriteTurns] = {}
_turns_guard = threading.Lock()


def write_turns_for(path: str) -> WriteTurns:
    """The one :class:`WriteTurns` of this process for the SQLite file at ``path``."""
    with _turns_guard:
        return _turns_by_file.setdefault(path, WriteTurns())


class TurnTakingConnection(sqlite3.Connection):
    """A SQLite connection whose transactions take turns with the process's others:
    :meth:`take_turn` before ``BEGIN``, and the turn passes on when the transaction
    commits, rolls back or the connection closes."""

    turns: WriteTurns | None = None
    _holding = False

    def take_turn(self) -> bool:
        """Wait for this connection's turn to write; False if the busy timeout ran out."""
        if self._holding or self.turns is None:
            return True
        if not self.turns.take(SQLITE_BUSY_TIMEOUT_MS / 1000):
            return False
        self._holding = True
        return True

    def end_turn(self) -> None:
        if self._holding and self.turns is not None:
            self._holding = False
            self.turns.give_back()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.end_turn()


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back if it raises.

    The transaction is the connection's, begun at once; the session works inside it, and
    what it holds is flushed before the commit. Prepared statements run straight on the
    connection, so a turn that needs no ORM object never starts the session's own
    bookkeeping (the most costly part of a small transaction)."""
    with (engine.begin() as connection,
          Session(bind=connection, expire_on_commit=False) as session):
        hold_connection(session, connection)
        yield session
        session.flush()


def advisory_key(name: str) -> int:
    """A stable signed 64-bit number for ``name``, for PostgreSQL advisory locks."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_name(session: Session, name: str) -> None:
    """Hold a lock on ``name`` until the transaction ends.

    On PostgreSQL this is a transaction-scoped advisory lock, so two workers handling
    messages from one address take turns. On SQLite every write transaction already
    holds the database's single write lock, so there is nothing more to do.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_key(name)})


def insert_unless_present(session: Session, table: Table, values: dict[str, Any]) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING id``: the new row's id, or None when a
    row with the same unique key is already there (a provider's repeat, say)."""
    statement = insert_ignoring_repeats(session.get_bind().dialect.name, table, "id")
    return session.execute(statement, values).scalar_one_or_none()


@functools.cache
def insert_ignoring_repeats(dialect: str, table: Table, *returning: str) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING`` the ``returning`` columns, built once
    per table (the values are bound when it runs, one row or many)."""
    columns = [table.c[name] for name in returning]
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing().returning(*columns)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing().returning(*columns)
    return insert(table).returning(*columns)


def held_row(session: Session, model: type[SQLModel], *key: Any) -> Any:
    """The session's own copy of the ``model`` row with primary key ``key``, if it holds one:
    after a prepared statement writes the row, that copy is out of date."""
    if not session.identity_map:
        return None  # most turns load no ORM object at all
    return session.identity_map.get(identity_key(model, key if len(key) > 1 else key[0]))


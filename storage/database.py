"""Database engines and transactions that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, bindparam, event, insert, inspect, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel, create_engine

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

    in_memory = parsed.database in (None, "", ":memory:")
    if in_memory:
        raise ValueError("Voicebank needs a SQLite file, not an in-memory database")
    # Connections are pooled: closing a SQLite file's last connection checkpoints and
    # removes its WAL, which the next write makes again, at a disk sync each time.
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
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

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back if it raises."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


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


def write_through(session: Session, row: SQLModel, **values: Any) -> None:
    """Set ``values`` on ``row`` and write them to its database row at once, by primary key.

    For the few columns a turn changes on rows it has loaded (how far a survey has got, a
    message handled): one ``UPDATE`` instead of the session tracking the change and working
    out at flush what to write. ``row`` holds the new values as what the database has, so
    a later flush writes nothing more for them. A new row, not yet inserted, is left to the
    session with the values set on it."""
    state = inspect(row)
    if not state.persistent:
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)
        return
    table = row.__table__  # type: ignore[attr-defined]
    keys = {f"key_{column.name}": getattr(row, column.name) for column in table.primary_key}
    # On the session's connection, in its transaction: the row is there already, so there
    # is nothing the session must flush first.
    session.connection().execute(
        _updating(table, tuple(sorted(values))),
        {**keys, **{f"new_{name}": value for name, value in values.items()}})
    for name, value in values.items():
        set_committed_value(row, name, value)


@functools.cache
def _updating(table: Table, columns: tuple[str, ...]) -> Any:
    """``UPDATE table SET columns WHERE primary key``, built once per table and columns."""
    return (update(table)
            .where(*(column == bindparam(f"key_{column.name}") for column in table.primary_key))
            .values({name: bindparam(f"new_{name}") for name in columns}))

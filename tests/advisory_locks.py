"""Who holds a PostgreSQL advisory lock: for the tests of leadership among processes."""

from __future__ import annotations

from sqlalchemy import Row, text
from sqlalchemy.engine import Connection

from storage.database import advisory_key

_HOLDERS = text(
    "SELECT l.pid, a.application_name, a.query FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :high AND l.objid = :low"
)


def holders(connection: Connection, name: str) -> list[Row[tuple[int, str, str]]]:
    """The sessions holding the advisory lock for ``name``: (pid, application, last query).
    ``pg_locks`` shows a bigint key as its two 32-bit halves (classid, objid)."""
    key = advisory_key(name) & 0xFFFFFFFFFFFFFFFF
    return list(connection.execute(_HOLDERS, {"high": key >> 32, "low": key & 0xFFFFFFFF}))

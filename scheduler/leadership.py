"""One leader among several processes, for the work only one of them may do at a time.

The scheduler's ticks and Telegram's long polling each run in one process at a time, however
many are started. On PostgreSQL the leader holds a session-level advisory lock on a connection
of its own: if the process dies or loses the database, the server ends the session, the lock
goes with it, and the next process to ask takes over. On SQLite (one machine) the leader holds
an exclusive lock on a file beside the database, which the operating system drops when the
process ends.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from storage.database import advisory_key

log = logging.getLogger(__name__)


class Leadership:
    """Whether this process leads for ``name``; ask again before each piece of leader's work."""

    def __init__(self, database: Engine, name: str) -> None:
        self.database = database
        self.name = name
        self.leading = False
        self._connection: Connection | None = None
        self._file: IO[bytes] | None = None

    def try_lead(self) -> bool:
        """True if this process leads now: it already did and still holds the lock, or it
        just took the lock. Blocking (it talks to the database): call it from a thread."""
        was_leading = self.leading
        if self.database.dialect.name == "postgresql":
            self.leading = self._hold_advisory_lock()
        else:
            self.leading = self._hold_file_lock()
        if self.leading != was_leading:
            if self.leading:
                log.info("this process now leads %s", self.name)
            else:
                log.warning("this process no longer leads %s", self.name)
        return self.leading

    def release(self) -> None:
        """Give up the lead (on shutdown), so another process takes over at once."""
        if self._connection is not None:
            with contextlib.suppress(Exception):
                if self.leading:
                    self._connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                             {"key": advisory_key(self.name)})
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None
        if self._file is not None:
            self._file.close()  # closing the file drops its lock
            self._file = None
        self.leading = False

    # -- PostgreSQL ---------------------------------------------------------------------------

    def _hold_advisory_lock(self) -> bool:
        try:
            if self._connection is None:
                # Autocommit: the lock belongs to the session, and the session is never left
                # idle inside a transaction.
                self._connection = self.database.connect().execution_options(
                    isolation_level="AUTOCOMMIT")
            if self.leading:
                self._connection.execute(text("SELECT 1"))  # still ours while the session lives
                return True
            taken = self._connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                             {"key": advisory_key(self.name)}).scalar_one()
            return bool(taken)
        except Exception as error:
            # The session is gone, and its lock with it: start again on a new connection.
            log.warning("the lead for %s is lost or could not be taken: %s", self.name, error)
            self.release()
            return False

    # -- SQLite ---------------------------------------------------------------------------------

    def _hold_file_lock(self) -> bool:
        if self.leading:
            return True
        try:
            import fcntl
        except ImportError:  # no advisory file locks here (Windows): one process is assumed
            return True
        path = _lock_path(self.database, self.name)
        handle = path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True


def _lock_path(database: Engine, name: str) -> Path:
    """``voicebank.db.scheduler.lock`` beside ``voicebank.db``."""
    file = database.url.database or "voicebank.db"
    safe = "".join(character if character.isalnum() else "-" for character in name)
    return Path(f"{file}.{safe}.lock")

"""Storing arriving messages in the inbox, many to a transaction when many arrive at once.

Under load a web worker's requests would each wait their turn for the database's write lock
(on SQLite, one writer at a time). Instead each request joins the next batch, and one
transaction stores the whole batch ("group commit"): a request still returns only once its
message is stored, and a repeated delivery is still found and dropped, message by message.
"""

from __future__ import annotations

import asyncio
import logging

from bot.engine import ConversationEngine
from bot.messages import Inbound

log = logging.getLogger(__name__)

MOST_IN_A_BATCH = 200


class InboxWriter:
    """Stores messages in batches, one transaction at a time, for one process."""

    def __init__(self, engine: ConversationEngine) -> None:
        self.engine = engine
        self._waiting: list[tuple[Inbound, asyncio.Future[int | None]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def store(self, inbound: Inbound) -> int | None:
        """The message's inbox id once it is stored, or None if it was stored before."""
        stored: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((inbound, stored))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write(), name="inbox writer")
        return await stored

    async def _write(self) -> None:
        while self._waiting:
            batch = self._waiting[:MOST_IN_A_BATCH]
            del self._waiting[:MOST_IN_A_BATCH]
            try:
                ids = await asyncio.to_thread(self.engine.receive_many,
                                              [inbound for inbound, _ in batch])
            except Exception as error:
                if len(batch) == 1:
                    _fail(batch[0][1], error)
                    continue
                # A message the database refuses must not lose the others: one at a time.
                log.warning("storing %d messages together failed (%s); storing them one by "
                            "one", len(batch), error)
                for inbound, stored in batch:
                    try:
                        (found,) = await asyncio.to_thread(self.engine.receive_many, [inbound])
                    except Exception as alone:
                        _fail(stored, alone)
                    else:
                        _settle(stored, found)
                continue
            for (_, stored), found in zip(batch, ids, strict=True):
                _settle(stored, found)


def _settle(stored: asyncio.Future[int | None], found: int | None) -> None:
    if not stored.done():  # the request may have been cancelled (its client went away)
        stored.set_result(found)


def _fail(stored: asyncio.Future[int | None], error: Exception) -> None:
    """The request waiting on ``stored`` fails (its sender gets a 500 and delivers the
    message again later)."""
    if not stored.done():
        stored.set_exception(error)

"""Pacing: how fast the dispatcher may hand messages to a channel.

Each channel has a limit in units a second (Telegram: messages; SMS: segments), kept
exactly over any sliding window as the provider counts it, and an optional gap between two
messages to the same chat (Telegram asks for at most one a second). A provider that says
"slow down" with a retry-after pauses the whole channel.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from dataclasses import dataclass
from typing import Protocol


class Timer(Protocol):
    """Seconds on a monotonic clock, and a way to wait; tests pass one they move by hand."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicTimer:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


IN_FLIGHT_WAIT = 0.05
"""Seconds to wait when only an answer still to come can make room (the dispatcher looks
again as soon as a send finishes)."""


@dataclass(frozen=True)
class Pace:
    """A channel's limits: ``rate`` units per ``window`` seconds, ``chat_gap`` seconds between
    a chat's messages."""

    rate: float
    window: float = 1.0
    chat_gap: float = 0.0


@dataclass
class _Booking:
    units: float
    chat: str
    answered: float = math.inf
    """When the provider answered; until then it may still be on its way."""
    holds: float = 0.0
    """Windows beyond the first that a message dearer than the whole rate keeps."""


class Pacer:
    """Keeps one channel within its :class:`Pace`, as the provider counts.

    A provider counts a message when it arrives, which is some time after it is handed over
    and before the provider answers. So a message counts against the window from the moment
    it is handed over until a whole window after its answer: however the network delays one
    send and hurries the next, the provider never sees more than ``rate`` in a window, nor
    two messages to one chat less than ``chat_gap`` apart. The cost is one round trip a
    window, not a guessed margin.
    """

    def __init__(self, pace: Pace) -> None:
        if pace.rate <= 0:
            raise ValueError("a channel's rate must be above zero")
        self.pace = pace
        self._bookings: dict[int, _Booking] = {}
        self._numbers = itertools.count()
        self._chats: dict[str, tuple[int, float]] = {}
        """Each chat's latest booking, and when it was answered (inf: not yet)."""
        self.paused_until = 0.0

    def wait_for(self, cost: float, at: float) -> float:
        """Seconds from ``at`` until a message of ``cost`` units may go (0 means now)."""
        self._forget_before(at)
        wait = max(self.paused_until - at, 0.0)
        moment = at + wait
        counted = [booking for booking in self._bookings.values()
                   if self._counts_until(booking) > moment]
        used = sum(booking.units for booking in counted)
        need = min(cost, self.pace.rate)
        if used + need <= self.pace.rate:
            return wait
        answered = sorted((b for b in counted if b.answered != math.inf),
                          key=self._counts_until)
        for booking in answered:
            used -= booking.units
            moment = max(moment, self._counts_until(booking))
            if used + need <= self.pace.rate:
                return moment - at
        return max(moment - at, IN_FLIGHT_WAIT)

    def chat_wait(self, chat: str, at: float) -> float:
        """Seconds from ``at`` until ``chat`` may get its next message."""
        latest = self._chats.get(chat)
        if latest is None or self.pace.chat_gap <= 0:
            return 0.0
        answered = latest[1]
        if answered == math.inf:
            return IN_FLIGHT_WAIT
        return max(answered + self.pace.chat_gap - at, 0.0)

    def record(self, cost: float, chat: str, at: float) -> int:
        """Note a message handed over at ``at``; returns the booking to :meth:`answered`.

        A message dearer than the whole rate (a long SMS on a slow number) holds the windows
        after its first too, so the average stays within the rate.
        """
        number = next(self._numbers)
        holds = max(cost / self.pace.rate - 1.0, 0.0)
        self._bookings[number] = _Booking(units=float(cost), chat=chat, holds=holds)
        if self.pace.chat_gap > 0:
            self._chats[chat] = (number, math.inf)
            if len(self._chats) > 10_000:
                horizon = at - self.pace.chat_gap
                self._chats = {c: latest for c, latest in self._chats.items()
                               if latest[1] > horizon}
        return number

    def answered(self, booking: int, at: float) -> None:
        """The provider answered the send of ``booking`` (taken or refused) at ``at``."""
        held = self._bookings.get(booking)
        if held is None:
            return
        held.answered = at
        latest = self._chats.get(held.chat)
        if latest is not None and latest[0] == booking:
            self._chats[held.chat] = (booking, at)

    def pause(self, seconds: float, at: float) -> None:
        """The provider asked the whole channel to wait ``seconds``."""
        self.paused_until = max(self.paused_until, at + seconds)

    def _counts_until(self, booking: _Booking) -> float:
        return booking.answered + (1.0 + booking.holds) * self.pace.window

    def _forget_before(self, at: float) -> None:
        gone = [number for number, booking in self._bookings.items()
                if self._counts_until(booking) <= at]
        for number in gone:
            del self._bookings[number]

"""Pacing: how fast the dispatcher may hand messages to a channel.

Each channel has a limit in units a second (Telegram: messages; SMS: segments), kept
exactly over any sliding window, and an optional gap between two messages to the same
chat (Telegram asks for at most one a second). A provider that says "slow down" with a
retry-after pauses the whole channel.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
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


@dataclass(frozen=True)
class Pace:
    """A channel's limits: ``rate`` units per ``window`` seconds, ``chat_gap`` between a
    chat's messages. The window is a little over a second so that network jitter on the
    way to the provider never packs more than ``rate`` into one of its seconds."""

    rate: float
    window: float = 1.05
    chat_gap: float = 0.0


class Pacer:
    """Keeps one channel within its :class:`Pace`: a weighted sliding-window log."""

    def __init__(self, pace: Pace) -> None:
        if pace.rate <= 0:
            raise ValueError("a channel's rate must be above zero")
        self.pace = pace
        self._log: deque[tuple[float, float]] = deque()
        self._last_to_chat: dict[str, float] = {}
        self.paused_until = 0.0

    def wait_for(self, cost: float, at: float) -> float:
        """Seconds from ``at`` until a message of ``cost`` units may go (0 means now)."""
        self._forget_before(at - self.pace.window)
        wait = max(self.paused_until - at, 0.0)
        candidate = at + wait
        if self._fits(cost, candidate):
            return wait
        for sent_at, _ in list(self._log):
            candidate = max(candidate, sent_at + self.pace.window)
            if self._fits(cost, candidate):
                return candidate - at
        return candidate - at

    def chat_wait(self, chat: str, at: float) -> float:
        """Seconds from ``at`` until ``chat`` may get its next message."""
        last = self._last_to_chat.get(chat)
        if last is None:
            return 0.0
        return max(last + self.pace.chat_gap - at, 0.0)

    def record(self, cost: float, chat: str, at: float) -> None:
        """Note a message handed over at ``at``.

        A message dearer than the whole rate (a long SMS on a slow number) is booked as
        full windows one after another, so the average stays within the rate.
        """
        remaining, slot = float(cost), at
        while remaining > 0:
            part = min(remaining, self.pace.rate)
            self._log.append((slot, part))
            remaining -= part
            slot += self.pace.window
        if self.pace.chat_gap > 0:
            self._last_to_chat[chat] = at
            if len(self._last_to_chat) > 10_000:
                horizon = at - self.pace.chat_gap
                self._last_to_chat = {
                    c: t for c, t in self._last_to_chat.items() if t > horizon
                }

    def pause(self, seconds: float, at: float) -> None:
        """The provider asked the whole channel to wait ``seconds``."""
        self.paused_until = max(self.paused_until, at + seconds)

    def _fits(self, cost: float, at: float) -> bool:
        # Every window that would hold ``at`` must stay within the rate; booked parts
        # may lie ahead of ``at``, so look a window either side.
        used = sum(
            units for sent_at, units in self._log if abs(sent_at - at) < self.pace.window
        )
        if used == 0:
            return True
        return used + min(cost, self.pace.rate) <= self.pace.rate

    def _forget_before(self, horizon: float) -> None:
        while self._log and self._log[0][0] <= horizon:
            self._log.popleft()

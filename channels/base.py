"""The port every channel's sender fills, and the failures it may report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Delivery:
    """One outbox message, as a sender needs it."""

    outbox_id: int
    address: str
    text: str
    options: tuple[dict[str, Any], ...] = ()
    footer: str = ""
    picture: str | None = None


class Sender(Protocol):
    """Hands a message to a channel's provider and returns the provider's message ids."""

    channel: str

    def cost(self, delivery: Delivery) -> int:
        """How much of the channel's rate limit ``delivery`` uses: SMS segments, else 1."""
        ...

    async def send(self, delivery: Delivery) -> tuple[str, ...]:
        """Send ``delivery``; raise :class:`TemporaryFailure` or :class:`PermanentFailure`.

        One delivery may go as several provider messages (a long SMS in parts), so the
        provider's ids come back as a tuple.
        """
        ...


class TemporaryFailure(Exception):
    """Worth trying again later: a network error, a 5xx, a 429 (with ``retry_after``).

    ``retry_after`` (seconds) is the provider asking the whole channel to wait, as
    Telegram does with its flood limits.
    """

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """Trying again will not help: the message itself was refused."""


class Unreachable(PermanentFailure):
    """The address can no longer get messages: the person blocked the bot, or the number
    opted out at the carrier. The address is marked inactive and nothing more is sent."""

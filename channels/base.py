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
    """Hands a message to a channel's provider and returns the provider's message id."""

    channel: str

    async def send(self, delivery: Delivery) -> str | None:
        """Send ``delivery``; raise :class:`TemporaryFailure` or :class:`PermanentFailure`."""
        ...


class TemporaryFailure(Exception):
    """Worth trying again later: a network error, a 5xx, a 429 (with ``retry_after``)."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """Trying again will not help: the person blocked the bot, the number cannot get texts."""

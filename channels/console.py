"""The console channel: a person chats with the bot in a terminal.

Its parser turns a typed line into an :class:`~bot.messages.Inbound`; its renderer
prints a message with its options as numbered lines, the way SMS shows them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from bot.messages import Inbound
from channels.base import Delivery

CHANNEL = "console"


def parse_line(*, address: str, line: str, received_at: datetime) -> Inbound:
    """A typed line as an inbound message; each line is its own delivery."""
    return Inbound(
        address=address,
        text=line.rstrip("\r\n"),
        channel=CHANNEL,
        provider_id=uuid.uuid4().hex,
        received_at=received_at,
    )


def render_options(options: Iterable[Mapping[str, Any]]) -> list[str]:
    """Options as numbered lines: ``  1  💡 Tell us an idea``."""
    lines = []
    for option in options:
        emoji = f"{option['emoji']} " if option.get("emoji") else ""
        lines.append(f"  {option['number']}  {emoji}{option['label']}")
    return lines


def render(delivery: Delivery) -> str:
    lines = [delivery.text]
    if delivery.picture:
        lines.append(f"  [picture: {delivery.picture}]")
    lines.extend(render_options(delivery.options))
    if delivery.footer:
        lines.append(delivery.footer)
    return "\n".join(lines)


class ConsoleSender:
    """Prints messages for one terminal; ``write`` is where they go (standard output)."""

    channel = CHANNEL

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write

    def cost(self, delivery: Delivery) -> int:
        return 1

    async def send(self, delivery: Delivery) -> tuple[str, ...]:
        self._write(render(delivery))
        return (f"console-{delivery.outbox_id}",)

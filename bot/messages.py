"""What flows in and out of the engine, in channel-neutral words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Inbound:
    """One message a person sent, as a channel hands it to the engine."""

    address: str
    text: str
    channel: str
    provider_id: str
    received_at: datetime
    media: tuple[str, ...] = ()
    provider_answered: bool = False
    """The provider has already replied to this (Twilio answering STOP itself)."""


@dataclass(frozen=True)
class Option:
    """One choice offered to a person: a number, an emoji, a short label, maybe a picture."""

    number: int
    label: str
    value: str
    emoji: str = ""
    picture: str | None = None
    aliases: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"number": self.number, "label": self.label, "emoji": self.emoji}
        if self.picture:
            data["picture"] = self.picture
        return data


@dataclass(frozen=True)
class Outgoing:
    """One message to send: text, then options to pick from, then how to answer them."""

    text: str
    options: tuple[Option, ...] = field(default=())
    picture: str | None = None
    footer: str = ""
    sensitive: bool = False

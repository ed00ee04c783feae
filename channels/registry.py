"""The channels this deployment sends through: one explicit mapping, built once."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from channels.base import Sender


class ChannelRegistry(Mapping[str, Sender]):
    """Senders by channel name; registering a channel twice is a wiring mistake."""

    def __init__(self, senders: tuple[Sender, ...] = ()) -> None:
        self._senders: dict[str, Sender] = {}
        for sender in senders:
            self.register(sender)

    def register(self, sender: Sender) -> None:
        if sender.channel in self._senders:
            raise ValueError(f"the {sender.channel!r} channel is registered twice")
        self._senders[sender.channel] = sender

    def __getitem__(self, channel: str) -> Sender:
        return self._senders[channel]

    def __iter__(self) -> Iterator[str]:
        return iter(self._senders)

    def __len__(self) -> int:
        return len(self._senders)

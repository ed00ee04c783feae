"""The channel registry: one sender per channel, and a duplicate is a wiring mistake."""

from __future__ import annotations

import pytest

from channels.base import Delivery
from channels.console import ConsoleSender
from channels.registry import ChannelRegistry


class NamedSender:
    """A sender that is only its channel's name: the registry never sends anything."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def send(self, delivery: Delivery) -> str | None:
        raise AssertionError("the registry should not send")


def test_senders_are_found_by_their_channel() -> None:
    sms = NamedSender("sms")
    telegram = NamedSender("telegram")
    console = ConsoleSender(print)

    registry = ChannelRegistry((sms, telegram, console))

    assert registry["sms"] is sms
    assert registry["telegram"] is telegram
    assert registry["console"] is console
    assert list(registry) == ["sms", "telegram", "console"]
    assert len(registry) == 3
    assert dict(registry) == {"sms": sms, "telegram": telegram, "console": console}


def test_a_channel_not_registered_is_not_there() -> None:
    registry = ChannelRegistry((NamedSender("sms"),))

    assert "telegram" not in registry
    assert registry.get("telegram") is None
    with pytest.raises(KeyError):
        registry["telegram"]


def test_registering_a_channel_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="'sms' channel is registered twice"):
        ChannelRegistry((NamedSender("sms"), NamedSender("sms")))


def test_registering_a_channel_again_later_is_refused_and_keeps_the_first() -> None:
    first = NamedSender("sms")
    registry = ChannelRegistry()
    registry.register(first)

    with pytest.raises(ValueError, match="registered twice"):
        registry.register(NamedSender("sms"))

    assert registry["sms"] is first
    assert len(registry) == 1


def test_an_empty_registry_has_no_channels() -> None:
    registry = ChannelRegistry()

    assert len(registry) == 0
    assert list(registry) == []

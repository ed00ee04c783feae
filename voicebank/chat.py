"""Chatting with the bot in a terminal, through the same inbox, engine and outbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from channels.console import ConsoleSender, parse_line
from scheduler.dispatcher import Dispatcher
from voicebank.wiring import Voicebank


async def chat(
    voicebank: Voicebank,
    *,
    address: str,
    read_line: Callable[[], str],
    write: Callable[[str], None],
    show_as_console: Iterable[str] = (),
) -> int:
    """Send each line read to the bot as ``address`` and write the replies; returns lines sent.

    ``read_line`` returns "" at the end of input. Messages for ``address`` queued on the
    channels in ``show_as_console`` (those this deployment has no provider for) are shown
    here too, so a reminder meant for a phone still reaches someone trying the demo.
    """
    sender = ConsoleSender(write)
    channels = {"console", *show_as_console}
    dispatcher = Dispatcher(
        database=voicebank.database,
        clock=voicebank.clock,
        senders=dict.fromkeys(channels, sender),
    )
    await dispatcher.dispatch_due(address=address)
    sent = 0
    while True:
        line = await asyncio.to_thread(read_line)
        if line == "":
            return sent
        if not line.strip():
            continue
        inbound = parse_line(address=address, line=line, received_at=voicebank.clock.now())
        await asyncio.to_thread(voicebank.engine.receive, inbound)
        await asyncio.to_thread(voicebank.engine.handle_waiting, address)
        await dispatcher.dispatch_due(address=address)
        sent += 1


def lines_from(source: Iterable[str]) -> Callable[[], str]:
    """A ``read_line`` over an iterable of lines (a file, a list in a test)."""
    iterator = iter(source)
    return lambda: next(iterator, "")

"""Scheduler jobs: plain module-level functions, so a test can call one directly."""

from __future__ import annotations

import asyncio
import logging

from bot.engine import ConversationEngine

log = logging.getLogger(__name__)


async def handle_waiting_messages(engine: ConversationEngine) -> int:
    """Handle any stored message not yet handled: after a crash or a restart, none is lost."""
    handled = await asyncio.to_thread(engine.handle_all_waiting)
    if handled:
        log.info("handled %d waiting messages", handled)
    return handled

"""Scheduler jobs: plain module-level functions, so a test can call one directly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.actions.schedule import ActionTick, action_tick
from bot.elections.schedule import ElectionTick, election_tick
from bot.engine import ConversationEngine
from bot.surveys.invitations import TickReport, survey_tick
from scheduler.leadership import Leadership

log = logging.getLogger(__name__)
_Report = TypeVar("_Report")


async def run_if_leading(
    leadership: Leadership, job: Callable[..., Awaitable[_Report]], *args: Any
) -> _Report | None:
    """Run ``job`` only in the process that leads the scheduler; the others stand by."""
    if not await asyncio.to_thread(leadership.try_lead):
        return None
    return await job(*args)


async def handle_waiting_messages(engine: ConversationEngine) -> int:
    """Handle any stored message not yet handled: after a crash or a restart, none is lost."""
    handled = await asyncio.to_thread(engine.handle_all_waiting)
    if handled:
        log.info("handled %d waiting messages", handled)
    return handled


async def run_survey_tick(engine: ConversationEngine, timezone: str) -> TickReport:
    """Open and close surveys whose time has come, and send due reminders."""
    return await asyncio.to_thread(
        survey_tick, database=engine.database, now=engine.clock.now(), zone=ZoneInfo(timezone)
    )


async def run_election_tick(engine: ConversationEngine, timezone: str) -> ElectionTick:
    """Move elections and polls on whose time has come, and send due vote reminders."""
    return await asyncio.to_thread(
        election_tick, database=engine.database, now=engine.clock.now(), zone=ZoneInfo(timezone)
    )


async def run_action_tick(
    engine: ConversationEngine, timezone: str, nudge_days: tuple[int, ...] = (7, 1)
) -> ActionTick:
    """Nudge owners of actions, remind MPs of surgeries, and ask them what people said."""
    return await asyncio.to_thread(
        action_tick, database=engine.database, now=engine.clock.now(), zone=ZoneInfo(timezone),
        nudge_days=nudge_days,
    )

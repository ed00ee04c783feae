"""The APScheduler that runs Voicebank's jobs inside the application."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.engine import ConversationEngine
from scheduler.jobs import (
    handle_waiting_messages,
    run_action_tick,
    run_election_tick,
    run_survey_tick,
)

SWEEP_SECONDS = 30
TICK_SECONDS = 60


def build_scheduler(
    *, engine: ConversationEngine, timezone: str, nudge_days: tuple[int, ...] = (7, 1)
) -> AsyncIOScheduler:
    """A scheduler with Voicebank's jobs, not yet started."""
    scheduler = AsyncIOScheduler(timezone=timezone)
    scheduler.add_job(
        handle_waiting_messages,
        "interval",
        seconds=SWEEP_SECONDS,
        args=[engine],
        id="handle_waiting_messages",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        run_survey_tick,
        "interval",
        seconds=TICK_SECONDS,
        args=[engine, timezone],
        id="survey_tick",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        run_election_tick,
        "interval",
        seconds=TICK_SECONDS,
        args=[engine, timezone],
        id="election_tick",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        run_action_tick,
        "interval",
        seconds=TICK_SECONDS,
        args=[engine, timezone, nudge_days],
        id="action_tick",
        max_instances=1,
        coalesce=True,
    )
    return scheduler

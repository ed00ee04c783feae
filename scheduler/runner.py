"""The APScheduler that runs Voicebank's jobs inside the application."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.engine import ConversationEngine
from scheduler.jobs import (
    handle_waiting_messages,
    run_action_tick,
    run_election_tick,
    run_if_leading,
    run_survey_tick,
)
from scheduler.leadership import Leadership

SWEEP_SECONDS = 30
TICK_SECONDS = 60
LEADERSHIP = "voicebank scheduler"
SWEEP = "handle_waiting_messages"


def build_scheduler(
    *,
    engine: ConversationEngine,
    timezone: str,
    nudge_days: tuple[int, ...] = (7, 1),
    tick_seconds: int = TICK_SECONDS,
    leadership: Leadership | None = None,
    sweep: bool = True,
    ticks: bool = True,
) -> AsyncIOScheduler:
    """A scheduler with Voicebank's jobs, not yet started.

    The ticks run only while this process leads (``leadership``, one process at a time however
    many are started); the sweep for messages left unhandled runs in every process that
    handles messages, since handling a message takes that person's lock. ``sweep`` and
    ``ticks`` leave either out.
    """
    leadership = leadership or Leadership(engine.database, LEADERSHIP)
    scheduler = AsyncIOScheduler(timezone=timezone)
    if sweep:
        scheduler.add_job(
            handle_waiting_messages,
            "interval",
            seconds=SWEEP_SECONDS,
            args=[engine],
            id=SWEEP,
            max_instances=1,
            coalesce=True,
        )
    jobs = {
        "survey_tick": (run_survey_tick, engine, timezone),
        "election_tick": (run_election_tick, engine, timezone),
        "action_tick": (run_action_tick, engine, timezone, nudge_days),
    }
    for job_id, args in jobs.items() if ticks else ():
        scheduler.add_job(
            run_if_leading,
            "interval",
            seconds=tick_seconds,
            args=[leadership, *args],
            id=job_id,
            max_instances=1,
            coalesce=True,
        )
    return scheduler

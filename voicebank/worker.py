"""What runs beside (or instead of) the web app: the dispatcher, the scheduler, Telegram polling.

The web app's lifespan and ``voicebank worker`` both start them with :func:`running`; a worker
runs them without serving the web, so an organisation can add dispatchers as it grows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from scheduler.leadership import Leadership
from scheduler.runner import LEADERSHIP, build_scheduler
from voicebank.runtime import Runtime, WebLoad
from voicebank.wiring import Voicebank

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def running(voicebank: Voicebank, *, receive: bool = True,
                  web: WebLoad | None = None) -> AsyncIterator[Runtime]:
    """Start the runtime (handling and the dispatcher unless turned off, Telegram when set
    and ``receive``) and the scheduler (its ticks unless turned off, and then only in the
    leading process; the sweep for unhandled messages where handling is on); stop both.
    ``web`` is the web app's count of requests in hand, when this process serves the web."""
    settings = voicebank.settings
    runtime = Runtime(voicebank, receive=receive, web=web)
    leadership = Leadership(voicebank.database, LEADERSHIP)
    scheduler = build_scheduler(engine=voicebank.engine, timezone=settings.timezone,
                                nudge_days=settings.nudge_days_list,
                                tick_seconds=settings.tick_seconds, leadership=leadership,
                                sweep=settings.handling, ticks=settings.scheduler)
    try:
        await runtime.start()
        if scheduler.get_jobs():
            scheduler.start()
        yield runtime
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await asyncio.to_thread(leadership.release)  # another process leads at once
        await runtime.stop()


async def run_worker(voicebank: Voicebank) -> None:
    """Dispatch and/or schedule without serving the web, until SIGINT or SIGTERM."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    async with running(voicebank, receive=False):
        log.info("Voicebank worker started (handling %s, dispatcher %s, scheduler %s)",
                 *("on" if on else "off" for on in (voicebank.settings.handling,
                                                    voicebank.settings.dispatcher,
                                                    voicebank.settings.scheduler)))
        await stopping.wait()
    log.info("Voicebank worker stopped")

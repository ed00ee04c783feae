"""What runs beside (or instead of) the web app: the dispatcher, the scheduler, Telegram polling.

The web app's lifespan and ``voicebank worker`` both start them with :func:`running`; a worker
runs them without serving the web, so an organisation can add dispatchers as it grows.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
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
                  web: WebLoad | None = None, long_running: bool = False
                  ) -> AsyncIterator[Runtime]:
    """Start the runtime (handling and the dispatcher unless turned off, Telegram when set
    and ``receive``) and the scheduler (its ticks unless turned off, and then only in the
    leading process; the sweep for unhandled messages where handling is on); stop both.
    ``web`` is the web app's count of requests in hand, when this process serves the web.
    ``long_running`` (a server or worker process, not a test's app) keeps what start-up
    built out of the garbage collector's way (:func:`keep_start_up_out_of_collections`)."""
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
        if long_running:
            keep_start_up_out_of_collections()
        yield runtime
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await asyncio.to_thread(leadership.release)  # another process leads at once
        await runtime.stop()


def keep_start_up_out_of_collections() -> None:
    """Collect what start-up left behind, then freeze the rest for the life of the process.

    Python's full garbage collection walks every object the process holds; after start-up
    that is hundreds of thousands (SQLAlchemy, FastAPI, the channels' libraries), and each
    walk stopped this process for 60 to 170 ms, the slowest of its webhook answers (bench
    P2). What start-up built lives as long as the process, so it is left out of every
    collection from here on; what requests and messages make is still collected as before.
    """
    gc.collect()
    gc.freeze()


async def run_worker(voicebank: Voicebank) -> None:
    """Dispatch and/or schedule without serving the web, until SIGINT or SIGTERM."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    async with running(voicebank, receive=False, long_running=True):
        log.info("Voicebank worker started (handling %s, dispatcher %s, scheduler %s)",
                 *("on" if on else "off" for on in (voicebank.settings.handling,
                                                    voicebank.settings.dispatcher,
                                                    voicebank.settings.scheduler)))
        await stopping.wait()
    log.info("Voicebank worker stopped")

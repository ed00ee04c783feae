"""The one place that builds Voicebank's parts from the settings and hands them down."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot.clock import Clock, SystemClock
from bot.engine import ConversationEngine
from storage.database import create_database_engine
from storage.migrate import upgrade_database
from voicebank.settings import Settings


@dataclass
class Voicebank:
    """The assembled application: settings, database, clock and conversation engine."""

    settings: Settings
    database: Engine
    clock: Clock
    engine: ConversationEngine

    def close(self) -> None:
        self.database.dispose()


def assemble(settings: Settings, *, clock: Clock | None = None, migrate: bool = True) -> Voicebank:
    """Build the parts; bring the database schema up to date first unless told not to."""
    database = create_database_engine(settings.database_url)
    if migrate:
        upgrade_database(database)
    clock = clock or SystemClock()
    return Voicebank(
        settings=settings,
        database=database,
        clock=clock,
        engine=ConversationEngine(database=database, clock=clock,
                                  concern_words=settings.safeguarding_words_list),
    )

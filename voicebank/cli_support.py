"""What every ``voicebank`` command shares: reading the settings, opening the app."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import typer

from voicebank.settings import Settings, SettingsError, load_settings
from voicebank.wiring import Voicebank, assemble


def configure_logging() -> None:
    """Warnings from everything; what Voicebank does, and which process leads, as it happens."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("voicebank").setLevel(logging.INFO)
    logging.getLogger("scheduler.leadership").setLevel(logging.INFO)


def command_settings() -> Settings:
    """The settings, or a message naming the bad variable and exit code 2."""
    try:
        return load_settings()
    except SettingsError as error:
        typer.echo(f"Voicebank cannot start: {error}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def opened(settings: Settings | None = None) -> Iterator[Voicebank]:
    """The assembled app for one staff command, closed when the command ends."""
    voicebank = assemble(settings or command_settings())
    try:
        yield voicebank
    finally:
        voicebank.close()


def local(moment: datetime | None, zone: ZoneInfo) -> str:
    """A stored UTC time as the organisation reads it, in the survey file's format."""
    return "-" if moment is None else f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"


def describe_duration(duration: timedelta) -> str:
    """``2 days``, ``3 hours``, ``90 minutes``: as a survey file writes a reminder."""
    minutes = round(duration.total_seconds() / 60)
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{minutes} minutes"

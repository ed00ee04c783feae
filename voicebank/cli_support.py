"""What every ``voicebank`` command shares: reading the settings, opening the app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from voicebank.settings import Settings, SettingsError, load_settings
from voicebank.wiring import Voicebank, assemble


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

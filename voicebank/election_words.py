"""Elections and polls in the words staff type and read at the command line.

Reading: the local times, reminders, poll options and electorate typed as options.
Describing: who votes, when, the reminders, each candidate's name on the ballot, and the
result table. And the two ways a command stops with a reason in plain words: exit code 1
when the rules or the records say no, 2 when an option is badly written. The dashboard's
election pages describe elections with the same words.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NoReturn
from zoneinfo import ZoneInfo

import typer
from sqlmodel import Session

from bot.elections import service
from bot.elections.counting import Tally
from bot.elections.service import ElectionError, PollOption
from bot.surveys.loading import parse_local_time, parse_reminder
from storage.tables import Candidate, Election, ElectionKind, Role
from voicebank.cli_support import describe_duration, local
from voicebank.election_report import results_table

ELECTORATE_HELP = ("Who votes: everyone, mp, constituency:NAME, service:CODE or role:ROLE.")


# Stopping with a reason --------------------------------------------------------------------


def refused(error: ElectionError) -> NoReturn:
    """The rules said no: say why in a sentence, exit 1."""
    text = sentence(str(error).strip())
    typer.echo(text if text.endswith((".", "!", "?")) else text + ".", err=True)
    raise typer.Exit(1)


def not_found(message: str) -> NoReturn:
    """What was asked for is not there, or may not be done to it: say so, exit 1."""
    typer.echo(message, err=True)
    raise typer.Exit(1)


def badly_written(message: str) -> NoReturn:
    """An option cannot be read: say how to write it, exit 2, as a usage error does."""
    typer.echo(message, err=True)
    raise typer.Exit(2)


# Reading options ---------------------------------------------------------------------------


def parse_times(zone: ZoneInfo, now: datetime, **given: str | None) -> dict[str, datetime]:
    """Each given local time as UTC, named as its option; every one must be in the future."""
    times = {}
    for name, value in given.items():
        if value is None:
            continue
        try:
            moment = parse_local_time(value, zone)
        except ValueError as error:
            badly_written(f"--{name}: {error}")
        if moment <= now:
            badly_written(f"--{name}: that time has passed; give a time in the future.")
        times[name] = moment
    return times


def parse_reminders(values: Sequence[str] | None) -> list[timedelta]:
    """Each ``--remind`` given, like ``2 days``, as how long before voting closes."""
    try:
        return [parse_reminder(value) for value in values or ()]
    except ValueError as error:
        badly_written(f"--remind: {error}")


def parse_option(text: str) -> PollOption:
    """``🌳 Oak House`` is the emoji 🌳 and the label Oak House; ``Oak House`` has no emoji."""
    first, _, rest = text.strip().partition(" ")
    if rest.strip() and not any(ch.isalnum() for ch in first):
        return PollOption(label=rest.strip(), emoji=first)
    return PollOption(label=text.strip())


def parse_electorate(value: str) -> tuple[str, str]:
    """``mp`` → (role, mp); ``constituency:Riverside`` → (constituency, Riverside)."""
    text = value.strip()
    if text.lower() == "everyone":
        return "everyone", ""
    if text.lower() in ("mp", "mps"):
        return "role", Role.MP
    kind, _, rest = text.partition(":")
    kind, rest = kind.strip().lower(), rest.strip()
    if kind == "role" and rest.lower() in {role.value for role in Role}:
        return kind, rest.lower()
    if kind in ("constituency", "service") and rest:
        return kind, rest.upper() if kind == "service" else rest
    badly_written(f"--electorate: {value!r} is not an electorate. {ELECTORATE_HELP}")


# Describing --------------------------------------------------------------------------------


def describe_electorate(election: Election) -> str:
    """Who votes, to follow "for": ``the MPs``, ``everyone with the role staff``."""
    kind, value = election.electorate_kind, election.electorate_value
    if election.kind == ElectionKind.ELECTION:
        return f"the service users of constituency {value}"
    if kind == "everyone":
        return "everyone"
    if (kind, value) == ("role", Role.MP):
        return "the MPs"
    return f"everyone with the role {value}" if kind == "role" else f"{kind} {value}"


def describe_times(election: Election, zone: ZoneInfo) -> str:
    """When each phase starts, in local time, as one clause to begin a sentence with."""
    parts = []
    if election.kind == ElectionKind.ELECTION:
        parts.append(f"nominations open {local(election.nominations_open_at, zone)}")
    parts += [f"voting opens {local(election.voting_opens_at, zone)}",
              f"voting closes {local(election.voting_closes_at, zone)}"]
    return ", ".join(parts)


def describe_reminders(election: Election) -> str:
    """The reminders non-voters get, as a sentence."""
    if not election.reminders:
        return "Reminders: none."
    return ("Reminders: " + ", ".join(describe_duration(timedelta(seconds=s))
                                      for s in election.reminders) + " before voting closes.")


def sentence(text: str) -> str:
    """``text`` with a capital letter, to start a sentence."""
    return text[:1].upper() + text[1:]


def plural(count: int, one: str, many: str) -> str:
    """``1 seat`` or ``2 seats``."""
    return f"{count} {one if count == 1 else many}"


def ballot_name(candidate: Candidate) -> str:
    """A candidate or option as the ballot shows it: its emoji, if any, then its name."""
    return f"{candidate.emoji} {candidate.name}" if candidate.emoji else candidate.name


def candidate_names(session: Session, election_id: int) -> dict[int, str]:
    """Each candidate's ballot name by their id."""
    return {c.id or 0: ballot_name(c)
            for c in service.candidates(session=session, election_id=election_id)}


def result_text(session: Session, election: Election, tallies: Sequence[Tally]) -> str:
    """The result as a table of votes, with the seats, the turnout and the seed for lots."""
    assert election.id is not None
    return results_table(title=election.title, tallies=tallies,
                         names=candidate_names(session, election.id),
                         seats=election.seats, seed=election.seed or "",
                         turnout=service.turnout(session=session, election_id=election.id))


def named(election: Election) -> str:
    """``election 3`` or ``poll 4``."""
    return f"{election.kind} {election.id}"

"""Elections by the clock: each phase starts at the time set, and non-voters are reminded.

A timed election is counted and announced as soon as voting closes; one closed by hand
waits for staff to count it (and choose the seed, if they wish).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.catalogue import load_catalogue
from bot.clock import spoken_time
from bot.elections.outcome import announce, count
from bot.elections.service import close_voting, open_nominations, open_voting
from bot.messages import Outgoing
from bot.outreach import queue_for_people
from bot.surveys.schedule import due_reminder
from storage import outbox
from storage.database import lock_name, transaction
from storage.tables import Election, ElectionKind, ElectionStatus, Person, RollEntry

log = logging.getLogger(__name__)




@dataclass(frozen=True)
class ElectionTick:
    moved: tuple[tuple[int, str], ...] = ()
    reminded: int = 0


def send_vote_reminders(*, session: Session, election: Election, now: datetime,
                        zone: ZoneInfo) -> int:
    """Remind those on the roll who have not voted, once per reminder time."""
    assert election.id is not None
    index = due_reminder(reminders=[timedelta(seconds=s) for s in election.reminders],
                         closes_at=election.voting_closes_at, now=now)
    if index is None or election.voting_closes_at is None:
        return 0
    when = spoken_time(election.voting_closes_at, zone)
    key = f"election:{election.id}:reminder:{index}:person:"
    waiting = session.exec(select(Person).join(
        RollEntry, col(RollEntry.person_id) == col(Person.id)).where(
        RollEntry.election_id == election.id, col(RollEntry.voted).is_(False),
        col(Person.opted_out_at).is_(None),
        ~outbox.queued_for(key_prefix=key, person_id=col(Person.id)),
    ).order_by(col(Person.id)))
    letters = [
        (person, Outgoing(load_catalogue(person.language).text(
            "vote.reminder", title=election.title, closes=when)), f"{key}{person.id}")
        for person in waiting
    ]
    return queue_for_people(session=session, letters=letters, now=now)


def election_tick(*, database: Engine, now: datetime, zone: ZoneInfo) -> ElectionTick:
    """Move every election whose time has come, count what has closed, announce what is
    counted, and send due reminders: under a lock, so one process does it at a time."""
    moved: list[tuple[int, str]] = []
    reminded = 0
    with transaction(database) as session:
        lock_name(session, "election_tick")
        live = list(session.exec(select(Election).where(col(Election.status).in_([
            ElectionStatus.DRAFT, ElectionStatus.NOMINATIONS, ElectionStatus.VOTING,
            ElectionStatus.CLOSED, ElectionStatus.COUNTED]))))
        for election in live:
            assert election.id is not None
            try:
                with session.begin_nested():  # one election's trouble leaves the others be
                    moved.extend(_advance(session, election, now))
            except ValueError as error:  # ElectionError, or a poll's unknown electorate
                log.warning("election %s could not move on: %s", election.id, error)
                continue
            if election.status == ElectionStatus.VOTING:
                reminded += send_vote_reminders(session=session, election=election, now=now,
                                                zone=zone)
    return ElectionTick(moved=tuple(moved), reminded=reminded)


def _advance(session: Session, election: Election, now: datetime) -> list[tuple[int, str]]:
    assert election.id is not None
    moved: list[tuple[int, str]] = []
    actor = "scheduler"
    if (election.status == ElectionStatus.DRAFT and election.kind == ElectionKind.ELECTION
            and election.nominations_open_at and election.nominations_open_at <= now):
        open_nominations(session=session, election_id=election.id, now=now, actor=actor)
        moved.append((election.id, ElectionStatus.NOMINATIONS))
    if (election.status in (ElectionStatus.DRAFT, ElectionStatus.NOMINATIONS)
            and election.voting_opens_at and election.voting_opens_at <= now):
        open_voting(session=session, election_id=election.id, now=now, actor=actor)
        moved.append((election.id, ElectionStatus.VOTING))
    if (election.status == ElectionStatus.VOTING and election.voting_closes_at
            and election.voting_closes_at <= now):
        close_voting(session=session, election_id=election.id, now=now, actor=actor)
        moved.append((election.id, ElectionStatus.CLOSED))
    if election.status == ElectionStatus.CLOSED and election.voting_closes_at:
        count(session=session, election_id=election.id, now=now, actor=actor)
        moved.append((election.id, ElectionStatus.COUNTED))
    if election.status == ElectionStatus.COUNTED and election.voting_closes_at:
        announce(session=session, election_id=election.id, now=now, actor=actor)
        moved.append((election.id, ElectionStatus.ANNOUNCED))
    return moved

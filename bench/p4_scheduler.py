"""P4: the scheduler's tick with many people, actions and a live election, on SQLite and on
PostgreSQL, against raw SQL finding the same rows; and the time to queue a reminder to
everyone, against a raw bulk insert of as many outbox rows.

The tick is what the scheduler runs every minute: ``survey_tick``, ``election_tick`` and
``action_tick``. The database holds people at services in constituencies, each with an
address; actions owned by staff, due over three years so a few are due a nudge; an election
in voting with its roll frozen and some votes cast; and an open survey whose reminder has
just fallen due for everyone. The first tick queues the reminders (timed: the queueing
figure); the ticks after it find nothing new to send, which is the steady tick timed here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    String,
    and_,
    bindparam,
    cast,
    exists,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel

from bench.common import Figure, Run, Skipped, Stopwatch
from bench.p1_engine import StatementTally
from bot.actions.nudges import DEFAULT_BEFORE, due_nudge
from bot.actions.schedule import action_tick
from bot.catalogue import load_catalogue
from bot.clock import spoken_time
from bot.elections.schedule import election_tick
from bot.surveys.invitations import survey_tick
from bot.surveys.loading import load_survey_yaml
from bot.surveys.schedule import due_reminder
from bot.surveys.store import save_survey
from storage.database import transaction
from storage.tables import Priority

TITLE = "scheduler tick with many people and actions, and queueing reminders to all"
BENCH = "P4"
ZONE = ZoneInfo("Europe/London")
TICK_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
"""A Monday morning, after the 09:00 nudges: the survey and vote reminders fell due a minute
ago."""
CONSTITUENCIES = 4
SERVICES_PER_CONSTITUENCY = 10
PEOPLE_PER_STAFF = 100
ACTION_DAYS = 3 * 365
"""Actions fall due over three years from a week ago: about one in a hundred is due a nudge."""
TARGET_RATIO = 0.5
CHUNK = 5_000
TABLES = SQLModel.metadata.tables


@dataclass(frozen=True)
class Organisation:
    """What was seeded: the numbers the checks and the raw queries need."""

    people: int
    staff: int
    actions: int
    survey_id: int
    roll: int
    voted: int


def address_of(person_id: int) -> str:
    return f"tel:+447{person_id:09d}"


def insert_rows(connection: Connection, table: str, rows: Sequence[dict[str, Any]]) -> None:
    """Many rows with one INSERT executed for many parameter sets, in chunks."""
    for start in range(0, len(rows), CHUNK):
        connection.execute(insert(TABLES[table]), list(rows[start:start + CHUNK]))


def seed(database: Engine, size: int) -> Organisation:
    """``size`` service users, ``size`` actions, an election in voting and an open survey,
    written with bulk INSERTs. Ids are given (no row is read back) only in tables the ticks
    never insert into, so PostgreSQL's sequences need no resetting."""
    created = TICK_AT - timedelta(days=30)
    services = CONSTITUENCIES * SERVICES_PER_CONSTITUENCY
    staff = max(5, size // PEOPLE_PER_STAFF)
    lead = size + staff + 1
    everyone = range(1, lead + 1)
    survey = load_survey_yaml(
        "title: How are things?\naudience: everyone\nquestions:\n"
        "  - {kind: scale, scale: smiley, text: 'How do you feel about your home?'}\n"
        "  - {kind: yes_no, text: 'Do staff listen to you?'}\n",
        source="bench survey", zone=ZONE)
    with transaction(database) as session:
        survey_id = save_survey(session=session, survey=survey, now=created)
    with database.begin() as connection:
        insert_rows(connection, "constituency", [
            {"id": n, "name": f"Constituency {n}"} for n in range(1, CONSTITUENCIES + 1)])
        insert_rows(connection, "service", [
            {"id": n, "name": f"Service {n}", "join_code": f"JOIN{n}",
             "constituency_id": (n - 1) // SERVICES_PER_CONSTITUENCY + 1}
            for n in range(1, services + 1)])
        insert_rows(connection, "person", [
            {"id": n, "name": f"Person {n}", "language": "en", "created_at": created,
             "service_id": (n - 1) % services + 1 if n <= size else None}
            for n in everyone])
        insert_rows(connection, "address", [
            {"id": n, "urn": address_of(n), "person_id": n, "active": True,
             "created_at": created} for n in everyone])
        insert_rows(connection, "person_role", [
            {"person_id": n, "role": "service_user" if n <= size else
             "staff" if n < lead else "admin"} for n in everyone])
        insert_rows(connection, "communication_profile", [
            {"person_id": n, "pictures": True, "easy_words": True, "audio": False}
            for n in everyone])
        insert_rows(connection, "action", [
            {"id": n, "what": f"Fix thing number {n}", "owner_id": size + 1 + n % staff,
             "due_on": TICK_AT.date() + timedelta(days=(n * 7919) % ACTION_DAYS - 7),
             "standard": "1.1", "status": "open", "created_at": created, "created_by": "bench"}
            for n in range(1, size + 1)])
        connection.execute(update(TABLES["survey"]).where(TABLES["survey"].c.id == survey_id)
                           .values(status="open", opened_at=created, opens_at=created,
                                   closes_at=TICK_AT + timedelta(days=2, minutes=-1),
                                   reminders=[2 * 24 * 3600]))
        insert_rows(connection, "survey_participant", [
            {"survey_id": survey_id, "person_id": n, "status": "invited", "position": 0,
             "invited_at": created} for n in range(1, size + 1)])
        sent = {"channel": "sms", "options": [], "footer": "", "audio": False,
                "priority": Priority.BULK, "status": "sent", "attempts": 1, "sensitive": False,
                "next_attempt_at": created, "created_at": created, "sent_at": created}
        insert_rows(connection, "outbox", [
            {**sent, "person_id": n, "address": address_of(n), "text": "We have a survey",
             "dedupe_key": f"survey:{survey_id}:invite:person:{n}"} for n in range(1, size + 1)])
        election_id = 1
        voters = [n for n in range(1, size + 1) if (n - 1) % services < SERVICES_PER_CONSTITUENCY]
        insert_rows(connection, "election", [{
            "id": election_id, "kind": "election", "title": "Service user MP for Constituency 1",
            "question": "Who do you want to be the MP?", "constituency_id": 1,
            "electorate_kind": "constituency", "electorate_value": "Constituency 1",
            "seats": 1, "term_months": 12, "status": "voting", "created_at": created,
            "nominations_open_at": TICK_AT - timedelta(days=10),
            "voting_opens_at": TICK_AT - timedelta(days=2),
            "voting_closes_at": TICK_AT + timedelta(days=3, minutes=-1),
            "reminders": [3 * 24 * 3600]}])
        insert_rows(connection, "candidate", [
            {"id": number, "election_id": election_id, "person_id": voters[number],
             "number": number, "name": f"Candidate {number}", "change": "", "why": "",
             "status": "approved", "nominated_at": created} for number in (1, 2)])
        voted = set(voters[::3])
        insert_rows(connection, "roll", [
            {"election_id": election_id, "person_id": n, "voted": n in voted} for n in voters])
        insert_rows(connection, "ballot", [
            {"receipt": f"R{n:012d}", "election_id": election_id, "candidate_id": 1 + n % 2}
            for n in sorted(voted)])
        insert_rows(connection, "outbox", [
            {**sent, "person_id": n, "address": address_of(n), "text": "Time to vote",
             "dedupe_key": f"election:{election_id}:ballot:person:{n}"} for n in voters])
    analyse(database)
    return Organisation(people=size, staff=staff, actions=size, survey_id=survey_id,
                        roll=len(voters), voted=len(voted))


def analyse(database: Engine, table: str = "") -> None:
    """On PostgreSQL, vacuum and gather statistics as autovacuum would after a bulk load."""
    if database.dialect.name != "postgresql":
        return
    with database.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"VACUUM ANALYZE {table}".strip()))


@dataclass(frozen=True)
class TickTimes:
    """Seconds each part of one tick took, and what it queued."""

    survey: float
    election: float
    action: float
    queued: dict[str, int]

    @property
    def total(self) -> float:
        return self.survey + self.election + self.action


def tick(database: Engine, now: datetime) -> TickTimes:
    """One scheduler tick, as scheduler/jobs.py runs it: surveys, elections, actions."""
    with Stopwatch() as surveys:
        surveyed = survey_tick(database=database, now=now, zone=ZONE)
    with Stopwatch() as elections:
        elected = election_tick(database=database, now=now, zone=ZONE)
    with Stopwatch() as actions:
        acted = action_tick(database=database, now=now, zone=ZONE, nudge_days=DEFAULT_BEFORE)
    return TickTimes(
        survey=surveys.seconds, election=elections.seconds, action=actions.seconds,
        queued={"survey reminders": surveyed.reminded, "vote reminders": elected.reminded,
                "nudges": acted.nudged, "leads told": acted.leads_told,
                "surgery messages": acted.surgery_messages,
                "phase changes": len(surveyed.opened) + len(surveyed.closed) + len(elected.moved)})


def due_rows(database: Engine, now: datetime) -> dict[str, int]:
    """The raw SQL baseline: a few set-based SELECTs finding what a tick must find (surveys
    and elections due a phase change, reminders and nudges due and not yet queued, and
    surgeries near), with the same pure rules deciding which reminder and nudge are due."""
    survey, participant, person, outbox = (TABLES[name] for name in (
        "survey", "survey_participant", "person", "outbox"))
    election, roll, action, surgery = (TABLES[name] for name in (
        "election", "roll", "action", "surgery"))
    found = {"surveys live": 0, "reminders to queue": 0, "elections live": 0,
             "actions near due": 0, "nudges to queue": 0, "surgeries near": 0}
    with database.begin() as connection:
        for row in connection.execute(select(
                survey.c.id, survey.c.closes_at, survey.c.reminders).where(
                survey.c.status.in_(["scheduled", "open"]))):
            found["surveys live"] += 1
            index = due_reminder(reminders=[timedelta(seconds=s) for s in row.reminders],
                                 closes_at=row.closes_at, now=now)
            if index is None:
                continue
            key = literal(f"survey:{row.id}:reminder:{index}:person:") + cast(
                participant.c.person_id, String)
            found["reminders to queue"] += len(connection.execute(
                select(participant.c.person_id)
                .join(person, person.c.id == participant.c.person_id)
                .where(participant.c.survey_id == row.id,
                       participant.c.status.in_(["invited", "answering"]),
                       person.c.opted_out_at.is_(None),
                       ~exists().where(outbox.c.dedupe_key == key))).all())
        for poll in connection.execute(select(
                election.c.id, election.c.status, election.c.voting_closes_at,
                election.c.reminders).where(election.c.status.in_(
                ["draft", "nominations", "voting", "closed", "counted"]))):
            found["elections live"] += 1
            index = due_reminder(reminders=[timedelta(seconds=s) for s in poll.reminders],
                                 closes_at=poll.voting_closes_at, now=now)
            if poll.status != "voting" or index is None:
                continue
            key = literal(f"election:{poll.id}:reminder:{index}:person:") + cast(
                roll.c.person_id, String)
            found["reminders to queue"] += len(connection.execute(
                select(roll.c.person_id).join(person, person.c.id == roll.c.person_id)
                .where(roll.c.election_id == poll.id, roll.c.voted.is_(False),
                       person.c.opted_out_at.is_(None),
                       ~exists().where(outbox.c.dedupe_key == key))).all())
        horizon = now.astimezone(ZONE).date() + timedelta(days=max(DEFAULT_BEFORE))
        keys = []
        for near in connection.execute(select(action.c.id, action.c.due_on).where(
                action.c.status == "open", action.c.due_on <= horizon)):
            found["actions near due"] += 1
            nudge = due_nudge(due_on=near.due_on, now=now, zone=ZONE, before=DEFAULT_BEFORE)
            if nudge is not None:
                keys.append(f"action:{near.id}:nudge:{nudge.key}")
        queued = set(connection.execute(select(outbox.c.dedupe_key).where(
            outbox.c.dedupe_key.in_(bindparam("keys", expanding=True))), {"keys": keys})
            .scalars())
        found["nudges to queue"] = len(set(keys) - queued)
        found["surgeries near"] = len(connection.execute(select(surgery.c.id).where(
            or_(and_(surgery.c.status == "scheduled", surgery.c.starts_at > now,
                     surgery.c.starts_at <= now + timedelta(days=2)),
                and_(surgery.c.status.in_(["scheduled", "held"]), surgery.c.ends_at <= now,
                     surgery.c.logged_at.is_(None),
                     surgery.c.ends_at > now - timedelta(days=7))))).all())
    return found


def timed_due_rows(database: Engine, now: datetime) -> tuple[float, dict[str, int]]:
    with Stopwatch() as watch:
        found = due_rows(database, now)
    return watch.seconds, found


RAW_REMINDER = (
    "INSERT INTO outbox (person_id, address, channel, text, options, footer, picture, audio,"
    " priority, status, attempts, next_attempt_at, created_at, sent_at, provider_id,"
    " delivery_status, delivered_at, error, in_reply_to, dedupe_key, sensitive)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
"""The columns SQLAlchemy writes when the tick queues a message."""


def in_driver_style(statement: str, sqlite: bool) -> str:
    """``?`` placeholders for sqlite3, ``%s`` for psycopg."""
    return statement if sqlite else statement.replace("?", "%s")


def raw_reminders(database: Engine, organisation: Organisation, now: datetime) -> float:
    """Seconds to bulk insert a survey reminder for everyone, as the tick would queue them,
    with the driver's executemany in one transaction; the rows are deleted afterwards."""
    sqlite = database.dialect.name == "sqlite"
    texts = load_catalogue("en")
    words = texts.text("survey.reminder", title="How are things?",
                       closes=spoken_time(now + timedelta(days=2), ZONE))
    prefix = f"survey:{organisation.survey_id}:reminder:0:person:"
    moment: Any = now.replace(tzinfo=None).isoformat(" ") if sqlite else now
    connection = database.raw_connection()
    try:
        cursor = connection.cursor()
        with Stopwatch() as watch:
            rows = [(n, address_of(n), "sms", words, "[]", "", None, False, Priority.BULK,
                     "queued", 0, moment, moment, None, None, None, None, None, None,
                     f"{prefix}{n}", False) for n in range(1, organisation.people + 1)]
            if sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(in_driver_style(RAW_REMINDER, sqlite), rows)
            connection.commit()
        if sqlite:
            cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(in_driver_style("DELETE FROM outbox WHERE dedupe_key LIKE ?", sqlite),
                       (f"{prefix}%",))
        connection.commit()
        cursor.close()
    finally:
        connection.close()
    analyse(database, "outbox")
    return watch.seconds


@contextmanager
def postgres_reachable(backend: str) -> Iterator[None]:
    """Turn a PostgreSQL server that cannot be reached into a skip, not a failure."""
    try:
        yield
    except OperationalError as error:
        if backend != "postgresql":
            raise
        raise Unreachable(str(error.orig or error).strip().splitlines()[0]) from error


class Unreachable(Exception):
    """The PostgreSQL server given could not be reached."""


def check_first_tick(organisation: Organisation, due: dict[str, int], first: TickTimes) -> None:
    """The first tick must queue what the raw queries found due: a reminder to everyone who
    has not answered or voted, and the nudges due; otherwise the figures compare nothing."""
    expected = {"survey reminders": organisation.people,
                "vote reminders": organisation.roll - organisation.voted,
                "nudges": due["nudges to queue"]}
    for part, count in expected.items():
        if first.queued[part] != count:
            raise RuntimeError(f"the first tick queued {first.queued[part]} {part}, not {count}")
    if due["reminders to queue"] != organisation.people + expected["vote reminders"]:
        raise RuntimeError(f"the raw queries found {due['reminders to queue']} reminders due, "
                           f"the tick queued {first.queued}")


def measure(run: Run, backend: str) -> list[Figure | Skipped]:
    """Both figures on one database: queueing reminders to everyone, and the steady tick."""
    size = run.size(5_000, 100_000)
    repeats = run.size(1, 2)
    with run.database(backend, "p4") as (_url, database):
        with Stopwatch() as seeding:
            organisation = seed(database, size)
        raw_seconds = raw_reminders(database, organisation, TICK_AT)
        due = due_rows(database, TICK_AT)
        first = tick(database, TICK_AT)
        check_first_tick(organisation, due, first)
        tick_seconds: list[float] = []
        raw_query_seconds: list[float] = []
        steady: list[TickTimes] = []
        found: dict[str, int] = {}
        statements: Counter[str] = Counter()
        tally = StatementTally(database)
        for minute in range(1, repeats + 1):
            now = TICK_AT + timedelta(minutes=minute)
            seconds, found = timed_due_rows(database, now)
            raw_query_seconds.append(seconds)
            with tally.counting() as counts:
                steady.append(tick(database, now))
            statements.update(counts)
            tick_seconds.append(steady[-1].total)
        tally.close()
    for times in steady:
        if any(times.queued.values()):
            raise RuntimeError(f"a steady tick queued something: {times.queued}")
    if found["reminders to queue"] or found["nudges to queue"]:
        raise RuntimeError(f"the raw queries found rows to queue after the first tick: {found}")
    best = min(range(repeats), key=lambda index: tick_seconds[index])
    tick_value, raw_value = tick_seconds[best], min(raw_query_seconds)
    label = "SQLite file" if backend == "sqlite" else "PostgreSQL"
    return [
        Figure(
            bench=BENCH,
            name=f"steady scheduler tick, {size:,} people and actions ({label})",
            value=tick_value, unit="s", baseline=raw_value,
            baseline_name="raw SQL finding the same rows", higher_is_better=False,
            target="at most 2x raw (ratio >= 0.5)", met=raw_value / tick_value >= TARGET_RATIO,
            detail={
                "backend": backend, "people": organisation.people, "staff": organisation.staff,
                "actions": organisation.actions, "election_roll": organisation.roll,
                "roll_voted": organisation.voted, "repeats": repeats,
                "tick_seconds_by_part": {"survey_tick": round(steady[best].survey, 4),
                                         "election_tick": round(steady[best].election, 4),
                                         "action_tick": round(steady[best].action, 4)},
                "tick_seconds_each": [round(s, 4) for s in tick_seconds],
                "raw_seconds_each": [round(s, 4) for s in raw_query_seconds],
                "raw_rows_found": found,
                "tick_statements": StatementTally.per(statements, repeats),
                "statements_note": "counted in the timed ticks; the counter costs about a "
                                   "microsecond a statement",
                "seed_seconds": round(seeding.seconds, 1),
            },
        ),
        Figure(
            bench=BENCH,
            name=f"queue {size:,} survey reminders in a tick ({label})",
            value=first.survey, unit="s", baseline=raw_seconds,
            baseline_name="raw bulk insert of as many outbox rows", higher_is_better=False,
            target="", met=None,
            detail={
                "backend": backend, "reminders": organisation.people,
                "tick_rows_per_s": round(organisation.people / first.survey, 1),
                "raw_rows_per_s": round(organisation.people / raw_seconds, 1),
                "first_tick_queued": first.queued,
                "first_tick_seconds_by_part": {"survey_tick": round(first.survey, 3),
                                               "election_tick": round(first.election, 3),
                                               "action_tick": round(first.action, 3)},
            },
        ),
    ]


def run(run: Run) -> list[Figure | Skipped]:
    results: list[Figure | Skipped] = []
    for backend in run.backends():
        try:
            with postgres_reachable(backend):
                results.extend(measure(run, backend))
        except Unreachable as error:
            results.append(Skipped(BENCH, f"PostgreSQL unreachable: {error}"))
    if run.postgres_url is None:
        results.append(Skipped(BENCH, "PostgreSQL figures: no server given (--postgres URL)"))
    return results

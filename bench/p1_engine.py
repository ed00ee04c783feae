"""P1: survey answers per second through the engine, each to a committed reply, on a SQLite
file, against a raw ``sqlite3`` loop writing the same rows with the same settings.

Every timed message is a person answering the survey question they were asked: the engine
stores it in the inbox, records the answer, moves the conversation on, queues the next
question in the outbox and marks the message handled. The raw loop writes exactly those
rows (the statement counts of both go in the figure's detail), in the same two committed
transactions per message: the inbox row first, then the handling.

A third side, in the detail only, sends the engine's own statements through SQLAlchemy's
``Connection.execute`` with nothing else: the engine runs them prepared, on the driver
(``storage.prepared``), and this side shows what that is worth.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, func
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from bench.common import Figure, Run, Skipped, Stopwatch
from bot.clock import ManualClock
from bot.elections.turns import _LIVE as LIVE_ELECTIONS
from bot.engine import ConversationEngine
from bot.messages import Inbound
from bot.surveys.flow import step_for
from bot.surveys.invitations import open_survey
from bot.surveys.loading import load_survey_yaml
from bot.surveys.store import save_survey
from storage import conversations, inbox, outbox, people, survey_progress
from storage.database import SQLITE_BUSY_TIMEOUT_MS, transaction
from storage.tables import (
    InboxMessage,
    InboxStatus,
    OutboxMessage,
    SurveyAnswer,
    SurveyQuestion,
)

TITLE = "engine: survey answers to a committed reply per second, against raw sqlite3"
BENCH = "P1"
ZONE = ZoneInfo("Europe/London")
START = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
QUESTIONS = 12
"""Long enough that people answer question 1 in the warm-up and 2 to 11 while timed: the
last question (which finishes the survey) is never answered."""
ROUNDS = 3
TARGET_RATIO = 0.25
ANSWERS = {1: "good", 2: "ok", 3: "not_good"}
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


class StatementTally:
    """Counts the statements an engine sends, by verb and (for writes) table, and the
    connections it opens.

    ``with tally.counting(): …`` counts only inside the block; the counts say what a piece
    of product code really asks of the database, so a raw baseline can be checked against it.
    """

    def __init__(self, database: Engine) -> None:
        self.database = database
        self.counts: Counter[str] = Counter()
        self._on = False
        event.listen(database, "before_cursor_execute", self._count)
        event.listen(database, "connect", self._connected)

    def _count(self, _connection: Any, _cursor: Any, statement: str, parameters: Any,
               _context: Any, executemany: bool) -> None:
        if not self._on:
            return
        words = statement.split()
        verb = words[0].upper() if words else "?"
        key = verb
        if verb == "INSERT" and len(words) > 2:
            key = f"INSERT {words[2]}"
        elif verb == "UPDATE" and len(words) > 1:
            key = f"UPDATE {words[1]}"
        elif verb == "DELETE" and len(words) > 2:
            key = f"DELETE {words[2]}"
        rows = len(parameters) if executemany and isinstance(parameters, list | tuple) else 1
        self.counts[key] += 1
        self.counts["rows written"] += rows if verb in ("INSERT", "UPDATE", "DELETE") else 0

    def _connected(self, _dbapi_connection: Any, _record: Any) -> None:
        if self._on:
            self.counts["connections opened"] += 1

    @contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        self.counts.clear()
        self.counts["connections opened"] = 0
        self._on = True
        try:
            yield self.counts
        finally:
            self._on = False

    def close(self) -> None:
        event.remove(self.database, "before_cursor_execute", self._count)
        event.remove(self.database, "connect", self._connected)

    @staticmethod
    def per(counts: Counter[str], messages: int) -> dict[str, float]:
        """The counts per message (or per tick), rounded for reading."""
        return {key: round(count / messages, 2) for key, count in sorted(counts.items())}


@dataclass(frozen=True)
class Panel:
    """The people answering, and the survey they answer: what both loops need to know."""

    survey_id: int
    service_id: int
    constituency_id: int
    question_ids: dict[int, int]
    members: tuple[tuple[int, str], ...]
    """(person id, address) of each person, in the order their messages go round."""

    def turn(self, number: int) -> tuple[int, str, int, int]:
        """Message ``number``: (person id, address, question position answered, option)."""
        person_id, address = self.members[number % len(self.members)]
        return person_id, address, number // len(self.members) + 1, 1 + number % 3


def survey_yaml(questions: int) -> str:
    """A survey file of ``questions`` smiley-scale questions, for everyone."""
    lines = ["title: How are things here?", "intro: Some quick questions.",
             "audience: everyone", "questions:"]
    for position in range(1, questions + 1):
        lines += ["  - kind: scale", "    scale: smiley",
                  f"    text: How do you feel about thing number {position}?"]
    return "\n".join(lines) + "\n"


def seed_panel(database: Engine, clock: ManualClock, size: int) -> Panel:
    """``size`` people at one service, invited to an open survey and asked its question 1."""
    survey = load_survey_yaml(survey_yaml(QUESTIONS), source="bench survey", zone=ZONE)
    with transaction(database) as session:
        riverside = people.add_constituency(session=session, name="Riverside")
        assert riverside.id is not None
        willow = people.add_service(session=session, name="Willow House",
                                    constituency_id=riverside.id, join_code="WILLOW1")
        assert willow.id is not None
        members = []
        for number in range(size):
            address = f"tel:+4477009{number:05d}"
            person = people.add_person(session=session, urns=[address], now=clock.now(),
                                       service_id=willow.id)
            assert person.id is not None
            members.append((person.id, address))
        survey_id = save_survey(session=session, survey=survey, now=clock.now())
    with transaction(database) as session:
        invited = open_survey(session=session, survey_id=survey_id, now=clock.now())
        if invited != size:
            raise RuntimeError(f"the survey invited {invited} of {size} people")
        question_ids = {
            position: question_id for question_id, position in session.exec(
                select(col(SurveyQuestion.id), SurveyQuestion.position)
                .where(SurveyQuestion.survey_id == survey_id))
            if question_id is not None
        }
    return Panel(survey_id=survey_id, service_id=willow.id, constituency_id=riverside.id,
                 question_ids=question_ids, members=tuple(members))


def answer_through_engine(
    engine: ConversationEngine, clock: ManualClock, panel: Panel, numbers: range
) -> float:
    """Seconds for the engine to store, handle and commit messages ``numbers``, in turn."""
    with Stopwatch() as watch:
        for number in numbers:
            _person_id, address, _position, option = panel.turn(number)
            clock.advance(timedelta(seconds=1))
            engine.receive(Inbound(address=address, text=str(option), channel="sms",
                                   provider_id=f"SM{number:032d}", received_at=clock.now()))
            engine.handle_waiting(address)
    return watch.seconds


def seconds_answering(answer: Callable[[int], None], numbers: range) -> float:
    """Seconds for ``answer`` to write messages ``numbers``, in turn (a baseline's round)."""
    with Stopwatch() as watch:
        for number in numbers:
            answer(number)
    return watch.seconds


@dataclass(frozen=True)
class Reply:
    """What the engine queued for the next question, copied so the raw loop writes as much."""

    text: str
    options: str
    footer: str


def last_reply(database: Engine) -> Reply:
    with Session(database) as session:
        row = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id).desc())
                           .limit(1)).one()
        return Reply(text=row.text, options=json.dumps(row.options), footer=row.footer)


class RawAnswers:
    """The baseline: the rows the engine writes for one answer, written by hand with sqlite3
    on a file with the engine's settings (WAL, synchronous=NORMAL, foreign keys, a busy
    timeout, BEGIN IMMEDIATE), in the same two transactions."""

    def __init__(self, path: str, panel: Panel, reply: Reply) -> None:
        self.panel = panel
        self.reply = reply
        self.connection = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
                       "foreign_keys=ON", "synchronous=NORMAL"):
            self.connection.execute(f"PRAGMA {pragma}")

    def answer(self, number: int) -> None:
        person_id, address, position, option = self.panel.turn(number)
        now = (START + timedelta(seconds=number + 1)).strftime(SQLITE_TIME)
        cursor = self.connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(
            "INSERT INTO inbox (channel, provider_id, address, text, media, received_at,"
            " provider_answered, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING id",
            ("sms", f"SM{number:032d}", address, str(option), "[]", now, 0, "received"))
        inbox_id = cursor.fetchone()[0]
        cursor.execute("COMMIT")
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(
            "UPDATE conversation SET flow = ?, step = ?, context = ?, misses = ?, updated_at = ?"
            " WHERE person_id = ?",
            ("survey", step_for(self.panel.survey_id, position + 1), "{}", 0, now, person_id))
        cursor.execute(
            "INSERT INTO outbox (person_id, address, channel, text, options, footer, picture,"
            " audio, priority, status, attempts, next_attempt_at, created_at, sent_at,"
            " provider_id, delivery_status, delivered_at, error, in_reply_to, dedupe_key,"
            " sensitive) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (person_id, address, "sms", self.reply.text, self.reply.options, self.reply.footer,
             None, 0, 0, "queued", 0, now, now, None, None, None, None, None, inbox_id, None, 0))
        cursor.execute(
            "INSERT INTO survey_answer (survey_id, question_id, person_id, service_id,"
            " constituency_id, option_number, value, text, answered_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.panel.survey_id, self.panel.question_ids[position], person_id,
             self.panel.service_id, self.panel.constituency_id, option, ANSWERS[option], None,
             now))
        cursor.execute(
            "UPDATE survey_participant SET position = ?, status = ?"
            " WHERE survey_id = ? AND person_id = ?",
            (position, "answering", self.panel.survey_id, person_id))
        cursor.execute(
            "UPDATE inbox SET status = ?, person_id = ?, handled_at = ? WHERE id = ?",
            ("handled", person_id, now, inbox_id))
        cursor.execute("COMMIT")
        cursor.close()

    def answer_all(self, numbers: range) -> float:
        return seconds_answering(self.answer, numbers)

    @contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        """Count the statements SQLite runs inside the block, as :class:`StatementTally` does."""
        counts: Counter[str] = Counter({"connections opened": 0})

        def trace(statement: str) -> None:
            words = statement.split()
            verb = words[0].upper()
            table = {"INSERT": 2, "UPDATE": 1}.get(verb)
            counts[f"{verb} {words[table]}" if table else verb] += 1
            counts["rows written"] += 1 if table else 0

        self.connection.set_trace_callback(trace)
        try:
            yield counts
        finally:
            self.connection.set_trace_callback(None)

    def close(self) -> None:
        self.connection.close()


class CoreStatements:
    """What preparing the engine's statements buys: the statements the engine sends for one
    answer (its reads too), each run through SQLAlchemy's ``Connection.execute`` on one
    connection per transaction, with no session and no conversation logic. The engine runs
    them prepared (:mod:`storage.prepared`); this side shows how fast it could be if it did
    not. They are the product's own statements (hence the imports of private names), so
    this follows the engine when they change."""

    def __init__(self, database: Engine, panel: Panel, reply: Reply) -> None:
        self.database = database
        self.panel = panel
        self.reply = reply
        self.options = json.loads(reply.options)

    def answer(self, number: int) -> None:
        person_id, address, position, option = self.panel.turn(number)
        now = START + timedelta(seconds=number + 1)
        arriving = inbox.arriving(channel="sms", provider_id=f"SM{number:032d}",
                                  address=address, text=str(option), received_at=now)
        with self.database.begin() as connection:
            (inbox_id, _channel, _provider_id) = connection.execute(
                inbox._storing("sqlite", 1).statement, arriving).one()
        with self.database.begin() as connection:
            run = connection.execute
            run(inbox._OLDEST_UNHANDLED.statement, {"address": address, "count": 2}).all()
            run(people._SENDER.statement, {"urn": address}).one()
            run(people._SURROUNDINGS.statement, {"person_id": person_id}).one()
            run(survey_progress._OPEN_SURVEYS_FOR.statement, {"person_id": person_id}).all()
            run(LIVE_ELECTIONS.statement).all()
            run(survey_progress._ANSWER.statement, {
                "survey_id": self.panel.survey_id,
                "question_id": self.panel.question_ids[position], "person_id": person_id,
                "service_id": self.panel.service_id,
                "constituency_id": self.panel.constituency_id, "option_number": option,
                "value": ANSWERS[option], "text": None, "answered_at": now})
            run(survey_progress._ADVANCE.statement, {
                "key_survey_id": self.panel.survey_id, "key_person_id": person_id,
                "new_position": position})
            run(conversations._UPDATE.statement, {
                "key_person_id": person_id, "new_flow": "survey",
                "new_step": step_for(self.panel.survey_id, position + 1), "new_context": {},
                "new_misses": 0, "new_updated_at": now})
            run(outbox._QUEUE.statement, {
                "person_id": person_id, "address": address, "channel": "sms",
                "text": self.reply.text, "options": self.options, "footer": self.reply.footer,
                "picture": None, "audio": False, "priority": 0, "in_reply_to": inbox_id,
                "dedupe_key": None, "sensitive": False, "created_at": now,
                "next_attempt_at": now}).one()
            run(inbox._HANDLED.statement, {
                "key_id": inbox_id, "new_person_id": person_id, "new_handled_at": now})

    def answer_all(self, numbers: range) -> float:
        return seconds_answering(self.answer, numbers)


def recorded(database: Engine, survey_id: int) -> tuple[int, int]:
    """(answers stored for the survey, inbox messages not handled): checks every message
    was a real answer, handled and committed."""
    with Session(database) as session:
        answers = session.exec(select(func.count()).select_from(SurveyAnswer).where(
            col(SurveyAnswer.survey_id) == survey_id)).one()
        waiting = session.exec(select(func.count()).select_from(InboxMessage).where(
            col(InboxMessage.status) != InboxStatus.HANDLED)).one()
    return int(answers), int(waiting)


def interleaved(rounds: list[range], *sides: Callable[[range], float]) -> list[list[float]]:
    """Messages per second of each side (the engine, the raw loop, …) in each round, each
    round starting with the next side, so a busy moment on the machine does not fall on
    one side only."""
    rates: list[list[float]] = [[] for _ in sides]
    for index, numbers in enumerate(rounds):
        for turn in range(len(sides)):
            side = (index + turn) % len(sides)
            rates[side].append(len(numbers) / sides[side](numbers))
    return rates


def run(run: Run) -> list[Figure | Skipped]:
    messages = run.size(300, 5_000)
    counted = 20
    size = -(-(messages + counted) // (QUESTIONS - 2))
    warm_up = range(size)
    sample = range(size, size + counted)
    timed = range(size + counted, size + counted + messages)
    rounds = [range(timed.start + i * len(timed) // ROUNDS,
                    timed.start + (i + 1) * len(timed) // ROUNDS) for i in range(ROUNDS)]
    with (run.database("sqlite", "p1-engine") as (_url, database),
          run.database("sqlite", "p1-raw") as (raw_url, raw_database),
          run.database("sqlite", "p1-core") as (_core_url, core_database)):
        clock = ManualClock(START)
        panel = seed_panel(database, clock, size)
        raw_panel = seed_panel(raw_database, ManualClock(START), size)
        core_panel = seed_panel(core_database, ManualClock(START), size)
        engine = ConversationEngine(database=database, clock=clock)
        answer_through_engine(engine, clock, panel, warm_up)
        tally = StatementTally(database)
        with tally.counting() as engine_counts:
            answer_through_engine(engine, clock, panel, sample)
        tally.close()
        raw = RawAnswers(str(make_url(raw_url).database), raw_panel, last_reply(database))
        core = CoreStatements(core_database, core_panel, last_reply(database))
        core.answer_all(warm_up)
        core_tally = StatementTally(core_database)
        with core_tally.counting() as core_counts:
            core.answer_all(sample)
        core_tally.close()
        try:
            raw.answer_all(warm_up)
            with raw.counting() as raw_counts:
                raw.answer_all(sample)
            engine_rates, raw_rates, core_rates = interleaved(
                rounds, lambda numbers: answer_through_engine(engine, clock, panel, numbers),
                raw.answer_all, core.answer_all)
        finally:
            raw.close()
        expected = size + counted + messages
        stored = [recorded(database, panel.survey_id),
                  recorded(raw_database, raw_panel.survey_id),
                  recorded(core_database, core_panel.survey_id)]
    if stored != [(expected, 0)] * 3:
        raise RuntimeError(f"expected {expected} answers and nothing waiting on every side; "
                           f"(answers, waiting) were {stored[0]} (engine), {stored[1]} (raw), "
                           f"{stored[2]} (Core statements alone)")
    if core_counts != engine_counts:
        raise RuntimeError(f"the Core reference sent {dict(core_counts)}, the engine "
                           f"{dict(engine_counts)}: they must send the same statements")
    value, baseline = max(engine_rates), max(raw_rates)
    return [Figure(
        bench=BENCH,
        name="survey answers through the engine (SQLite file)",
        value=value,
        unit="msg/s",
        baseline=baseline,
        baseline_name="raw sqlite3, same rows",
        higher_is_better=True,
        target=f"ratio >= {TARGET_RATIO}",
        met=value / baseline >= TARGET_RATIO,
        detail={
            "messages_timed": messages,
            "rounds": ROUNDS,
            "engine_msg_per_s_by_round": [round(rate, 1) for rate in engine_rates],
            "raw_msg_per_s_by_round": [round(rate, 1) for rate in raw_rates],
            "people": size,
            "survey_questions": QUESTIONS,
            "warm_up_messages": size + counted,
            "engine_statements_per_message": StatementTally.per(engine_counts, counted),
            "raw_statements_per_message": StatementTally.per(raw_counts, counted),
            "core_statements_alone_msg_per_s_by_round": [round(rate, 1) for rate in core_rates],
            "core_statements_alone_ratio": round(max(core_rates) / baseline, 3),
            "core_statements_alone_note": "the engine's own statements, each through "
                                          "SQLAlchemy's Connection.execute, with no "
                                          "conversation logic: the engine runs them prepared, "
                                          "straight on the driver (storage/prepared.py), and "
                                          "is faster than this",
            "statements_note": "BEGIN counts transactions; the engine commits through the "
                               "driver, so its COMMITs are not counted as statements; the raw "
                               "loop keeps one connection open",
            "settings": "WAL, synchronous=NORMAL, foreign_keys=ON, busy timeout, "
                        "BEGIN IMMEDIATE, on both",
        },
    )]

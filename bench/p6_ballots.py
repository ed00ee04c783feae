"""P6: a whole roll voting at once, a tenth of them twice from two addresses.

Each voter answers the ballot by text through the conversation engine, on threads that all
run together; each double voter also votes from a second address at the same moment. The
figure is ballots stored per second against a bare ``INSERT … ON CONFLICT DO NOTHING`` into
a table unique on the voter, with the same attempts and threads on the same database. A
second figure times ``cast_vote`` alone, to tell the conversation's cost from the casting's.
What must hold: exactly one ballot per voter, and every second attempt refused.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, delete, text, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, func, select

from bench.common import Figure, Run, Skipped, Stopwatch
from bot.catalogue import load_catalogue
from bot.clock import ManualClock
from bot.elections import service
from bot.engine import ConversationEngine
from bot.messages import Inbound
from bot.urns import scheme_of
from storage import people
from storage.database import create_database_engine, transaction
from storage.tables import (
    Ballot,
    Candidate,
    InboxMessage,
    InboxStatus,
    OutboxMessage,
    Person,
    Role,
    RollEntry,
)

TITLE = "ballots: a roll voting at once, a tenth twice from two addresses"
BENCH = "P6"
THREADS = 16
DOUBLE_EVERY = 10
"""Every tenth voter has a second address and votes from both."""
MOST_MESSAGES = 8
"""A voter who has neither a receipt nor a refusal after this many messages gives up."""
WARM_UP_VOTERS = 4
PAIR_WAIT_SECONDS = 120.0
START = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
CONSTITUENCY = "Riverside"
ACTOR = "staff:bench"
CHANNELS = {"tel": "sms", "telegram": "telegram"}
TARGET = "one ballot per voter; no ratio bar"

RAW_TABLE = text(
    "CREATE TABLE raw_ballot (voter_id INTEGER NOT NULL UNIQUE, candidate_id INTEGER NOT NULL)"
)
RAW_INSERT = text(
    "INSERT INTO raw_ballot (voter_id, candidate_id) VALUES (:voter_id, :candidate_id) "
    "ON CONFLICT (voter_id) DO NOTHING"
)


@dataclass(frozen=True)
class Voter:
    """Someone on the roll, with every address they may vote from."""

    person_id: int
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Attempt:
    """One voter trying to vote from one address; ``together`` starts them with their twin."""

    voter: Voter
    address: str
    choice: int
    answers_ballot: bool
    """True for the address that starts by answering the ballot; the other sends VOTE."""
    together: threading.Barrier | None

    def begin(self) -> None:
        if self.together is not None:
            self.together.wait(timeout=PAIR_WAIT_SECONDS)


@dataclass(frozen=True)
class BallotWords:
    """The replies a voter reads to know where they are, from the message catalogue."""

    counted: str
    refusals: tuple[str, ...]
    closed: str
    confirm: str
    ballot: str

    @classmethod
    def of(cls, title: str) -> BallotWords:
        texts = load_catalogue("en")
        return cls(
            counted=texts.text("vote.counted", receipt="").splitlines()[0],
            # "Answer on your other phone" ends a second phone's try as surely as "already".
            refusals=(texts.text("vote.already").splitlines()[0],
                      texts.text("vote.all_done").splitlines()[0], texts.text("vote.none"),
                      texts.text("question.other_phone", keyword="VOTE").splitlines()[0]),
            closed=texts.text("vote.closed").splitlines()[0],
            confirm=texts.text("vote.confirm", number=0, name="").splitlines()[-1],
            ballot=texts.text("vote.ballot", title=title),
        )

    def outcome(self, replies: Sequence[str]) -> str | None:
        """counted, refused or closed when the replies settle the attempt; else None."""
        if any(reply.startswith(self.counted) for reply in replies):
            return "counted"
        if any(reply.startswith(refusal) for reply in replies for refusal in self.refusals):
            return "refused"
        if any(reply.startswith(self.closed) for reply in replies):
            return "closed"
        return None

    def next_message(self, replies: Sequence[str], choice: int) -> str:
        """What a voter sends next: yes to the choice repeated back, the number to a
        ballot, and VOTE to anything else (a menu, a re-ask of something else)."""
        if any(self.confirm in reply for reply in replies):
            return "yes"
        if any(self.ballot in reply for reply in replies):
            return str(choice)
        return "VOTE"


def run(run: Run) -> list[Figure | Skipped]:
    """Both figures on every database the run has."""
    size = run.size(100, 500)
    results: list[Figure | Skipped] = []
    for backend in run.backends():
        if backend == "postgresql" and run.postgres_url is not None:
            missing = _postgres_missing(run.postgres_url)
            if missing is not None:
                results.append(Skipped(BENCH, missing))
                continue
        with run.database(backend, "p6") as (url, database):
            results.extend(_measure(backend, url, database, size))
    return results


def _postgres_missing(url: str) -> str | None:
    """Why the PostgreSQL figures cannot be measured, or None when the server answers."""
    server = create_database_engine(url)
    try:
        with server.connect():
            return None
    except OperationalError as error:
        why = str(error.orig).splitlines()[0]
        return f"no PostgreSQL server at {make_url(url).render_as_string()}: {why}"
    finally:
        server.dispose()


def _measure(backend: str, url: str, database: Engine, size: int) -> list[Figure]:
    """The baseline, then the roll voting by text, then the same roll casting directly."""
    clock = ManualClock(START)
    voters = _enrol(database, clock, size)
    raw_seconds, raw = _raw_inserts(database, voters)
    raw["one_row_per_voter"] = raw["stored"] == len(voters) and (
        raw.get("refused", 0) == _doubles(voters))
    engine = ConversationEngine(database=database, clock=clock)
    with _reader(url) as reader:
        _warm_up_engine(engine, reader, clock)
        election_id, title = _open_election(database, clock, voters)
        by_text_seconds, by_text = _vote_by_text_at_once(engine, reader, election_id, title,
                                                         voters)
    _empty_ballot_box(database, election_id)
    cast_seconds, cast = _cast_at_once(database, election_id, voters)

    shared = {"voters": len(voters), "double_voters": _doubles(voters),
              "attempts": len(voters) + _doubles(voters), "threads": THREADS,
              "raw_insert": raw}
    figures = []
    for name, seconds, detail in (
        (f"ballots/s voting by text through the engine ({backend})", by_text_seconds, by_text),
        (f"ballots/s by cast_vote alone ({backend})", cast_seconds, cast),
    ):
        figures.append(Figure(
            bench=BENCH, name=name, value=len(voters) / seconds, unit="ballots/s",
            baseline=len(voters) / raw_seconds, baseline_name="raw insert, unique voter",
            target=TARGET, met=bool(detail["one_ballot_per_voter"]),
            detail={**shared, "seconds": round(seconds, 3), **detail},
        ))
    return figures


def _vote_by_text_at_once(engine: ConversationEngine, reader: Engine, election_id: int,
                          title: str, voters: Sequence[Voter]) -> tuple[float, dict[str, Any]]:
    """Every voter votes by text at once; the seconds, and what was stored and said."""
    words = BallotWords.of(title)
    received_before = _count_inbox(engine.database)
    attempts = _attempts(voters)
    seconds, outcomes = _all_at_once(
        attempts, lambda attempt: _vote_by_text(engine, reader, words, attempt))
    detail = _judge(engine.database, election_id, voters, attempts, outcomes)
    detail["messages"] = _count_inbox(engine.database) - received_before
    detail["messages_per_second"] = round(detail["messages"] / seconds, 1)
    detail["failed_messages"] = _count_inbox(engine.database, InboxStatus.FAILED)
    detail["one_ballot_per_voter"] = detail["one_ballot_per_voter"] and (
        detail["failed_messages"] == 0)
    return seconds, detail


def _cast_at_once(database: Engine, election_id: int, voters: Sequence[Voter]
                  ) -> tuple[float, dict[str, Any]]:
    """Every attempt calls ``cast_vote`` at once; the seconds, and what was stored."""
    candidate_ids = _candidate_ids(database, election_id)
    attempts = _attempts(voters)
    seconds, outcomes = _all_at_once(
        attempts, lambda attempt: _cast(database, election_id, candidate_ids, attempt))
    return seconds, _judge(database, election_id, voters, attempts, outcomes)


# -- the roll and the elections ------------------------------------------------------------


def _enrol(database: Engine, clock: ManualClock, size: int) -> list[Voter]:
    """``size`` service users of one constituency; every tenth with a Telegram address too."""
    with transaction(database) as session:
        place = people.add_constituency(session=session, name=CONSTITUENCY)
        home = people.add_service(session=session, name="Willow House",
                                  constituency_id=place.id or 0, join_code="WILLOW1")
        voters = []
        for n in range(size):
            urns = [f"tel:+44770{n:07d}"]
            if n % DOUBLE_EVERY == 0:
                urns.append(f"telegram:{700_000 + n}")
            person = people.add_person(session=session, urns=urns, now=clock.now(),
                                       name=f"Voter {n}", service_id=home.id)
            voters.append(Voter(person_id=person.id or 0, addresses=tuple(urns)))
        return voters


def _open_election(database: Engine, clock: ManualClock, voters: Sequence[Voter]
                   ) -> tuple[int, str]:
    """An election with two candidates from the roll, in voting: every voter has a ballot."""
    with transaction(database) as session:
        election = service.create_election(session=session, constituency=CONSTITUENCY,
                                           seats=1, term_months=12, now=clock.now())
        election_id = election.id or 0
        service.open_nominations(session=session, election_id=election_id, now=clock.now(),
                                 actor=ACTOR)
        for voter in voters[:2]:
            candidate = service.nominate(
                session=session, election_id=election_id,
                person=session.get_one(Person, voter.person_id),
                change="More trips out", why="I listen to everyone", now=clock.now())
            service.decide_nomination(session=session, candidate_id=candidate.id or 0,
                                      approve=True, now=clock.now(), actor=ACTOR)
        service.open_voting(session=session, election_id=election_id, now=clock.now(),
                            actor=ACTOR)
        return election_id, election.title


def _empty_ballot_box(database: Engine, election_id: int) -> None:
    """Put the election back as voting opened it (nobody voted, no ballots) without
    sending every voter a second ballot: the casting figure needs only the roll."""
    with transaction(database) as session:
        session.execute(update(RollEntry).where(col(RollEntry.election_id) == election_id)
                        .values(voted=False))
        session.execute(delete(Ballot).where(col(Ballot.election_id) == election_id))


def _candidate_ids(database: Engine, election_id: int) -> dict[int, int]:
    with Session(database) as session:
        standing = service.candidates(session=session, election_id=election_id)
        return {c.number: c.id or 0 for c in standing if c.number is not None}


def _warm_up_engine(engine: ConversationEngine, reader: Engine, clock: ManualClock) -> None:
    """A staff poll voted in by text, then closed: the voting code paths are warm before
    the timed election."""
    with transaction(engine.database) as session:
        staff = [people.add_person(session=session, urns=[f"tel:+44771{n:07d}"],
                                   now=clock.now(), name=f"Staff {n}", roles=[Role.STAFF])
                 for n in range(WARM_UP_VOTERS)]
        poll = service.create_poll(
            session=session, title="Staff award", question="Who should win?",
            options=[service.PollOption("Sam", "🏆"), service.PollOption("Jo", "🎖️")],
            electorate_kind="role", electorate_value=Role.STAFF, now=clock.now())
        poll_id = poll.id or 0
        service.open_voting(session=session, election_id=poll_id, now=clock.now(), actor=ACTOR)
        voters = [Voter(person_id=person.id or 0, addresses=(f"tel:+44771{n:07d}",))
                  for n, person in enumerate(staff)]
    words = BallotWords.of("Staff award")
    _all_at_once(_attempts(voters), lambda attempt: _vote_by_text(engine, reader, words, attempt))
    with transaction(engine.database) as session:
        service.close_voting(session=session, election_id=poll_id, now=clock.now(), actor=ACTOR)


def _attempts(voters: Sequence[Voter]) -> list[Attempt]:
    """One attempt per address, a double voter's two side by side and started together."""
    attempts = []
    for n, voter in enumerate(voters):
        together = threading.Barrier(2) if len(voter.addresses) > 1 else None
        for which, address in enumerate(voter.addresses):
            attempts.append(Attempt(voter=voter, address=address, choice=1 + (n + which) % 2,
                                    answers_ballot=which == 0, together=together))
    return attempts


def _doubles(voters: Sequence[Voter]) -> int:
    return sum(len(voter.addresses) > 1 for voter in voters)


# -- voting ---------------------------------------------------------------------------------


def _all_at_once(attempts: Sequence[Attempt], attempt_vote: Callable[[Attempt], str]
                 ) -> tuple[float, list[str]]:
    """Run every attempt on ``THREADS`` threads; the seconds from the first to the last."""
    with ThreadPoolExecutor(max_workers=THREADS) as pool, Stopwatch() as watch:
        outcomes = list(pool.map(attempt_vote, attempts))
    return watch.seconds, outcomes


def _vote_by_text(engine: ConversationEngine, reader: Engine, words: BallotWords,
                  attempt: Attempt) -> str:
    """Vote the way a person does, reading each reply: the number, then yes; VOTE again
    when lost. Ends at a receipt, a refusal, or after ``MOST_MESSAGES``."""
    attempt.begin()
    message = str(attempt.choice) if attempt.answers_ballot else "VOTE"
    for _ in range(MOST_MESSAGES):
        replies = _say(engine, reader, attempt.address, message)
        outcome = words.outcome(replies)
        if outcome is not None:
            return outcome
        message = words.next_message(replies, attempt.choice)
    return "gave up"


def _say(engine: ConversationEngine, reader: Engine, address: str, message: str) -> list[str]:
    """Send one message as the channel would hand it over; the replies queued to it."""
    inbox_id = engine.receive(Inbound(
        address=address, text=message, channel=CHANNELS[scheme_of(address)],
        provider_id=uuid.uuid4().hex, received_at=engine.clock.now()))
    engine.handle_waiting(address)
    with Session(reader) as session:
        return list(session.exec(
            select(OutboxMessage.text)
            .where(OutboxMessage.address == address, OutboxMessage.in_reply_to == inbox_id)
            .order_by(col(OutboxMessage.id))))


@contextmanager
def _reader(url: str) -> Iterator[Engine]:
    """A plain engine for reading replies, as a phone would: on SQLite its reads take no
    write lock, so the voters' reading does not queue behind the engine's writes."""
    options: dict[str, Any] = {}
    if make_url(url).get_backend_name() == "sqlite":
        options["connect_args"] = {"check_same_thread": False}
    reader = create_engine(url, **options)
    try:
        yield reader
    finally:
        reader.dispose()


def _cast(database: Engine, election_id: int, candidate_ids: dict[int, int],
          attempt: Attempt) -> str:
    """The casting the vote flow ends in, in a transaction of its own."""
    attempt.begin()
    with transaction(database) as session:
        outcome = service.cast_vote(session=session, election_id=election_id,
                                    person_id=attempt.voter.person_id,
                                    candidate_id=candidate_ids[attempt.choice])
    if outcome.receipt is not None:
        return "counted"
    return "refused" if outcome.why == "already" else outcome.why or "unknown"


def _raw_inserts(database: Engine, voters: Sequence[Voter]) -> tuple[float, dict[str, Any]]:
    """The baseline: the same attempts as bare inserts into a table unique on the voter,
    each in its own transaction on the product's engine (same pragmas, same pool)."""
    with database.begin() as connection:
        connection.execute(RAW_TABLE)

    def insert(attempt: Attempt) -> str:
        attempt.begin()
        with database.begin() as connection:
            stored = connection.execute(RAW_INSERT, {"voter_id": attempt.voter.person_id,
                                                     "candidate_id": attempt.choice})
        return "counted" if stored.rowcount == 1 else "refused"

    warm_up = [Voter(person_id=-1 - n, addresses=("warm-up",)) for n in range(THREADS)]
    _all_at_once(_attempts(warm_up), insert)
    with database.begin() as connection:
        connection.execute(text("DELETE FROM raw_ballot"))
    seconds, outcomes = _all_at_once(_attempts(voters), insert)
    return seconds, {"seconds": round(seconds, 3), "stored": _count_raw(database),
                     **Counter(outcomes)}


# -- what was stored --------------------------------------------------------------------------


def _judge(database: Engine, election_id: int, voters: Sequence[Voter],
           attempts: Sequence[Attempt], outcomes: Sequence[str]) -> dict[str, Any]:
    """Whether every voter has exactly one ballot: in the ballot box, on the roll, and in
    what each attempt was told. ``receipts_for_another_choice`` is at least how many
    addresses were told their vote counted while the box holds another candidate."""
    with Session(database) as session:
        ballots = session.exec(select(func.count()).select_from(Ballot).where(
            Ballot.election_id == election_id)).one()
        voted = session.exec(select(func.count()).select_from(RollEntry).where(
            RollEntry.election_id == election_id, col(RollEntry.voted).is_(True))).one()
        by_candidate = dict(session.exec(
            select(Candidate.number, func.count()).select_from(Ballot)
            .join(Candidate, col(Candidate.id) == col(Ballot.candidate_id))
            .where(Ballot.election_id == election_id).group_by(col(Candidate.number))).all())
    told: dict[int, list[str]] = {}
    receipted: Counter[int] = Counter()
    for attempt, outcome in zip(attempts, outcomes, strict=True):
        told.setdefault(attempt.voter.person_id, []).append(outcome)
        if outcome == "counted":
            receipted[attempt.choice] += 1
    expected = {1: ["counted"], 2: ["counted", "refused"]}
    each_right = all(sorted(told[v.person_id]) == expected[len(v.addresses)] for v in voters)
    right = each_right and ballots == len(voters) and voted == len(voters)
    return {
        "ballots": ballots, "roll_voted": voted, "ballots_by_number": by_candidate,
        **Counter(outcomes),
        "receipts_for_another_choice": sum(
            max(0, receipted[number] - by_candidate.get(number, 0)) for number in receipted),
        "voters_told_one_receipt_and_doubles_one_refusal": each_right,
        "one_ballot_per_voter": right,
    }


def _count_raw(database: Engine) -> int:
    with database.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM raw_ballot")).scalar_one())


def _count_inbox(database: Engine, status: str | None = None) -> int:
    with Session(database) as session:
        query = select(func.count()).select_from(InboxMessage)
        if status is not None:
            query = query.where(InboxMessage.status == status)
        return int(session.exec(query).one())

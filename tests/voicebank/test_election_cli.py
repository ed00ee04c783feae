"""``voicebank election …`` as staff use it, on a SQLite file: an election from creation to
announcement, a tie settled by a seed, the refusals, and a poll among the MPs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from bot.elections import service
from storage import people
from storage.database import create_database_engine, transaction
from storage.migrate import upgrade_database
from storage.tables import (
    Ballot,
    Candidate,
    MpTerm,
    OutboxMessage,
    Person,
    PersonRole,
    Role,
    RollEntry,
)
from voicebank.election_cli import election_app
from voicebank.settings import ENV_PREFIX

runner = CliRunner()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LAST_YEAR = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
NOMINATIONS, VOTING, CLOSES = "2099-11-02 09:00", "2099-12-01 09:00", "2099-12-08 17:00"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> typer.Typer:
    """The election commands as ``voicebank election``, on a SQLite file in a fresh folder."""
    for name in [n for n in os.environ if n.upper().startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOICEBANK_DATABASE_URL", f"sqlite:///{tmp_path / 'v.db'}")
    voicebank = typer.Typer()
    voicebank.add_typer(election_app, name="election")
    return voicebank


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Engine]:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'v.db'}")
    upgrade_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def ids(database: Engine) -> dict[str, int]:
    """Riverside: five service users, one who said STOP, a staff member, and Max, its MP
    since last year. Hillview: Hal, a service user and MP there too."""
    with transaction(database) as session:
        river = people.add_constituency(session=session, name="Riverside")
        hill = people.add_constituency(session=session, name="Hillview")
        willow = people.add_service(session=session, name="Willow House",
                                    constituency_id=river.id or 0, join_code="WILLOW1")
        boat = people.add_service(session=session, name="The Boathouse",
                                  constituency_id=river.id or 0, join_code="BOAT2")
        oak = people.add_service(session=session, name="Oak Lodge",
                                 constituency_id=hill.id or 0, join_code="OAK3")
        found: dict[str, int] = {}
        everyone = [
            ("Ann", willow.id, [Role.SERVICE_USER]), ("Bob", willow.id, [Role.SERVICE_USER]),
            ("Cath", boat.id, [Role.SERVICE_USER]), ("Dev", boat.id, [Role.SERVICE_USER]),
            ("Eve", willow.id, [Role.SERVICE_USER]), ("Fay", boat.id, [Role.SERVICE_USER]),
            ("Sam", willow.id, [Role.STAFF]), ("Max", boat.id, [Role.SERVICE_USER, Role.MP]),
            ("Hal", oak.id, [Role.SERVICE_USER, Role.MP]),
        ]
        for n, (name, service_id, roles) in enumerate(everyone):
            person = people.add_person(session=session, urns=[f"tel:+44770090030{n}"],
                                       now=LAST_YEAR, name=name, roles=roles,
                                       service_id=service_id)
            found[name] = person.id or 0
        session.get_one(Person, found["Fay"]).opted_out_at = LAST_YEAR
        for name, place in (("Max", river), ("Hal", hill)):
            session.add(MpTerm(person_id=found[name], constituency_id=place.id or 0,
                               starts_at=LAST_YEAR, ends_at=LAST_YEAR + timedelta(days=3650)))
    return found


def invoke(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["election", *args])
    return result.exit_code, result.stdout, result.stderr


def ok(app: typer.Typer, *args: str) -> str:
    code, out, err = invoke(app, *args)
    assert code == 0, err or out
    return out


def refused(app: typer.Typer, *args: str) -> str:
    code, out, err = invoke(app, *args)
    assert code == 1, out
    return err.strip()


def candidate_ids(database: Engine, election_id: int) -> dict[str, int]:
    with Session(database) as session:
        return {c.name: c.id or 0
                for c in service.candidates(session=session, election_id=election_id)}


def vote(database: Engine, election_id: int, votes: dict[int, int]) -> list[str]:
    """Cast each person's vote (person id → candidate id) as the ballot flow would."""
    receipts = []
    with transaction(database) as session:
        for person_id, candidate_id in votes.items():
            outcome = service.cast_vote(session=session, election_id=election_id,
                                        person_id=person_id, candidate_id=candidate_id)
            assert outcome.receipt is not None, outcome.why
            receipts.append(outcome.receipt)
    return receipts


def election_with(app: typer.Typer, database: Engine, ids: dict[str, int],
                  *standing: str) -> tuple[int, dict[str, int]]:
    """A one-seat Riverside election in nominations with these people approved to stand."""
    assert ok(app, "create", "--constituency", "Riverside").startswith("Created election 1:")
    ok(app, "nominations", "1")
    for name in standing:
        ok(app, "stand", "1", "--person", str(ids[name]), "--change", "More trips",
           "--why", "I listen")
    candidates = candidate_ids(database, 1)
    for name in standing:
        ok(app, "approve", "1", str(candidates[name]))
    return 1, candidates


def test_a_whole_election_by_the_command_line(
    app: typer.Typer, database: Engine, ids: dict[str, int], tmp_path: Path
) -> None:
    out = ok(app, "create", "--constituency", "Riverside", "--nominations", NOMINATIONS,
             "--voting", VOTING, "--closes", CLOSES, "--remind", "2 days", "--remind",
             "2 hours")
    assert out.strip() == (
        "Created election 1: Service user MP for Riverside (1 seat, 12 month term). "
        f"Nominations open {NOMINATIONS}, voting opens {VOTING}, voting closes {CLOSES}. "
        "Reminders: 2 days, 2 hours before voting closes.")
    out = ok(app, "list")
    assert out.split()[:3] == ["1", "election", "draft"]
    assert f"voting closes {CLOSES}" in out

    out = ok(app, "electorate", "1")
    assert out.startswith("If the roll froze now, 6 people would be on it")
    assert [line.split()[1] for line in out.splitlines()[1:]] == [
        "Ann", "Bob", "Cath", "Dev", "Eve", "Max"]

    assert "Nominations are open for election 1." in ok(app, "nominations", "1")
    out = ok(app, "stand", "1", "--person", str(ids["Ann"]), "--change", "More trips out",
             "--why", "I listen to people", "--picture", "ann.jpg")
    assert out.startswith("Put Ann forward for election 1 as candidate 1.")
    ok(app, "stand", "1", "--person", str(ids["Bob"]), "--change", "Better food",
       "--why", "I cook")
    assert refused(app, "stand", "1", "--person", str(ids["Hal"]), "--change", "x",
                   "--why", "y") == "Hal is not supported by a service in Riverside."
    assert refused(app, "stand", "1", "--person", str(ids["Bob"]), "--change", "x",
                   "--why", "y") == "Bob is already standing in election 1 (candidate 2)."

    assert ok(app, "approve", "1", "1").strip() == (
        "Approved Ann: number 1 on the ballot for election 1.")
    assert ok(app, "approve", "1", "2").strip() == (
        "Approved Bob: number 2 on the ballot for election 1.")
    out = ok(app, "show", "1")
    assert "Election 1: Service user MP for Riverside  (nominations)" in out
    assert "Seats: 1. Term: 12 months." in out
    assert (f"   1  Ann  (approved, candidate 1, person {ids['Ann']})\n"
            "      What I would change: More trips out\n"
            "      Why me: I listen to people\n"
            "      [picture: ann.jpg]\n") in out
    assert "Turnout" not in out

    out = ok(app, "open", "1")
    assert out.strip() == ("Voting is open for election 1. 6 people are on the roll and have "
                           f"been sent their ballot. It closes {CLOSES}.")
    with Session(database) as session:
        roll = set(session.exec(select(RollEntry.person_id)))
        told = set(session.exec(select(OutboxMessage.person_id)))
    assert roll == {ids[n] for n in ("Ann", "Bob", "Cath", "Dev", "Eve", "Max")}
    assert roll <= told
    assert "The roll froze when voting opened: 6 people." in ok(app, "electorate", "1")

    receipts = vote(database, 1, {ids["Ann"]: 1, ids["Cath"]: 1, ids["Dev"]: 1, ids["Bob"]: 2})
    assert "Turnout: 4 of 6 voted (66.7%)." in ok(app, "show", "1")
    assert ok(app, "close", "1").startswith("Voting has closed for election 1: 4 of 6 voted.")

    out = ok(app, "count", "1", "--seed", "fixed")
    assert " 1. Ann       3   75.0%  ███████████████       elected\n" in out
    assert " 2. Bob       1   25.0%  █████\n" in out
    assert "Turnout: 4 of 6 (66.7%)" in out
    assert "drawing lots" not in out
    assert ok(app, "recount", "1").strip() == "The recount matches the result."

    out = ok(app, "announce", "1")
    assert out.startswith("Told 6 people the result of election 1. Elected: Ann.")
    with Session(database) as session:
        terms = {t.person_id: t for t in session.exec(select(MpTerm))}
        assert terms[ids["Ann"]].election_id == 1
        assert terms[ids["Max"]].ended_early_at is not None
        assert terms[ids["Hal"]].ended_early_at is None
        mps = set(session.exec(select(PersonRole.person_id).where(PersonRole.role == Role.MP)))
    assert mps == {ids["Ann"], ids["Hal"]}
    assert f"Ann is an MP for Riverside until {terms[ids['Ann']].ends_at:%Y-}" in out

    out = ok(app, "results", "1", "--chart", "result.png")
    assert "Turnout: 4 of 6 (66.7%)" in out
    assert out.strip().endswith(
        "The chart is in result.png. In words: Bar chart: Service user MP for Riverside. "
        "Ann 3 votes (75%), elected; Bob 1 vote (25%), not elected. 4 votes cast.")
    assert (tmp_path / "result.png").read_bytes().startswith(PNG_SIGNATURE)

    out = ok(app, "receipts", "1")
    assert out.startswith("4 ballots were counted.")
    listed = [line for line in out.splitlines()[3:] if line]
    assert listed == sorted(receipts)
    with Session(database) as session:
        assert set(session.exec(select(Ballot.receipt))) == set(receipts)


def test_a_tie_is_settled_by_the_seed_and_shown(
    app: typer.Typer, database: Engine, ids: dict[str, int]
) -> None:
    election_id, candidates = election_with(app, database, ids, "Ann", "Bob")
    ok(app, "open", "1")
    vote(database, election_id, {ids["Cath"]: candidates["Ann"], ids["Dev"]: candidates["Bob"]})
    ok(app, "close", "1")

    out = ok(app, "count", "1", "--seed", "tie-break-7")

    assert out.count("elected by drawing lots") == 1
    assert ("Ties were settled by drawing lots with seed tie-break-7; anyone can repeat "
            "the draw.") in out
    assert "seed tie-break-7" in ok(app, "show", "1")
    assert ok(app, "recount", "1").strip() == "The recount matches the result."
    assert "seed tie-break-7" in ok(app, "results", "1")


def test_steps_the_rules_refuse_are_explained(
    app: typer.Typer, database: Engine, ids: dict[str, int]
) -> None:
    assert refused(app, "show", "9") == "There is no election 9."
    assert refused(app, "open", "9") == "There is no election 9."
    assert refused(app, "create", "--constituency", "Nowhere") == (
        "There is no constituency called 'Nowhere'.")
    ok(app, "create", "--constituency", "Riverside")
    ok(app, "nominations", "1")
    ok(app, "stand", "1", "--person", str(ids["Ann"]), "--change", "Trips", "--why", "Fun")
    assert refused(app, "open", "1") == "Nobody has been approved to stand yet."
    assert refused(app, "approve", "1", "7") == "Election 1 has no candidate 7."
    ok(app, "approve", "1", "1")
    assert refused(app, "receipts", "1") == (
        "The receipts of election 1 are listed once voting has closed.")
    ok(app, "open", "1")
    assert refused(app, "decline", "1", "1") == "Voting has started; the candidates are fixed."
    assert refused(app, "count", "1") == "Count after voting has closed, and only once."
    assert refused(app, "results", "1") == "Election 1 has not been counted yet."
    assert refused(app, "recount", "1") == "This election has not been counted yet."
    assert refused(app, "nominations", "1") == (
        "It is already voting; phases only move forward.")

    code, _, err = invoke(app, "create", "--constituency", "Riverside", "--voting",
                          "1 December")
    assert code == 2
    assert err.strip() == "--voting: write the date and time like 2026-12-01 09:00"
    code, _, err = invoke(app, "create", "--constituency", "Riverside", "--closes",
                          "2020-01-01 09:00")
    assert code == 2
    assert "that time has passed" in err


def test_a_poll_among_the_mps_with_three_options(
    app: typer.Typer, database: Engine, ids: dict[str, int], tmp_path: Path
) -> None:
    out = ok(app, "poll", "--title", "Name the new house", "--question",
             "What should we call the new house?", "--option", "🌳 Oak House",
             "--option", "🌊 River View", "--option", "Sunny Side", "--picture", "2=river.jpg",
             "--electorate", "mp", "--closes", CLOSES)
    assert out.strip() == (
        "Created poll 1: Name the new house (3 options, for the MPs). Voting opens -, voting "
        f"closes {CLOSES}. Reminders: none.")
    with Session(database) as session:
        options = list(session.exec(select(Candidate).order_by(col(Candidate.number))))
    assert [(o.number, o.emoji, o.name, o.picture) for o in options] == [
        (1, "🌳", "Oak House", None), (2, "🌊", "River View", "river.jpg"),
        (3, "", "Sunny Side", None)]
    assert refused(app, "nominations", "1") == "A poll has no nominations; open its voting."
    assert refused(app, "stand", "1", "--person", str(ids["Ann"]), "--change", "x", "--why",
                   "y") == "Poll 1 is a poll; nobody stands in a poll."

    assert ok(app, "electorate", "1").splitlines() == [
        "If the roll froze now, 2 people would be on it (the MPs, not counting anyone who "
        "said STOP).", f"{ids['Max']:>4}  Max", f"{ids['Hal']:>4}  Hal"]
    out = ok(app, "open", "1")
    assert "2 people are on the roll" in out
    vote(database, 1, {ids["Max"]: options[1].id or 0, ids["Hal"]: options[1].id or 0})
    ok(app, "close", "1")
    out = ok(app, "count", "1", "--seed", "poll")
    assert " 1. 🌊 River View      2  100.0%  ████████████████████  elected\n" in out
    out = ok(app, "announce", "1")
    assert out.strip() == "Told 2 people the result of poll 1. Chosen: 🌊 River View."
    with Session(database) as session:
        assert session.exec(select(MpTerm).where(MpTerm.election_id == 1)).all() == []

    out = ok(app, "results", "1", "--chart", "poll.png")
    assert out.startswith("Name the new house\n")
    assert "Turnout: 2 of 2 (100.0%)" in out
    assert "In words: Bar chart: Name the new house. River View 2 votes (100%), elected; " in out
    assert "Oak House 0 votes (0%), not elected" in out
    assert (tmp_path / "poll.png").read_bytes().startswith(PNG_SIGNATURE)
    assert ok(app, "receipts", "1").startswith("2 ballots were counted.")


def test_a_poll_needs_a_written_electorate_that_exists(app: typer.Typer,
                                                      ids: dict[str, int]) -> None:
    base = ("poll", "--title", "T", "--question", "Q?", "--option", "A", "--option", "B")
    code, _, err = invoke(app, *base, "--electorate", "friends")
    assert code == 2
    assert "--electorate: 'friends' is not an electorate." in err
    assert refused(app, *base, "--electorate", "constituency:Nowhere") == (
        "There is no constituency called Nowhere.")
    assert refused(app, *base[:-2], "--electorate", "everyone") == (
        "A poll needs at least two options.")
    assert ok(app, *base, "--electorate", "service:oak3").startswith(
        "Created poll 1: T (2 options, for service OAK3).")

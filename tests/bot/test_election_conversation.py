"""An election through the engine and a real database: standing, voting, counting."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import ManualClock
from bot.elections import outcome, schedule, service
from bot.engine import ConversationEngine
from bot.messages import Inbound
from storage import people
from storage.database import transaction
from storage.tables import (
    AuditEntry,
    Ballot,
    Candidate,
    CandidateStatus,
    Election,
    ElectionStatus,
    InboxMessage,
    MpTerm,
    OutboxMessage,
    PersonRole,
    Role,
    RollEntry,
)

LONDON = ZoneInfo("Europe/London")


class Phone:
    def __init__(self, engine: ConversationEngine, address: str, channel: str = "sms") -> None:
        self.engine = engine
        self.address = address
        self.channel = channel

    def says(self, text: str, media: tuple[str, ...] = ()) -> list[str]:
        with Session(self.engine.database) as session:
            before = session.exec(select(OutboxMessage.id).order_by(
                col(OutboxMessage.id).desc())).first() or 0
        self.engine.receive(Inbound(address=self.address, text=text, channel=self.channel,
                                    provider_id=uuid.uuid4().hex, media=media,
                                    received_at=self.engine.clock.now()))
        self.engine.handle_waiting(self.address)
        return self.since(before)

    def since(self, after: int) -> list[str]:
        with Session(self.engine.database) as session:
            rows = session.exec(select(OutboxMessage).where(
                OutboxMessage.address == self.address, col(OutboxMessage.id) > after,
            ).order_by(col(OutboxMessage.id)))
            return [_full(row) for row in rows]

    def inbox(self) -> list[str]:
        return self.since(0)


def _full(row: OutboxMessage) -> str:
    options = "\n".join(f"{o['number']} {o['emoji']} {o['label']}".replace("  ", " ")
                        for o in row.options)
    return "\n".join(part for part in (row.text, options, row.footer) if part)


@pytest.fixture
def riverside(database: Engine, clock: ManualClock) -> dict[str, int]:
    """Riverside with two services and five service users; one person in Hillview."""
    with transaction(database) as session:
        river = people.add_constituency(session=session, name="Riverside")
        hill = people.add_constituency(session=session, name="Hillview")
        willow = people.add_service(session=session, name="Willow House",
                                    constituency_id=river.id or 0, join_code="WILLOW1")
        boat = people.add_service(session=session, name="The Boathouse",
                                  constituency_id=river.id or 0, join_code="BOAT2")
        oak = people.add_service(session=session, name="Oak Lodge",
                                 constituency_id=hill.id or 0, join_code="OAK3")
        ids: dict[str, int] = {}
        for n, (name, service_id) in enumerate([
            ("Ann", willow.id), ("Bob", willow.id), ("Cath", boat.id), ("Dev", boat.id),
            ("Eve", willow.id), ("Hal", oak.id),
        ]):
            person = people.add_person(session=session, urns=[f"tel:+44770090020{n}"],
                                       now=clock.now(), name=name, service_id=service_id)
            ids[name] = person.id or 0
        staff = people.add_person(session=session, urns=["tel:+447700900299"], now=clock.now(),
                                  name="Sam (staff)", roles=[Role.STAFF],
                                  service_id=willow.id)
        ids["staff"] = staff.id or 0
        return ids


def phone(engine: ConversationEngine, n: int) -> Phone:
    return Phone(engine, f"tel:+44770090020{n}")


def _election(database: Engine, clock: ManualClock, **times: object) -> int:
    with transaction(database) as session:
        election = service.create_election(session=session, constituency="Riverside", seats=1,
                                           term_months=12, now=clock.now(), **times)  # type: ignore[arg-type]
        return election.id or 0


def _do(database: Engine, clock: ManualClock, step: str, election_id: int, **extra: object
        ) -> object:
    with transaction(database) as session:
        action = getattr(outcome if step in ("count", "announce") else service, step)
        return action(session=session, election_id=election_id, now=clock.now(),
                      actor="staff:test", **extra)


def _approve_all(database: Engine, clock: ManualClock, election_id: int) -> list[Candidate]:
    with transaction(database) as session:
        for candidate in service.candidates(session=session, election_id=election_id):
            service.decide_nomination(session=session, candidate_id=candidate.id or 0,
                                      approve=True, now=clock.now(), actor="staff:test")
        return service.candidates(session=session, election_id=election_id)


def _stand(engine: ConversationEngine, n: int, change: str, why: str) -> list[str]:
    person = phone(engine, n)
    replies = person.says("STAND")
    replies += person.says(change)
    replies += person.says(why)
    replies += person.says("", media=(f"telegram-file:photo-{n}",))
    return replies


def test_a_whole_election_by_text(
    database: Engine, engine: ConversationEngine, clock: ManualClock, riverside: dict[str, int]
) -> None:
    election_id = _election(database, clock)
    assert phone(engine, 0).says("STAND") == ["There is no election to stand in right now. 🙂"]
    _do(database, clock, "open_nominations", election_id)

    replies = _stand(engine, 0, "More trips out", "I listen to everyone")
    assert replies[0].startswith("You can stand in: Service user MP for Riverside.")
    assert replies[1] == "Why should people vote for you?"
    assert replies[2].startswith("Please send a photo of you.")
    assert replies[3].startswith("Thank you! 🙌")
    _stand(engine, 2, "A better garden", "I get things done")
    assert phone(engine, 5).says("STAND") == ["There is no election to stand in right now. 🙂"]
    standing = _approve_all(database, clock, election_id)
    assert [(c.number, c.name, c.picture) for c in standing] == [
        (1, "Ann", "telegram-file:photo-0"), (2, "Cath", "telegram-file:photo-2")]
    assert "Your number is 1." in phone(engine, 0).inbox()[-1]

    roll = _do(database, clock, "open_voting", election_id)

    assert roll == 5, "Riverside's five service users, not Hal in Hillview nor the staff"
    bob = phone(engine, 1)
    ballot = bob.inbox()
    assert ballot[0] == "Voting is open: Service user MP for Riverside 🗳️"
    assert ballot[1].startswith("1 Ann\nWants to change: More trips out")
    assert ballot[2].startswith("2 Cath\nWants to change: A better garden")
    assert "1 Ann\n2 Cath" in ballot[3]
    assert bob.says("cath") == ["You chose 2 Cath.\nIs that right?\n1 👍 Yes, that is right\n"
                                "2 👎 No, choose again\nSend the number. 🔢"]
    counted = bob.says("yes")
    assert counted[0].startswith("Thank you! ✅ Your vote is counted.")
    receipt = counted[0].split("receipt code is ")[1][:9]
    for n, choice in ((0, "1"), (2, "2"), (3, "2")):
        voter = phone(engine, n)
        voter.says(choice)
        voter.says("1")
    assert phone(engine, 5).says("VOTE") == [
        "There is nothing for you to vote in right now. 🙂"]

    _do(database, clock, "close_voting", election_id)
    assert phone(engine, 4).says("1")[0].startswith("Sorry. Voting has closed.")
    tallies = _do(database, clock, "count", election_id, seed="test")
    told = _do(database, clock, "announce", election_id)

    assert [(t.votes, t.elected) for t in tallies] == [(3, True), (1, False)]  # type: ignore[attr-defined]
    assert told == 5
    with Session(database) as session:
        assert receipt in service.receipts(session=session, election_id=election_id)
        assert outcome.recount(session=session, election_id=election_id)
        assert session.get(PersonRole, (riverside["Cath"], Role.MP)) is not None
        term = session.exec(select(MpTerm)).one()
        assert (term.person_id, term.starts_at) == (riverside["Cath"], clock.now())
    assert phone(engine, 3).inbox()[-1] == (
        "The result: Service user MP for Riverside 🎉\nElected: Cath.")


def test_no_record_joins_a_voter_to_their_vote(
    database: Engine, engine: ConversationEngine, clock: ManualClock, riverside: dict[str, int]
) -> None:
    election_id = _election(database, clock)
    _do(database, clock, "open_nominations", election_id)
    _stand(engine, 0, "Trips", "Kind")
    _stand(engine, 2, "Garden", "Busy")
    _approve_all(database, clock, election_id)
    _do(database, clock, "open_voting", election_id)
    bob = phone(engine, 1)
    bob.says("2")
    bob.says("1")

    columns = {c["name"] for c in inspect(database).get_columns("ballot")}
    assert columns == {"receipt", "election_id", "candidate_id"}
    roll_columns = {c["name"] for c in inspect(database).get_columns("roll")}
    assert roll_columns == {"election_id", "person_id", "voted"}
    with Session(database) as session:
        bobs = session.exec(select(InboxMessage).where(
            InboxMessage.address == bob.address)).all()
        assert {m.text for m in bobs} == {"[a reply to a ballot, not kept]"}
        sent = session.exec(select(OutboxMessage).where(
            OutboxMessage.address == bob.address, col(OutboxMessage.sensitive))).all()
        assert sent, "the ballot, the choice repeated back and the receipt are sensitive"
        audit = session.exec(select(AuditEntry)).all()
        assert not any("Cath" in str(entry.detail) for entry in audit)
        conversation_rows = session.exec(select(RollEntry)).all()
        assert sum(r.voted for r in conversation_rows) == 1


def _voting_with_two_phones(
    database: Engine, engine: ConversationEngine, clock: ManualClock, riverside: dict[str, int],
) -> tuple[int, Phone, Phone]:
    """Voting open between Ann and Cath, and Bob on the roll by SMS and by Telegram."""
    with transaction(database) as session:
        people.add_address(session=session, person_id=riverside["Bob"], urn="telegram:9001",
                           now=clock.now())
    election_id = _election(database, clock)
    _do(database, clock, "open_nominations", election_id)
    _stand(engine, 0, "Trips", "Kind")
    _stand(engine, 2, "Garden", "Busy")
    _approve_all(database, clock, election_id)
    _do(database, clock, "open_voting", election_id)
    by_sms, by_telegram = phone(engine, 1), Phone(engine, "telegram:9001", "telegram")
    return election_id, by_sms, by_telegram


@pytest.mark.parametrize("attempt", range(3))
def test_two_votes_at_once_from_two_addresses_count_once(
    database: Engine, engine: ConversationEngine, clock: ManualClock, riverside: dict[str, int],
    attempt: int,
) -> None:
    _, by_sms, by_telegram = _voting_with_two_phones(database, engine, clock, riverside)
    by_sms.says("1")
    by_telegram.says("VOTE")
    by_telegram.says("2")
    barrier = threading.Barrier(2)

    def confirm(device: Phone) -> None:
        barrier.wait()
        device.says("yes")

    threads = [threading.Thread(target=confirm, args=(d,)) for d in (by_sms, by_telegram)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # A "yes" on the phone the question was not last asked on asks it again there, or finds
    # the vote already cast; the person answering again on one phone settles it, once.
    with Session(database) as session:
        assert len(session.exec(select(Ballot)).all()) <= 1
    by_sms.says("yes")
    by_sms.says("yes")
    with Session(database) as session:
        ballots = session.exec(select(Ballot)).all()
    assert len(ballots) == 1
    replies = by_sms.inbox() + by_telegram.inbox()
    assert sum("Your vote is counted" in r for r in replies) == 1


def test_a_choice_is_confirmed_only_on_the_phone_it_was_made_on(
    database: Engine, engine: ConversationEngine, clock: ManualClock, riverside: dict[str, int],
) -> None:
    election_id, by_sms, by_telegram = _voting_with_two_phones(database, engine, clock,
                                                               riverside)

    assert "You chose 1 Ann" in by_sms.says("1")[-1]
    by_telegram.says("VOTE")
    assert "You chose 2 Cath" in by_telegram.says("2")[-1]
    # "1" on the phone meant "yes" to Ann; it is not taken as "yes" to Cath, chosen on
    # Telegram, and the question stays with Telegram: two phones never take it in turns.
    shown = by_sms.says("1")

    assert "You started this on your other phone" in shown[-1]
    assert "send VOTE to start again on this phone" in shown[-1]
    # Being told so does not move the question to the phone: its "yes" still counts for none.
    assert "You started this on your other phone" in by_sms.says("yes")[-1]
    with Session(database) as session:
        assert session.exec(select(Ballot)).all() == []

    # VOTE starts it again on the phone: choose, confirm, counted.
    assert "1 Ann" in by_sms.says("VOTE")[-1]
    assert "You chose 1 Ann" in by_sms.says("1")[-1]
    counted = by_sms.says("yes")

    assert any("Your vote is counted" in r for r in counted)
    # Telegram's "yes" to Cath, now long gone, counts for nothing.
    assert not any("Your vote is counted" in r for r in by_telegram.says("yes"))
    with Session(database) as session:
        ballots = session.exec(select(Ballot)).all()
        candidates = {c.id: c.name for c in service.candidates(session=session,
                                                                 election_id=election_id)}
    assert [candidates[b.candidate_id] for b in ballots] == ["Ann"]
    assert not any("Your vote is counted" in r for r in by_telegram.inbox())
    # VOTE from the other phone now says why there is nothing to vote in.
    assert "You have already voted" in by_telegram.says("VOTE")[-1]


@pytest.mark.parametrize("attempt", range(3))
def test_two_casts_at_the_same_moment_store_one_ballot(
    database: Engine, engine: ConversationEngine, clock: ManualClock, riverside: dict[str, int],
    attempt: int,
) -> None:
    """Below the engine's per-person lock, the roll's conditional update alone holds."""
    election_id = _election(database, clock)
    _do(database, clock, "open_nominations", election_id)
    _stand(engine, 0, "Trips", "Kind")
    _stand(engine, 2, "Garden", "Busy")
    standing = _approve_all(database, clock, election_id)
    _do(database, clock, "open_voting", election_id)
    barrier = threading.Barrier(2)
    outcomes: list[service.VoteOutcome] = []

    def cast(candidate: Candidate) -> None:
        barrier.wait()
        with transaction(database) as session:
            outcomes.append(service.cast_vote(
                session=session, election_id=election_id, person_id=riverside["Bob"],
                candidate_id=candidate.id or 0))

    threads = [threading.Thread(target=cast, args=(c,)) for c in standing]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with Session(database) as session:
        assert len(session.exec(select(Ballot)).all()) == 1
    assert sorted(o.why or "counted" for o in outcomes) == ["already", "counted"]


def test_no_vote_before_voting_opens_or_from_off_the_roll(
    database: Engine, engine: ConversationEngine, clock: ManualClock, riverside: dict[str, int]
) -> None:
    election_id = _election(database, clock)
    _do(database, clock, "open_nominations", election_id)
    assert phone(engine, 1).says("VOTE") == ["There is nothing for you to vote in right now. 🙂"]
    _stand(engine, 0, "Trips", "Kind")
    _approve_all(database, clock, election_id)
    _do(database, clock, "open_voting", election_id)

    assert phone(engine, 5).says("VOTE") == ["There is nothing for you to vote in right now. 🙂"]
    with transaction(database) as session:
        outcome = service.cast_vote(session=session, election_id=election_id,
                                    person_id=riverside["Hal"], candidate_id=1)
    assert outcome.why == "not_on_roll"
    with Session(database) as session:
        assert session.exec(select(Ballot)).all() == []


def test_the_roll_freezes_when_voting_opens(
    database: Engine, engine: ConversationEngine, clock: ManualClock, riverside: dict[str, int]
) -> None:
    election_id = _election(database, clock)
    _do(database, clock, "open_nominations", election_id)
    _stand(engine, 0, "Trips", "Kind")
    _approve_all(database, clock, election_id)
    with Session(database) as session:
        before = service.electorate(session=session,
                                    election=session.get_one(Election, election_id))
    _do(database, clock, "open_voting", election_id)
    with transaction(database) as session:
        people.add_person(session=session, urns=["tel:+447700900250"], now=clock.now(),
                          name="Newcomer", service_id=1)

    newcomer = Phone(engine, "tel:+447700900250")
    assert newcomer.says("VOTE") == ["There is nothing for you to vote in right now. 🙂"]
    assert len(before) == 5


def test_an_election_runs_itself_by_the_clock_with_reminders(
    database: Engine, engine: ConversationEngine, clock: ManualClock, riverside: dict[str, int]
) -> None:
    start = clock.now()
    election_id = _election(
        database, clock, nominations_open_at=start + timedelta(days=1),
        voting_opens_at=start + timedelta(days=8), voting_closes_at=start + timedelta(days=15),
        reminders=(timedelta(days=2),),
    )
    tick = schedule.election_tick
    clock.set(start + timedelta(days=1))
    assert tick(database=database, now=clock.now(), zone=LONDON).moved == (
        (election_id, "nominations"),)
    _stand(engine, 0, "Trips", "Kind")
    _stand(engine, 2, "Garden", "Busy")
    _approve_all(database, clock, election_id)
    clock.set(start + timedelta(days=8))
    assert tick(database=database, now=clock.now(), zone=LONDON).moved == (
        (election_id, "voting"),)
    phone(engine, 1).says("2")
    phone(engine, 1).says("yes")
    clock.set(start + timedelta(days=13))
    assert tick(database=database, now=clock.now(), zone=LONDON).reminded == 4
    assert tick(database=database, now=clock.now(), zone=LONDON).reminded == 0
    assert "Please vote" in phone(engine, 3).inbox()[-1]
    assert not any("Please vote" in text for text in phone(engine, 1).inbox())

    clock.set(start + timedelta(days=15))
    report = tick(database=database, now=clock.now(), zone=LONDON)

    assert [status for _, status in report.moved] == ["closed", "counted", "announced"]
    with Session(database) as session:
        election = session.get_one(Election, election_id)
        assert election.status == ElectionStatus.ANNOUNCED
        assert election.seed
        winner = session.exec(select(Candidate).where(
            Candidate.status == CandidateStatus.APPROVED, Candidate.name == "Cath")).one()
        assert session.get(PersonRole, (winner.person_id, Role.MP)) is not None


def test_a_poll_among_the_mps(
    database: Engine, engine: ConversationEngine, clock: ManualClock, riverside: dict[str, int]
) -> None:
    with transaction(database) as session:
        for name in ("Ann", "Cath"):
            session.add(PersonRole(person_id=riverside[name], role=Role.MP))
        poll = service.create_poll(
            session=session, title="Name the new service", question="Which name is best?",
            options=[service.PollOption("Oak House", "🌳"), service.PollOption("River View", "🌊")],
            electorate_kind="role", electorate_value="mp", now=clock.now(),
        )
        poll_id = poll.id or 0
    assert _do(database, clock, "open_voting", poll_id) == 2
    ann = phone(engine, 0)
    assert "1 🌳 Oak House\n2 🌊 River View" in ann.inbox()[-1]
    ann.says("🌊")
    ann.says("yes")
    cath = phone(engine, 2)
    cath.says("2")
    cath.says("1")
    _do(database, clock, "close_voting", poll_id)
    tallies = _do(database, clock, "count", poll_id)
    _do(database, clock, "announce", poll_id)

    assert [(t.votes, t.elected) for t in tallies] == [(2, True), (0, False)]  # type: ignore[attr-defined]
    assert cath.inbox()[-1] == "The result: Name the new service 🎉\nThe winner is: River View."
    with Session(database) as session:
        assert session.exec(select(MpTerm)).all() == [], "a poll makes nobody an MP"


def _run_to_count(database: Engine, engine: ConversationEngine, clock: ManualClock,
                  votes: dict[int, str]) -> int:
    election_id = _election(database, clock)
    _do(database, clock, "open_nominations", election_id)
    _stand(engine, 0, "Trips", "Kind")
    _stand(engine, 2, "Garden", "Busy")
    _approve_all(database, clock, election_id)
    _do(database, clock, "open_voting", election_id)
    for n, choice in votes.items():
        phone(engine, n).says(choice)
        phone(engine, n).says("yes")
    _do(database, clock, "close_voting", election_id)
    _do(database, clock, "count", election_id, seed="s")
    _do(database, clock, "announce", election_id)
    return election_id


def test_a_re_elected_mp_keeps_the_role_and_the_old_term_ends(
    database: Engine, engine: ConversationEngine, clock: ManualClock, riverside: dict[str, int]
) -> None:
    _run_to_count(database, engine, clock, {1: "1", 3: "1"})
    clock.advance(timedelta(days=300))
    _run_to_count(database, engine, clock, {1: "1", 3: "1"})

    with Session(database) as session:
        terms = session.exec(select(MpTerm).order_by(col(MpTerm.id))).all()
        assert [t.person_id for t in terms] == [riverside["Ann"]] * 2
        assert terms[0].ended_early_at == clock.now()
        assert terms[1].ended_early_at is None
        assert session.get(PersonRole, (riverside["Ann"], Role.MP)) is not None


def test_closing_by_hand_leaves_the_count_to_staff(
    database: Engine, engine: ConversationEngine, clock: ManualClock, riverside: dict[str, int]
) -> None:
    election_id = _election(database, clock)
    _do(database, clock, "open_nominations", election_id)
    _stand(engine, 0, "Trips", "Kind")
    _approve_all(database, clock, election_id)
    _do(database, clock, "open_voting", election_id)
    _do(database, clock, "close_voting", election_id)

    report = schedule.election_tick(database=database, now=clock.now(), zone=LONDON)

    assert report.moved == ()
    with Session(database) as session:
        assert session.get_one(Election, election_id).status == ElectionStatus.CLOSED


def test_ballot_numbers_have_no_gaps_when_someone_was_turned_down(
    database: Engine, engine: ConversationEngine, clock: ManualClock, riverside: dict[str, int]
) -> None:
    election_id = _election(database, clock)
    _do(database, clock, "open_nominations", election_id)
    _stand(engine, 0, "Trips", "Kind")
    _stand(engine, 2, "Garden", "Busy")
    standing = _approve_all(database, clock, election_id)
    with transaction(database) as session:
        service.decide_nomination(session=session, candidate_id=standing[0].id or 0,
                                  approve=False, now=clock.now(), actor="staff:test")

    _do(database, clock, "open_voting", election_id)

    with Session(database) as session:
        paper = service.ballot_paper(session=session,
                                     election=session.get_one(Election, election_id))
    assert [(c.number, c.name) for c in paper.candidates] == [(1, "Cath")]


def test_vote_asks_which_when_there_are_two_to_vote_in(
    database: Engine, engine: ConversationEngine, clock: ManualClock, riverside: dict[str, int]
) -> None:
    election_id = _election(database, clock)
    _do(database, clock, "open_nominations", election_id)
    _stand(engine, 0, "Trips", "Kind")
    _approve_all(database, clock, election_id)
    with transaction(database) as session:
        poll = service.create_poll(
            session=session, title="Staff award", question="Who should win?",
            options=[service.PollOption("Sam", "🏆"), service.PollOption("Jo", "🎖️")],
            electorate_kind="service", electorate_value="WILLOW1", now=clock.now(),
        )
        poll_id = poll.id or 0
    _do(database, clock, "open_voting", election_id)
    _do(database, clock, "open_voting", poll_id)
    bob = phone(engine, 1)
    bob.says("MENU")

    which = bob.says("VOTE")

    assert which[0].startswith("What do you want to vote in?\n1 🗳️ Service user MP for "
                               "Riverside\n2 🗳️ Staff award")
    assert "Who should win?" in bob.says("2")[-1]
    bob.says("Jo")
    assert "Your vote is counted" in bob.says("yes")[0]
    assert bob.says("VOTE")[-1].startswith("Service user MP for Riverside 🗳️")

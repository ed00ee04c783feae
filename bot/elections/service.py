"""Elections and polls in the database: the thin layer over the election rules.

Every function works in the caller's transaction. The phases move forward only:
draft → nominations → voting → closed → counted → announced, by the clock
(:func:`election_tick`) or by staff (the CLI). The roll is frozen when voting opens.
A vote is cast at most once per person, whichever address it came from: the roll row
is flipped from not-voted to voted in one conditional UPDATE, and only the writer that
flipped it stores a ballot. A ballot holds the election, the choice and a random receipt
code; the roll holds who has voted. Nothing joins the two.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from bot.catalogue import load_catalogue
from bot.elections.ballots import BallotCandidate, BallotPaper
from bot.elections.counting import Tally, count_votes, new_seed, recount_matches
from bot.elections.receipts import new_receipt
from bot.messages import Outgoing
from bot.outreach import queue_for_person
from bot.surveys.schedule import due_reminder
from storage import people, survey_progress
from storage.audit import record_audit
from storage.database import lock_name, transaction
from storage.tables import (
    Ballot,
    Candidate,
    CandidateStatus,
    Constituency,
    Election,
    ElectionKind,
    ElectionResult,
    ElectionStatus,
    MpTerm,
    Person,
    PersonRole,
    Role,
    RollEntry,
)

log = logging.getLogger(__name__)

ORDER = [ElectionStatus.DRAFT, ElectionStatus.NOMINATIONS, ElectionStatus.VOTING,
         ElectionStatus.CLOSED, ElectionStatus.COUNTED, ElectionStatus.ANNOUNCED]


class ElectionError(ValueError):
    """A step that cannot be taken now; the message says why, in words staff understand."""


def create_election(
    *,
    session: Session,
    constituency: str,
    seats: int,
    term_months: int,
    now: datetime,
    nominations_open_at: datetime | None = None,
    voting_opens_at: datetime | None = None,
    voting_closes_at: datetime | None = None,
    reminders: Sequence[timedelta] = (),
    title: str | None = None,
) -> Election:
    """An election of ``seats`` MPs for a constituency, for ``term_months`` months."""
    place = session.exec(select(Constituency).where(Constituency.name == constituency)).first()
    if place is None:
        raise ElectionError(f"there is no constituency called {constituency!r}")
    if seats < 1:
        raise ElectionError("an election needs at least one seat")
    _check_times(nominations_open_at, voting_opens_at, voting_closes_at)
    election = Election(
        kind=ElectionKind.ELECTION,
        title=title or f"Service user MP for {place.name}",
        question=f"Who do you want to be the MP for {place.name}?",
        constituency_id=place.id, electorate_kind="constituency", electorate_value=place.name,
        seats=seats, term_months=term_months,
        nominations_open_at=nominations_open_at, voting_opens_at=voting_opens_at,
        voting_closes_at=voting_closes_at,
        reminders=[int(r.total_seconds()) for r in reminders], created_at=now,
    )
    session.add(election)
    session.flush()
    return election


@dataclass(frozen=True)
class PollOption:
    label: str
    emoji: str = ""
    picture: str | None = None


def create_poll(
    *,
    session: Session,
    title: str,
    question: str,
    options: Sequence[PollOption],
    electorate_kind: str,
    electorate_value: str,
    now: datetime,
    voting_opens_at: datetime | None = None,
    voting_closes_at: datetime | None = None,
    reminders: Sequence[timedelta] = (),
) -> Election:
    """A one-question vote among an electorate (all MPs, a service, everyone)."""
    if len(options) < 2:
        raise ElectionError("a poll needs at least two options")
    _check_times(None, voting_opens_at, voting_closes_at)
    poll = Election(
        kind=ElectionKind.POLL, title=title, question=question, seats=1,
        electorate_kind=electorate_kind, electorate_value=electorate_value,
        voting_opens_at=voting_opens_at, voting_closes_at=voting_closes_at,
        reminders=[int(r.total_seconds()) for r in reminders], created_at=now,
    )
    session.add(poll)
    session.flush()
    assert poll.id is not None
    for number, option in enumerate(options, start=1):
        session.add(Candidate(
            election_id=poll.id, number=number, name=option.label, emoji=option.emoji,
            picture=option.picture, status=CandidateStatus.APPROVED, nominated_at=now,
        ))
    session.flush()
    return poll


def _check_times(*times: datetime | None) -> None:
    given = [t for t in times if t is not None]
    if given != sorted(given) or len(set(given)) != len(given):
        raise ElectionError("nominations must open before voting opens, and voting open "
                            "before it closes")


def electorate(*, session: Session, election: Election) -> list[Person]:
    """Who is on the roll if it froze now: for an election, the service users of the
    constituency's services; for a poll, its electorate. Nobody who has opted out."""
    if election.kind == ElectionKind.ELECTION:
        return survey_progress.audience_people(
            session=session, kind="constituency", value=election.electorate_value,
            only_role=Role.SERVICE_USER,
        )
    return survey_progress.audience_people(
        session=session, kind=election.electorate_kind, value=election.electorate_value
    )


def candidates(*, session: Session, election_id: int) -> list[Candidate]:
    return list(session.exec(
        select(Candidate).where(Candidate.election_id == election_id)
        .order_by(col(Candidate.number).is_(None), col(Candidate.number), col(Candidate.id))
    ))


# -- standing ----------------------------------------------------------------------------


def standable_for(*, session: Session, person: Person) -> Election | None:
    """The election in nominations this person may stand in: in their constituency, a
    service user, not already standing."""
    assert person.id is not None
    if person.service_id is None:
        return None
    if Role.SERVICE_USER not in people.roles_of(session=session, person_id=person.id):
        return None
    service = session.get(people.Service, person.service_id)
    if service is None:
        return None
    found = session.exec(
        select(Election).where(
            Election.kind == ElectionKind.ELECTION,
            Election.status == ElectionStatus.NOMINATIONS,
            Election.constituency_id == service.constituency_id,
        ).order_by(col(Election.id))
    ).first()
    if found is None:
        return None
    already = session.exec(select(Candidate.id).where(
        Candidate.election_id == found.id, Candidate.person_id == person.id)).first()
    return None if already is not None else found


def nominate(
    *,
    session: Session,
    election_id: int,
    person: Person,
    change: str,
    why: str,
    now: datetime,
    picture: str | None = None,
    actor: str | None = None,
) -> Candidate:
    """Put a person forward; staff approve or turn it down."""
    election = session.get_one(Election, election_id)
    if election.status != ElectionStatus.NOMINATIONS:
        raise ElectionError("nominations are not open for this election")
    assert person.id is not None
    candidate = Candidate(
        election_id=election_id, person_id=person.id, name=person.name or f"Person {person.id}",
        change=change.strip()[:2000], why=why.strip()[:2000], picture=picture,
        nominated_at=now,
    )
    session.add(candidate)
    session.flush()
    record_audit(session=session, actor=actor or f"person:{person.id}",
                 action="election.nominated", subject=f"election:{election_id}", at=now,
                 detail={"candidate": candidate.id})
    return candidate


def decide_nomination(
    *, session: Session, candidate_id: int, approve: bool, now: datetime, actor: str
) -> Candidate:
    """Approve a nomination (it gets the next number) or turn it down."""
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise ElectionError(f"there is no candidate {candidate_id}")
    election = session.get_one(Election, candidate.election_id)
    if ORDER.index(ElectionStatus(election.status)) > ORDER.index(ElectionStatus.NOMINATIONS):
        raise ElectionError("voting has started; the candidates are fixed")
    if approve and candidate.status != CandidateStatus.APPROVED:
        highest = session.exec(select(func.max(Candidate.number)).where(
            Candidate.election_id == candidate.election_id)).one()
        candidate.number = (highest or 0) + 1
        candidate.status = CandidateStatus.APPROVED
    elif not approve:
        candidate.status = CandidateStatus.DECLINED
        candidate.number = None
    session.add(candidate)
    record_audit(session=session, actor=actor,
                 action="election.approved" if approve else "election.declined",
                 subject=f"candidate:{candidate_id}", at=now)
    if candidate.person_id is not None:
        person = session.get_one(Person, candidate.person_id)
        texts = load_catalogue(person.language)
        if approve:
            text = texts.text("stand.approved", title=election.title, number=candidate.number)
        else:
            text = texts.text("stand.declined", title=election.title)
        queue_for_person(session=session, person=person, messages=[Outgoing(text)], now=now,
                         dedupe_key=f"candidate:{candidate_id}:{candidate.status}")
    return candidate


# -- phases ------------------------------------------------------------------------------


def _move(election: Election, to: ElectionStatus) -> None:
    if ORDER.index(ElectionStatus(election.status)) >= ORDER.index(to):
        raise ElectionError(f"it is already {election.status}; phases only move forward")


def open_nominations(*, session: Session, election_id: int, now: datetime, actor: str) -> None:
    election = session.get_one(Election, election_id)
    if election.kind == ElectionKind.POLL:
        raise ElectionError("a poll has no nominations; open its voting")
    _move(election, ElectionStatus.NOMINATIONS)
    election.status = ElectionStatus.NOMINATIONS
    election.nominations_open_at = election.nominations_open_at or now
    session.add(election)
    record_audit(session=session, actor=actor, action="election.nominations_opened",
                 subject=f"election:{election_id}", at=now)


def open_voting(*, session: Session, election_id: int, now: datetime, actor: str) -> int:
    """Freeze the roll and send everyone on it their ballot; returns the roll's size."""
    election = session.get_one(Election, election_id)
    _move(election, ElectionStatus.VOTING)
    approved = [c for c in candidates(session=session, election_id=election_id)
                if c.status == CandidateStatus.APPROVED]
    if len(approved) < 2 and election.kind == ElectionKind.POLL:
        raise ElectionError("a poll needs at least two options")
    if not approved:
        raise ElectionError("nobody has been approved to stand yet")
    election.status = ElectionStatus.VOTING
    election.voting_opens_at = min(election.voting_opens_at or now, now)
    session.add(election)
    voters = electorate(session=session, election=election)
    for person in voters:
        session.add(RollEntry(election_id=election_id, person_id=person.id or 0))
    session.flush()
    paper = ballot_paper(session=session, election=election)
    for person in voters:
        _send_ballot(session, paper, person, now)
    record_audit(session=session, actor=actor, action="election.voting_opened",
                 subject=f"election:{election_id}", at=now, detail={"roll": len(voters)})
    return len(voters)


def _send_ballot(session: Session, paper: BallotPaper, person: Person, now: datetime) -> None:
    """The invitation to vote, and the ballot itself when the person is not busy."""
    from bot.elections.turns import ballot_messages  # the flow's own rendering

    messages, pending = ballot_messages(session=session, paper=paper, person=person)
    if queue_for_person(session=session, person=person, messages=messages, now=now,
                        dedupe_key=f"election:{paper.election_id}:ballot:person:{person.id}"
                        ) and pending is not None:
        from storage import conversations

        assert person.id is not None
        conversations.save_conversation(
            session=session, person_id=person.id, flow=pending.flow, step=pending.step,
            context=dict(pending.context), misses=0, now=now,
        )


def close_voting(*, session: Session, election_id: int, now: datetime, actor: str) -> None:
    election = session.get_one(Election, election_id)
    _move(election, ElectionStatus.CLOSED)
    if election.status != ElectionStatus.VOTING:
        raise ElectionError("voting has not opened yet")
    election.status = ElectionStatus.CLOSED
    election.voting_closes_at = min(election.voting_closes_at or now, now)
    session.add(election)
    record_audit(session=session, actor=actor, action="election.voting_closed",
                 subject=f"election:{election_id}", at=now)


def _choices(session: Session, election_id: int) -> list[int]:
    return list(session.exec(select(Ballot.candidate_id).where(
        Ballot.election_id == election_id).order_by(col(Ballot.receipt))))


def count(
    *, session: Session, election_id: int, now: datetime, actor: str, seed: str | None = None
) -> list[Tally]:
    """Count the ballots (first past the post, top N win); ties are settled by drawing lots
    with a seed that is recorded, so anyone can repeat the draw."""
    election = session.get_one(Election, election_id)
    if election.status != ElectionStatus.CLOSED:
        raise ElectionError("count after voting has closed, and only once")
    standing = [c.id or 0 for c in candidates(session=session, election_id=election_id)
                if c.status == CandidateStatus.APPROVED]
    election.seed = seed or new_seed()
    tallies = count_votes(choices=_choices(session, election_id), candidates=standing,
                          seats=election.seats, seed=election.seed)
    for tally in tallies:
        session.add(ElectionResult(
            election_id=election_id, candidate_id=tally.candidate_id, votes=tally.votes,
            place=tally.place, elected=tally.elected, by_lot=tally.by_lot,
        ))
    election.status = ElectionStatus.COUNTED
    election.counted_at = now
    session.add(election)
    record_audit(session=session, actor=actor, action="election.counted",
                 subject=f"election:{election_id}", at=now, detail={"seed": election.seed})
    return tallies


def stored_result(*, session: Session, election_id: int) -> list[Tally]:
    rows = session.exec(select(ElectionResult).where(
        ElectionResult.election_id == election_id).order_by(col(ElectionResult.place)))
    return [Tally(candidate_id=r.candidate_id, votes=r.votes, place=r.place,
                  elected=r.elected, by_lot=r.by_lot) for r in rows]


def recount(*, session: Session, election_id: int) -> bool:
    """Count the ballots again with the recorded seed: True when it matches the result."""
    election = session.get_one(Election, election_id)
    if election.seed is None:
        raise ElectionError("this election has not been counted yet")
    standing = [c.id or 0 for c in candidates(session=session, election_id=election_id)
                if c.status == CandidateStatus.APPROVED]
    return recount_matches(stored=stored_result(session=session, election_id=election_id),
                           choices=_choices(session, election_id), candidates=standing,
                           seats=election.seats, seed=election.seed)


def announce(*, session: Session, election_id: int, now: datetime, actor: str) -> int:
    """Tell the electorate and the candidates; winners of an election become MPs for the
    term and the previous MPs' terms end. Returns how many people were told."""
    election = session.get_one(Election, election_id)
    if election.status != ElectionStatus.COUNTED:
        raise ElectionError("announce after the count")
    result = stored_result(session=session, election_id=election_id)
    standing = {c.id: c for c in candidates(session=session, election_id=election_id)}
    winners = [standing[t.candidate_id] for t in result if t.elected]
    if election.kind == ElectionKind.ELECTION:
        _start_terms(session, election, winners, now)
    told = 0
    roll = session.exec(select(RollEntry.person_id).where(RollEntry.election_id == election_id))
    audience = set(roll) | {c.person_id for c in standing.values() if c.person_id}
    names = ", ".join(w.name for w in winners)
    for person_id in sorted(audience):
        person = session.get_one(Person, person_id)
        texts = load_catalogue(person.language)
        if election.kind == ElectionKind.ELECTION:
            text = texts.text("election.won_by", title=election.title, names=names)
        else:
            text = texts.text("poll.result", title=election.title, names=names)
        if queue_for_person(session=session, person=person, messages=[Outgoing(text)], now=now,
                            dedupe_key=f"election:{election_id}:result:person:{person_id}"):
            told += 1
    election.status = ElectionStatus.ANNOUNCED
    election.announced_at = now
    session.add(election)
    record_audit(session=session, actor=actor, action="election.announced",
                 subject=f"election:{election_id}", at=now,
                 detail={"elected": [w.id for w in winners]})
    return told


def _start_terms(session: Session, election: Election, winners: Sequence[Candidate],
                 now: datetime) -> None:
    assert election.constituency_id is not None
    current = session.exec(select(MpTerm).where(
        MpTerm.constituency_id == election.constituency_id,
        col(MpTerm.ended_early_at).is_(None), col(MpTerm.ends_at) > now,
    ))
    for term in current:
        term.ended_early_at = now
        session.add(term)
        _drop_mp_role_if_no_term(session, term.person_id, now)
    ends = now + timedelta(days=round(election.term_months * 365.25 / 12))
    for winner in winners:
        assert winner.person_id is not None
        session.add(MpTerm(person_id=winner.person_id, constituency_id=election.constituency_id,
                           election_id=election.id, starts_at=now, ends_at=ends))
        if session.get(PersonRole, (winner.person_id, Role.MP)) is None:
            session.add(PersonRole(person_id=winner.person_id, role=Role.MP))
    session.flush()


def _drop_mp_role_if_no_term(session: Session, person_id: int, now: datetime) -> None:
    session.flush()
    other = session.exec(select(MpTerm.id).where(
        MpTerm.person_id == person_id, col(MpTerm.ended_early_at).is_(None),
        col(MpTerm.ends_at) > now)).first()
    if other is None:
        role = session.get(PersonRole, (person_id, Role.MP))
        if role is not None:
            session.delete(role)


# -- voting ------------------------------------------------------------------------------


def ballot_paper(*, session: Session, election: Election) -> BallotPaper:
    assert election.id is not None
    standing = [c for c in candidates(session=session, election_id=election.id)
                if c.status == CandidateStatus.APPROVED and c.number is not None]
    return BallotPaper(
        election_id=election.id, title=election.title, question=election.question,
        kind=election.kind,
        candidates=tuple(
            BallotCandidate(id=c.id or 0, number=c.number or 0, name=c.name, emoji=c.emoji,
                            picture=c.picture, change=c.change, why=c.why)
            for c in standing
        ),
    )


def votable_for(*, session: Session, person_id: int) -> list[BallotPaper]:
    """What this person may vote in now: voting is open, they are on the roll, and they
    have not voted."""
    rows = session.exec(
        select(Election).join(RollEntry, col(RollEntry.election_id) == col(Election.id))
        .where(RollEntry.person_id == person_id, col(RollEntry.voted).is_(False),
               Election.status == ElectionStatus.VOTING)
        .order_by(col(Election.id))
    )
    return [ballot_paper(session=session, election=election) for election in rows]


@dataclass(frozen=True)
class VoteOutcome:
    """``receipt`` when the vote counted; otherwise ``why`` it did not: closed, already
    (voted), not_on_roll."""

    receipt: str | None = None
    why: str | None = None


def cast_vote(
    *, session: Session, election_id: int, person_id: int, candidate_id: int
) -> VoteOutcome:
    """Count one vote, once per person, only while voting is open and only from the roll."""
    election = session.get(Election, election_id)
    if election is None or election.status != ElectionStatus.VOTING:
        return VoteOutcome(why="closed")
    candidate = session.get(Candidate, candidate_id)
    if candidate is None or candidate.election_id != election_id or (
            candidate.status != CandidateStatus.APPROVED):
        return VoteOutcome(why="closed")
    flipped = session.execute(
        update(RollEntry)
        .where(col(RollEntry.election_id) == election_id, col(RollEntry.person_id) == person_id,
               col(RollEntry.voted).is_(False))
        .values(voted=True)
    )
    if flipped.rowcount != 1:  # type: ignore[attr-defined]
        on_roll = session.get(RollEntry, (election_id, person_id)) is not None
        return VoteOutcome(why="already" if on_roll else "not_on_roll")
    receipt = new_receipt()
    session.add(Ballot(receipt=receipt, election_id=election_id, candidate_id=candidate_id))
    session.flush()
    return VoteOutcome(receipt=receipt)


def receipts(*, session: Session, election_id: int) -> list[str]:
    """The receipt codes of every counted ballot, for voters to find their own."""
    return sorted(session.exec(select(Ballot.receipt).where(Ballot.election_id == election_id)))


def turnout(*, session: Session, election_id: int) -> tuple[int, int]:
    """(voted, on the roll)."""
    on_roll = session.exec(select(func.count()).select_from(RollEntry).where(
        RollEntry.election_id == election_id)).one()
    voted = session.exec(select(func.count()).select_from(RollEntry).where(
        RollEntry.election_id == election_id, col(RollEntry.voted).is_(True))).one()
    return int(voted), int(on_roll)


# -- the clock ---------------------------------------------------------------------------


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
    closes = election.voting_closes_at.astimezone(zone)
    when = f"{closes:%A} {closes.day} {closes:%B} at {closes:%H:%M}"
    sent = 0
    waiting = session.exec(select(Person).join(
        RollEntry, col(RollEntry.person_id) == col(Person.id)).where(
        RollEntry.election_id == election.id, col(RollEntry.voted).is_(False),
        col(Person.opted_out_at).is_(None)).order_by(col(Person.id)))
    for person in waiting:
        texts = load_catalogue(person.language)
        text = texts.text("vote.reminder", title=election.title, closes=when)
        if queue_for_person(session=session, person=person, messages=[Outgoing(text)], now=now,
                            dedupe_key=f"election:{election.id}:reminder:{index}:"
                                       f"person:{person.id}"):
            sent += 1
    return sent


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
                moved.extend(_advance(session, election, now))
            except ElectionError as error:
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

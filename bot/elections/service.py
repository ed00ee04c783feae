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

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from bot.catalogue import load_catalogue
from bot.elections.ballots import BallotCandidate, BallotPaper
from bot.elections.receipts import new_receipt
from bot.messages import Outgoing
from bot.outreach import queue_and_ask, queue_for_person
from storage import people, survey_progress
from storage.audit import record_audit
from storage.tables import (
    Ballot,
    Candidate,
    CandidateStatus,
    Constituency,
    Election,
    ElectionKind,
    ElectionStatus,
    Person,
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
    if term_months < 1:
        raise ElectionError("a term is at least one month")
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
    if electorate_kind not in ("everyone", "constituency", "service", "role"):
        raise ElectionError("a poll's electorate is everyone, a constituency, a service or a "
                            "role")
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


def standable_for(*, session: Session, person_id: int, service_id: int | None
                  ) -> Election | None:
    """The election in nominations this person (at ``service_id``) may stand in: in their
    constituency, a service user, not already standing."""
    if service_id is None:
        return None
    if Role.SERVICE_USER not in people.roles_of(session=session, person_id=person_id):
        return None
    service = session.get(people.Service, service_id)
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
        Candidate.election_id == found.id, Candidate.person_id == person_id)).first()
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
    may_stand = standable_for(session=session, person_id=person.id, service_id=person.service_id)
    if may_stand is None or may_stand.id != election_id:
        raise ElectionError(
            f"{person.name or 'this person'} cannot stand in this election: only a service "
            "user of its constituency may stand, once"
        )
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
                         dedupe_key=f"candidate:{candidate_id}:{candidate.status}:"
                                    f"{now.isoformat()}")
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
    for number, candidate in enumerate(approved, start=1):  # 1..n, with no gaps
        candidate.number = number
        session.add(candidate)
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
    queue_and_ask(session=session, person=person, messages=messages, pending=pending, now=now,
                  dedupe_key=f"election:{paper.election_id}:ballot:person:{person.id}")


def close_voting(*, session: Session, election_id: int, now: datetime, actor: str) -> None:
    election = session.get_one(Election, election_id)
    _move(election, ElectionStatus.CLOSED)
    if election.status != ElectionStatus.VOTING:
        raise ElectionError("voting has not opened yet")
    election.status = ElectionStatus.CLOSED
    if election.voting_closes_at is not None:
        # Closed early by hand: the clock still counts and announces a timed election.
        election.voting_closes_at = min(election.voting_closes_at, now)
    session.add(election)
    record_audit(session=session, actor=actor, action="election.voting_closed",
                 subject=f"election:{election_id}", at=now)


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


def has_voted_in_open(*, session: Session, person_id: int) -> bool:
    """Whether this person has voted in an election or poll whose voting is still open."""
    voted = session.exec(
        select(RollEntry.election_id).join(Election, col(RollEntry.election_id) == col(Election.id))
        .where(RollEntry.person_id == person_id, col(RollEntry.voted).is_(True),
               Election.status == ElectionStatus.VOTING).limit(1)
    ).first()
    return voted is not None


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

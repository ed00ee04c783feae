"""The count, the recount and the announcement: what an election decided, and who it made MP.

First past the post, the top N winning an N-seat election; a tie is settled by drawing lots
with a seed recorded on the election, so anyone can repeat the draw and a recount from the
ballots must match. Winners of an election become MPs for the term and the previous MPs'
terms end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.catalogue import load_catalogue
from bot.elections.counting import Tally, count_votes, new_seed, recount_matches
from bot.elections.service import ElectionError, candidates
from bot.messages import Outgoing
from bot.outreach import queue_for_person
from storage.audit import record_audit
from storage.tables import (
    Ballot,
    Candidate,
    CandidateStatus,
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
            session.flush()  # so a re-elected MP's role is added again, not lost

"""The election side of handling one message, inside the engine's transaction.

Before the rules: build the person's STAND and VOTE flows with what they may do now, and
notice a ballot or manifesto left half done when its phase has ended. While recording:
store a nomination, cast a vote (once) and say the receipt. Voting replies are marked
sensitive and the person's own words to a ballot are not kept, so nothing stored joins a
voter to a vote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from bot.catalogue import Catalogue, load_catalogue
from bot.conversation import Effect, Pending
from bot.elections import service
from bot.elections.ballots import BallotPaper
from bot.elections.flows import (
    STAND,
    VOTE,
    CastVote,
    Nominate,
    StandFlow,
    VoteFlow,
    election_of_step,
)
from bot.messages import Outgoing
from bot.rules import PersonView, Script, ask
from storage import conversations, people
from storage.prepared import Prepared
from storage.tables import Election, ElectionStatus, Person, RollEntry

BALLOT_TEXT = "[a reply to a ballot, not kept]"
_ELECTION = Election.__table__  # type: ignore[attr-defined]
_LIVE = Prepared(sa.select(_ELECTION.c.status).where(_ELECTION.c.status.in_(
    [ElectionStatus.NOMINATIONS, ElectionStatus.VOTING])).distinct())
"""Which stages elections are at, if any are live: asked at every message."""


@dataclass(frozen=True)
class ElectionTurn:
    stand: StandFlow
    vote: VoteFlow
    note: str | None = None
    drop_pending: bool = False


def prepare(*, session: Session, person_id: int, service_id: int | None, language: str,
            pending: Pending | None, texts: Catalogue) -> ElectionTurn:
    """The person's STAND and VOTE flows for this turn."""
    # Most messages come when nothing is being stood for or voted in: one cheap look first.
    live = {status for (status,) in _LIVE.rows(session)}
    election = (service.standable_for(session=session, person_id=person_id,
                                      service_id=service_id)
                if ElectionStatus.NOMINATIONS in live else None)
    stand = StandFlow(election_id=election.id if election else None,
                      title=election.title if election else "")
    papers = (service.votable_for(session=session, person_id=person_id)
              if ElectionStatus.VOTING in live else [])
    voted = (not papers and ElectionStatus.VOTING in live
             and service.has_voted_in_open(session=session, person_id=person_id))
    vote = VoteFlow(papers=papers, language=language, voted=voted)
    note, drop = None, False
    if pending is not None and pending.flow == STAND and election is None:
        note, drop = texts.text("stand.closed"), True
    if pending is not None and pending.flow == VOTE and pending.step != "which" and (
            vote.paper_for(pending.step) is None):
        drop = True
        election_id = election_of_step(pending.step)
        entry = session.get(RollEntry, (election_id, person_id)) if election_id else None
        election_row = session.get(Election, election_id) if election_id else None
        still_open = election_row is not None and election_row.status == ElectionStatus.VOTING
        if entry is not None and entry.voted and still_open:
            note = texts.text("vote.already")
        else:
            note = texts.text("vote.closed")
    return ElectionTurn(stand=stand, vote=vote, note=note, drop_pending=drop)


def record(*, session: Session, person: Person, effect: Effect, media: Sequence[str],
           texts: Catalogue, easy: bool, now: datetime) -> list[Outgoing]:
    """Store a nomination or a vote; what to say back."""
    assert person.id is not None
    match effect:
        case Nominate(election_id=election_id, change=change, why=why, with_photo=with_photo):
            picture = media[0] if with_photo and media else None
            try:
                service.nominate(session=session, election_id=election_id, person=person,
                                 change=change, why=why, picture=picture, now=now)
            except service.ElectionError:
                return [Outgoing(texts.text("stand.closed", easy=easy))]
            return []
        case CastVote(election_id=election_id, candidate_id=candidate_id):
            outcome = service.cast_vote(session=session, election_id=election_id,
                                        person_id=person.id, candidate_id=candidate_id)
            if outcome.receipt is not None:
                return [Outgoing(texts.text("vote.counted", easy=easy, receipt=outcome.receipt),
                                 sensitive=True)]
            if outcome.why == "already":
                return [Outgoing(texts.text("vote.already", easy=easy))]
            if outcome.why == "not_on_roll":
                return [Outgoing(texts.text("vote.not_on_roll", easy=easy))]
            return [Outgoing(texts.text("vote.closed", easy=easy))]
    return []


def ballot_messages(*, session: Session, paper: BallotPaper, person: Person
                    ) -> tuple[list[Outgoing], Pending | None]:
    """What a voter gets when voting opens: the ballot (candidates, then the question), or,
    when they are in the middle of something else, a note to send VOTE."""
    assert person.id is not None
    profile = people.profile_of(session=session, person_id=person.id)
    texts = load_catalogue(person.language)
    opening = Outgoing(texts.text("vote.open", title=paper.title))
    saved = conversations.load_conversation(session=session, person_id=person.id)
    if saved is not None and saved.flow != "menu":
        return [opening, Outgoing(texts.text("vote.later", easy=profile.easy_words))], None
    flow = VoteFlow(papers=[paper], language=person.language)
    script = Script.of(person.language, None, flow)
    view = PersonView(id=person.id, opted_out=False, easy_words=profile.easy_words,
                      supporter=profile.supporter_name)
    turn = ask(Pending(VOTE, flow.first_step), view, script)
    return [opening, *turn.say], turn.next

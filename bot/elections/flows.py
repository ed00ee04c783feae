"""Standing and voting, as flows: STAND writes a manifesto a question at a time; VOTE shows
a ballot, repeats the choice back and asks to confirm before the vote counts.

Like the survey flow, each is built for one person's turn with what they may do now:
the election they may stand in, the ballots they may fill in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.answers import load_vocabulary
from bot.catalogue import Catalogue
from bot.conversation import Answer, Kind, Pending, PlainFlow, Question, Turn
from bot.elections.ballots import BallotPaper, short
from bot.keywords import is_keyword
from bot.messages import Option, Outgoing

STAND = "stand"
VOTE = "vote"
NONE_STEP = "none"
CHANGE, WHY, PHOTO = "change", "why", "photo"
WHICH = "which"
_CHOOSE = re.compile(r"^e(\d+)$")
_CONFIRM = re.compile(r"^e(\d+)c(\d+)$")


def election_of_step(step: str) -> int | None:
    """The election a ballot step (``e3`` or ``e3c5``) belongs to."""
    match = _CHOOSE.match(step) or _CONFIRM.match(step)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Nominate:
    """Put the person forward, with their manifesto; the picture is the photo they sent."""

    election_id: int
    change: str
    why: str
    with_photo: bool


@dataclass(frozen=True)
class CastVote:
    election_id: int
    candidate_id: int


class StandFlow(PlainFlow):
    """STAND: what do you want to change, why vote for you, a photo (or SKIP)."""

    name = STAND
    keyword: str | None = "stand"

    def __init__(self, *, election_id: int | None = None, title: str = "") -> None:
        self.election_id = election_id
        self.title = title
        self.first_step = CHANGE if election_id is not None else NONE_STEP

    def unavailable(self, texts: Catalogue, *, easy: bool) -> str | None:
        return texts.text("stand.none", easy=easy) if self.election_id is None else None

    def question(self, step: str, context: Mapping[str, Any], texts: Catalogue) -> Question:
        if step == CHANGE:
            return Question(kind=Kind.TEXT, prompt=texts.text("stand.change", title=self.title),
                            retry=texts.text("stand.in_words"))
        if step == WHY:
            return Question(kind=Kind.TEXT, prompt=texts.text("stand.why"),
                            retry=texts.text("stand.in_words"))
        return Question(kind=Kind.TEXT, prompt=texts.text("stand.photo"))

    def special(self, pending: Pending, text: str, texts: Catalogue, *, easy: bool
                ) -> Turn | None:
        if pending.step != PHOTO or self.election_id is None:
            return None
        # Anything at all answers the photo step: a photo, SKIP, or words.
        nominate = Nominate(
            election_id=self.election_id, change=str(pending.context.get("change", "")),
            why=str(pending.context.get("why", "")),
            with_photo=not is_keyword(text, texts.words("skip")),
        )
        return Turn(say=(Outgoing(texts.text("stand.thanks", easy=easy)),), effects=(nominate,))

    def answer(self, pending: Pending, answer: Answer, texts: Catalogue, *, easy: bool) -> Turn:
        if pending.step == CHANGE:
            return Turn(next=pending.moved_on(WHY, change=answer.text[:2000]))
        return Turn(next=pending.moved_on(PHOTO, why=answer.text[:2000]))


def candidate_cards(paper: BallotPaper, texts: Catalogue) -> tuple[Outgoing, ...]:
    """One message a candidate: number, name, picture and a short manifesto. A poll's
    option with no picture needs no card: the question lists it."""
    cards = []
    for candidate in paper.candidates:
        if not (candidate.change or candidate.why or candidate.picture):
            continue
        lines = [f"{candidate.number} {candidate.emoji} {candidate.name}".replace("  ", " ")]
        if candidate.change:
            lines.append(texts.text("vote.change", words=short(candidate.change)))
        if candidate.why:
            lines.append(texts.text("vote.why", words=short(candidate.why)))
        cards.append(Outgoing("\n".join(lines), picture=candidate.picture))
    return tuple(cards)


class VoteFlow(PlainFlow):
    """VOTE: which ballot (when there are several), the choice, then "is that right?"."""

    name = VOTE
    keyword: str | None = "vote"
    answered_where_asked = True  # a choice is confirmed on the phone it was made on

    def __init__(self, *, papers: Sequence[BallotPaper], language: str = "en",
                 voted: bool = False) -> None:
        self.papers = {paper.election_id: paper for paper in papers}
        self.language = language
        self.voted = voted
        """The person has voted in something still open (so "nothing to vote in" is
        because they already did)."""
        if not papers:
            self.first_step = NONE_STEP
        elif len(papers) == 1:
            self.first_step = f"e{papers[0].election_id}"
        else:
            self.first_step = WHICH

    def unavailable(self, texts: Catalogue, *, easy: bool) -> str | None:
        if self.papers:
            return None
        if self.voted:
            return texts.text("vote.all_done", easy=easy)
        return texts.text("vote.none", easy=easy)

    def paper_for(self, step: str) -> BallotPaper | None:
        match = _CHOOSE.match(step) or _CONFIRM.match(step)
        return self.papers.get(int(match.group(1))) if match else None

    def question(self, step: str, context: Mapping[str, Any], texts: Catalogue) -> Question:
        if step == WHICH:
            options = tuple(
                Option(number=n, label=paper.title, value=str(paper.election_id), emoji="🗳️")
                for n, paper in enumerate(self.papers.values(), start=1)
            )
            return Question(kind=Kind.CHOICE, prompt=texts.text("vote.which"), options=options)
        paper = self.paper_for(step)
        if paper is None:
            raise LookupError(f"no ballot for step {step!r}")
        confirm = _CONFIRM.match(step)
        if confirm:
            chosen = paper.candidate(int(confirm.group(2)))
            assert chosen is not None
            vocabulary = load_vocabulary(self.language)
            options = (
                Option(number=1, label=texts.text("vote.yes"), value="yes", emoji="👍",
                       aliases=tuple(sorted(vocabulary.yes))),
                Option(number=2, label=texts.text("vote.no"), value="no", emoji="👎",
                       aliases=tuple(sorted(vocabulary.no))),
            )
            prompt = texts.text("vote.confirm", number=chosen.number, name=chosen.name)
            return Question(kind=Kind.YES_NO, prompt=prompt, options=options)
        options = tuple(
            Option(number=c.number, label=c.name, value=str(c.id), emoji=c.emoji or "",
                   aliases=(c.name,))
            for c in paper.candidates
        )
        intro = texts.text("vote.ballot", title=paper.title)
        return Question(
            kind=Kind.CHOICE, prompt=f"{intro}\n{paper.question}", options=options,
            cards=candidate_cards(paper, texts),
        )

    def answer(self, pending: Pending, answer: Answer, texts: Catalogue, *, easy: bool) -> Turn:
        assert answer.option is not None
        if pending.step == WHICH:
            return Turn(next=Pending(VOTE, f"e{answer.option.value}"))
        confirm = _CONFIRM.match(pending.step)
        if confirm is None:
            paper = self.paper_for(pending.step)
            assert paper is not None
            return Turn(next=Pending(VOTE, f"e{paper.election_id}c{answer.option.value}"))
        election_id, candidate_id = int(confirm.group(1)), int(confirm.group(2))
        if answer.option.value == "yes":
            return Turn(effects=(CastVote(election_id=election_id, candidate_id=candidate_id),))
        return Turn(next=Pending(VOTE, f"e{election_id}"))

"""A ballot as plain data: what the vote flow shows and reads answers against."""

from __future__ import annotations

from dataclasses import dataclass

MANIFESTO_LENGTH = 140


@dataclass(frozen=True)
class BallotCandidate:
    """One line of a ballot: a candidate (or a poll's option) with its number."""

    id: int
    number: int
    name: str
    emoji: str = ""
    picture: str | None = None
    change: str = ""
    why: str = ""


@dataclass(frozen=True)
class BallotPaper:
    """An election or poll someone may vote in now, with its candidates in number order."""

    election_id: int
    title: str
    question: str
    kind: str
    candidates: tuple[BallotCandidate, ...]

    def candidate(self, candidate_id: int) -> BallotCandidate | None:
        return next((c for c in self.candidates if c.id == candidate_id), None)


def short(text: str, limit: int = MANIFESTO_LENGTH) -> str:
    """A manifesto line cut at a word, short enough for a ballot."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"

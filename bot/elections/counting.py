"""Counting an election or poll: first past the post, with ties settled by a public draw.

The count is a pure function of the ballots, the candidates, the number of seats and a
seed. The seed is recorded with the election and published with the result, so anyone
can run the same count and get the same draw: ``random.Random`` seeded with a string
hashes it with SHA-512, which gives the same numbers on every machine and in every run,
whatever ``PYTHONHASHSEED`` says.
"""

from __future__ import annotations

import random
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby


@dataclass(frozen=True)
class Tally:
    """One candidate's line in the result.

    ``place`` is 1 for the candidate at the top; no two candidates share a place, as a
    draw orders those with equal votes. ``by_lot`` is true when the draw decided whether
    this candidate was elected: they tied with others across the last seat.
    """

    candidate_id: int
    votes: int
    place: int
    elected: bool
    by_lot: bool


def new_seed() -> str:
    """A fresh random seed to record with an election before its votes are counted."""
    return secrets.token_hex(16)


def count_votes(
    *, choices: Sequence[int], candidates: Sequence[int], seats: int, seed: str
) -> list[Tally]:
    """Count first past the post: the ``seats`` candidates with most votes are elected.

    ``choices`` holds the candidate id on each ballot. Every candidate gets a tally, even
    with no votes. Candidates with equal votes are ordered by lot: each group of them,
    from the most votes down, is sorted by id and shuffled with one ``random.Random(seed)``
    for the whole count. With more seats than candidates, all of them are elected.

    Raises ValueError for a ballot for someone who is not a candidate, a candidate listed
    twice, or fewer than one seat.
    """
    if seats < 1:
        raise ValueError(f"an election needs at least one seat, not {seats}")
    standing = set(candidates)
    if len(standing) != len(candidates):
        twice = sorted(c for c, n in Counter(candidates).items() if n > 1)
        raise ValueError(f"candidates listed more than once: {twice}")
    votes = Counter(choices)
    unknown = sorted(set(votes) - standing)
    if unknown:
        raise ValueError(f"ballots for candidates who are not standing: {unknown}")

    # Not for secrecy: a draw anyone can repeat from the published seed.
    draw = random.Random(seed)  # noqa: S311
    by_votes = sorted(standing, key=lambda c: (-votes[c], c))
    tallies: list[Tally] = []
    for count, group in groupby(by_votes, key=lambda c: votes[c]):
        tied = list(group)  # already in id order
        if len(tied) > 1:
            draw.shuffle(tied)
        first = len(tallies)  # places first+1 .. first+len(tied)
        straddles_last_seat = first < seats < first + len(tied)
        for offset, candidate_id in enumerate(tied):
            place = first + offset + 1
            tallies.append(Tally(
                candidate_id=candidate_id,
                votes=count,
                place=place,
                elected=place <= seats,
                by_lot=straddles_last_seat,
            ))
    return tallies


def recount_matches(
    *,
    stored: Sequence[Tally],
    choices: Sequence[int],
    candidates: Sequence[int],
    seats: int,
    seed: str,
) -> bool:
    """Whether counting the ballots again with the recorded seed gives the stored result.

    The stored tallies may come in any order. Ballots that cannot be counted raise
    ValueError, as in ``count_votes``.
    """
    recount = count_votes(choices=choices, candidates=candidates, seats=seats, seed=seed)
    return sorted(stored, key=lambda t: t.place) == recount

"""Counting an election: first past the post, ties settled by a draw anyone can repeat."""

from __future__ import annotations

import random
import re
from dataclasses import replace

import pytest

from bot.elections.counting import Tally, count_votes, new_seed, recount_matches


def tallies(*rows: tuple[int, int, bool, bool]) -> list[Tally]:
    """Expected tallies in place order, from (candidate id, votes, elected, by lot)."""
    return [
        Tally(candidate_id=c, votes=v, place=place, elected=e, by_lot=lot)
        for place, (c, v, e, lot) in enumerate(rows, start=1)
    ]


# Worked out by hand. Where a draw orders a tie, the order is pinned for that seed: if a
# Python release ever drew differently, published results could no longer be repeated,
# and these cases would say so.
CASES = {
    "a clear winner": (
        [1, 1, 1, 2, 2, 3], [1, 2, 3], 1, "any",
        tallies((1, 3, True, False), (2, 2, False, False), (3, 1, False, False)),
    ),
    "two seats": (
        [1] * 5 + [2] * 3 + [3] * 4, [1, 2, 3], 2, "any",
        tallies((1, 5, True, False), (3, 4, True, False), (2, 3, False, False)),
    ),
    "a candidate with no votes is still listed": (
        [2, 2, 1], [1, 2, 3], 1, "any",
        tallies((2, 2, True, False), (1, 1, False, False), (3, 0, False, False)),
    ),
    "a tie for the last seat, seed north-2026": (
        [2, 5], [2, 5], 1, "north-2026",
        tallies((5, 1, True, True), (2, 1, False, True)),
    ),
    "a tie for the last seat, seed a": (
        [2, 5], [2, 5], 1, "a",
        tallies((2, 1, True, True), (5, 1, False, True)),
    ),
    "a tie inside the winners is not by lot": (
        [1, 1, 2, 2, 3], [1, 2, 3], 2, "north-2026",
        tallies((2, 2, True, False), (1, 2, True, False), (3, 1, False, False)),
    ),
    "a tie outside the winners is not by lot": (
        [1] * 5 + [2, 2, 3, 3], [1, 2, 3], 1, "a",
        tallies((1, 5, True, False), (2, 2, False, False), (3, 2, False, False)),
    ),
    "two tie groups, drawn from the top down": (
        [1, 1, 2, 2, 3, 4], [1, 2, 3, 4], 1, "a",
        tallies((1, 2, True, True), (2, 2, False, True), (4, 1, False, False),
                (3, 1, False, False)),
    ),
    "a three-way tie for one seat": (
        [7, 8, 9], [7, 8, 9], 1, "north-2026",
        tallies((8, 1, True, True), (7, 1, False, True), (9, 1, False, True)),
    ),
    "a three-way tie for the second of two seats": (
        [1] * 5 + [2, 3, 4] * 2, [1, 2, 3, 4], 2, "north-2026",
        tallies((1, 5, True, False), (3, 2, True, True), (2, 2, False, True),
                (4, 2, False, True)),
    ),
    "no ballots: everyone ties on nothing": (
        [], [7, 8, 9], 1, "north-2026",
        tallies((8, 0, True, True), (7, 0, False, True), (9, 0, False, True)),
    ),
    "no ballots and a seat for everyone": (
        [], [7, 8], 2, "north-2026",
        tallies((8, 0, True, False), (7, 0, True, False)),
    ),
    "more seats than candidates elects them all": (
        [1, 2, 2], [1, 2], 5, "any",
        tallies((2, 2, True, False), (1, 1, True, False)),
    ),
    "more seats than candidates, with a tie": (
        [1, 2], [1, 2, 3], 5, "a",
        tallies((1, 1, True, False), (2, 1, True, False), (3, 0, True, False)),
    ),
    "nobody standing": ([], [], 1, "any", []),
}


@pytest.mark.parametrize(
    ("choices", "candidates", "seats", "seed", "expected"), CASES.values(), ids=CASES.keys()
)
def test_count(
    choices: list[int], candidates: list[int], seats: int, seed: str, expected: list[Tally]
) -> None:
    assert count_votes(choices=choices, candidates=candidates, seats=seats, seed=seed) == expected


def test_the_same_seed_gives_the_same_result_every_time() -> None:
    first = count_votes(choices=[2, 5, 9], candidates=[2, 5, 9], seats=1, seed="repeat-me")
    for _ in range(100):
        again = count_votes(choices=[2, 5, 9], candidates=[2, 5, 9], seats=1, seed="repeat-me")
        assert again == first


def test_different_seeds_give_every_tied_candidate_a_chance() -> None:
    winners = [
        next(t.candidate_id for t in count_votes(
            choices=[2, 5], candidates=[2, 5], seats=1, seed=f"seed-{n}") if t.elected)
        for n in range(200)
    ]
    assert set(winners) == {2, 5}
    assert 60 <= winners.count(2) <= 140  # a fair coin, not a weighted one


def test_the_order_ballots_and_candidates_arrive_in_does_not_matter() -> None:
    choices = [1] * 5 + [2, 3, 4] * 2 + [6]
    expected = count_votes(choices=choices, candidates=[1, 2, 3, 4, 5, 6], seats=2, seed="s")
    shuffler = random.Random(1)
    for _ in range(20):
        shuffled_choices, shuffled_candidates = choices[:], [1, 2, 3, 4, 5, 6]
        shuffler.shuffle(shuffled_choices)
        shuffler.shuffle(shuffled_candidates)
        assert count_votes(
            choices=shuffled_choices, candidates=shuffled_candidates, seats=2, seed="s"
        ) == expected


def test_anyone_can_repeat_the_draw_from_the_published_rule() -> None:
    """Sort each tie by id and shuffle it with one Random(seed), from the top group down."""
    seed = new_seed()
    draw = random.Random(seed)
    top, bottom = [1, 2], [3, 4]
    draw.shuffle(top)
    draw.shuffle(bottom)
    result = count_votes(choices=[1, 1, 2, 2, 3, 4], candidates=[4, 3, 2, 1], seats=1, seed=seed)
    assert [t.candidate_id for t in result] == top + bottom


def test_every_count_is_consistent() -> None:
    maker = random.Random(2026)
    for _ in range(300):
        candidates = maker.sample(range(1, 50), maker.randint(1, 6))
        choices = [maker.choice(candidates) for _ in range(maker.randint(0, 12))]
        seats = maker.randint(1, 7)
        result = count_votes(choices=choices, candidates=candidates, seats=seats, seed="x")
        assert [t.place for t in result] == list(range(1, len(candidates) + 1))
        assert sorted(t.candidate_id for t in result) == sorted(candidates)
        assert sum(t.votes for t in result) == len(choices)
        assert [t.votes for t in result] == sorted((t.votes for t in result), reverse=True)
        assert [t.elected for t in result] == [t.place <= seats for t in result]
        for tally in result:
            same_votes = {t.elected for t in result if t.votes == tally.votes}
            assert tally.by_lot == (same_votes == {True, False})


@pytest.mark.parametrize(
    ("choices", "candidates", "seats", "message"),
    [
        ([1, 3], [1, 2], 1, "not standing: [3]"),
        ([1], [1, 2, 1], 1, "more than once: [1]"),
        ([1], [1, 2], 0, "at least one seat"),
    ],
    ids=["a ballot for an unknown candidate", "a candidate twice", "no seats"],
)
def test_what_cannot_be_counted(
    choices: list[int], candidates: list[int], seats: int, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        count_votes(choices=choices, candidates=candidates, seats=seats, seed="s")


def test_a_new_seed_is_32_hex_characters_and_fresh_each_time() -> None:
    seeds = {new_seed() for _ in range(100)}
    assert len(seeds) == 100
    assert all(re.fullmatch(r"[0-9a-f]{32}", seed) for seed in seeds)


BALLOTS = [1] * 4 + [2] * 4 + [3] * 2


def test_a_recount_matches_the_stored_result() -> None:
    stored = count_votes(choices=BALLOTS, candidates=[1, 2, 3], seats=1, seed="n")
    assert recount_matches(stored=stored, choices=BALLOTS, candidates=[1, 2, 3], seats=1,
                           seed="n")
    assert recount_matches(stored=stored[::-1], choices=BALLOTS[::-1], candidates=[3, 2, 1],
                           seats=1, seed="n")


def test_a_recount_does_not_match_after_one_ballot_changes() -> None:
    stored = count_votes(choices=BALLOTS, candidates=[1, 2, 3], seats=1, seed="n")
    changed = [3, *BALLOTS[1:]]
    assert not recount_matches(stored=stored, choices=changed, candidates=[1, 2, 3], seats=1,
                               seed="n")


def test_a_recount_does_not_match_a_doctored_result() -> None:
    stored = count_votes(choices=BALLOTS, candidates=[1, 2, 3], seats=1, seed="n")
    winner, runner_up, third = stored
    swapped = [replace(winner, elected=False), replace(runner_up, elected=True), third]
    assert not recount_matches(stored=swapped, choices=BALLOTS, candidates=[1, 2, 3], seats=1,
                               seed="n")
    assert not recount_matches(stored=stored[:2], choices=BALLOTS, candidates=[1, 2, 3],
                               seats=1, seed="n")


def test_a_recount_with_another_seed_can_differ() -> None:
    stored = count_votes(choices=[2, 5], candidates=[2, 5], seats=1, seed="north-2026")
    assert not recount_matches(stored=stored, choices=[2, 5], candidates=[2, 5], seats=1,
                               seed="a")

"""An election's result as a table, a bar chart with its words, and the list of receipts."""

from __future__ import annotations

import io
import struct

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from bot.elections.counting import Tally, count_votes
from voicebank.election_report import (
    ELECTED_COLOUR,
    NOT_ELECTED_COLOUR,
    receipts_list,
    results_chart,
    results_table,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAMES = {1: "Ann Jones 🌟", 2: "Bob", 3: "Cat"}
SEED = "5f0c2a9e4b7d4c1e8a3f6b2d9e0c7a14"
SEED_LINE = f"Ties were settled by drawing lots with seed {SEED}; anyone can repeat the draw."
# Ann 12, Bob and Cat 9 each for the second of two seats; the draw chose Bob.
DRAWN = [
    Tally(candidate_id=1, votes=12, place=1, elected=True, by_lot=False),
    Tally(candidate_id=2, votes=9, place=2, elected=True, by_lot=True),
    Tally(candidate_id=3, votes=9, place=3, elected=False, by_lot=True),
]
# Ann and Bob tie, but both are elected: the draw only ordered them.
NOT_DRAWN = [
    Tally(candidate_id=2, votes=12, place=1, elected=True, by_lot=False),
    Tally(candidate_id=1, votes=12, place=2, elected=True, by_lot=False),
    Tally(candidate_id=3, votes=6, place=3, elected=False, by_lot=False),
]


def test_the_table_lists_candidates_in_place_order_with_marks() -> None:
    table = results_table(title="North: MP election", tallies=DRAWN[::-1], names=NAMES,
                          seats=2, seed=SEED, turnout=(30, 75))
    assert table == (
        "North: MP election\n"
        "==================\n"
        "Seats: 2\n"
        "\n"
        " 1. Ann Jones 🌟     12   40.0%  ████████              elected\n"
        " 2. Bob               9   30.0%  ██████                elected by drawing lots\n"
        " 3. Cat               9   30.0%  ██████\n"
        "\n"
        "Votes cast: 30\n"
        "Turnout: 30 of 75 (40.0%)\n"
        f"{SEED_LINE}\n"
    )


def test_the_seed_is_shown_only_when_a_draw_decided_who_was_elected() -> None:
    table = results_table(title="North", tallies=NOT_DRAWN, names=NAMES, seats=2, seed=SEED,
                          turnout=(30, 75))
    assert SEED not in table
    assert "drawing lots" not in table
    assert table.count("  elected\n") == 2
    assert "Turnout: 30 of 75 (40.0%)" in table


def test_a_counted_tie_for_the_last_seat_shows_the_seed() -> None:
    tallies = count_votes(choices=[1] * 4 + [2] * 3 + [3] * 3, candidates=[1, 2, 3], seats=2,
                          seed=SEED)
    table = results_table(title="North", tallies=tallies, names=NAMES, seats=2, seed=SEED,
                          turnout=(10, 12))
    assert table.endswith(f"Turnout: 10 of 12 (83.3%)\n{SEED_LINE}\n")
    assert table.count("elected by drawing lots") == 1


def test_a_table_with_no_votes_and_nobody_on_the_roll() -> None:
    tallies = count_votes(choices=[], candidates=[1, 2], seats=2, seed=SEED)
    table = results_table(title="Poll", tallies=tallies, names={1: "Yes"}, seats=2, seed=SEED,
                          turnout=(0, 0))
    assert "Candidate 2" in table  # a name that was not given
    assert "0    0.0%" in table
    assert "Votes cast: 0\nTurnout: 0 of 0\n" in table


def png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def has_colour(png: bytes, colour: str) -> bool:
    pixels = imread(io.BytesIO(png))[:, :, :3]
    return bool(np.any(np.all(np.abs(pixels - np.array(to_rgb(colour))) < 0.02, axis=-1)))


def test_the_chart_is_a_png_with_words_for_every_candidate() -> None:
    chart = results_chart(title="North: MP election 🗳️", tallies=DRAWN, names=NAMES)
    assert chart.png.startswith(PNG_SIGNATURE)
    width, height = png_size(chart.png)
    assert 600 <= width <= 2000
    assert 250 <= height <= 1500
    assert b"Software" not in chart.png  # no version stamp: the same chart, the same bytes
    assert results_chart(title="North: MP election 🗳️", tallies=DRAWN, names=NAMES) == chart
    assert chart.alt_text == (
        "Bar chart: North: MP election. Ann Jones 12 votes (40%), elected; "
        "Bob 9 votes (30%), elected by drawing lots; Cat 9 votes (30%), not elected. "
        "30 votes cast."
    )


def test_winners_and_the_rest_are_drawn_in_different_colours() -> None:
    chart = results_chart(title="North", tallies=DRAWN, names=NAMES)
    assert has_colour(chart.png, ELECTED_COLOUR)
    assert has_colour(chart.png, NOT_ELECTED_COLOUR)
    everyone_wins = results_chart(title="North", tallies=DRAWN[:2], names=NAMES)
    assert has_colour(everyone_wins.png, ELECTED_COLOUR)


def test_a_chart_with_no_votes() -> None:
    tallies = count_votes(choices=[], candidates=[1], seats=1, seed=SEED)
    chart = results_chart(title="Name the garden?", tallies=tallies, names={1: "🌻"})
    assert chart.png.startswith(PNG_SIGNATURE)
    assert chart.alt_text == (
        "Bar chart: Name the garden? Candidate 1 0 votes (0%), elected. No votes were cast."
    )


def test_the_receipts_are_sorted_under_a_heading_that_says_how_to_check() -> None:
    listing = receipts_list(["ZX2P-4KQM", "7KQM-X3PD", "A2B3-C4D5"])
    lines = listing.splitlines()
    assert lines[0].startswith("3 ballots were counted.")
    assert "receipt" in lines[1]
    assert lines[2] == ""
    assert lines[3:] == ["7KQM-X3PD", "A2B3-C4D5", "ZX2P-4KQM"]
    assert listing.endswith("\n")


def test_one_receipt_and_none() -> None:
    assert receipts_list(["7KQM-X3PD"]).startswith("1 ballot was counted.")
    assert receipts_list([]) == "No ballots were counted.\n"

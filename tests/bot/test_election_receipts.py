"""Ballot receipt codes: easy to read out and type, hard to guess, and tolerant of typing."""

from __future__ import annotations

import re

import pytest

from bot.elections.receipts import (
    RECEIPT_ALPHABET,
    is_receipt,
    new_receipt,
    normalise_receipt,
)

LOOK_ALIKES = set("0O1IL")
DRAWS = [new_receipt() for _ in range(10_000)]


def test_a_receipt_is_two_groups_of_four() -> None:
    for receipt in DRAWS:
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", receipt), receipt
        assert is_receipt(receipt)


def test_the_alphabet_has_no_look_alikes_and_every_character_is_used() -> None:
    assert not LOOK_ALIKES & set(RECEIPT_ALPHABET)
    assert len(set(RECEIPT_ALPHABET)) == len(RECEIPT_ALPHABET) == 31
    used = {ch for receipt in DRAWS for ch in receipt.replace("-", "")}
    assert used == set(RECEIPT_ALPHABET)


def test_ten_thousand_receipts_are_all_different() -> None:
    assert len(set(DRAWS)) == len(DRAWS)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("7KQM-X3PD", "7KQM-X3PD"),
        ("7kqm-x3pd", "7KQM-X3PD"),
        ("7KQMX3PD", "7KQM-X3PD"),
        ("  7kqm x3pd\n", "7KQM-X3PD"),
        ("7 K Q M - X 3 P D", "7KQM-X3PD"),
        ("7KQM\N{EN DASH}X3PD", "7KQM-X3PD"),  # an en dash, as phones autocorrect
        ("7KQM\N{EM DASH}X3PD", "7KQM-X3PD"),  # an em dash
        ("7KQ-MX3-PD", "7KQM-X3PD"),
        ("7KQM\N{MINUS SIGN}X3PD", "7KQM-X3PD"),
        ("7KQM\N{NON-BREAKING HYPHEN}X3PD", "7KQM-X3PD"),
        ("7kqm.x3pd", "7KQM-X3PD"),
        ("7kqm_x3pd", "7KQM-X3PD"),
        ("7KQM-X3P", "7KQMX3P"),  # too short: cleaned, but matches no receipt
        ("7KQM-X3PDA", "7KQMX3PDA"),  # too long
        ("", ""),
        ("o0il-1234", "O0IL-1234"),  # look-alikes are kept as typed, not guessed at
    ],
)
def test_normalise(typed: str, stored: str) -> None:
    assert normalise_receipt(typed) == stored


def test_look_alikes_never_make_a_receipt() -> None:
    for ch in sorted(LOOK_ALIKES):
        assert not is_receipt(normalise_receipt(f"ABCD-EFG{ch}"))


def test_a_receipt_typed_any_way_comes_back_as_it_was_given() -> None:
    for receipt in DRAWS[:200]:
        assert normalise_receipt(receipt) == receipt
        assert normalise_receipt(receipt.lower().replace("-", " ")) == receipt


@pytest.mark.parametrize(
    "text", ["ABCDEFGH", "ABCD-EFG", "ABCD-EFGHJ", "ABC-DEFGH", "abcd-efgh", "ABCD EFGH"]
)
def test_what_is_not_a_stored_receipt(text: str) -> None:
    assert not is_receipt(text)

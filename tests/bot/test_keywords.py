from __future__ import annotations

import string

import pytest

from bot.catalogue import load_catalogue
from bot.keywords import _fold, is_keyword, normalise_keyword

STOP = load_catalogue("en").words("stop")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("STOP", "stop"), ("  Stop!  ", "stop"), ("/stop", "stop"), ("/stop@VoicebankBot", "stop"),
     ("Stop   all", "stop all"), ("", ""), ("...", ""), ("▶️", "▶")],
)
def test_normalise_keyword(text, expected):
    assert normalise_keyword(text) == expected


@pytest.mark.parametrize("text", ["STOP", "stop all", "StopAll", "S T O P", "quit!", "End"])
def test_stop_words_match_however_they_are_typed(text):
    assert is_keyword(text, STOP)


@pytest.mark.parametrize("text", ["please stop the noise", "stopping", "", "don't stop", "🛑 no"])
def test_messages_that_only_mention_stop_are_not_keywords(text):
    assert not is_keyword(text, STOP)


def test_a_plain_word_or_number_is_folded_as_any_other_text_would_be() -> None:
    plain = [*string.ascii_letters, *string.digits,
             *(a + b for a in "aZ09" for b in string.ascii_letters + string.digits),
             "SKIP", "Stop", "yes", "Help", "vote2", "WILLOW1", "123456"]
    for text in plain:
        assert normalise_keyword(text) == _fold(text), text

"""The message catalogue: every text the code asks for exists, in easy-read style."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import bot
from bot.catalogue import MissingText, available_languages, load_catalogue
from bot.flows.idea import TOPICS
from bot.flows.menu import ENTRIES

EN = load_catalogue("en")
SOURCE = Path(bot.__file__).parent
LITERAL_KEY = re.compile(r"""\.text\(\s*["']([a-z_]+\.[a-z_.]+)["']""")
LITERAL_WORDS = re.compile(r"""\.words\(\s*["']([a-z_]+)["']""")


def keys_used_in_code() -> set[str]:
    keys = set()
    for path in SOURCE.rglob("*.py"):
        keys.update(LITERAL_KEY.findall(path.read_text(encoding="utf-8")))
    keys.update(f"menu.{entry.value}" for entry in ENTRIES)
    keys.update(f"idea.topic_{value}" for value, _ in TOPICS)
    return keys


def test_the_code_asks_for_texts_by_key_and_finds_them_all():
    keys = keys_used_in_code()
    assert len(keys) > 20
    for key in sorted(keys):
        assert EN.text(key, **dict.fromkeys(EN.placeholders(key), "7"))


def test_every_keyword_list_the_code_asks_for_exists():
    for path in SOURCE.rglob("*.py"):
        for name in LITERAL_WORDS.findall(path.read_text(encoding="utf-8")):
            assert EN.words(name), name
    for entry in ENTRIES:
        assert EN.words(entry.keyword)


def test_a_missing_key_is_an_error_not_a_blank_message():
    with pytest.raises(MissingText):
        EN.text("no.such.key")


def test_every_text_is_used_somewhere():
    unused = set(EN.entries) - keys_used_in_code()
    assert unused == set()


def test_an_unknown_language_falls_back_to_english():
    assert load_catalogue("xx").text("stop.done") == EN.text("stop.done")


@pytest.mark.parametrize("language", available_languages())
def test_translations_keep_the_placeholders(language):
    catalogue = load_catalogue(language)
    for key, entry in catalogue.entries.items():
        assert key in EN.entries, f"{language}: {key} is not an English key"
        assert catalogue.placeholders(key) <= EN.placeholders(key) | {""}, key
        assert entry.easy.strip()


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n", text) if s.strip()]


@pytest.mark.parametrize("key", sorted(EN.entries))
def test_easy_read_texts_use_short_sentences(key):
    for sentence in sentences(EN.entries[key].easy):
        words = [w for w in sentence.split() if any(ch.isalnum() for ch in w)]
        assert len(words) <= 12, f"{key}: {sentence!r} has {len(words)} words"


@pytest.mark.parametrize("key", sorted(EN.entries))
def test_easy_read_texts_have_few_lines(key):
    assert len(EN.entries[key].easy.splitlines()) <= 4, key

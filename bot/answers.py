"""Turn what a person texts back into the option they meant.

People answer a numbered question in many ways: "2", "two", "2️⃣", "number 2", the option's
emoji, its label or a small typo of it, or "yes"/"no".  This module maps such a reply to an
option number, and returns None whenever it is not sure, so the caller can ask again kindly.
A wrong guess is worse than asking twice, so ambiguity always gives None.

Everything here is pure: no I/O apart from reading the word lists in ``bot/catalogue``.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rapidfuzz import fuzz

__all__ = [
    "Choice",
    "Vocabulary",
    "clean_text",
    "load_vocabulary",
    "parse_choice",
    "yes_no_choices",
]

_CATALOGUE = Path(__file__).parent / "catalogue"
_DEFAULT_LANGUAGE = "en"
_LANGUAGE_RE = re.compile(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})*")

# Replies longer than this (after normalisation) are never an answer to a numbered question.
_MAX_REPLY = 200
# Raw length (surrounding whitespace aside) above which a reply is not even normalised.
_MAX_STRIPPED = 4 * _MAX_REPLY
# Fuzzy label matching: minimum rapidfuzz ratio, lead over the runner-up, and lengths.
_FUZZY_CUTOFF = 85.0
_FUZZY_MARGIN = 10.0
_FUZZY_MIN_LABEL = 4
_FUZZY_MIN_INPUT = 4

_ZWJ = "\u200d"
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_KEYCAP_DIGIT_RE = re.compile("([0-9])\ufe0f?\u20e3")
_KEYCAP_OTHER_RE = re.compile("[#*]\ufe0f?\u20e3")
_KEYCAP_TEN = "\U0001f51f"
_APOSTROPHES = dict.fromkeys(map(ord, "'\u2018\u2019\u02bc\u0060\u00b4\uff07"), None)
_REPEAT_RE = re.compile(r"(.)\1+")

Tokens = tuple[str, ...]


@dataclass(frozen=True)
class Choice:
    """An option as the parser sees it."""

    number: int
    label: str
    emoji: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    """The words of one language that the parser understands."""

    yes: frozenset[str]
    no: frozenset[str]
    number_words: Mapping[str, int]
    number_prefixes: tuple[str, ...]
    parsers: dict[tuple[Choice, ...], _Parser] = field(
        default_factory=dict, compare=False, repr=False)
    """Each option set's parser, built the first time it is needed: a survey's questions
    and the menu are asked again and again."""

    @classmethod
    def from_toml(cls, data: Mapping[str, Any]) -> Vocabulary:
        """Build a vocabulary from parsed TOML shaped like ``bot/catalogue/answers_en.toml``.

        Missing lists are empty; a malformed file raises ValueError rather than half-loading.
        """
        numbers = data.get("numbers", {})
        if not isinstance(numbers, Mapping):
            raise ValueError("'numbers' must be a table of word = number")
        number_words: dict[str, int] = {}
        for word, value in numbers.items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"number word {word!r} must map to an integer, not {value!r}")
            number_words[str(word)] = value
        return cls(
            yes=frozenset(_string_list(data, "yes")),
            no=frozenset(_string_list(data, "no")),
            number_words=MappingProxyType(number_words),
            number_prefixes=tuple(_string_list(data, "number_prefixes")),
        )


def _string_list(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{key!r} must be a list of strings")
    return list(value)


@lru_cache(maxsize=32)
def load_vocabulary(language: str) -> Vocabulary:
    """Load the answer words for ``language`` from ``bot/catalogue/answers_{language}.toml``.

    Falls back to English when there is no file for that language (or the code looks odd), so a
    person is never left without a parser.
    """
    path = _CATALOGUE / f"answers_{language}.toml"
    if not _LANGUAGE_RE.fullmatch(language) or not path.is_file():
        path = _CATALOGUE / f"answers_{_DEFAULT_LANGUAGE}.toml"
    with path.open("rb") as handle:
        return Vocabulary.from_toml(tomllib.load(handle))


def clean_text(raw: str) -> str:
    """Make an inbound text safe to store and compare, without losing anything the person wrote.

    Applies NFC, drops control characters other than newline and tab, replaces lone surrogates
    (which UTF-8 encoders and PostgreSQL reject) with U+FFFD, and strips surrounding whitespace.
    """
    if _SURROGATE_RE.search(raw):
        # Round-trip through UTF-16: a valid surrogate pair becomes its real character and a
        # lone surrogate becomes U+FFFD.
        raw = raw.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = _CONTROL_RE.sub("", raw)
    return unicodedata.normalize("NFC", text).strip()


def yes_no_choices(vocabulary: Vocabulary, yes_label: str, no_label: str) -> tuple[Choice, Choice]:
    """Build the two options of a yes/no question, so it can be parsed like any choice question.

    Option 1 is yes (✅ and every yes word), option 2 is no (❌ and every no word).
    """
    return (
        Choice(1, yes_label, "✅", aliases=tuple(sorted(vocabulary.yes))),
        Choice(2, no_label, "❌", aliases=tuple(sorted(vocabulary.no))),
    )


def parse_choice(text: str, options: Sequence[Choice], vocabulary: Vocabulary) -> int | None:
    """Return the number of the option the person meant by ``text``, or None if unsure.

    Understands numbers (also as words, keycaps, ordinals and after "number"/"vote"...), the
    option's emoji, its aliases and its label (allowing a small typo). Ambiguity gives None.
    """
    if not options:
        return None
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit() and len(stripped) <= _MAX_REPLY:
        # "2": normalising would leave it as it is, one token.
        return _parser_for(tuple(options), vocabulary).parse((stripped,))
    return _parse_any(stripped, options, vocabulary)


def _parse_any(stripped: str, options: Sequence[Choice], vocabulary: Vocabulary) -> int | None:
    if len(stripped) > _MAX_STRIPPED:
        return None  # cheap bail-out before any per-character work
    normalised = _normalise(stripped)
    if not normalised or len(normalised) > _MAX_REPLY:
        return None
    tokens = _tokenise(normalised)
    if not tokens:
        return None
    parser = _parser_for(tuple(options), vocabulary)
    found = parser.parse(tokens)
    if found is None:
        deduplicated = _drop_repeats(tokens)
        if deduplicated != tokens:  # "yes yes", "2 2"
            found = parser.parse(deduplicated)
    return found


# --- normalisation ---------------------------------------------------------------------------


def _normalise(text: str) -> str:
    """Casefolded NFKC text with keycaps as digits, modifiers dropped and punctuation as spaces."""
    text = clean_text(text)
    text = _KEYCAP_DIGIT_RE.sub(r"\1", text)
    text = _KEYCAP_OTHER_RE.sub(" ", text).replace(_KEYCAP_TEN, "10")
    text = text.translate(_APOSTROPHES)  # "they've" and "theyve" are the same word
    text = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char in "\ufe0e\ufe0f" or 0x1F3FB <= code <= 0x1F3FF:
            continue  # variation selectors and skin tones never change the meaning
        if char == _ZWJ or 0xE0020 <= code <= 0xE007F:
            out.append(char)  # joins emoji into one (family, flag of a region)
            continue
        category = unicodedata.category(char)
        if category == "Cf":
            continue  # zero-width spaces, byte order marks, ...
        if category[0] in "PZC" or category in ("Sm", "Sc", "Sk"):
            out.append(" ")
        else:
            out.append(char)
    return " ".join("".join(out).split())


def _is_emoji_char(char: str) -> bool:
    return unicodedata.category(char) == "So"


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _is_emoji(token: str) -> bool:
    return _is_emoji_char(token[0])


def _tokenise(normalised: str) -> Tokens:
    """Split normalised text into words and single emoji (ZWJ sequences and flags kept whole)."""
    tokens: list[str] = []
    word = ""
    emoji = ""

    def flush() -> None:
        nonlocal word, emoji
        if word:
            tokens.append(word)
        if emoji:
            tokens.append(emoji)
        word = emoji = ""

    for char in normalised:
        code = ord(char)
        if char == " ":
            flush()
        elif _is_emoji_char(char):
            if word:
                flush()
            joins = emoji.endswith(_ZWJ) or (
                len(emoji) == 1 and _is_regional_indicator(emoji) and _is_regional_indicator(char)
            )
            if emoji and not joins:
                flush()
            emoji += char
        elif (
            char == _ZWJ
            or 0xE0020 <= code <= 0xE007F
            or (emoji and unicodedata.category(char).startswith("M"))
        ):
            if emoji:
                emoji += char
        else:
            if emoji:
                flush()
            word += char
    flush()
    return tuple(token.rstrip(_ZWJ) if _is_emoji(token) else token for token in tokens)


@lru_cache(maxsize=4096)
def _phrase(text: str) -> Tokens:
    return _tokenise(_normalise(text))


def _word_runs(tokens: Tokens) -> list[Tokens]:
    """The runs of consecutive words, split wherever an emoji stands."""
    runs: list[Tokens] = []
    current: list[str] = []
    for token in (*tokens, ""):
        if token and not _is_emoji(token):
            current.append(token)
        elif current:
            runs.append(tuple(current))
            current = []
    return runs


def _is_number_token(run: Tokens) -> bool:
    return len(run) == 1 and run[0].isdecimal()


def _drop_repeats(tokens: Tokens) -> Tokens:
    kept = [token for index, token in enumerate(tokens) if index == 0 or token != tokens[index - 1]]
    return tuple(kept)


def _squeeze(text: str) -> str:
    """Collapse repeated letters, so "yesss", "nooo" and "foood" meet "yes", "no", "food"."""
    return _REPEAT_RE.sub(r"\1", text)


# --- parsing ---------------------------------------------------------------------------------


_PARSERS_KEPT = 256
"""Parsers one vocabulary keeps; past that they are built afresh (surveys come and go)."""


def _parser_for(options: tuple[Choice, ...], vocabulary: Vocabulary) -> _Parser:
    parser = vocabulary.parsers.get(options)
    if parser is None:
        if len(vocabulary.parsers) >= _PARSERS_KEPT:
            vocabulary.parsers.clear()
        parser = vocabulary.parsers[options] = _Parser(options, vocabulary)
    return parser


class _Parser:
    """The option set and vocabulary of one question, indexed for lookups."""

    def __init__(self, options: Sequence[Choice], vocabulary: Vocabulary) -> None:
        self.numbers = frozenset(option.number for option in options)
        self.table: dict[Tokens, set[int]] = {}
        self.squeezed: dict[str, set[int]] = {}
        self.labels: list[tuple[int, str]] = []
        self.emoji: list[tuple[int, Tokens]] = []
        label_words: set[str] = set()
        for option in options:
            label = _phrase(option.label)
            phrases: list[Tokens] = [label, *(_phrase(alias) for alias in option.aliases)]
            for phrase in phrases:
                self._add(phrase, option.number)
            if label and not any(_is_emoji(token) for token in label):
                self.labels.append((option.number, " ".join(label)))
                label_words.update(label)
            emoji = _phrase(option.emoji)
            if emoji:
                self.table.setdefault(emoji, set()).add(option.number)
                if all(_is_emoji(token) for token in emoji):
                    self.emoji.append((option.number, emoji))
        self.label_words = frozenset(label_words)
        self.number_words: dict[Tokens, int] = {}
        for word, value in vocabulary.number_words.items():
            key = _phrase(word)
            if key:
                self.number_words[key] = value
        prefixes = {_phrase(prefix) for prefix in vocabulary.number_prefixes}
        self.no_words = frozenset(" ".join(_phrase(word)) for word in vocabulary.no)
        self.prefixes = sorted((p for p in prefixes if p), key=len, reverse=True)

    def _add(self, phrase: Tokens, number: int) -> None:
        if not phrase:
            return
        self.table.setdefault(phrase, set()).add(number)
        if not any(_is_emoji(token) for token in phrase):
            self.squeezed.setdefault(_squeeze(" ".join(phrase)), set()).add(number)

    def parse(self, tokens: Tokens) -> int | None:
        # 1. A number, maybe as a word and maybe after "number", "vote", ...
        number = self.number_form(tokens)
        if number is not None:
            return number or None
        # The whole message is exactly some option's label, alias or emoji.
        if tokens in self.table:
            return _only(self.table[tokens])
        # 2-4. Emoji and words ("🍎 Food", "2️⃣ 🍎 Food"); every part must agree.
        runs = _word_runs(tokens)
        if len(runs) == 2 and (_is_number_token(runs[0]) or _is_number_token(runs[1])):
            runs = [runs[0] + runs[1]]  # "2 🍎 Food" as copied from the menu
        if len(runs) > 1:
            return None  # words on both sides of an emoji: not a reply we understand
        body = runs[0] if runs else ()
        emoji = tuple(token for token in tokens if _is_emoji(token))
        found: set[int] = set()
        if emoji:
            meant = self.emoji_block(emoji)
            if not meant:
                return None
            found |= meant
        if body:
            meant = self.body(body)
            if not meant:
                return None
            found |= meant
        return _only(found)

    def number_form(self, tokens: Tokens) -> int | None:
        """The number a numeric reply names: 0 when it names none of the options, None if it is
        not numeric at all."""
        reachable: dict[int, list[Tokens]] = {0: []}
        values: set[int] = set()
        clashes: set[int] = set()
        for start in range(len(tokens)):
            if start not in reachable:
                continue
            used = reachable[start]
            value = self.number_value(tokens[start:])
            # "no one" means nobody: after a no word, only a digit ("no 1", "no. 1") is a number.
            if (
                value is not None
                and not tokens[start].isdecimal()
                and any(" ".join(prefix) in self.no_words for prefix in used)
            ):
                value = None
            if value is not None:
                values.add(value)
                for prefix in used:  # "no 1" on a yes/no question: "no" is also an answer
                    clashes |= self.table.get(prefix, set()) - {value}
                continue
            for prefix in self.prefixes:
                end = start + len(prefix)
                if end < len(tokens) and tokens[start:end] == prefix and end not in reachable:
                    reachable[end] = [*used, prefix]
        if not values:
            return None
        # A number word that is also another option's label or alias is ambiguous.
        clashes |= self.table.get(tokens, set()) - values
        if len(values) != 1 or clashes:
            return 0
        value = values.pop()
        return value if value in self.numbers else 0

    def number_value(self, tokens: Tokens) -> int | None:
        if len(tokens) == 1 and tokens[0].isdecimal():
            return int(tokens[0])
        return self.number_words.get(tokens)

    def emoji_block(self, emoji: Tokens) -> set[int]:
        if emoji in self.table:
            return set(self.table[emoji])
        meant = {
            number
            for number, sequence in self.emoji
            if len(emoji) % len(sequence) == 0 and emoji == sequence * (len(emoji) // len(sequence))
        }
        if meant:
            return meant
        for token in emoji:  # "😀😀", "👍 ✅": each emoji on its own must be known
            known = self.table.get((token,))
            if not known:
                return set()
            meant |= known
        return meant

    def body(self, words: Tokens) -> set[int]:
        """What the words between any emoji mean: a number, a label or alias, or "2 Food"."""
        number = self.number_form(words)
        if number is not None:
            return {number} if number else set()
        meant = self.text(words)
        if meant:
            return meant
        if len(words) > 1:  # "2 Food", "Food 2"
            for digit, rest in ((words[0], words[1:]), (words[-1], words[:-1])):
                if digit.isdecimal() and int(digit) in self.numbers:
                    rest_meant = self.text(rest)
                    if rest_meant:
                        return rest_meant | {int(digit)}
        if any(char.isdecimal() for word in words for char in word):
            return set()  # "2 or 3", "1 2", "food 5"
        return self.fuzzy(words)

    def text(self, words: Tokens) -> set[int]:
        """Exact label or alias, also with letters held down ("yesss", "foood")."""
        if words in self.table:
            return set(self.table[words])
        if any(char.isdecimal() for word in words for char in word):
            return set()
        return set(self.squeezed.get(_squeeze(" ".join(words)), set()))

    def fuzzy(self, words: Tokens) -> set[int]:
        """A close typo of exactly one label, clearly closer than to any other label."""
        said = " ".join(words)
        if len(said.replace(" ", "")) < _FUZZY_MIN_INPUT:
            return set()
        # Words outside every label that name an option ("yes", "for") must not disagree.
        signals: set[int] = set()
        for word in words:
            if word not in self.label_words:
                signals |= self.table.get((word,), set())
                if (word,) in self.number_words:
                    signals.add(self.number_words[(word,)])
        scores: dict[int, float] = {}
        for number, label in self.labels:
            if len(label) < _FUZZY_MIN_LABEL:
                continue
            score = max(
                fuzz.ratio(said, label),
                fuzz.ratio(said.replace(" ", ""), label.replace(" ", "")),
            )
            scores[number] = max(score, scores.get(number, 0.0))
        if not scores:
            return set()
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        best, best_score = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if best_score < _FUZZY_CUTOFF or best_score - runner_up < _FUZZY_MARGIN:
            return set()
        if signals - {best}:
            return set()
        return {best}


def _only(numbers: Iterable[int]) -> int | None:
    distinct = set(numbers)
    return distinct.pop() if len(distinct) == 1 else None

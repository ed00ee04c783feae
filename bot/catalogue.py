"""The message catalogue: every text the bot sends, per language, out of the code.

Texts live in ``bot/catalogue/<language>.toml`` so they can be reviewed and translated.
A language file may leave keys out; those come from English.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

CATALOGUE_DIR = Path(__file__).parent / "catalogue"
DEFAULT_LANGUAGE = "en"
_PLACEHOLDER = re.compile(r"{(\w+)}")


class MissingText(KeyError):
    """A key the code asked for is in no catalogue: a bug, caught by the catalogue tests."""


@dataclass(frozen=True)
class Entry:
    easy: str
    plain: str | None = None


@dataclass(frozen=True)
class Catalogue:
    """The texts and keywords of one language, falling back to English."""

    language: str
    entries: Mapping[str, Entry]
    keywords: Mapping[str, frozenset[str]]
    fallback: Catalogue | None = None

    def text(self, key: str, *, easy: bool = True, **values: object) -> str:
        """The text for ``key`` with ``{placeholders}`` filled in from ``values``."""
        entry = self.entries.get(key)
        if entry is None:
            if self.fallback is None:
                raise MissingText(key)
            return self.fallback.text(key, easy=easy, **values)
        template = entry.easy if easy or entry.plain is None else entry.plain
        return template.format(**values)

    def words(self, name: str) -> frozenset[str]:
        """The keywords called ``name`` in this language and in English."""
        own = self.keywords.get(name, frozenset())
        if self.fallback is None:
            if name not in self.keywords:
                raise MissingText(f"keywords.{name}")
            return own
        return own | self.fallback.words(name)

    def placeholders(self, key: str) -> set[str]:
        entry = self.entries[key]
        found = set(_PLACEHOLDER.findall(entry.easy))
        if entry.plain is not None:
            found |= set(_PLACEHOLDER.findall(entry.plain))
        return found


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, str):
            entries[key] = Entry(easy=value)
        elif isinstance(value, Mapping) and "easy" in value:
            entries[key] = Entry(easy=value["easy"], plain=value.get("plain"))
        elif isinstance(value, Mapping):
            entries.update(_flatten(value, f"{key}."))
        else:
            raise ValueError(f"catalogue entry {key} should be text, not {type(value).__name__}")
    return entries


def available_languages() -> list[str]:
    return sorted(
        path.stem for path in CATALOGUE_DIR.glob("*.toml") if not path.stem.startswith("answers_")
    )


@lru_cache(maxsize=16)
def load_catalogue(language: str = DEFAULT_LANGUAGE) -> Catalogue:
    """The catalogue for ``language``; English when there is no file for it."""
    path = CATALOGUE_DIR / f"{language}.toml"
    if language != DEFAULT_LANGUAGE and not path.exists():
        return load_catalogue(DEFAULT_LANGUAGE)
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    raw_keywords = data.pop("keywords", {})
    keywords = {
        name: frozenset(word.casefold() for word in words) for name, words in raw_keywords.items()
    }
    fallback = None if language == DEFAULT_LANGUAGE else load_catalogue(DEFAULT_LANGUAGE)
    return Catalogue(
        language=language, entries=_flatten(data), keywords=keywords, fallback=fallback
    )

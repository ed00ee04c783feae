"""Reading whole-message keywords the way people type them."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_COMMAND_SUFFIX = re.compile(r"^/(\w+)@\w+")
_EDGE_PUNCTUATION = ".,!?;:'\"()[]{}*_~-"


def normalise_keyword(text: str) -> str:
    """Fold a message for keyword matching: ``" Stop! "``, ``"STOP"`` and ``"/stop"`` agree.

    Telegram commands lose their slash and any ``@BotName`` suffix; case, spacing and
    punctuation at the ends are ignored. A variation selector on an emoji is dropped.
    """
    if text.isascii() and text.isalnum():
        return text.lower()  # "2", "yes", "SKIP": the folding below would change nothing else
    return _fold(text)


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).replace("\ufe0f", "").casefold().strip()
    folded = _COMMAND_SUFFIX.sub(r"/\1", folded)
    folded = folded.removeprefix("/")
    folded = folded.strip(_EDGE_PUNCTUATION + " \t\r\n")
    return " ".join(folded.split())


def is_keyword(text: str, words: frozenset[str]) -> bool:
    """True when the whole message is one of ``words`` (spaces inside it ignored too)."""
    folded = normalise_keyword(text)
    if not folded:
        return False
    if folded in words:
        return True
    return folded.replace(" ", "") in _squashed(words)


@lru_cache(maxsize=256)
def _squashed(words: frozenset[str]) -> frozenset[str]:
    """``words`` without their spaces and variation selectors, worked out once per list."""
    return frozenset(word.replace(" ", "").replace("\ufe0f", "") for word in words)

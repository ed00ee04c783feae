"""Words that suggest someone may be at risk: found in what people write, so the
safeguarding contacts hear at once. A pure matcher; the lists live in the catalogue and
the deployment's settings."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    # Apostrophes inside a word ("don't") stay; quotes around one ('unsafe') go.
    words = (word.strip("'") for word in re.findall(r"[\w']+", text))
    return " ".join(word for word in words if word)


def concerns(text: str, phrases: Iterable[str]) -> tuple[str, ...]:
    """The phrases found in ``text`` as whole words ("hurt" in "he hurt me", not in
    "hurtle"), in the order given; empty when there is no concern."""
    folded = f" {_fold(text)} "
    found = []
    for phrase in phrases:
        wanted = _fold(phrase)
        if wanted and f" {wanted} " in folded:
            found.append(phrase)
    return tuple(found)

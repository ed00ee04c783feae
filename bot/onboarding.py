"""Reading a join request: how a stranger becomes a person the bot knows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.catalogue import Catalogue
from bot.keywords import normalise_keyword

CODE = re.compile(r"^[A-Z0-9]{3,10}$")
TELEGRAM_START = "start"


@dataclass(frozen=True)
class JoinRequest:
    """A join code someone sent; ``explicit`` when they said JOIN (or /start) before it."""

    code: str
    explicit: bool


def read_join_request(text: str, texts: Catalogue) -> JoinRequest | None:
    """Find a join code in ``JOIN OAK7``, ``join oak 7``, ``/start OAK7`` or a bare ``OAK7``."""
    words = normalise_keyword(text).split()
    if not words:
        return None
    join_words = texts.words("join") | {TELEGRAM_START}
    if words[0] in join_words:
        code = "".join(words[1:]).upper().replace("-", "")
        return JoinRequest(code=code, explicit=True)
    if len(words) == 1:
        code = words[0].upper().replace("-", "")
        if CODE.match(code) and any(ch.isdigit() for ch in code):
            return JoinRequest(code=code, explicit=False)
    return None

"""Commands with a number in them, read from a whole message: ``DONE 12 fixed it``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.catalogue import Catalogue
from bot.keywords import normalise_keyword

_NUMBER = re.compile(r"^#?(\d{1,9})$")


@dataclass(frozen=True)
class DoneCommand:
    action_id: int
    note: str = ""


def read_done(text: str, texts: Catalogue) -> DoneCommand | None:
    """``DONE 12``, ``done #12``, ``Done 12 the light is fixed``: the action and a note."""
    words = text.strip().split(maxsplit=2)
    if len(words) < 2 or normalise_keyword(words[0]) not in texts.words("done"):
        return None
    match = _NUMBER.match(words[1].strip(".,:;"))
    if match is None:
        return None
    note = words[2].strip() if len(words) > 2 else ""
    return DoneCommand(action_id=int(match.group(1)), note=note[:2000])


@dataclass(frozen=True)
class CompleteAction:
    """The person says an action is done: sign it off if it is theirs."""

    action_id: int
    note: str = ""

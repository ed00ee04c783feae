"""The menu: what a person can do, as numbered choices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.catalogue import Catalogue
from bot.conversation import Answer, Kind, Pending, PlainFlow, Question, Turn
from bot.messages import Option

MENU = "menu"
CHOOSE = "choose"
HELP = "help"


@dataclass(frozen=True)
class MenuEntry:
    """One line of the menu: the flow it starts (or help), its emoji and its keyword."""

    value: str
    emoji: str
    keyword: str


ENTRIES = (
    MenuEntry(value="idea", emoji="💡", keyword="idea"),
    MenuEntry(value="survey", emoji="📝", keyword="survey"),
    MenuEntry(value="vote", emoji="🗳️", keyword="vote"),
    MenuEntry(value=HELP, emoji="❓", keyword="help"),
)


class MenuFlow(PlainFlow):
    name = MENU
    keyword: str | None = "menu"
    first_step = CHOOSE

    def question(self, step: str, context: Mapping[str, Any], texts: Catalogue) -> Question:
        options = tuple(
            Option(
                number=number,
                label=texts.text(f"menu.{entry.value}"),
                value=entry.value,
                emoji=entry.emoji,
                aliases=tuple(sorted(texts.words(entry.keyword))),
            )
            for number, entry in enumerate(ENTRIES, start=1)
        )
        return Question(kind=Kind.CHOICE, prompt=texts.text("menu.prompt"), options=options)

    def answer(self, pending: Pending, answer: Answer, texts: Catalogue, *, easy: bool) -> Turn:
        assert answer.option is not None
        if answer.option.value == HELP:
            return Turn(next=None, effects=(ShowHelp(),))
        return Turn(next=Pending(flow=answer.option.value, step="start"))


@dataclass(frozen=True)
class ShowHelp:
    """Say the help text, the way the HELP keyword does."""

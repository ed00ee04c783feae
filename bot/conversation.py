"""The conversation interpreter's vocabulary: questions, pending state, turns and effects.

Every flow is "ask a question, read the answer, record it, say what's next". A flow is
plain data plus two small pure functions: which question a step asks, and what an answer
to it leads to. Effects name what must be recorded; the engine's thin layer records them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol

from bot.answers import Choice, Vocabulary, clean_text, parse_choice
from bot.catalogue import Catalogue
from bot.messages import Option, Outgoing


class Kind(StrEnum):
    CHOICE = "choice"
    SCALE = "scale"
    YES_NO = "yes_no"
    TEXT = "text"


@dataclass(frozen=True)
class Question:
    """What the person is asked: a prompt and, for all but text questions, the options."""

    kind: Kind
    prompt: str
    options: tuple[Option, ...] = ()
    retry: str | None = None
    cards: tuple[Outgoing, ...] = ()
    """Messages sent before the question when it is first asked (a ballot's candidates),
    not when it is asked again."""


@dataclass(frozen=True)
class Answer:
    """A reply that made sense: the text, and the option it picked for a choice question."""

    text: str
    option: Option | None = None


ASKED_ON = "asked_on"


@dataclass(frozen=True)
class Pending:
    """The question a person has been asked and not yet answered."""

    flow: str
    step: str
    context: Mapping[str, Any] = field(default_factory=dict)
    misses: int = 0

    def moved_on(self, step: str, **facts: Any) -> Pending:
        """The next step of the same flow, keeping what has been gathered so far."""
        return replace(self, step=step, context={**self.context, **facts}, misses=0)


class Effect(Protocol):
    """Something a turn asks the engine to record, in the same transaction."""


@dataclass(frozen=True)
class Turn:
    """What one message leads to: what to say, what to record, and what to ask next."""

    say: tuple[Outgoing, ...] = ()
    effects: tuple[Effect, ...] = ()
    next: Pending | None = None


class Flow(Protocol):
    """A conversation as data: its first step, each step's question, and its answers."""

    name: str
    keyword: str | None
    answered_where_asked: bool
    """A reply from another of the person's addresses than the one the question was asked
    on (``asked_on`` in the context) asks it again there instead of being taken as an
    answer: "1" on one phone must not confirm a choice made on the other."""

    @property
    def first_step(self) -> str:
        """The step a flow starts at."""
        ...

    def question(self, step: str, context: Mapping[str, Any], texts: Catalogue) -> Question:
        """The question ``step`` asks."""
        ...

    def answer(
        self, pending: Pending, answer: Answer, texts: Catalogue, *, easy: bool
    ) -> Turn:
        """What a sensible answer to ``pending`` leads to."""
        ...

    def special(self, pending: Pending, text: str, texts: Catalogue, *, easy: bool
                ) -> Turn | None:
        """A reply the flow reads before it is taken as an answer (SKIP, "?"), or None."""
        ...

    def unavailable(self, texts: Catalogue, *, easy: bool) -> str | None:
        """What to say instead of starting, when there is nothing to start; else None."""
        ...


class PlainFlow:
    """The parts of a flow most flows need no more of: no special replies, always there,
    answered from any of the person's addresses."""

    answered_where_asked = False

    def special(self, pending: Pending, text: str, texts: Catalogue, *, easy: bool
                ) -> Turn | None:
        return None

    def unavailable(self, texts: Catalogue, *, easy: bool) -> str | None:
        return None


def interpret(question: Question, text: str, vocabulary: Vocabulary) -> Answer | None:
    """Read a reply to ``question`` tolerantly; None when it cannot be understood."""
    cleaned = clean_text(text)
    if question.kind == Kind.TEXT:
        return Answer(text=cleaned) if cleaned else None
    choices = [
        Choice(number=o.number, label=o.label, emoji=o.emoji, aliases=o.aliases)
        for o in question.options
    ]
    number = parse_choice(cleaned, choices, vocabulary)
    if number is None:
        return None
    option = next(o for o in question.options if o.number == number)
    return Answer(text=cleaned, option=option)


def render_question(
    question: Question, texts: Catalogue, *, easy: bool, before: str = ""
) -> Outgoing:
    """The message that asks ``question``, with the options and how to answer them."""
    text = f"{before}\n{question.prompt}" if before else question.prompt
    footer = texts.text("question.choose", easy=easy) if question.options else ""
    return Outgoing(text=text, options=question.options, footer=footer)

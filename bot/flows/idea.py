"""Ideas: what is your idea, what is it about, and a reference number back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.catalogue import Catalogue
from bot.conversation import Answer, Kind, Pending, PlainFlow, Question, Turn
from bot.messages import Option, Outgoing

IDEA = "idea"
TEXT = "text"
TOPIC = "topic"

TOPICS = (
    ("home", "🏠"),
    ("food", "🍎"),
    ("activities", "🎉"),
    ("staff", "👥"),
    ("travel", "🚌"),
    ("other", "✨"),
)


@dataclass(frozen=True)
class SaveIdea:
    """Store the idea as soon as it is written, so it is kept even if the topic never comes."""

    text: str


@dataclass(frozen=True)
class SetIdeaTopic:
    suggestion_id: int
    topic: str


class IdeaFlow(PlainFlow):
    name = IDEA
    keyword: str | None = "idea"
    first_step = TEXT

    def question(self, step: str, context: Mapping[str, Any], texts: Catalogue) -> Question:
        if step == TEXT:
            return Question(
                kind=Kind.TEXT, prompt=texts.text("idea.ask"), retry=texts.text("idea.empty")
            )
        options = tuple(
            Option(number=n, label=texts.text(f"idea.topic_{value}"), value=value, emoji=emoji)
            for n, (value, emoji) in enumerate(TOPICS, start=1)
        )
        return Question(kind=Kind.CHOICE, prompt=texts.text("idea.topic"), options=options)

    def answer(self, pending: Pending, answer: Answer, texts: Catalogue, *, easy: bool) -> Turn:
        if pending.step == TEXT:
            return Turn(effects=(SaveIdea(text=answer.text),), next=pending.moved_on(TOPIC))
        assert answer.option is not None
        reference = pending.context["suggestion_id"]
        thanks = Outgoing(texts.text("idea.thanks", easy=easy, reference=reference))
        return Turn(
            say=(thanks,),
            effects=(SetIdeaTopic(suggestion_id=reference, topic=answer.option.value),),
            next=None,
        )

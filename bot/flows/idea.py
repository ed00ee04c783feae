"""Ideas: what is your idea, what is it about, may we say it was you, a photo, a number back.

The idea is stored as soon as it is written. If its words suggest someone may be at risk,
the flow stops there: the person is told kindly that someone will be in touch, and the
engine alerts the safeguarding contacts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.answers import load_vocabulary
from bot.catalogue import Catalogue
from bot.conversation import Answer, Kind, Pending, PlainFlow, Question, Turn
from bot.keywords import is_keyword
from bot.messages import Option, Outgoing
from bot.safeguarding import concerns

IDEA = "idea"
TEXT = "text"
TOPIC = "topic"
NAMED = "named"
PHOTO = "photo"

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
    """Store the idea as soon as it is written, so it is kept even if nothing more comes.
    ``concern`` names the words that suggest someone may be at risk."""

    text: str
    concern: tuple[str, ...] = ()


@dataclass(frozen=True)
class SetIdeaTopic:
    suggestion_id: int
    topic: str


@dataclass(frozen=True)
class KeepIdeaAnonymous:
    """The person asked for their name to be kept out of it."""

    suggestion_id: int


@dataclass(frozen=True)
class AddIdeaPhoto:
    """The photo the person sent with the message that answered the photo question."""

    suggestion_id: int


class IdeaFlow(PlainFlow):
    name = IDEA
    keyword: str | None = "idea"
    first_step = TEXT

    def __init__(self, concern_words: Iterable[str] = ()) -> None:
        self.concern_words = tuple(concern_words)

    def question(self, step: str, context: Mapping[str, Any], texts: Catalogue) -> Question:
        if step == TEXT:
            return Question(
                kind=Kind.TEXT, prompt=texts.text("idea.ask"), retry=texts.text("idea.empty")
            )
        if step == NAMED:
            vocabulary = load_vocabulary(texts.language)
            return Question(kind=Kind.YES_NO, prompt=texts.text("idea.named"), options=(
                Option(number=1, label=texts.text("idea.named_yes"), value="yes", emoji="🙂",
                       aliases=tuple(sorted(vocabulary.yes))),
                Option(number=2, label=texts.text("idea.named_no"), value="no", emoji="🤐",
                       aliases=tuple(sorted(vocabulary.no))),
            ))
        if step == PHOTO:
            return Question(kind=Kind.TEXT, prompt=texts.text("idea.photo"))
        options = tuple(
            Option(number=n, label=texts.text(f"idea.topic_{value}"), value=value, emoji=emoji)
            for n, (value, emoji) in enumerate(TOPICS, start=1)
        )
        return Question(kind=Kind.CHOICE, prompt=texts.text("idea.topic"), options=options)

    def special(self, pending: Pending, text: str, texts: Catalogue, *, easy: bool
                ) -> Turn | None:
        if pending.step != PHOTO:
            return None
        # A photo, SKIP or any words answer the photo question.
        reference = pending.context["suggestion_id"]
        effects = () if is_keyword(text, texts.words("skip")) else (
            AddIdeaPhoto(suggestion_id=reference),)
        return Turn(say=(self._thanks(texts, reference, easy=easy),), effects=effects)

    def answer(self, pending: Pending, answer: Answer, texts: Catalogue, *, easy: bool) -> Turn:
        if pending.step == TEXT:
            found = concerns(answer.text, (*sorted(texts.words("concern")), *self.concern_words))
            if found:
                kind = Outgoing(texts.text("idea.concern", easy=easy))
                return Turn(say=(kind,), effects=(SaveIdea(text=answer.text, concern=found),))
            return Turn(effects=(SaveIdea(text=answer.text),), next=pending.moved_on(TOPIC))
        assert answer.option is not None
        reference = pending.context["suggestion_id"]
        if pending.step == TOPIC:
            return Turn(effects=(SetIdeaTopic(suggestion_id=reference, topic=answer.option.value),),
                        next=pending.moved_on(NAMED))
        effects = (KeepIdeaAnonymous(suggestion_id=reference),) if (
            answer.option.value == "no") else ()
        return Turn(effects=effects, next=pending.moved_on(PHOTO))

    @staticmethod
    def _thanks(texts: Catalogue, reference: int, *, easy: bool) -> Outgoing:
        return Outgoing(texts.text("idea.thanks", easy=easy, reference=reference))

"""A survey as plain data: what the YAML file says, what is stored, what the flow asks.

Everything here is immutable and free of the database, so the conversation, the
reminder rules and the results can be pure functions of a :class:`SurveyDef`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.conversation import Kind
from bot.messages import Option

DONT_KNOW = "dont_know"
SKIPPED = "skip"


class AudienceKind(StrEnum):
    EVERYONE = "everyone"
    CONSTITUENCY = "constituency"
    SERVICE = "service"
    ROLE = "role"


@dataclass(frozen=True)
class Audience:
    """Who a survey is for: everyone, a constituency (by name), a service (by join code),
    or a role such as ``mp``."""

    kind: AudienceKind = AudienceKind.EVERYONE
    value: str = ""

    def describe(self) -> str:
        return "everyone" if self.kind == AudienceKind.EVERYONE else f"{self.kind} {self.value}"


@dataclass(frozen=True)
class OptionDef:
    """One choice: the number people reply with, an emoji, a short label, maybe a picture.

    ``labels`` holds the label in other languages, by language code.
    """

    number: int
    label: str
    value: str
    emoji: str = ""
    picture: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    def label_in(self, language: str) -> str:
        return self.labels.get(language) or self.label


@dataclass(frozen=True)
class QuestionDef:
    """One question; ``simpler`` is the easier wording sent when someone replies "?".

    ``translations`` maps a language code to ``{"text": ..., "simpler": ...}``.
    ``standard`` ties a question to a participation standard such as ``"3.2"``.
    """

    position: int
    kind: Kind
    text: str
    options: tuple[OptionDef, ...] = ()
    simpler: str | None = None
    standard: str | None = None
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    id: int | None = None
    shown: dict[tuple[str, str, bool], tuple[Option, ...]] = field(
        default_factory=dict, init=False, compare=False, repr=False)
    """The options as sent, by language (and the catalogue's) and whether "I don't know" is
    offered, worked out the first time (see :func:`bot.surveys.flow.survey_options`): an
    open survey's questions are kept in memory and asked again and again."""

    def text_in(self, language: str) -> str:
        return self.translations.get(language, {}).get("text") or self.text

    def simpler_in(self, language: str) -> str | None:
        return self.translations.get(language, {}).get("simpler") or self.simpler

    def option(self, number: int) -> OptionDef | None:
        return next((option for option in self.options if option.number == number), None)


@dataclass(frozen=True)
class SurveyDef:
    """A whole survey. ``reminders`` are how long before closing to remind people.

    ``translations`` maps a language code to ``{"title": ..., "intro": ...}``.
    ``status`` is draft, scheduled, open or closed (see storage.tables.SurveyStatus).
    """

    title: str
    questions: tuple[QuestionDef, ...]
    intro: str = ""
    audience: Audience = field(default_factory=Audience)
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    anonymous: bool = False
    dont_know: bool = True
    reminders: tuple[timedelta, ...] = ()
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    status: str = "draft"
    id: int | None = None

    def title_in(self, language: str) -> str:
        return self.translations.get(language, {}).get("title") or self.title

    def intro_in(self, language: str) -> str:
        return self.translations.get(language, {}).get("intro") or self.intro

    def question_at(self, position: int) -> QuestionDef | None:
        return next((q for q in self.questions if q.position == position), None)

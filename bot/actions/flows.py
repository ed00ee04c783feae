"""SURGERY: an MP writes up what people said at their surgery, one thing a message."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.catalogue import Catalogue
from bot.conversation import Answer, Kind, Pending, PlainFlow, Question, Turn
from bot.keywords import is_keyword
from bot.messages import Outgoing

SURGERY = "surgery"
HEARD = "heard"
MORE = "more"
NONE_STEP = "none"


@dataclass(frozen=True)
class LogSurgeryFeedback:
    surgery_id: int
    text: str


@dataclass(frozen=True)
class FinishSurgeryLog:
    surgery_id: int


class SurgeryFlow(PlainFlow):
    """Built per turn with the MP's surgery to write up, if there is one.

    ``find`` looks that surgery up, as (surgery id, service name), and is called only when
    the turn reaches this flow: most messages never do, and spare the query.
    """

    name = SURGERY
    keyword: str | None = "surgery"

    def __init__(self, *, surgery_id: int | None = None, service: str = "",
                 find: Callable[[], tuple[int | None, str]] | None = None) -> None:
        self._found: tuple[int | None, str] | None = None if find else (surgery_id, service)
        self._find = find

    def _surgery(self) -> tuple[int | None, str]:
        if self._found is None:
            assert self._find is not None
            self._found = self._find()
        return self._found

    @property
    def surgery_id(self) -> int | None:
        return self._surgery()[0]

    @property
    def service(self) -> str:
        return self._surgery()[1]

    @property
    def first_step(self) -> str:
        return HEARD if self.surgery_id is not None else NONE_STEP

    def unavailable(self, texts: Catalogue, *, easy: bool) -> str | None:
        return texts.text("surgery.none", easy=easy) if self.surgery_id is None else None

    def question(self, step: str, context: Mapping[str, Any], texts: Catalogue) -> Question:
        if step == MORE:
            return Question(kind=Kind.TEXT, prompt=texts.text("surgery.more"))
        return Question(kind=Kind.TEXT, prompt=texts.text("surgery.heard", service=self.service),
                        retry=texts.text("surgery.in_words"))

    def special(self, pending: Pending, text: str, texts: Catalogue, *, easy: bool
                ) -> Turn | None:
        if self.surgery_id is None:
            return Turn(say=(Outgoing(texts.text("surgery.none", easy=easy)),))
        if is_keyword(text, texts.words("finished")):
            return Turn(say=(Outgoing(texts.text("surgery.thanks", easy=easy)),),
                        effects=(FinishSurgeryLog(surgery_id=self.surgery_id),))
        return None

    def answer(self, pending: Pending, answer: Answer, texts: Catalogue, *, easy: bool) -> Turn:
        assert self.surgery_id is not None
        return Turn(effects=(LogSurgeryFeedback(surgery_id=self.surgery_id, text=answer.text),),
                    next=Pending(SURGERY, MORE))

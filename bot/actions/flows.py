"""SURGERY: an MP writes up what people said at their surgery, one thing a message."""

from __future__ import annotations

from collections.abc import Mapping
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
    """Built per turn with the MP's surgery to write up, if there is one."""

    name = SURGERY
    keyword: str | None = "surgery"

    def __init__(self, *, surgery_id: int | None = None, service: str = "") -> None:
        self.surgery_id = surgery_id
        self.service = service
        self.first_step = HEARD if surgery_id is not None else NONE_STEP

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

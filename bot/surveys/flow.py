"""Answering a survey: one question at a time, "Question 2 of 5", the options every time.

A step names the survey and the question (``s3q2``), so the flow needs no memory of its
own: the engine builds a :class:`SurveyFlow` for each turn with the surveys the person is
part of, loaded from the database, and the rules ask and answer through it like any flow.
SKIP passes a question, "?" sends its simpler wording, STOP SURVEY leaves the survey
without opting out of everything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.answers import load_vocabulary
from bot.catalogue import Catalogue
from bot.conversation import Answer, Kind, Pending, Question, Turn
from bot.keywords import is_keyword
from bot.messages import Option, Outgoing
from bot.surveys.definition import DONT_KNOW, SKIPPED, QuestionDef, SurveyDef

SURVEY = "survey"
NONE_STEP = "none"
DONT_KNOW_EMOJI = "🤷"
_STEP = re.compile(r"^s(\d+)q(\d+)$")


def step_for(survey_id: int, position: int) -> str:
    return f"s{survey_id}q{position}"


def parse_step(step: str) -> tuple[int, int] | None:
    """``s3q2`` as (survey 3, question 2); None for any other step."""
    match = _STEP.match(step)
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class RecordSurveyAnswer:
    """Store one answer (or a skip) and move the person on to the next question."""

    survey_id: int
    position: int
    value: str
    option_number: int | None = None
    text: str | None = None


@dataclass(frozen=True)
class FinishSurvey:
    survey_id: int


@dataclass(frozen=True)
class StopSurvey:
    """The person left the survey: no more of its questions or reminders."""

    survey_id: int


def survey_options(survey: SurveyDef, question: QuestionDef, language: str,
                   texts: Catalogue) -> tuple[Option, ...]:
    """The options as sent: the question's own, then "I don't know" unless turned off.

    The options of a yes/no question also answer to every yes and no word ("yeah", "nope").
    """
    if question.kind == Kind.TEXT:
        return ()
    key = (language, texts.language, survey.dont_know)
    shown = question.shown.get(key)
    if shown is None:
        shown = question.shown[key] = _options_of(survey, question, language, texts)
    return shown


def _options_of(survey: SurveyDef, question: QuestionDef, language: str,
                texts: Catalogue) -> tuple[Option, ...]:
    words: dict[str, tuple[str, ...]] = {}
    if question.kind == Kind.YES_NO:
        vocabulary = load_vocabulary(language)
        words = {"yes": tuple(sorted(vocabulary.yes)), "no": tuple(sorted(vocabulary.no))}
    options = [
        Option(number=o.number, label=o.label_in(language), value=o.value, emoji=o.emoji,
               picture=o.picture, aliases=words.get(o.value, ()))
        for o in question.options
    ]
    if survey.dont_know and question.kind in (Kind.CHOICE, Kind.SCALE):
        number = max((o.number for o in question.options), default=0) + 1
        options.append(Option(number=number, label=texts.text("survey.dont_know"),
                              value=DONT_KNOW, emoji=DONT_KNOW_EMOJI,
                              aliases=tuple(sorted(texts.words("dont_know")))))
    return tuple(options)


class SurveyFlow:
    """The surveys one person may answer now, as a flow. ``next_up`` is the step SURVEY
    (or the menu) starts at: where they left off, or the first question of the next
    survey waiting for them; None when there is nothing to answer."""

    name = SURVEY
    keyword: str | None = "survey"
    answered_where_asked = False  # a survey begun by text may go on in Telegram

    def __init__(
        self,
        *,
        surveys: Mapping[int, SurveyDef],
        language: str,
        next_up: str | None = None,
    ) -> None:
        self.surveys = surveys
        self.language = language
        self.first_step = next_up or NONE_STEP

    def unavailable(self, texts: Catalogue, *, easy: bool) -> str | None:
        """What to say when someone asks for a survey and there is none for them."""
        if self.first_step == NONE_STEP:
            return texts.text("survey.none", easy=easy)
        return None

    def _locate(self, step: str) -> tuple[SurveyDef, QuestionDef]:
        parsed = parse_step(step)
        if parsed is None:
            raise LookupError(f"{step!r} is not a survey step")
        survey = self.surveys[parsed[0]]
        question = survey.question_at(parsed[1])
        if question is None:
            raise LookupError(f"survey {parsed[0]} has no question {parsed[1]}")
        return survey, question

    def question(self, step: str, context: Mapping[str, Any], texts: Catalogue) -> Question:
        survey, question = self._locate(step)
        wording = question.text_in(self.language)
        if context.get("simpler") and question.simpler_in(self.language):
            wording = question.simpler_in(self.language) or wording
        counter = texts.text("survey.counter", number=question.position,
                             total=len(survey.questions))
        prompt = f"{counter}\n{wording}"
        if context.get("intro"):
            prompt = f"{context['intro']}\n\n{prompt}"
        retry = texts.text("survey.write_it") if question.kind == Kind.TEXT else None
        return Question(
            kind=question.kind, prompt=prompt,
            options=survey_options(survey, question, self.language, texts), retry=retry,
        )

    def special(self, pending: Pending, text: str, texts: Catalogue, *, easy: bool
                ) -> Turn | None:
        """SKIP, "?" and STOP SURVEY, read before the reply is taken as an answer."""
        survey, question = self._locate(pending.step)
        assert survey.id is not None
        if is_keyword(text, texts.words("skip")):
            record = RecordSurveyAnswer(survey_id=survey.id, position=question.position,
                                        value=SKIPPED)
            return self._onwards(survey, question, record, texts, easy=easy)
        if text.strip() in {"?", "??", "???"} or is_keyword(text, texts.words("simpler")):
            if question.simpler_in(self.language):
                calm = {**pending.context, "simpler": True}
                calm.pop("intro", None)
                return Turn(next=Pending(SURVEY, pending.step, calm, pending.misses))
            return Turn(say=(Outgoing(texts.text("survey.no_simpler", easy=easy)),),
                        next=Pending(SURVEY, pending.step, {}, pending.misses))
        if is_keyword(text, texts.words("stop_survey")):
            return Turn(say=(Outgoing(texts.text("survey.stopped", easy=easy)),),
                        effects=(StopSurvey(survey_id=survey.id),))
        return None

    def answer(self, pending: Pending, answer: Answer, texts: Catalogue, *, easy: bool) -> Turn:
        survey, question = self._locate(pending.step)
        assert survey.id is not None
        if question.kind == Kind.TEXT:
            record = RecordSurveyAnswer(survey_id=survey.id, position=question.position,
                                        value="", text=answer.text[:4000])
        else:
            assert answer.option is not None
            record = RecordSurveyAnswer(
                survey_id=survey.id, position=question.position, value=answer.option.value,
                option_number=answer.option.number,
            )
        return self._onwards(survey, question, record, texts, easy=easy)

    def _onwards(self, survey: SurveyDef, question: QuestionDef, record: RecordSurveyAnswer,
                 texts: Catalogue, *, easy: bool) -> Turn:
        assert survey.id is not None
        later = [q.position for q in survey.questions if q.position > question.position]
        if later:
            return Turn(effects=(record,), next=Pending(SURVEY, step_for(survey.id, min(later))))
        thanks = Outgoing(texts.text("survey.thanks", easy=easy,
                                     title=survey.title_in(self.language)))
        return Turn(say=(thanks,), effects=(record, FinishSurvey(survey_id=survey.id)))

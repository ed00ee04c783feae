"""A survey's results from its answers: counts, percentages, the middle answer, breakdowns.

Pure: the answers come in as plain rows and the results go out as plain data, so the
arithmetic and the privacy rule can be tested without a database. The privacy rule: a
constituency or service where fewer than ``min_group`` people answered a question is
shown as "fewer than 5", never with numbers, so nobody in a small service can be picked out.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bot.conversation import Kind
from bot.surveys.definition import DONT_KNOW, SKIPPED, OptionDef, QuestionDef, SurveyDef

NOT_KNOWN = "Not known"
MIN_GROUP = 5
# A yes/no question stored without options is still counted as option 1 yes, option 2 no.
YES_NO_OPTIONS = (
    OptionDef(number=1, label="Yes", value="yes", emoji="✅"),
    OptionDef(number=2, label="No", value="no", emoji="❌"),
)


@dataclass(frozen=True)
class AnswerRow:
    """One stored answer, with the names of where it came from rather than ids."""

    question_position: int
    option_number: int | None
    value: str
    text: str | None
    service: str | None
    constituency: str | None


@dataclass(frozen=True)
class OptionCount:
    """How many picked one option, and what share of the people who answered that is."""

    number: int
    emoji: str
    label: str
    value: str
    count: int
    percent: float


@dataclass(frozen=True)
class GroupResults:
    """One constituency's or service's answers to a question.

    When ``suppressed`` the group is too small to show: ``answered`` and ``dont_know`` are
    None and ``options`` is empty, so no number about it leaves this module.
    """

    name: str
    suppressed: bool
    answered: int | None
    options: tuple[OptionCount, ...]
    dont_know: int | None
    dont_know_percent: float | None


@dataclass(frozen=True)
class QuestionResults:
    """One question's results. Percentages are of ``answered``, which leaves out skips."""

    position: int
    text: str
    kind: Kind
    standard: str | None
    answered: int
    skipped: int
    options: tuple[OptionCount, ...]
    dont_know: int
    dont_know_percent: float
    offers_dont_know: bool
    texts: tuple[str, ...]
    median: float | None
    by_constituency: tuple[GroupResults, ...]
    by_service: tuple[GroupResults, ...]

    @property
    def charted(self) -> bool:
        """Whether the question has options to draw as bars (every kind but text)."""
        return self.kind != Kind.TEXT

    def median_option(self) -> OptionCount | None:
        """The option whose value is the middle answer, when the middle falls on one."""
        if self.median is None:
            return None
        return next(
            (o for o in self.options if _number(o.value) == self.median), None
        )


@dataclass(frozen=True)
class SurveyResults:
    """A whole survey's results. ``response_rate`` is finished / audience, from 0 to 1."""

    title: str
    audience: int
    started: int
    finished: int
    response_rate: float
    questions: tuple[QuestionResults, ...]
    min_group: int = MIN_GROUP
    survey_id: int | None = None

    @property
    def suppressed_text(self) -> str:
        return fewer_than(self.min_group)


def fewer_than(min_group: int) -> str:
    """What a group too small to show is shown as."""
    return f"fewer than {min_group}"


def compute_results(
    *,
    survey: SurveyDef,
    answers: Sequence[AnswerRow],
    audience: int,
    finished: int,
    started: int,
    min_group: int = MIN_GROUP,
) -> SurveyResults:
    """Count ``answers`` to ``survey``, question by question, in position order.

    Answers to a position the survey does not have are left out.
    """
    by_position: dict[int, list[AnswerRow]] = defaultdict(list)
    for answer in answers:
        by_position[answer.question_position].append(answer)
    questions = tuple(
        _question_results(question, by_position.get(question.position, []), survey, min_group)
        for question in sorted(survey.questions, key=lambda q: q.position)
    )
    return SurveyResults(
        title=survey.title,
        audience=audience,
        started=started,
        finished=finished,
        response_rate=finished / audience if audience else 0.0,
        questions=questions,
        min_group=min_group,
        survey_id=survey.id,
    )


def shares(counts: Sequence[int], total: int) -> list[float]:
    """Each count as a percentage of ``total`` to one decimal place.

    When the counts add up to ``total`` the percentages add up to exactly 100.0: the
    tenths lost to rounding down go to the counts that lost the most (largest remainder).
    """
    if total <= 0:
        return [0.0] * len(counts)
    tenths = [count * 1000 // total for count in counts]
    remainders = [count * 1000 % total for count in counts]
    missing = 1000 - sum(tenths) if sum(counts) == total else 0
    for index in sorted(range(len(counts)), key=lambda i: -remainders[i])[:missing]:
        tenths[index] += 1
    return [t / 10 for t in tenths]


def _question_results(
    question: QuestionDef, rows: Sequence[AnswerRow], survey: SurveyDef, min_group: int
) -> QuestionResults:
    answered_rows = [row for row in rows if row.value != SKIPPED]
    options = _options_of(question)
    tally = _Tally(options, answered_rows)
    by_constituency = _breakdown(options, answered_rows, lambda r: r.constituency, min_group)
    by_service = _breakdown(options, answered_rows, lambda r: r.service, min_group)
    texts = tuple(
        row.text for row in answered_rows if row.text is not None and row.text.strip()
    )
    return QuestionResults(
        position=question.position,
        text=question.text,
        kind=question.kind,
        standard=question.standard,
        answered=len(answered_rows),
        skipped=len(rows) - len(answered_rows),
        options=tally.options,
        dont_know=tally.dont_know,
        dont_know_percent=tally.dont_know_percent,
        offers_dont_know=survey.dont_know or tally.dont_know > 0,
        texts=texts if question.kind == Kind.TEXT else (),
        median=_median(question.kind, options, answered_rows),
        by_constituency=by_constituency if question.kind != Kind.TEXT else (),
        by_service=by_service if question.kind != Kind.TEXT else (),
    )


def _options_of(question: QuestionDef) -> tuple[OptionDef, ...]:
    if question.kind == Kind.TEXT:
        return ()
    if question.kind == Kind.YES_NO and not question.options:
        return YES_NO_OPTIONS
    return tuple(sorted(question.options, key=lambda o: o.number))


class _Tally:
    """Counts per option for some answered rows (no skips), with their percentages.

    An answer naming an option the question does not have is still counted, under its
    own number, so the counts always add up to the number who answered. A question with
    no options (text) counts only "I don't know".
    """

    def __init__(self, options: Sequence[OptionDef], rows: Iterable[AnswerRow]) -> None:
        by_number = {option.number: option for option in options}
        by_value = {option.value: option for option in options}
        counts: Counter[int] = Counter()
        strays: dict[int, OptionDef] = {}
        dont_know = total = 0
        for row in rows:
            total += 1
            if row.value == DONT_KNOW:
                dont_know += 1
                continue
            if not options:
                continue  # a text question: its answers are texts, not counts
            option = by_number.get(row.option_number) if row.option_number is not None else None
            option = option or by_value.get(row.value)
            if option is None:
                number = row.option_number if row.option_number is not None else 0
                option = strays.setdefault(
                    number, OptionDef(number=number, label=row.value or "Other", value=row.value)
                )
            counts[option.number] += 1
        listed = [*options, *sorted(strays.values(), key=lambda o: o.number)]
        percents = shares([*(counts[o.number] for o in listed), dont_know], total)
        self.options = tuple(
            OptionCount(
                number=option.number,
                emoji=option.emoji,
                label=option.label,
                value=option.value,
                count=counts[option.number],
                percent=percent,
            )
            for option, percent in zip(listed, percents, strict=False)
        )
        self.dont_know = dont_know
        self.dont_know_percent = percents[-1]
        self.answered = total


def _breakdown(
    options: Sequence[OptionDef],
    rows: Sequence[AnswerRow],
    group_of: Callable[[AnswerRow], str | None],
    min_group: int,
) -> tuple[GroupResults, ...]:
    """The answers split by group: named groups in name order, then "Not known"."""
    groups: dict[str, list[AnswerRow]] = defaultdict(list)
    for row in rows:
        groups[group_of(row) or NOT_KNOWN].append(row)
    names = sorted((n for n in groups if n != NOT_KNOWN), key=lambda n: (n.casefold(), n))
    if NOT_KNOWN in groups:
        names.append(NOT_KNOWN)
    results = []
    for name in names:
        members = groups[name]
        if len(members) < min_group:
            results.append(GroupResults(name, True, None, (), None, None))
            continue
        tally = _Tally(options, members)
        results.append(
            GroupResults(
                name=name,
                suppressed=False,
                answered=tally.answered,
                options=tally.options,
                dont_know=tally.dont_know,
                dont_know_percent=tally.dont_know_percent,
            )
        )
    return tuple(results)


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _median(
    kind: Kind, options: Sequence[OptionDef], rows: Sequence[AnswerRow]
) -> float | None:
    """The middle answer of a scale whose options' values are all numbers."""
    if kind != Kind.SCALE or not options:
        return None
    values = {option.number: _number(option.value) for option in options}
    if any(value is None for value in values.values()):
        return None
    by_value = {option.value: option.number for option in options}
    picked: list[float] = []
    for row in rows:
        if row.value == DONT_KNOW:
            continue
        number = row.option_number if row.option_number in values else by_value.get(row.value)
        value = values.get(number) if number is not None else None
        if value is not None:
            picked.append(value)
    return float(statistics.median(picked)) if picked else None

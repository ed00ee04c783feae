"""The map and plan: each participation standard with its score, ideas and actions.

It is the paper form's table made from the database. For each standard: what we expect
(the scale question's words in the latest standards survey), the score people gave it
(how many said 1, 2, 3 and 4, and the middle answer), what they said would make it
better, and every action with that standard: what's happening next, who's responsible,
when by, and when it happened and who signed it off.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from bot.conversation import Kind
from bot.surveys.loading import SCALES
from bot.surveys.results import OptionCount, QuestionResults, SurveyResults, compute_results
from bot.surveys.results_store import answer_rows, participation
from bot.surveys.store import load_survey
from storage.tables import Action, ActionStatus, ActionSuggestion, Person, Survey, SurveyQuestion

DEFAULT_ZONE = ZoneInfo("Europe/London")
SCORE_LABELS: dict[int, str] = {option.number: option.label for option in SCALES["standards"]}
"""1 Exactly how we want it … 4 They've not even thought about it."""


@dataclass(frozen=True)
class ActionLine:
    """One action as the plan shows it, with people's names rather than ids.

    ``done_on`` is the local date it was signed off; ``ideas`` the reference numbers of
    the ideas that led to it.
    """

    id: int
    what: str
    owner: str
    due_on: date
    standard: str | None
    status: str
    done_on: date | None = None
    done_by: str | None = None
    done_note: str | None = None
    ideas: tuple[int, ...] = ()

    @property
    def done(self) -> bool:
        return self.status == ActionStatus.DONE


@dataclass(frozen=True)
class ScoreCount:
    score: int
    label: str
    count: int


@dataclass(frozen=True)
class Score:
    """How many gave each score from 1 to 4 ("I don't know" and skips left out), and the
    middle answer: None when nobody gave a score."""

    spread: tuple[ScoreCount, ...]
    middle: float | None

    @property
    def answered(self) -> int:
        return sum(count.count for count in self.spread)

    def middle_text(self) -> str:
        """``2 There's more to be done``, ``2.5 (between 2 and 3)``, or "" with no answers."""
        if self.middle is None:
            return ""
        if self.middle == int(self.middle):
            whole = int(self.middle)
            return f"{whole} {SCORE_LABELS.get(whole, '')}".strip()
        low = int(self.middle)
        return f"{self.middle:g} (between {low} and {low + 1})"


@dataclass(frozen=True)
class PlanRow:
    """One standard's line of the map and plan.

    ``statement`` is "" for a standard the survey does not ask about (it has actions).
    """

    standard: str
    statement: str
    score: Score
    better: tuple[str, ...]
    actions: tuple[ActionLine, ...]


@dataclass(frozen=True)
class Plan:
    """The whole map and plan. ``survey_id`` and ``survey_title`` are None when no survey
    asks about the standards; ``audience`` and ``finished`` say how many were asked and
    how many finished it."""

    survey_id: int | None
    survey_title: str | None
    audience: int
    finished: int
    made_on: date
    rows: tuple[PlanRow, ...]


# The pure shaping --------------------------------------------------------------------------


def standard_key(standard: str) -> tuple[tuple[int, int, str], ...]:
    """Sort standards by their numbers: 1.2 before 1.10, 2.1 after both, 1.1a after 1.1."""
    parts = []
    for part in standard.strip().split("."):
        found = re.match(r"\s*(\d*)(.*)", part)
        digits, rest = (found.group(1), found.group(2).strip()) if found else ("", part)
        parts.append((0, int(digits), rest.casefold()) if digits else (1, 0, rest.casefold()))
    return tuple(parts)


def empty_score() -> Score:
    return Score(spread=tuple(ScoreCount(n, label, 0) for n, label in SCORE_LABELS.items()),
                 middle=None)


def score_from_counts(counts: dict[int, int]) -> Score:
    """The spread over 1..4 and its median; scores outside 1..4 are left out."""
    spread = tuple(ScoreCount(n, label, counts.get(n, 0)) for n, label in SCORE_LABELS.items())
    given = [item.score for item in spread for _ in range(item.count)]
    return Score(spread=spread, middle=float(statistics.median(given)) if given else None)


def score_of(question: QuestionResults) -> Score:
    """A scale question's results as a score: each option counted under its value (1..4),
    or its number when its value is not a number."""
    counts: dict[int, int] = defaultdict(int)
    for option in question.options:
        counts[_score_number(option)] += option.count
    return score_from_counts(counts)


def _score_number(option: OptionCount) -> int:
    value = option.value.strip()
    return int(value) if value.isdigit() else option.number


def statement_of(standard: str, text: str) -> str:
    """The question's words without the standard's number it starts with."""
    text = text.strip()
    rest = text[len(standard):]
    if text.startswith(standard) and (not rest or rest[0].isspace()):
        return rest.strip()
    return text


def plan_rows(
    results: SurveyResults | None, actions: Iterable[ActionLine]
) -> tuple[PlanRow, ...]:
    """A row for every standard the survey asks about or an action names, in number order.

    The first scale (or choice) question with a standard gives its words and score; every
    text question with it gives what would make it better. Actions come in due-date order.
    """
    statements: dict[str, str] = {}
    scores: dict[str, Score] = {}
    better: dict[str, list[str]] = defaultdict(list)
    for question in results.questions if results is not None else ():
        standard = (question.standard or "").strip()
        if not standard:
            continue
        statements.setdefault(standard, "")
        if question.kind == Kind.TEXT:
            better[standard].extend(text.strip() for text in question.texts if text.strip())
        elif standard not in scores:
            statements[standard] = statement_of(standard, question.text)
            scores[standard] = score_of(question)
    by_standard: dict[str, list[ActionLine]] = defaultdict(list)
    for action in actions:
        if action.standard and action.standard.strip():
            by_standard[action.standard.strip()].append(action)
    standards = sorted(set(statements) | set(by_standard), key=standard_key)
    return tuple(
        PlanRow(
            standard=standard,
            statement=statements.get(standard, ""),
            score=scores.get(standard) or empty_score(),
            better=tuple(better.get(standard, ())),
            actions=tuple(sorted(by_standard.get(standard, ()), key=lambda a: (a.due_on, a.id))),
        )
        for standard in standards
    )


def latest(surveys: Sequence[Survey]) -> Survey | None:
    """The survey opened most recently (then the highest id); one never opened counts as
    older than any that has been, so a new draft does not hide the last results."""
    never = datetime.min.replace(tzinfo=UTC)
    return max(
        surveys,
        key=lambda s: (s.opened_at is not None, s.opened_at or never, s.id or 0),
        default=None,
    )


# The queries -------------------------------------------------------------------------------


def map_and_plan(
    *, session: Session, now: datetime | None = None, zone: ZoneInfo = DEFAULT_ZONE
) -> Plan:
    """The map and plan from the latest standards survey and every action with a standard.

    ``now`` (default: the real time) gives the date it was made; ``zone`` the local dates.
    """
    now = now or datetime.now(UTC)
    survey = latest_standards_survey(session=session)
    results = (
        survey_results(session=session, survey_id=survey.id)
        if survey is not None and survey.id is not None else None
    )
    actions = load_actions(
        session=session, zone=zone, where=[col(Action.standard).is_not(None)]
    )
    return Plan(
        survey_id=survey.id if survey is not None else None,
        survey_title=survey.title if survey is not None else None,
        audience=results.audience if results is not None else 0,
        finished=results.finished if results is not None else 0,
        made_on=now.astimezone(zone).date(),
        rows=plan_rows(results, actions),
    )


def latest_standards_survey(*, session: Session) -> Survey | None:
    """The most recent survey with questions tied to a participation standard."""
    with_standards = select(SurveyQuestion.survey_id).where(
        col(SurveyQuestion.standard).is_not(None), col(SurveyQuestion.standard) != ""
    )
    surveys = session.exec(select(Survey).where(col(Survey.id).in_(with_standards))).all()
    return latest(surveys)


def survey_results(*, session: Session, survey_id: int) -> SurveyResults | None:
    """A survey's results counted from its answers; None when there is no such survey."""
    survey = load_survey(session=session, survey_id=survey_id)
    if survey is None:
        return None
    audience, started, finished = participation(session=session, survey_id=survey_id)
    return compute_results(
        survey=survey,
        answers=answer_rows(session=session, survey_id=survey_id),
        audience=audience,
        started=started,
        finished=finished,
    )


def load_actions(
    *, session: Session, zone: ZoneInfo, where: Sequence[ColumnElement[bool]] = ()
) -> list[ActionLine]:
    """The actions matching ``where``, by due date, with the names of their owner and of
    whoever signed them off, and the ideas that led to them."""
    rows = session.exec(
        select(Action).where(*where).order_by(col(Action.due_on), col(Action.id))
    ).all()
    ids = [row.id for row in rows if row.id is not None]
    names = person_names(
        session=session,
        ids={row.owner_id for row in rows} | {row.done_by for row in rows if row.done_by},
    )
    ideas: dict[int, list[int]] = defaultdict(list)
    if ids:
        links = session.exec(
            select(ActionSuggestion).where(col(ActionSuggestion.action_id).in_(ids))
            .order_by(col(ActionSuggestion.suggestion_id))
        )
        for link in links:
            ideas[link.action_id].append(link.suggestion_id)
    return [
        ActionLine(
            id=row.id or 0,
            what=row.what,
            owner=names.get(row.owner_id, ""),
            due_on=row.due_on,
            standard=row.standard,
            status=row.status,
            done_on=row.done_at.astimezone(zone).date() if row.done_at is not None else None,
            done_by=names.get(row.done_by) if row.done_by is not None else None,
            done_note=row.done_note,
            ideas=tuple(ideas.get(row.id or 0, ())),
        )
        for row in rows
    ]


def person_names(*, session: Session, ids: Iterable[int]) -> dict[int, str]:
    """Each person's name, or ``Person 12`` for someone whose name is not known."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    found = dict(
        session.exec(select(Person.id, Person.name).where(col(Person.id).in_(wanted))).all()
    )
    return {person_id: (found.get(person_id) or f"Person {person_id}") for person_id in wanted}

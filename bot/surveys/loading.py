"""Read a survey from a YAML file, or say exactly where in the file it is wrong.

A survey file looks like this (only ``title`` and ``questions`` are required)::

    title: How are things?                 # at most 200 characters
    intro: A few quick questions. It takes 2 minutes.
    audience: everyone                     # or {constituency: Riverside} | {service: WILLOW1}
                                           #    | {role: mp}
    opens: 2026-12-01 09:00                # local time in the organisation's time zone
    closes: 2026-12-08 17:00               # must be after opens
    anonymous: false
    dont_know: true                        # offer "I don't know" on choice and scale questions
    reminders: [2 days, 2 hours]           # before it closes: "90 minutes", "1 day", "3 hours"
    translations: {cy: {title: ..., intro: ...}}
    questions:
      - kind: scale                        # choice | scale | yes_no | text
        text: How do you feel about your home?
        simpler: Do you like your home?    # sent when someone replies "?"
        standard: "1.1"                    # the participation standard it asks about
        scale: smiley                      # a ready-made scale: smiley | standards
        options:                           # choice and scale questions need options or a scale
          - {number: 1, emoji: "😀", label: Happy, value: happy, picture: happy.png}
        translations: {cy: {text: ..., simpler: ..., options: {1: Hapus}}}

Option numbers are whole numbers from 1 to 9, each used once in a question; a label is
required (at most 120 characters) and ``value``, what the results count, defaults to the
label in lower case with ``_`` between words. A ``yes_no`` question without options gets
1 👍 Yes and 2 👎 No. ``scale: smiley`` is 1 😀 Good, 2 😐 OK, 3 🙁 Not good;
``scale: standards`` is the participation scale 1 ✅ Exactly how we want it, 2 🔨 There's
more to be done, 3 🌱 They've only just started, 4 ❌ They've not even thought about it
(values 1 to 4). Text questions have no options. Questions are numbered from 1 in file order.

Times are read in the organisation's time zone and returned in UTC; a time that happens
twice when the clocks go back in October is the first of the two. A survey with an
``opens`` time is "scheduled", one without is a "draft".

YAML itself reads only ``true`` and ``false`` as yes-or-no and only plain digits as numbers,
so ``label: No`` and ``standard: 1.10`` mean what they say; inside ``{ }``, put text with
a ``?``, ``:`` or ``,`` in quotes. The values ``dont_know`` and ``skip`` are kept for
people who do not know or skip. Every mistake is reported with its line and field,
questions and options counted from 1: ``survey.yaml, line 14:
questions[2].options[1].number: must be a whole number from 1 to 9``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar, get_args
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from bot.conversation import Kind
from bot.surveys.definition import (
    DONT_KNOW,
    SKIPPED,
    Audience,
    AudienceKind,
    OptionDef,
    QuestionDef,
    SurveyDef,
)
from storage.tables import Role, SurveyStatus

DEEPEST = 40
"""No survey is nested deeper than this; a deeper file is refused before it is read."""
MOST_PARTS = 100_000
"""The most parts a survey file's aliases may expand to."""
LONGEST_REMINDER = timedelta(days=366)

Path = tuple[str | int, ...]

YES_NO = (OptionDef(1, "Yes", "yes", "👍"), OptionDef(2, "No", "no", "👎"))
SCALES: dict[str, tuple[OptionDef, ...]] = {
    "smiley": (
        OptionDef(1, "Good", "good", "😀"),
        OptionDef(2, "OK", "ok", "😐"),
        OptionDef(3, "Not good", "not_good", "🙁"),
    ),
    "standards": (
        OptionDef(1, "Exactly how we want it", "1", "✅"),
        OptionDef(2, "There's more to be done", "2", "🔨"),
        OptionDef(3, "They've only just started", "3", "🌱"),
        OptionDef(4, "They've not even thought about it", "4", "❌"),
    ),
}


@dataclass(frozen=True)
class SurveyFileProblem:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}" if self.field else (
            f"line {self.line}: {self.message}")


class SurveyFileError(Exception):
    """A survey file with mistakes: one line per mistake, naming the file, line and field."""

    def __init__(self, source: str, problems: Iterable[SurveyFileProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{source}, {problem}" for problem in self.problems))


# -- YAML as people write it ----------------------------------------------------------------

class _SurveyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but only true/false are booleans and only plain digits numbers:
    dates, ``1.1``, ``No`` and ``1:30`` stay text for the rules below to read."""


_SurveyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SurveyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_SurveyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))


class _Places:
    """Where each field of the file is: its line, and which paths are lists."""

    def __init__(self) -> None:
        self.lines: dict[Path, int] = {}
        self.lists: set[Path] = set()
        self.repeated: list[tuple[int, Path]] = []

    def visit(self, loader: _SurveyLoader, node: yaml.Node, path: Path, depth: int = 0) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if depth > 20:  # an alias that contains itself
            return
        if isinstance(node, yaml.SequenceNode):
            self.lists.add(path)
            for index, item in enumerate(node.value):
                self.visit(loader, item, (*path, index), depth + 1)
        elif isinstance(node, yaml.MappingNode):
            first_seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node)
                if not isinstance(key, str | int):
                    continue
                line = key_node.start_mark.line + 1
                if key in first_seen:
                    self.repeated.append((line, (*path, key)))
                    continue
                first_seen[key] = line
                self.lines[(*path, key)] = line
                self.visit(loader, value_node, (*path, key), depth + 1)

    def line(self, path: Path) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def name(self, path: Path) -> str:
        """``questions[2].options[1].number``: list items counted from 1."""
        text = ""
        for at, part in enumerate(path):
            if isinstance(part, int) and path[:at] in self.lists:
                text += f"[{part + 1}]"
            else:
                text += f".{part}" if text else str(part)
        return text


# -- the shape of each part, checked by pydantic ----------------------------------------------

def _number_as_text(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _option_number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 9:
        raise PydanticCustomError("option_number", "must be a whole number from 1 to 9")
    return value


def _standard(value: object) -> str:
    text = str(_number_as_text(value)).strip()
    if not re.fullmatch(r"[0-9]{1,3}(?:\.[0-9]{1,3}){0,3}", text):
        raise PydanticCustomError("standard", "must be a participation standard's number, like 3.2")
    return text


def _language(value: str) -> str:
    if not re.fullmatch(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?", value):
        raise PydanticCustomError("language", "is not a language code like cy or pl")
    return value


_LOCAL_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")


def parse_local_time(value: str, zone: ZoneInfo) -> datetime:
    """``2026-12-01 09:00`` in ``zone``, as an aware UTC datetime.

    A time the October clock change makes happen twice is taken the first time (fold=0).
    """
    match = _LOCAL_TIME.fullmatch(value.strip())
    if match is None:
        raise PydanticCustomError("local_time", "write the date and time like 2026-12-01 09:00")
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=zone, fold=0)
    except ValueError:
        raise PydanticCustomError("local_time", "is not a real date and time") from None
    return local.astimezone(UTC)


_UNITS = {"m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
          "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
          "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}


def parse_reminder(value: object) -> timedelta:
    """``2 days``, ``3 hours``, ``90 minutes`` as a timedelta."""
    match = re.fullmatch(r"(\d+)\s*([a-z]+)", str(value).strip().lower())
    if isinstance(value, bool) or match is None or match.group(2) not in _UNITS:
        raise PydanticCustomError("reminder", "write it like 2 days, 3 hours or 90 minutes")
    if int(match.group(1)) == 0:
        raise PydanticCustomError("reminder", "must be more than 0")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds > LONGEST_REMINDER.total_seconds():
        raise PydanticCustomError("reminder", "must be at most a year before it closes")
    return timedelta(seconds=seconds)


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


Words = Annotated[str, BeforeValidator(_number_as_text)]
Language = Annotated[str, AfterValidator(_language)]


_Model = TypeVar("_Model", bound=BaseModel)


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class OptionFile(_Part):
    number: Annotated[int, BeforeValidator(_option_number)]
    label: Annotated[Words, Field(min_length=1, max_length=120)]
    emoji: Annotated[Words, Field(max_length=20)] = ""
    value: Annotated[Words, Field(min_length=1, max_length=60)] | None = None
    picture: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class QuestionTranslation(_Part):
    text: Annotated[Words, Field(min_length=1, max_length=1000)] | None = None
    simpler: Annotated[Words, Field(min_length=1, max_length=1000)] | None = None
    options: dict[int, Annotated[Words, Field(min_length=1, max_length=120)]] = Field(
        default_factory=dict)


class QuestionFile(_Part):
    kind: Kind
    text: Annotated[Words, Field(min_length=1, max_length=1000)]
    simpler: Annotated[Words, Field(min_length=1, max_length=1000)] | None = None
    standard: Annotated[str, BeforeValidator(_standard)] | None = None
    scale: Literal["smiley", "standards"] | None = None
    options: list[OptionFile] | None = None
    translations: dict[Language, QuestionTranslation] = Field(default_factory=dict)


class SurveyTranslation(_Part):
    title: Annotated[Words, Field(min_length=1, max_length=200)] | None = None
    intro: Annotated[Words, Field(min_length=1, max_length=2000)] | None = None


class SurveyFile(_Part):
    title: Annotated[Words, Field(min_length=1, max_length=200)]
    intro: Annotated[Words, Field(max_length=2000)] = ""
    audience: Any = "everyone"  # read by _audience, which names the exact field
    opens: datetime | None = None
    closes: datetime | None = None
    anonymous: bool = False
    dont_know: bool = True
    reminders: Annotated[
        list[Annotated[timedelta, BeforeValidator(parse_reminder)]], BeforeValidator(_one_or_many)
    ] = Field(default_factory=list)
    translations: dict[Language, SurveyTranslation] = Field(default_factory=dict)
    questions: list[Any]  # each one is read by QuestionFile, so one bad question hides no other

    @field_validator("opens", "closes", mode="before")
    @classmethod
    def _local_time(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            return None
        if not isinstance(value, str):
            raise PydanticCustomError("local_time", "write the date and time like 2026-12-01 09:00")
        zone: ZoneInfo = info.context["zone"] if info.context else ZoneInfo("UTC")
        return parse_local_time(value, zone)


_MESSAGES = {
    "missing": "is missing",
    "string_type": "must be text",
    "string_too_short": "must not be empty",
    "string_too_long": "is too long: at most {max_length} characters",
    "too_short": "must not be empty",
    "too_long": "is too long: at most {max_length} characters",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "list_type": "must be a list",
    "dict_type": "must be a set of `name: value` lines",
    "model_type": "must be a set of `name: value` lines",
    "model_attributes_type": "must be a set of `name: value` lines",
}


def _part_at(model: type[BaseModel], loc: Path) -> type[BaseModel]:
    """Which part of the file ``loc`` is in: a question, an option, a translation..."""
    for step in loc:
        field = model.model_fields.get(step) if isinstance(step, str) else None
        inner = _inner_part(field.annotation) if field is not None else None
        model = inner or model
    return model


def _inner_part(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, map(_inner_part, get_args(annotation))), None)


def _message(error: Any, model: type[BaseModel]) -> str:
    kind, context, loc = error["type"], error.get("ctx") or {}, error["loc"]
    if kind == "extra_forbidden":
        known = _part_at(model, loc[:-1]).model_fields
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        return "is not a field we know" + (f"; did you mean {close[0]}?" if close else "")
    if error.get("input", "") is None and kind != "missing":
        return "is empty; give it a value"
    if kind in ("enum", "literal_error"):
        return "must be " + str(context.get("expected", "")).replace("'", "")
    if kind in _MESSAGES:
        return _MESSAGES[kind].format(**context)
    return str(error["msg"])


def _validate(
    model: type[_Model], data: object, at: Path, problems: list[tuple[Path, str]], zone: ZoneInfo
) -> _Model | None:
    try:
        return model.model_validate(data, context={"zone": zone})
    except ValidationError as error:
        for item in error.errors():
            loc = tuple(part for part in item["loc"] if part != "[key]")
            problems.append(((*at, *loc), _message(item, model)))
        return None


# -- the rules that join the parts, and the survey they make -----------------------------------

def check_readable(text: str, source: str) -> None:
    """Refuse YAML that the loader should not be given: with a character YAML does not
    allow (the loader fails on it without saying where), nested deeper than any survey, or
    with aliases that repeat a part so often that the copies run to more than
    :data:`MOST_PARTS` (the loader builds every one, tying a worker up for minutes).

    Raises :class:`SurveyFileError` naming the line; any other YAML mistake is left for
    :func:`load_survey_yaml` to explain.
    """
    anchored: dict[str, int] = {}
    open_parts: list[tuple[str | None, int]] = []
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            line = event.start_mark.line + 1 if event.start_mark is not None else 1
            if isinstance(event, yaml.CollectionStartEvent):
                if len(open_parts) >= DEEPEST:
                    raise SurveyFileError(source, [SurveyFileProblem(
                        line, "", f"this is nested more than {DEEPEST} levels deep")])
                open_parts.append((event.anchor, 1))
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, size = open_parts.pop()
            elif isinstance(event, yaml.ScalarEvent):
                anchor, size = event.anchor, 1
            elif isinstance(event, yaml.AliasEvent):
                anchor, size = None, anchored.get(event.anchor or "", 1)
            else:
                continue
            if anchor is not None:
                anchored[anchor] = size
            if open_parts:
                parent, so_far = open_parts[-1]
                open_parts[-1] = (parent, so_far + size)
                if so_far + size > MOST_PARTS:
                    raise SurveyFileError(source, [SurveyFileProblem(
                        line, "", "its aliases repeat parts so often that it would have "
                                  f"more than {MOST_PARTS} parts; write the parts out")])
    except yaml.reader.ReaderError as error:
        raise SurveyFileError(source, [SurveyFileProblem(
            text.count("\n", 0, error.position) + 1, "",
            f"this is not valid YAML: it has the character #x{error.character:04X}, which "
            "YAML does not allow; take it out")]) from None
    except yaml.YAMLError:
        return


def load_survey_yaml(text: str, *, source: str, zone: ZoneInfo) -> SurveyDef:
    """The survey ``text`` describes; ``source`` names the file in error messages.

    Raises :class:`SurveyFileError` listing every mistake found, each with its line.
    """
    check_readable(text, source)
    loader = _SurveyLoader(text)
    places = _Places()
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
        if node is not None:
            places.visit(loader, node, ())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = error.problem or error.context or "cannot be read"
        if "'\\t'" in reason:
            reason += " (indent with spaces, not tabs)"
        elif "got '?'" in reason:
            reason += " (put text with a ? in quotes)"
        elif "not allowed here" in reason or "expected <block end>" in reason:
            reason += " (check the spaces at the start of this line and the one before)"
        raise SurveyFileError(source, [SurveyFileProblem(
            line, "", f"this is not valid YAML: {reason}")]) from None
    except yaml.YAMLError as error:
        raise SurveyFileError(source, [SurveyFileProblem(
            1, "", f"this is not valid YAML: {error}")]) from None
    finally:
        loader.dispose()

    if data is None:
        raise SurveyFileError(source, [SurveyFileProblem(
            1, "", "the file is empty: a survey needs a title and at least one question")])
    if not isinstance(data, dict):
        raise SurveyFileError(source, [SurveyFileProblem(
            places.line(()), "", "this is not a survey: a survey file is lines of "
            "`name: value`, starting with title: and with a list of questions:")])

    problems: list[tuple[Path, str]] = []
    survey = _validate(SurveyFile, data, (), problems, zone)
    audience = _audience(data.get("audience", "everyone"), problems)
    raw_questions = data.get("questions")
    questions: list[QuestionDef] = []
    if isinstance(raw_questions, list):
        if not raw_questions:
            problems.append((("questions",), "needs at least one question"))
        for index, raw in enumerate(raw_questions):
            at: Path = ("questions", index)
            question = _validate(QuestionFile, raw, at, problems, zone)
            if question is not None:
                built = _question(question, index + 1, at, problems)
                if built is not None:
                    questions.append(built)
    if survey is not None:
        _check_times(survey, problems.append)

    if problems or places.repeated or survey is None or audience is None:
        found = sorted(
            [SurveyFileProblem(places.line(path), places.name(path), message)
             for path, message in problems]
            + [SurveyFileProblem(line, places.name(path),
                                 f"is given twice (also on line {places.line(path)})")
               for line, path in places.repeated],
            key=lambda problem: problem.line,
        )
        raise SurveyFileError(source, found)
    return SurveyDef(
        title=survey.title,
        intro=survey.intro,
        questions=tuple(questions),
        audience=audience,
        opens_at=survey.opens,
        closes_at=survey.closes,
        anonymous=survey.anonymous,
        dont_know=survey.dont_know,
        reminders=tuple(sorted(survey.reminders, reverse=True)),
        translations={
            language: _given(title=words.title, intro=words.intro)
            for language, words in survey.translations.items() if words.title or words.intro
        },
        status=(SurveyStatus.SCHEDULED if survey.opens else SurveyStatus.DRAFT).value,
    )


Report = Callable[[tuple[Path, str]], None]


def _given(**texts: str | None) -> dict[str, str]:
    return {name: text for name, text in texts.items() if text}


def _audience(raw: object, problems: list[tuple[Path, str]]) -> Audience | None:
    how = ("write everyone, or one of constituency: NAME, service: JOIN CODE or role: ROLE ("
           + ", ".join(Role) + ")")
    if isinstance(raw, str) and raw.strip().lower() == AudienceKind.EVERYONE:
        return Audience()
    if not isinstance(raw, dict) or len(raw) != 1:
        problems.append((("audience",), how))
        return None
    [(key, value)] = raw.items()
    kinds = [kind.value for kind in AudienceKind if kind != AudienceKind.EVERYONE]
    if key not in kinds:
        problems.append((("audience", key), f"is not a kind of audience; {how}"))
        return None
    value = _number_as_text(value)
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 120:
        problems.append((("audience", key), "must be a name of at most 120 characters"))
        return None
    value = value.strip()
    if key == AudienceKind.ROLE and value not in set(Role):
        problems.append((("audience", key), "must be one of " + ", ".join(Role)))
        return None
    if key == AudienceKind.SERVICE:
        value = value.upper()
    return Audience(kind=AudienceKind(key), value=value)


def _check_times(survey: SurveyFile, report: Report) -> None:
    open_for = survey.closes - survey.opens if survey.opens and survey.closes else None
    if open_for is not None and open_for <= timedelta(0):
        report((("closes",), "must be after opens"))
        open_for = None
    seen: set[timedelta] = set()
    for index, reminder in enumerate(survey.reminders):
        if reminder in seen:
            report((("reminders", index), "is given twice"))
        elif open_for is not None and reminder >= open_for:
            report((("reminders", index), "would come before the survey opens"))
        seen.add(reminder)


def _slug(label: str, number: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:60].strip("_")
    return slug or str(number)


def _question(
    question: QuestionFile, position: int, at: Path, problems: list[tuple[Path, str]]
) -> QuestionDef | None:
    """The question as plain data, or None after adding to ``problems`` why it cannot be."""
    before, report = len(problems), problems.append
    kind, given = question.kind, question.options
    if question.scale is not None and kind != Kind.SCALE:
        report(((*at, "scale"), "is only for scale questions"))
    if kind == Kind.TEXT and given is not None:
        report(((*at, "options"), "a text question has no options"))
    elif kind == Kind.SCALE and question.scale is not None and given is not None:
        report(((*at, "options"), "give options or scale, not both"))
    elif kind in (Kind.CHOICE, Kind.SCALE) and given is None and question.scale is None:
        report(((*at, "options"), f"a {kind} question needs options"
                + (", or scale: smiley or scale: standards" if kind == Kind.SCALE else "")))
    elif given is not None and len(given) < 2:
        report(((*at, "options"), "needs at least two options"))

    options: list[OptionDef] = []
    if kind == Kind.SCALE and question.scale is not None:
        options = list(SCALES[question.scale])
    elif kind == Kind.YES_NO and given is None:
        options = list(YES_NO)
    elif kind != Kind.TEXT:
        options = _options(given or [], (*at, "options"), report)

    numbers = {option.number for option in options}
    for language, words in question.translations.items():
        for number in words.options:
            if number not in numbers:
                report(((*at, "translations", language, "options", number),
                        f"there is no option {number} to translate"))
    if len(problems) > before:
        return None
    labels = {language: words.options for language, words in question.translations.items()}
    return QuestionDef(
        position=position,
        kind=kind,
        text=question.text,
        simpler=question.simpler,
        standard=question.standard,
        options=tuple(
            OptionDef(number=o.number, label=o.label, value=o.value, emoji=o.emoji,
                      picture=o.picture,
                      labels={lang: by[o.number] for lang, by in labels.items() if o.number in by})
            for o in options
        ),
        translations={
            language: _given(text=words.text, simpler=words.simpler)
            for language, words in question.translations.items()
            if words.text or words.simpler
        },
    )


def _options(given: list[OptionFile], at: Path, report: Report) -> list[OptionDef]:
    options: list[OptionDef] = []
    numbers: set[int] = set()
    values: set[str] = set()
    for index, option in enumerate(given):
        value = option.value or _slug(option.label, option.number)
        field = "value" if option.value else "label"
        if option.number in numbers:
            report(((*at, index, "number"),
                    f"{option.number} is already the number of another option"))
        elif value in (DONT_KNOW, SKIPPED):
            report(((*at, index, field), f"gives the value {value}, which is kept for people "
                                         "who skip or do not know; give it another value"))
        elif value in values:
            report(((*at, index, field), f"gives the value {value}, like another option; "
                                         "give each option its own value"))
        numbers.add(option.number)
        values.add(value)
        options.append(OptionDef(number=option.number, label=option.label, value=value,
                                 emoji=option.emoji, picture=option.picture))
    return options


"""The survey-building form: what an admin types into it, read back as a survey.

The form is written out as a survey file and read with ``load_survey_yaml``, so a survey built
in the form and one loaded with ``voicebank survey load`` obey exactly the same rules and give
the same messages; each problem is then put beside the question it is about. Pictures
uploaded for options are checked to be pictures and kept under new, safe names.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from starlette.datastructures import FormData, UploadFile

from bot.conversation import Kind
from bot.profile import strip_pictures
from bot.surveys.definition import AudienceKind, SurveyDef
from bot.surveys.loading import SCALES, YES_NO, SurveyFileError, load_survey_yaml
from voicebank.cli_support import describe_duration

MAX_QUESTIONS = 60
MAX_PICTURE = 2 * 1024 * 1024
PICTURE_TYPES = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"),
                 (b"GIF87a", "gif"), (b"GIF89a", "gif"))
STORED_PICTURE = re.compile(r"[0-9a-f]{32}\.(?:png|jpg|gif)")
FIELD_NAMES = {"text": "question", "simpler": "simpler wording", "intro": "introduction",
               "value": "label", "dont_know": "I don't know", "questions": "questions"}
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what a datetime-local input shows and sends


@dataclass
class QuestionForm:
    """One question as typed into the form; ``pictures`` are stored file names by option."""

    kind: str = Kind.CHOICE.value
    text: str = ""
    simpler: str = ""
    standard: str = ""
    scale: str = ""
    options: str = ""
    pictures: dict[int, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def blank(self) -> bool:
        return not (self.text or self.simpler or self.standard or self.options or self.pictures)

    @property
    def picture_slots(self) -> range:
        """Option numbers to offer a picture upload for: at least 1 to 4, up to 9."""
        numbers = [number for number, *_ in option_lines(self.options) if isinstance(number, int)]
        return range(1, min(9, max([4, *numbers, *self.pictures])) + 1)


@dataclass
class SurveyForm:
    """The whole form as typed; ``errors`` are the problems not about one question."""

    title: str = ""
    intro: str = ""
    audience: str = AudienceKind.EVERYONE.value
    anonymous: bool = False
    dont_know: bool = True
    reminders: str = ""
    opens: str = ""
    closes: str = ""
    questions: list[QuestionForm] = field(default_factory=lambda: [QuestionForm()])
    errors: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return len(self.errors) + sum(len(q.errors) for q in self.questions)


def option_lines(text: str) -> list[tuple[int | str, str, str]]:
    """``1 😀 Good`` lines as (number, emoji, label). A line without a number at the start
    is numbered by where it is; a number that is not a whole number is left for the
    survey rules to refuse."""
    found: list[tuple[int | str, str, str]] = []
    for place, line in enumerate(filter(None, map(str.strip, text.splitlines())), start=1):
        first, _, rest = line.partition(" ")
        number: int | str = place
        if whole := re.fullmatch(r"([0-9]+)[.):]?", first):  # 1, 1. and 1) all mean 1
            number, line = int(whole.group(1)), rest.strip()
        elif re.fullmatch(r"[-+]?[0-9]+(?:[.,][0-9]*)?", first):
            number, line = first, rest.strip()
        emoji, _, label = line.partition(" ")
        if emoji and not strip_pictures(emoji).strip():
            line = label.strip()
        else:
            emoji = ""
        found.append((number, emoji, line))
    return found


def form_text(form: FormData, name: str) -> str:
    """A field of the posted form as typed, trimmed; "" when it is missing or is a file."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def store_picture(data: bytes, media: Path) -> tuple[str | None, str]:
    """Keep an uploaded picture under a new, safe name: (file name, "") or (None, problem)."""
    if len(data) > MAX_PICTURE:
        return None, "is bigger than 2 MB; choose a smaller picture"
    extension = next((ext for magic, ext in PICTURE_TYPES if data.startswith(magic)), None)
    if extension is None:
        return None, "is not a PNG, JPEG or GIF picture"
    media.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{extension}"
    (media / name).write_bytes(data)
    return name, ""


def read_form(form: FormData, media: Path) -> SurveyForm:
    """The survey form as typed, storing any pictures uploaded with it (in a worker thread)."""

    def typed(name: str) -> str:
        return form_text(form, name)

    survey = SurveyForm(
        title=typed("title"), intro=typed("intro"),
        audience=typed("audience") or AudienceKind.EVERYONE.value,
        anonymous=typed("anonymous") == "yes", dont_know=typed("dont_know") == "yes",
        reminders=typed("reminders"), opens=typed("opens"), closes=typed("closes"),
        questions=[])
    slots = typed("slots")
    for slot in range(1, min(int(slots) if slots.isdigit() else 1, MAX_QUESTIONS) + 1):
        at = f"q{slot}_"
        question = QuestionForm(
            kind=typed(at + "kind") or Kind.CHOICE.value, text=typed(at + "text"),
            simpler=typed(at + "simpler"), standard=typed(at + "standard"),
            scale=typed(at + "scale"), options=typed(at + "options"))
        for number in range(1, 10):
            kept = typed(f"{at}picture{number}_kept")
            if STORED_PICTURE.fullmatch(kept) and (media / kept).is_file():
                question.pictures[number] = kept
            upload = form.get(f"{at}picture{number}")
            if isinstance(upload, UploadFile) and upload.filename:
                name, problem = store_picture(upload.file.read(MAX_PICTURE + 1), media)
                if name is None:
                    question.errors.append(f"The picture for option {number} {problem}.")
                else:
                    question.pictures[number] = name
        survey.questions.append(question)
    return survey


def survey_file(survey: SurveyForm) -> tuple[str, list[int]]:
    """The form as a survey file, and which form question each file question came from."""
    kind, _, value = survey.audience.partition(":")
    data: dict[str, Any] = {
        "title": survey.title, "intro": survey.intro,
        "audience": kind if kind == AudienceKind.EVERYONE else {kind: value},
        "anonymous": survey.anonymous, "dont_know": survey.dont_know}
    for name in ("opens", "closes"):
        if getattr(survey, name):
            data[name] = getattr(survey, name).replace("T", " ")
    if survey.reminders:
        data["reminders"] = [part.strip() for part in survey.reminders.split(",") if part.strip()]
    questions, slots = [], []
    for slot, question in enumerate(survey.questions):
        if question.blank:
            continue
        item: dict[str, Any] = {"kind": question.kind, "text": question.text}
        for name in ("simpler", "standard", "scale"):
            if getattr(question, name):
                item[name] = getattr(question, name)
        options = [{"number": number, "emoji": emoji, "label": label}
                   for number, emoji, label in option_lines(question.options)]
        for number, picture in sorted(question.pictures.items()):
            option = next((o for o in options if o["number"] == number), None)
            if option is None:
                question.errors.append(f"There is a picture for option {number}, but no option "
                                       f"{number}. Write the options out to give them pictures.")
            else:
                option["picture"] = picture
        if options:
            item["options"] = options
        questions.append(item)
        slots.append(slot)
    data["questions"] = questions
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False), slots


def _friendly(path: str) -> str:
    """``questions[2].options[1].number`` → ``Option line 1, number``, without the question."""
    parts = []
    for name, index in re.findall(r"([a-z_]+)(?:\[(\d+)\])?", path):
        if index and name in ("options", "reminders"):
            parts.append(f"{'option line' if name == 'options' else 'reminder'} {index}")
        else:
            parts.append(FIELD_NAMES.get(name, name))
    return ", ".join(parts).capitalize()


def check_form(survey: SurveyForm, zone: ZoneInfo) -> SurveyDef | None:
    """The survey the form describes, or None with each problem put beside its question."""
    text, slots = survey_file(survey)
    try:
        built = load_survey_yaml(text, source="the form", zone=zone)
    except SurveyFileError as error:
        for problem in error.problems:
            found = re.match(r"questions\[(\d+)\]\.?(.*)", problem.field)
            if found and int(found.group(1)) <= len(slots):
                question = survey.questions[slots[int(found.group(1)) - 1]]
                question.errors.append(f"{_friendly(found.group(2)) or 'Question'}: "
                                       f"{problem.message}.")
            else:
                survey.errors.append(f"{_friendly(problem.field)}: {problem.message}.")
        return None
    return None if survey.problems else built


def form_of(survey: SurveyDef, zone: ZoneInfo) -> SurveyForm:
    """A saved or ready-made survey shown in the form, presets kept as presets."""
    questions = []
    for question in survey.questions:
        scale = next((name for name, preset in SCALES.items()
                      if question.kind == Kind.SCALE and question.options == preset), "")
        preset = scale or (question.kind == Kind.YES_NO and question.options == YES_NO)
        lines = "" if preset else "\n".join(
            " ".join(part for part in (str(o.number), o.emoji, o.label) if part)
            for o in question.options)
        questions.append(QuestionForm(
            kind=question.kind.value, text=question.text, simpler=question.simpler or "",
            standard=question.standard or "", scale=scale, options=lines))
    audience = survey.audience
    return SurveyForm(
        title=survey.title, intro=survey.intro, anonymous=survey.anonymous,
        audience=audience.kind.value if audience.kind == AudienceKind.EVERYONE
        else f"{audience.kind.value}:{audience.value}",
        dont_know=survey.dont_know,
        reminders=", ".join(describe_duration(r) for r in survey.reminders),
        opens=f"{survey.opens_at.astimezone(zone):{LOCAL_INPUT}}" if survey.opens_at else "",
        closes=f"{survey.closes_at.astimezone(zone):{LOCAL_INPUT}}" if survey.closes_at else "",
        questions=questions)

"""Survey files: good ones become SurveyDefs, bad ones say which line and field is wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from textwrap import dedent
from zoneinfo import ZoneInfo

import pytest

from bot.conversation import Kind
from bot.surveys.definition import Audience, AudienceKind, OptionDef
from bot.surveys.loading import SurveyFileError, load_survey_yaml, parse_reminder
from bot.surveys.templates import TEMPLATES, template_text

LONDON = ZoneInfo("Europe/London")

GOOD = """\
title: How are things?
intro: A few quick questions. It takes 2 minutes.
audience: {constituency: Riverside}
opens: 2026-12-01 09:00
closes: 2026-12-08 17:00
anonymous: true
dont_know: false
reminders: [2 hours, 2 days, 90 minutes]
translations: {cy: {title: "Sut mae pethau?"}}
questions:
  - kind: scale
    text: How do you feel about your home?
    simpler: Do you like your home?
    standard: 1.1
    options:
      - {number: 1, emoji: "😀", label: Happy, picture: happy.png}
      - {number: 2, emoji: "😐", label: Not sure, value: unsure}
      - {number: 3, emoji: "🙁", label: Sad}
    translations: {cy: {text: "Wyt ti'n hapus?", options: {1: Hapus}}}
  - kind: yes_no
    text: Do staff listen to you?
  - kind: choice
    text: Which trip?
    options:
      - {number: 1, label: No}
      - {number: 2, label: The seaside!}
  - kind: scale
    scale: standards
    standard: "3.2"
    text: 3.2 You can take part in your own way. How are we doing?
  - kind: text
    text: What would make things better?
"""


def load(text: str) -> object:
    return load_survey_yaml(text, source="survey.yaml", zone=LONDON)


def test_a_good_file_becomes_a_survey() -> None:
    survey = load_survey_yaml(GOOD, source="survey.yaml", zone=LONDON)

    assert survey.title == "How are things?"
    assert survey.intro == "A few quick questions. It takes 2 minutes."
    assert survey.audience == Audience(AudienceKind.CONSTITUENCY, "Riverside")
    assert survey.opens_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert survey.closes_at == datetime(2026, 12, 8, 17, 0, tzinfo=UTC)
    assert survey.anonymous is True
    assert survey.dont_know is False
    assert survey.reminders == (timedelta(days=2), timedelta(hours=2), timedelta(minutes=90))
    assert survey.translations == {"cy": {"title": "Sut mae pethau?"}}
    assert survey.status == "scheduled"
    assert survey.id is None

    home, staff, trip, standard, better = survey.questions
    assert [q.position for q in survey.questions] == [1, 2, 3, 4, 5]
    assert home.kind == Kind.SCALE
    assert home.standard == "1.1"
    assert home.simpler == "Do you like your home?"
    assert home.options == (
        OptionDef(1, "Happy", "happy", "😀", "happy.png", {"cy": "Hapus"}),
        OptionDef(2, "Not sure", "unsure", "😐"),
        OptionDef(3, "Sad", "sad", "🙁"),
    )
    assert home.translations == {"cy": {"text": "Wyt ti'n hapus?"}}
    assert home.text_in("cy") == "Wyt ti'n hapus?"
    assert staff.options == (OptionDef(1, "Yes", "yes", "👍"), OptionDef(2, "No", "no", "👎"))
    assert [(o.label, o.value) for o in trip.options] == [("No", "no"),
                                                          ("The seaside!", "the_seaside")]
    assert [(o.number, o.emoji, o.label, o.value) for o in standard.options] == [
        (1, "✅", "Exactly how we want it", "1"),
        (2, "🔨", "There's more to be done", "2"),
        (3, "🌱", "They've only just started", "3"),
        (4, "❌", "They've not even thought about it", "4"),
    ]
    assert better.kind == Kind.TEXT
    assert better.options == ()


def test_a_file_with_no_times_is_a_draft_for_everyone() -> None:
    survey = load_survey_yaml(
        "title: Quick one\nquestions:\n  - kind: scale\n    scale: smiley\n"
        "    text: How was today?\n",
        source="quick.yaml", zone=LONDON,
    )

    assert survey.status == "draft"
    assert survey.audience == Audience()
    assert survey.opens_at is None
    assert survey.dont_know is True
    assert [(o.number, o.emoji, o.label) for o in survey.questions[0].options] == [
        (1, "😀", "Good"), (2, "😐", "OK"), (3, "🙁", "Not good")]


@pytest.mark.parametrize(("audience", "expected"), [
    ("everyone", Audience()),
    ("{service: willow1}", Audience(AudienceKind.SERVICE, "WILLOW1")),
    ("{role: mp}", Audience(AudienceKind.ROLE, "mp")),
    ("{constituency: Riverside}", Audience(AudienceKind.CONSTITUENCY, "Riverside")),
])
def test_audiences(audience: str, expected: Audience) -> None:
    survey = load_survey_yaml(
        f"title: T\naudience: {audience}\nquestions: [{{kind: text, text: Hi}}]\n",
        source="a.yaml", zone=LONDON,
    )
    assert survey.audience == expected


def test_the_standards_template_asks_each_standard_and_what_would_make_it_better() -> None:
    survey = load_survey_yaml(template_text("standards"), source="standards.yaml", zone=LONDON)

    standards = [q.standard for q in survey.questions if q.kind == Kind.SCALE]
    assert standards[:5] == ["1.1", "1.5", "1.4", "1.2", "2.2"]
    assert {"2.6", "3.1", "3.2", "3.5", "4.7", "4.1", "5.1", "5.2", "5.7", "6.3", "6.1", "7.1",
            "7.5"} <= set(standards)
    assert len(standards) == len(set(standards)) == 22
    for scale, text in zip(survey.questions[::2], survey.questions[1::2], strict=True):
        assert scale.kind == Kind.SCALE
        assert scale.text.startswith(f"{scale.standard} ")
        assert scale.text.endswith("How are we doing?")
        assert scale.simpler
        assert scale.options[0].label == "Exactly how we want it"
        assert text.kind == Kind.TEXT
        assert text.text == "What would make this better?"
        assert text.standard == scale.standard
    assert survey.status == "draft"


def test_the_smiley_template_is_short_and_easy() -> None:
    survey = load_survey_yaml(template_text("smiley"), source="smiley.yaml", zone=LONDON)

    assert survey.title == "How are things?"
    kinds = [q.kind for q in survey.questions]
    assert 4 <= len(kinds) <= 5
    assert kinds[-1] == Kind.TEXT
    assert set(kinds[:-1]) <= {Kind.SCALE, Kind.YES_NO}
    assert all(q.simpler for q in survey.questions)
    assert all(o.emoji for q in survey.questions for o in q.options)


def test_every_template_loads() -> None:
    assert TEMPLATES == ("standards", "smiley")
    for name in TEMPLATES:
        assert load_survey_yaml(template_text(name), source=name, zone=LONDON).questions


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(ValueError, match="standards, smiley"):
        template_text("../secret")


@pytest.mark.parametrize(("local", "utc"), [
    ("2026-10-24 09:00", datetime(2026, 10, 24, 8, 0, tzinfo=UTC)),    # summer time
    ("2026-10-25 00:30", datetime(2026, 10, 24, 23, 30, tzinfo=UTC)),  # before the change
    ("2026-10-25 01:30", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),   # twice: the first
    ("2026-10-25 02:30", datetime(2026, 10, 25, 2, 30, tzinfo=UTC)),   # after it
    ("2026-10-26 09:00", datetime(2026, 10, 26, 9, 0, tzinfo=UTC)),    # winter time
    ("2026-03-29 03:00", datetime(2026, 3, 29, 2, 0, tzinfo=UTC)),     # spring forward
])
def test_local_times_across_the_clock_changes(local: str, utc: datetime) -> None:
    survey = load_survey_yaml(
        f"title: T\nopens: {local}\nquestions: [{{kind: text, text: Hi}}]\n",
        source="t.yaml", zone=LONDON,
    )
    assert survey.opens_at == utc
    assert survey.opens_at is not None
    assert survey.opens_at.utcoffset() == timedelta(0)


def test_a_survey_open_across_the_october_change_keeps_its_length() -> None:
    survey = load_survey_yaml(
        "title: T\nopens: 2026-10-24 09:00\ncloses: 2026-10-26 09:00\n"
        "questions: [{kind: text, text: Hi}]\n", source="t.yaml", zone=LONDON,
    )
    assert survey.opens_at is not None
    assert survey.closes_at is not None
    assert survey.closes_at - survey.opens_at == timedelta(hours=49)


BASE = dedent("""\
    title: How are things?
    opens: 2026-12-01 09:00
    closes: 2026-12-08 17:00
    reminders: [2 days]
    questions:
      - kind: scale
        text: How do you feel about your home?
        options:
          - {number: 1, emoji: "😀", label: Happy}
          - {number: 2, emoji: "🙁", label: Sad}
      - kind: text
        text: Anything else?
""")


def edited(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new, 1)


BAD_FILES = {
    "missing title": (
        BASE.replace("title: How are things?\n", ""), 1, "title: is missing"),
    "misspelt field": (
        edited("title:", "titel:"), 1, "titel: is not a field we know; did you mean title?"),
    "misspelt question field": (
        edited("    text: Anything else?", "    txt: Anything else?"), 12,
        "questions[2].txt: is not a field we know; did you mean text?"),
    "bad kind": (
        edited("kind: scale", "kind: slider"), 6,
        "questions[1].kind: must be choice, scale, yes_no or text"),
    "duplicate option numbers": (
        edited("{number: 2,", "{number: 1,"), 10,
        "questions[1].options[2].number: 1 is already the number of another option"),
    "option number 12": (
        edited("{number: 2,", "{number: 12,"), 10,
        "questions[1].options[2].number: must be a whole number from 1 to 9"),
    "closes before opens": (
        edited("closes: 2026-12-08 17:00", "closes: 2026-11-30 17:00"), 3,
        "closes: must be after opens"),
    "bad reminder": (
        edited("[2 days]", "[2 days, soon]"), 4,
        "reminders[2]: write it like 2 days, 3 hours or 90 minutes"),
    "reminder before it opens": (
        edited("[2 days]", "[2 days, 9 days]"), 4,
        "reminders[2]: would come before the survey opens"),
    "reminder given twice": (
        edited("[2 days]", "[2 days, 48 hours]"), 4, "reminders[2]: is given twice"),
    "bad time": (
        edited("opens: 2026-12-01 09:00", "opens: next Tuesday"), 2,
        "opens: write the date and time like 2026-12-01 09:00"),
    "choice with no options": (
        edited("  - kind: text\n    text: Anything else?",
               "  - kind: choice\n    text: Which one?"), 11,
        "questions[2].options: a choice question needs options"),
    "one option": (
        edited('      - {number: 2, emoji: "🙁", label: Sad}\n', ""), 8,
        "questions[1].options: needs at least two options"),
    "options and a scale": (
        edited("    options:\n", "    scale: smiley\n    options:\n"), 9,
        "questions[1].options: give options or scale, not both"),
    "a scale preset on a choice": (
        edited("kind: scale", "kind: choice\n    scale: smiley"), 7,
        "questions[1].scale: is only for scale questions"),
    "a scale that is not a preset": (
        edited("    options:\n", "    scale: stars\n    options:\n"), 8,
        "questions[1].scale: must be smiley or standards"),
    "a value kept for I don't know": (
        edited("label: Sad}", "label: Sad, value: dont_know}"), 10,
        "questions[1].options[2].value: gives the value dont_know, which is kept"),
    "two options with one value": (
        edited("label: Sad}", "label: happy!}"), 10,
        "questions[1].options[2].label: gives the value happy, like another option"),
    "a translation of no option": (
        edited("  - kind: text", "    translations: {cy: {options: {3: Trist}}}\n  - kind: text"),
        11, "questions[1].translations.cy.options.3: there is no option 3 to translate"),
    "a bad language code": (
        edited("opens:", "translations: {Welsh: {title: Sut mae}}\nopens:"), 2,
        "translations.Welsh: is not a language code like cy or pl"),
    "not true or false": (
        edited("opens:", "anonymous: sometimes\nopens:"), 2,
        "anonymous: must be true or false"),
    "an empty title": (edited("title: How are things?", "title:"), 1, "title: is empty"),
    "a title too long": (
        edited("How are things?", "x" * 201), 1,
        "title: is too long: at most 200 characters"),
    "a bad standard": (
        edited("    text: How do", "    standard: three\n    text: How do"), 7,
        "questions[1].standard: must be a participation standard's number, like 3.2"),
    "a question that is not a mapping": (
        edited("  - kind: text\n    text: Anything else?", "  - Anything else?"), 11,
        "questions[2]: must be a set of `name: value` lines"),
    "text with options": (
        edited("kind: scale", "kind: text"), 8,
        "questions[1].options: a text question has no options"),
    "label missing": (
        edited('emoji: "🙁", label: Sad', 'emoji: "🙁"'), 10,
        "questions[1].options[2].label: is missing"),
    "bad audience kind": (
        edited("opens:", "audience: {town: Riverside}\nopens:"), 2,
        "audience.town: is not a kind of audience"),
    "bad audience": (
        edited("opens:", "audience: the MPs\nopens:"), 2,
        "audience: write everyone, or one of constituency: NAME"),
    "bad role": (
        edited("opens:", "audience: {role: boss}\nopens:"), 2,
        "audience.role: must be one of service_user, mp, staff, admin"),
    "no questions": (
        BASE.split("questions:")[0] + "questions: []\n", 5,
        "questions: needs at least one question"),
    "a key given twice": (
        edited("    text: Anything else?", "    text: Anything else?\n    text: Again?"), 13,
        "questions[2].text: is given twice (also on line 12)"),
    "a tab": (
        edited("    text: Anything else?", "\ttext: Anything else?"), 12,
        "this is not valid YAML: found character '\\t' that cannot start any token"),
    "bad indentation": (
        edited("    text: Anything else?", "      text: Anything else?"), 12,
        "this is not valid YAML: mapping values are not allowed here"),
    "a ? in braces": (
        edited("  - kind: text\n    text: Anything else?", "  - {kind: text, text: Why?}"), 11,
        "this is not valid YAML: expected ',' or '}', but got '?' (put text with a ? in quotes)"),
    "not a survey at all": (
        "Dear all,\nplease find the survey attached.\n", 1, "this is not a survey"),
    "empty file": ("", 1, "the file is empty"),
    "only comments": ("# nothing yet\n", 1, "the file is empty"),
}


@pytest.mark.parametrize(("text", "line", "message"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_says_where_and_what(text: str, line: int, message: str) -> None:
    with pytest.raises(SurveyFileError) as raised:
        load_survey_yaml(text, source="survey.yaml", zone=LONDON)

    expected = f"survey.yaml, line {line}: {message}"
    problems = str(raised.value).splitlines()
    assert any(problem.startswith(expected) for problem in problems), str(raised.value)


def test_every_mistake_is_listed_in_line_order() -> None:
    text = edited("title:", "titel:").replace("{number: 2,", "{number: 12,").replace(
        "[2 days]", "[later]")

    with pytest.raises(SurveyFileError) as raised:
        load_survey_yaml(text, source="survey.yaml", zone=LONDON)

    assert [(p.line, p.field) for p in raised.value.problems] == [
        (1, "title"), (1, "titel"), (4, "reminders[1]"), (10, "questions[1].options[2].number"),
    ]
    assert str(raised.value).splitlines()[3] == (
        "survey.yaml, line 10: questions[1].options[2].number: must be a whole number from 1 to 9")


@pytest.mark.parametrize("label", ["No", "Yes", "on", "1.10", "12:30", "2026-12-01"])
def test_words_that_look_like_other_things_stay_words(label: str) -> None:
    survey = load_survey_yaml(
        f"title: T\nquestions:\n  - kind: choice\n    text: Pick\n    options:\n"
        f"      - {{number: 1, label: {label}}}\n      - {{number: 2, label: Other}}\n",
        source="t.yaml", zone=LONDON,
    )
    assert survey.questions[0].options[0].label == label


@pytest.mark.parametrize(("text", "line", "message"), [
    ("title: Food\nquestions:\n  - text: What \x13 next?\n", 3, "#x0013"),
    ("title: Food\nquestions: " + "[" * 60 + "]" * 60 + "\n", 2, "nested more than 40"),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
     + "".join(f"{b}: &{b} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
               for p, b in zip("abcde", "bcdef", strict=True)), 5, "more than 100000 parts"),
])
def test_a_file_the_reader_should_not_be_given_is_refused_with_its_line(
    text: str, line: int, message: str
) -> None:
    with pytest.raises(SurveyFileError) as refused:
        load_survey_yaml(text, source="bad.yaml", zone=LONDON)

    assert f"line {line}" in str(refused.value)
    assert message in str(refused.value)


@pytest.mark.parametrize("written", ["99999999 weeks", "367 days", "53 weeks"])
def test_a_reminder_more_than_a_year_ahead_is_refused(written: str) -> None:
    with pytest.raises(ValueError, match="at most a year"):
        parse_reminder(written)


def test_a_reminder_a_year_ahead_is_fine() -> None:
    assert parse_reminder("52 weeks") == timedelta(weeks=52)

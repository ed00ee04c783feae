"""Survey results from answers: counts against an independent count, and the privacy rule."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from bot.conversation import Kind
from bot.surveys.definition import DONT_KNOW, SKIPPED, OptionDef, QuestionDef, SurveyDef
from bot.surveys.results import NOT_KNOWN, AnswerRow, compute_results, shares

FEELINGS = (
    OptionDef(1, "Good", "good", "😀"),
    OptionDef(2, "OK", "ok", "😐"),
    OptionDef(3, "Not good", "not_good", "☹️"),
)
STANDARD = (
    OptionDef(1, "Exactly how we want it", "1", "🌟"),
    OptionDef(2, "There's more to be done", "2", "🙂"),
    OptionDef(3, "They've only just started", "3", "😕"),
    OptionDef(4, "They've not even thought about it", "4", "😞"),
)
SURVEY = SurveyDef(
    title="Your home",
    questions=(
        # Out of order on purpose: results come in position order.
        QuestionDef(2, Kind.SCALE, "Do we listen to you?", STANDARD, standard="3.2"),
        QuestionDef(1, Kind.CHOICE, "How do you feel about your home?", FEELINGS),
        QuestionDef(3, Kind.YES_NO, "Do you feel safe?"),
        QuestionDef(4, Kind.TEXT, "Anything else?"),
    ),
)
PLACES = {
    "Oak Lodge": "North",
    "Elm House": "North",
    "Ash Court": "South",
    "Birch View": "South",
}


def random_answers(seed: int, people: int = 300) -> list[AnswerRow]:
    """Each person answers every question, sometimes "I don't know", sometimes skipping."""
    rng = random.Random(seed)
    rows = []
    for _ in range(people):
        service = rng.choice([*PLACES, None])
        constituency = PLACES[service] if service else rng.choice(["North", None])
        for question in SURVEY.questions:
            roll = rng.random()
            if roll < 0.08:
                rows.append(AnswerRow(question.position, None, SKIPPED, None, service,
                                      constituency))
            elif roll < 0.15:
                rows.append(AnswerRow(question.position, None, DONT_KNOW, None, service,
                                      constituency))
            elif question.kind == Kind.TEXT:
                text = rng.choice(["More trips out", "", "The garden 🌻", "   "])
                rows.append(AnswerRow(question.position, None, "", text, service, constituency))
            else:
                options = question.options or (OptionDef(1, "Yes", "yes"), OptionDef(2, "No", "no"))
                option = rng.choice(options)
                rows.append(AnswerRow(question.position, option.number, option.value, None,
                                      service, constituency))
    return rows


def row(position: int, number: int | None, value: str, service: str | None = None,
        constituency: str | None = None, text: str | None = None) -> AnswerRow:
    return AnswerRow(position, number, value, text, service, constituency)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_match_a_count_made_independently(seed: int) -> None:
    answers = random_answers(seed)
    results = compute_results(survey=SURVEY, answers=answers, audience=400, finished=250,
                              started=290)
    assert [q.position for q in results.questions] == [1, 2, 3, 4]
    for question in results.questions:
        mine = [a for a in answers if a.question_position == question.position]
        values = Counter(a.value for a in mine)
        assert question.skipped == values[SKIPPED]
        assert question.answered == len(mine) - values[SKIPPED]
        assert question.dont_know == values[DONT_KNOW]
        if question.kind == Kind.TEXT:
            assert question.options == ()
            continue
        numbers = Counter(a.option_number for a in mine if a.option_number is not None)
        assert {o.number: o.count for o in question.options} == {
            o.number: numbers[o.number] for o in question.options
        }
        assert sum(o.count for o in question.options) + question.dont_know == question.answered


@pytest.mark.parametrize("seed", [4, 5])
def test_percentages_are_of_those_who_answered_and_add_up_to_100(seed: int) -> None:
    results = compute_results(survey=SURVEY, answers=random_answers(seed), audience=300,
                              finished=200, started=250)
    for question in results.questions[:3]:
        for option in question.options:
            exact = option.count / question.answered * 100
            assert option.percent == pytest.approx(exact, abs=0.1)
            assert option.percent == round(option.percent, 1)
        exact_dont_know = question.dont_know / question.answered * 100
        assert question.dont_know_percent == pytest.approx(exact_dont_know, abs=0.1)
        total = sum(o.percent for o in question.options) + question.dont_know_percent
        assert total == pytest.approx(100.0, abs=1e-9)
    assert results.response_rate == pytest.approx(200 / 300)
    assert (results.audience, results.started, results.finished) == (300, 250, 200)


def test_shares_give_the_rounding_to_the_largest_remainders() -> None:
    assert shares([1, 1, 1], 3) == [33.4, 33.3, 33.3]
    assert shares([2, 1], 3) == [66.7, 33.3]
    assert shares([0, 0], 0) == [0.0, 0.0]
    assert sum(shares([1, 2, 3, 4, 5, 6, 7], 28)) == pytest.approx(100.0)


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_the_middle_of_a_scale_is_the_median_of_the_numbers_picked(seed: int) -> None:
    answers = random_answers(seed)
    results = compute_results(survey=SURVEY, answers=answers, audience=0, finished=0,
                              started=0)
    picked = sorted(
        int(a.value) for a in answers
        if a.question_position == 2 and a.value not in (SKIPPED, DONT_KNOW)
    )
    middle = len(picked) // 2
    expected = picked[middle] if len(picked) % 2 else (picked[middle - 1] + picked[middle]) / 2
    scale = results.questions[1]
    assert scale.median == expected
    assert results.questions[0].median is None  # a choice question has no middle


def test_the_middle_names_its_option_and_can_fall_between_two() -> None:
    on_one = compute_results(
        survey=SURVEY, audience=3, finished=3, started=3,
        answers=[row(2, 1, "1"), row(2, 2, "2"), row(2, 4, "4"), row(2, None, DONT_KNOW)],
    ).questions[1]
    assert on_one.median == 2
    assert on_one.median_option() is not None
    assert on_one.median_option().label == "There's more to be done"  # type: ignore[union-attr]
    between = compute_results(
        survey=SURVEY, audience=2, finished=2, started=2,
        answers=[row(2, 1, "1"), row(2, 2, "2")],
    ).questions[1]
    assert between.median == 1.5
    assert between.median_option() is None


def test_a_scale_with_words_for_values_has_no_middle() -> None:
    survey = SurveyDef("Words", (QuestionDef(1, Kind.SCALE, "How?", FEELINGS),))
    results = compute_results(survey=survey, answers=[row(1, 1, "good")], audience=1,
                              finished=1, started=1)
    assert results.questions[0].median is None


def test_a_service_where_4_answered_shows_fewer_than_5_and_where_5_answered_shows_numbers(
) -> None:
    answers = (
        [row(1, 1, "good", "Elm House", "North")] * 3
        + [row(1, None, DONT_KNOW, "Elm House", "North")]
        + [row(1, None, SKIPPED, "Elm House", "North")] * 3  # skipping is not answering
        + [row(1, 2, "ok", "Oak Lodge", "North")] * 4
        + [row(1, 3, "not_good", "Oak Lodge", "North")]
    )
    results = compute_results(survey=SURVEY, answers=answers, audience=12, finished=12,
                              started=12)
    question = results.questions[0]
    elm, oak = question.by_service
    assert elm.name == "Elm House"
    assert elm.suppressed
    assert (elm.answered, elm.options, elm.dont_know, elm.dont_know_percent) == (
        None, (), None, None
    )
    assert results.suppressed_text == "fewer than 5"
    assert oak.name == "Oak Lodge"
    assert not oak.suppressed
    assert oak.answered == 5
    assert [(o.number, o.count, o.percent) for o in oak.options] == [
        (1, 0, 0.0), (2, 4, 80.0), (3, 1, 20.0)
    ]
    assert oak.dont_know == 0
    (north,) = question.by_constituency
    assert (north.name, north.answered, north.dont_know) == ("North", 9, 1)


def test_the_smallest_group_shown_can_be_chosen() -> None:
    answers = [row(1, 1, "good", "Elm House", "North")] * 2
    results = compute_results(survey=SURVEY, answers=answers, audience=2, finished=2,
                              started=2, min_group=2)
    (elm,) = results.questions[0].by_service
    assert not elm.suppressed
    assert compute_results(survey=SURVEY, answers=answers, audience=2, finished=2, started=2,
                           min_group=3).suppressed_text == "fewer than 3"


def test_answers_from_nowhere_known_go_in_not_known_after_the_named_groups() -> None:
    answers = (
        [row(3, 1, "yes", None, None)] * 6
        + [row(3, 2, "no", "Oak Lodge", "North")] * 5
        + [row(3, 1, "yes", "ash court", "South")] * 5
        + [row(3, 1, "yes", "Birch View", "South")] * 2
    )
    question = compute_results(survey=SURVEY, answers=answers, audience=20, finished=18,
                               started=18).questions[2]
    assert [g.name for g in question.by_service] == [
        "ash court", "Birch View", "Oak Lodge", NOT_KNOWN
    ]
    assert [g.suppressed for g in question.by_service] == [False, True, False, False]
    assert [g.name for g in question.by_constituency] == ["North", "South", NOT_KNOWN]
    not_known = question.by_service[-1]
    assert [(o.label, o.count) for o in not_known.options] == [("Yes", 6), ("No", 0)]
    assert [o.emoji for o in question.options] == ["✅", "❌"]


def test_every_group_shown_adds_up() -> None:
    results = compute_results(survey=SURVEY, answers=random_answers(9), audience=300,
                              finished=300, started=300)
    for question in results.questions[:3]:
        for groups in (question.by_service, question.by_constituency):
            shown = [g for g in groups if not g.suppressed]
            assert shown
            assert sum(g.answered or 0 for g in groups) <= question.answered
            for group in shown:
                assert sum(o.count for o in group.options) + (group.dont_know or 0) == (
                    group.answered
                )
                assert sum(o.percent for o in group.options) + (
                    group.dont_know_percent or 0
                ) == pytest.approx(100.0)


def test_written_answers_are_listed_in_order_without_the_empty_ones() -> None:
    answers = [
        row(4, None, "", text="More trips out"),
        row(4, None, "", text="   "),
        row(4, None, SKIPPED),
        row(4, None, "", text=None),
        row(4, None, DONT_KNOW),
        row(4, None, "", text="A bigger garden"),
    ]
    question = compute_results(survey=SURVEY, answers=answers, audience=6, finished=6,
                               started=6).questions[3]
    assert question.texts == ("More trips out", "A bigger garden")
    assert (question.answered, question.skipped, question.dont_know) == (5, 1, 1)
    assert question.dont_know_percent == 20.0
    assert question.by_service == ()
    assert not question.charted


def test_a_survey_nobody_answered_has_zeros_and_no_division_by_zero() -> None:
    results = compute_results(survey=SURVEY, answers=[], audience=0, finished=0, started=0)
    assert results.response_rate == 0
    assert results.title == "Your home"
    for question in results.questions:
        assert (question.answered, question.skipped, question.dont_know) == (0, 0, 0)
        assert all(o.count == 0 and o.percent == 0 for o in question.options)
        assert question.dont_know_percent == 0
        assert question.median is None
        assert question.by_service == question.by_constituency == ()
        assert question.texts == ()


def test_answers_to_a_question_the_survey_lacks_are_left_out_and_stray_options_kept() -> None:
    answers = [row(9, 1, "good"), row(1, 7, "purple"), row(1, 1, "good")]
    question = compute_results(survey=SURVEY, answers=answers, audience=2, finished=2,
                               started=2).questions[0]
    assert question.answered == 2
    assert [(o.number, o.label, o.count, o.percent) for o in question.options] == [
        (1, "Good", 1, 50.0), (2, "OK", 0, 0.0), (3, "Not good", 0, 0.0), (7, "purple", 1, 50.0)
    ]

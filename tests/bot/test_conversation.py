"""Questions of every kind, read through the same interpreter."""

from __future__ import annotations

import pytest

from bot.answers import load_vocabulary, yes_no_choices
from bot.catalogue import load_catalogue
from bot.conversation import Kind, Pending, Question, interpret, render_question
from bot.messages import Option

EN = load_vocabulary("en")
YES, NO = yes_no_choices(EN, "Yes", "No")
YES_NO = Question(
    kind=Kind.YES_NO,
    prompt="Do you like the new garden?",
    options=tuple(Option(c.number, c.label, c.label.lower(), c.emoji, aliases=c.aliases)
                  for c in (YES, NO)),
)
STANDARDS_SCALE = Question(
    kind=Kind.SCALE,
    prompt="3.2 People can have their say in many ways.",
    options=(
        Option(1, "Exactly how we want it", "1", "😀"),
        Option(2, "There's more to be done", "2", "🙂"),
        Option(3, "They've only just started", "3", "😐"),
        Option(4, "They've not even thought about it", "4", "☹️"),
    ),
)
TEXT = Question(kind=Kind.TEXT, prompt="What would make this better?")


@pytest.mark.parametrize(("reply", "value"), [("yeah", "yes"), ("👍", "yes"), ("1", "yes"),
                                              ("Nope", "no"), ("2", "no"), ("n", "no")])
def test_yes_no_questions(reply, value):
    answer = interpret(YES_NO, reply, EN)
    assert answer is not None
    assert answer.option is not None
    assert answer.option.value == value


@pytest.mark.parametrize(("reply", "value"), [("😐", "3"), ("3", "3"), ("three", "3"),
                                              ("there's more to be done", "2"), ("☹", "4")])
def test_the_participation_standards_scale(reply, value):
    answer = interpret(STANDARDS_SCALE, reply, EN)
    assert answer is not None
    assert answer.option is not None
    assert answer.option.value == value


@pytest.mark.parametrize("reply", ["maybe", "5", "yes", "", "😀😐"])
def test_replies_that_pick_no_point_on_the_scale(reply):
    assert interpret(STANDARDS_SCALE, reply, EN) is None


def test_a_text_question_takes_any_words_but_not_nothing():
    answer = interpret(TEXT, "  More staff at weekends  ", EN)
    assert answer is not None
    assert (answer.text, answer.option) == ("More staff at weekends", None)
    assert interpret(TEXT, " \n ", EN) is None


def test_a_question_is_rendered_with_its_options_and_how_to_answer():
    message = render_question(STANDARDS_SCALE, load_catalogue("en"), easy=True, before="Hi")
    assert message.text == "Hi\n3.2 People can have their say in many ways."
    assert message.options == STANDARDS_SCALE.options
    assert message.footer == "Send the number. 🔢"
    assert render_question(TEXT, load_catalogue("en"), easy=True).footer == ""


def test_moving_on_keeps_what_was_gathered_and_clears_the_misses():
    pending = Pending("survey", "q1", {"survey_id": 4}, misses=2)
    assert pending.moved_on("q2", answered=1) == Pending(
        "survey", "q2", {"survey_id": 4, "answered": 1}, misses=0
    )

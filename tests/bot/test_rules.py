"""The conversation rules with no database and no channel: state in, turn out."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.answers import load_vocabulary
from bot.catalogue import load_catalogue
from bot.conversation import Pending, Turn
from bot.flows import standard_flows
from bot.flows.idea import AddIdeaPhoto, KeepIdeaAnonymous, SaveIdea, SetIdeaTopic
from bot.rules import OptIn, OptOut, PersonView, Rejoin, Script, take_step

SCRIPT = Script(
    flows=standard_flows(), texts=load_catalogue("en"), vocabulary=load_vocabulary("en")
)
ANN = PersonView(id=1, opted_out=False)
MENU = Pending("menu", "choose")
IDEA_TEXT = Pending("idea", "text")


def step(text: str, pending: Pending | None = None, person: PersonView = ANN) -> Turn:
    return take_step(person=person, pending=pending, text=text, script=SCRIPT)


def texts_of(turn: Turn) -> list[str]:
    return [message.text for message in turn.say]


def labels_of(turn: Turn) -> list[str]:
    return [option.label for option in turn.say[-1].options]


def test_a_greeting_with_nothing_pending_shows_the_menu():
    turn = step("hello")
    assert turn.next == MENU
    assert texts_of(turn) == ["Hello! 👋\nWhat would you like to do?"]
    assert labels_of(turn) == ["Tell us an idea", "Answer a survey", "Vote", "Get help"]
    assert turn.say[0].footer == "Send the number. 🔢"
    assert turn.effects == ()


@pytest.mark.parametrize("reply", ["1", " 1.", "one", "One!", "1️⃣", "💡", "idea", "number 1"])
def test_the_menu_understands_the_ways_people_pick_an_idea(reply):
    turn = step(reply, MENU)
    assert turn.next == IDEA_TEXT
    assert texts_of(turn) == ["What is your idea? 💡\nWrite it in one message."]


def test_the_idea_keyword_starts_the_idea_flow_from_anywhere_quiet():
    assert step("IDEA").next == IDEA_TEXT
    assert step("Suggestion").next == IDEA_TEXT


def test_an_idea_is_saved_as_soon_as_it_is_written_then_its_topic_is_asked():
    turn = step("We want a garden with flowers", IDEA_TEXT)
    assert turn.effects == (SaveIdea(text="We want a garden with flowers"),)
    assert turn.next == Pending("idea", "topic")
    assert labels_of(turn) == [
        "Where I live", "Food", "Things to do", "Staff", "Getting out", "Something else",
    ]
    assert [option.emoji for option in turn.say[-1].options] == ["🏠", "🍎", "🎉", "👥", "🚌", "✨"]


@pytest.mark.parametrize(("reply", "topic"), [("2", "food"), ("🍎", "food"), ("staf", "staff"),
                                              ("Getting out", "travel"), ("six", "other")])
def test_the_topic_answer_is_recorded_then_we_ask_whether_to_name_them(reply, topic):
    pending = Pending("idea", "topic", {"suggestion_id": 41})
    turn = step(reply, pending)
    assert turn.effects == (SetIdeaTopic(suggestion_id=41, topic=topic),)
    assert turn.next == Pending("idea", "named", {"suggestion_id": 41})
    assert texts_of(turn)[0].startswith("Can we tell staff this idea is from you?")


@pytest.mark.parametrize(("reply", "anonymous"), [("yes", False), ("1", False), ("nope", True),
                                                  ("2", True), ("🤐", True)])
def test_a_person_may_keep_their_name_out_of_an_idea(reply, anonymous):
    turn = step(reply, Pending("idea", "named", {"suggestion_id": 41}))
    assert turn.effects == ((KeepIdeaAnonymous(suggestion_id=41),) if anonymous else ())
    assert turn.next == Pending("idea", "photo", {"suggestion_id": 41})
    assert texts_of(turn)[0].startswith("Do you have a photo for your idea?")


@pytest.mark.parametrize(("reply", "photo"), [("skip", False), ("SKIP", False), ("", True),
                                              ("here it is", True)])
def test_the_photo_question_takes_a_photo_or_skip_then_gives_the_number(reply, photo):
    turn = step(reply, Pending("idea", "photo", {"suggestion_id": 41}))
    assert turn.effects == ((AddIdeaPhoto(suggestion_id=41),) if photo else ())
    assert turn.next is None
    assert "Your idea number is 41." in texts_of(turn)[0]


@pytest.mark.parametrize("idea", ["My key worker hit me", "I am scared of the man upstairs",
                                  "Someone STOLE MY MONEY!", "I feel unsafe at night"])
def test_an_idea_that_suggests_someone_is_at_risk_stops_and_is_flagged(idea):
    turn = step(idea, IDEA_TEXT)
    [effect] = turn.effects
    assert isinstance(effect, SaveIdea)
    assert effect.concern
    assert turn.next is None
    assert texts_of(turn)[0].startswith("Thank you for telling us. 💛")


@pytest.mark.parametrize("idea", ["A trip to the harbour", "Hit songs at the disco",
                                  "Harmony singing group", "More safe crossings"])
def test_ordinary_ideas_raise_no_concern(idea):
    turn = step(idea, IDEA_TEXT)
    assert turn.effects == (SaveIdea(text=idea),)


def test_a_long_idea_is_kept_whole():
    idea = "We would like more trips to the seaside. " * 250
    turn = step(idea, IDEA_TEXT)
    assert turn.effects == (SaveIdea(text=idea.strip()),)


def test_an_empty_idea_gets_a_kind_nudge_and_is_asked_again():
    turn = step("   ", IDEA_TEXT)
    assert turn.effects == ()
    assert turn.next == replace(IDEA_TEXT, misses=1)
    assert texts_of(turn) == ["Please write your idea in words. ✍️\nWhat is your idea? 💡\n"
                              "Write it in one message."]


def test_a_reply_that_makes_no_sense_is_re_asked_with_the_options_then_help_is_offered():
    first = step("banana", MENU)
    assert first.next == replace(MENU, misses=1)
    assert texts_of(first) == ["Sorry. I did not understand. 🙂\nWhat would you like to do?"]
    assert labels_of(first) == ["Tell us an idea", "Answer a survey", "Vote", "Get help"]
    second = step("banana", first.next)
    assert second.next == replace(MENU, misses=2)
    assert texts_of(second)[0] == "Do you need help? 🤝 Send HELP."
    assert labels_of(second) == ["Tell us an idea", "Answer a survey", "Vote", "Get help"]
    assert not any("invalid" in text.lower() for text in texts_of(first) + texts_of(second))


@pytest.mark.parametrize(
    "reply", ["STOP", "stop", " Stop! ", "/stop", "Stop all", "STOPALL", "UNSUBSCRIBE", "cancel",
              "Quit", "end."],
)
def test_stop_and_its_synonyms_opt_out_from_anywhere(reply):
    for pending in (None, MENU, IDEA_TEXT):
        turn = step(reply, pending)
        assert turn.effects == (OptOut(),)
        assert turn.next is None
        assert texts_of(turn) == ["OK. You will not get any more messages. ✋\n"
                                  "Send START if you change your mind."]


@pytest.mark.parametrize("reply", ["hello", "1", "idea", "menu", "stop", "I want to say something"])
def test_someone_who_stopped_gets_nothing_back(reply):
    stopped = replace(ANN, opted_out=True)
    turn = step(reply, MENU, stopped)
    assert turn == Turn(next=MENU)


@pytest.mark.parametrize("reply", ["START", "start", "Unstop", "yes", "YES", "/start"])
def test_start_brings_someone_back_with_the_menu(reply):
    turn = step(reply, None, replace(ANN, opted_out=True))
    assert turn.effects == (OptIn(),)
    assert texts_of(turn)[0] == "Welcome back! 😀 You will get messages again."
    assert turn.next == MENU


def test_yes_is_an_answer_not_a_restart_for_someone_who_has_not_stopped():
    turn = step("yes", MENU)
    assert OptIn() not in turn.effects
    assert turn.next == replace(MENU, misses=1)


def test_help_while_stopped_says_how_to_start_again():
    turn = step("help", None, replace(ANN, opted_out=True))
    assert texts_of(turn) == ["You have stopped messages from Voicebank. ✋\n"
                              "Send START to get them again. ▶️"]
    assert turn.effects == ()


def test_help_in_the_middle_of_a_question_helps_then_asks_it_again():
    pending = Pending("idea", "topic", {"suggestion_id": 3}, misses=2)
    turn = step("HELP", pending)
    assert texts_of(turn)[0].startswith("Voicebank helps you tell us what you think.")
    assert texts_of(turn)[1] == "Thank you! What is your idea about?"
    assert turn.next == replace(pending, misses=0)


def test_help_names_the_supporter_in_the_persons_profile():
    turn = step("help", None, replace(ANN, supporter="Mike"))
    assert "You can ask Mike to help you. 🤝" in texts_of(turn)[0]
    assert "support worker" in texts_of(step("help"))[0]


def test_help_in_plain_words_for_someone_who_prefers_them():
    turn = step("help", None, replace(ANN, easy_words=False))
    assert texts_of(turn)[0].startswith("Voicebank is how you can tell us what you think")


def test_the_menu_entry_for_help_gives_help_and_ends_the_question():
    turn = step("4", MENU)
    assert turn.next is None
    assert texts_of(turn)[0].startswith("Voicebank helps you")


def test_menu_leaves_a_flow_and_shows_the_menu():
    turn = step("MENU", Pending("idea", "topic", {"suggestion_id": 3}))
    assert turn.next == MENU
    assert turn.effects == ()


def test_join_with_a_code_from_someone_known_asks_to_move_them():
    assert step("JOIN oak 3", MENU).effects == (Rejoin(code="OAK3"),)
    assert step("join OAK3", None).next is None


def test_a_question_from_a_flow_that_no_longer_exists_falls_back_to_the_menu():
    turn = step("1", Pending("retired-flow", "somewhere"))
    assert turn.next == MENU


def test_a_flow_keyword_that_is_no_answer_to_the_pending_question_starts_that_flow():
    turn = step("idea", Pending("idea", "topic", {"suggestion_id": 3}, misses=1))
    assert turn.next == IDEA_TEXT


def test_a_flow_keyword_is_taken_as_the_answer_to_a_text_question():
    assert step("idea", IDEA_TEXT).effects == (SaveIdea(text="idea"),)

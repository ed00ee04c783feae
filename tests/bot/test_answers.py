"""Real-looking replies to numbered questions, and what the answer parser makes of them."""

from __future__ import annotations

import time

import pytest

from bot.answers import (
    Choice,
    Vocabulary,
    _parse_any,
    clean_text,
    load_vocabulary,
    parse_choice,
    yes_no_choices,
)

EN = load_vocabulary("en")

TOPICS = (
    Choice(1, "Where I live", "🏠"),
    Choice(2, "Food", "🍎"),
    Choice(3, "Things to do", "🎉"),
    Choice(4, "Staff", "👥"),
    Choice(5, "Getting out", "🚌"),
    Choice(6, "Something else", "✨"),
)

PARTICIPATION = (
    Choice(1, "Exactly how we want it", "😀"),
    Choice(2, "There's more to be done", "🙂"),
    Choice(3, "They've only just started", "😐"),
    Choice(4, "They've not even thought about it", "☹️"),
)

YES_NO = yes_no_choices(EN, "Yes", "No")

SMILEYS = (
    Choice(1, "Happy", "😀"),
    Choice(2, "OK", "🙂"),
    Choice(3, "Not sure", "😐"),
    Choice(4, "Sad", "🙁"),
    Choice(5, "Very sad", "😢"),
)

QUESTIONS = {
    "topics": TOPICS,
    "participation": PARTICIPATION,
    "yes_no": YES_NO,
    "smileys": SMILEYS,
}

# (question, reply, expected option number or None, id)
REPLIES = [
    # --- topics: numbers in every shape ---
    ("topics", "2", 2, "bare digit"),
    ("topics", " 2.", 2, "digit with space and full stop"),
    ("topics", "02", 2, "leading zero"),
    ("topics", "two", 2, "number word"),
    ("topics", "Two!", 2, "capitalised number word with bang"),
    ("topics", "2️⃣", 2, "keycap emoji"),
    ("topics", "2\u20e3", 2, "keycap without variation selector"),
    ("topics", "number 2", 2, "number prefix"),
    ("topics", "Number two", 2, "number prefix with word"),
    ("topics", "vote 2", 2, "vote prefix"),
    ("topics", "#2", 2, "hash digit"),
    ("topics", "2nd", 2, "ordinal with digits"),
    ("topics", "second", 2, "ordinal word"),
    ("topics", "option #3", 3, "option hash digit"),
    ("topics", "no. 2", 2, "no dot abbreviation"),
    ("topics", "No.2", 2, "no dot without space"),
    ("topics", "i pick 2", 2, "i pick prefix"),
    ("topics", "I vote four", 4, "i vote number word"),
    ("topics", "It's 5", 5, "its prefix with apostrophe"),
    ("topics", "my answer is 6", 6, "long prefix"),
    ("topics", "\uff16", 6, "fullwidth digit"),
    ("topics", "\u200b3", 3, "zero width space before digit"),
    ("topics", "1\n", 1, "trailing newline"),
    # --- topics: emoji and labels ---
    ("topics", "🍎", 2, "option emoji"),
    ("topics", "🍎🍎", 2, "repeated option emoji"),
    ("topics", "👥", 4, "staff emoji"),
    ("topics", "✨", 6, "sparkles emoji"),
    ("topics", "🍎 Food", 2, "emoji then label"),
    ("topics", "Food 🍎", 2, "label then emoji"),
    ("topics", "🍎Food", 2, "emoji stuck to label"),
    ("topics", "2 Food", 2, "number then label"),
    ("topics", "2️⃣ 🍎 Food", 2, "menu line copied back"),
    ("topics", "food", 2, "label lower case"),
    ("topics", "FOOD!!", 2, "label shouted"),
    ("topics", "fod", 2, "label missing letter"),
    ("topics", "foood", 2, "label held letter"),
    ("topics", "Where I live", 1, "multi word label"),
    ("topics", "wher i live", 1, "multi word label typo"),
    ("topics", "things to do", 3, "label containing number word"),
    ("topics", "thngs to do", 3, "typo of label containing number word"),
    ("topics", "staf", 4, "short label typo"),
    ("topics", "Getting out", 5, "getting out"),
    ("topics", "somthing else", 6, "something else typo"),
    # --- topics: must not match ---
    ("topics", "22", None, "number not an option"),
    ("topics", "0", None, "zero"),
    ("topics", "7", None, "one past the end"),
    ("topics", "🔟", None, "keycap ten not an option"),
    ("topics", "2 or 3", None, "two numbers with or"),
    ("topics", "1 2", None, "two numbers"),
    ("topics", "2,3", None, "two numbers with comma"),
    ("topics", "2.5", None, "decimal"),
    ("topics", "food or staff", None, "two labels"),
    ("topics", "3 food", None, "number and label disagree"),
    ("topics", "🏠 food", None, "emoji and label disagree"),
    ("topics", "🍎🏠", None, "two different emoji"),
    ("topics", "🍕", None, "emoji not an option"),
    ("topics", "food 🍎 staff", None, "emoji between two labels"),
    ("topics", "yes", None, "yes without a yes option"),
    ("topics", "no", None, "no without a no option"),
    ("topics", "maybe", None, "maybe"),
    ("topics", "hello", None, "greeting"),
    ("topics", "I don't know", None, "dont know"),
    ("topics", "stuff", None, "real word near staff"),
    ("topics", "things", None, "part of a label"),
    ("topics", "foo", None, "too short to guess from"),
    ("topics", "number", None, "prefix alone"),
    ("topics", "no one", None, "no one means nobody"),
    ("topics", "food please", None, "label with extra word"),
    ("topics", "", None, "empty"),
    ("topics", "   ", None, "whitespace"),
    ("topics", "?!...", None, "only punctuation"),
    ("topics", "I think the food here is really nice actually", None, "long sentence"),
    # --- participation standards ---
    ("participation", "1", 1, "scale digit"),
    ("participation", "😀", 1, "scale emoji"),
    ("participation", "😀😀", 1, "scale emoji twice"),
    ("participation", "Exactly how we want it", 1, "scale label"),
    ("participation", "exactly how i want it", 1, "scale label one word changed"),
    ("participation", "There's more to be done", 2, "label with apostrophe"),
    ("participation", "There\u2019s more to be done", 2, "label with curly apostrophe"),
    ("participation", "theres more to be done", 2, "label without apostrophe"),
    ("participation", "theyve only just startd", 3, "scale label typo"),
    ("participation", "☹️", 4, "frown with variation selector"),
    ("participation", "☹", 4, "frown without variation selector"),
    ("participation", "They\u2019ve not even thought about it", 4, "longest label"),
    ("participation", "4️⃣", 4, "scale keycap"),
    ("participation", "fourth", 4, "scale ordinal word"),
    ("participation", "5", None, "scale out of range"),
    ("participation", "😊", None, "smile not on the scale"),
    ("participation", "😀🙂", None, "two scale emoji"),
    ("participation", "exactly", None, "first word of a label"),
    ("participation", "yes", None, "yes on a scale"),
    # --- yes / no ---
    ("yes_no", "yes", 1, "yes"),
    ("yes_no", "Y", 1, "y"),
    ("yes_no", "yeah", 1, "yeah"),
    ("yes_no", "ok", 1, "ok"),
    ("yes_no", "Yes please!", 1, "yes please"),
    ("yes_no", "yesss", 1, "held yes"),
    ("yes_no", "yes yes", 1, "yes twice"),
    ("yes_no", "👍", 1, "thumbs up"),
    ("yes_no", "👍🏽", 1, "thumbs up with skin tone"),
    ("yes_no", "✅", 1, "check mark"),
    ("yes_no", "yes 👍", 1, "yes with thumbs up"),
    ("yes_no", "1", 1, "yes by number"),
    ("yes_no", "no", 2, "no"),
    ("yes_no", "Nope.", 2, "nope"),
    ("yes_no", "N", 2, "n"),
    ("yes_no", "no thank you", 2, "no thank you"),
    ("yes_no", "nooo", 2, "held no"),
    ("yes_no", "👎", 2, "thumbs down"),
    ("yes_no", "2", 2, "no by number"),
    ("yes_no", "no 2", 2, "no then its number"),
    ("yes_no", "yes no", None, "yes and no"),
    ("yes_no", "no 1", None, "no then the yes number"),
    ("yes_no", "yes 👎", None, "yes with thumbs down"),
    ("yes_no", "yes 2", None, "yes with the no number"),
    ("yes_no", "3", None, "no third option"),
    ("yes_no", "maybe", None, "maybe on yes no"),
    ("yes_no", "🍎", None, "unrelated emoji"),
    # --- smiley scale ---
    ("smileys", "happy", 1, "smiley label"),
    ("smileys", "hapy", 1, "smiley label typo"),
    ("smileys", "ok", 2, "ok is a label here"),
    ("smileys", "🙂🙂🙂", 2, "smiley repeated"),
    ("smileys", "not sure", 3, "not sure"),
    ("smileys", "sad", 4, "sad"),
    ("smileys", "very sad", 5, "very sad"),
    ("smileys", "vry sad", 5, "very sad typo"),
    ("smileys", "😢", 5, "crying"),
    ("smileys", "so sad", None, "other sad phrase"),
    ("smileys", "☹️", None, "frown not on this scale"),
    ("smileys", "okay", None, "okay is not the label ok"),
    ("smileys", "6", None, "smiley out of range"),
]


@pytest.mark.parametrize(
    ("question", "reply", "expected"),
    [pytest.param(q, reply, want, id=f"{q}: {name}") for q, reply, want, name in REPLIES],
)
def test_parse_choice(question: str, reply: str, expected: int | None) -> None:
    assert parse_choice(reply, QUESTIONS[question], EN) == expected


def test_table_is_big_and_has_misses() -> None:
    misses = [row for row in REPLIES if row[2] is None]
    assert len(REPLIES) >= 70
    assert len(misses) >= 20


def test_no_options_means_no_answer() -> None:
    assert parse_choice("1", (), EN) is None


def test_ten_thousand_character_reply_is_none_and_fast() -> None:
    reply = "food " * 2000
    start = time.perf_counter()
    assert parse_choice(reply, TOPICS, EN) is None
    assert time.perf_counter() - start < 0.5


def test_long_padding_around_a_number_still_counts() -> None:
    assert parse_choice("2" + " " * 9999, TOPICS, EN) == 2


def test_yes_no_choices_shape() -> None:
    yes, no = yes_no_choices(EN, "Yes", "No")
    assert (yes.number, yes.label, yes.emoji) == (1, "Yes", "✅")
    assert (no.number, no.label, no.emoji) == (2, "No", "❌")
    assert list(yes.aliases) == sorted(EN.yes)
    assert "yeah" in yes.aliases
    assert "nope" in no.aliases
    assert not set(yes.aliases) & set(no.aliases)


def test_other_language_uses_its_own_words() -> None:
    french = Vocabulary.from_toml(
        {
            "yes": ["oui", "d'accord"],
            "no": ["non"],
            "number_prefixes": ["numéro"],
            "numbers": {"deux": 2, "un": 1},
        }
    )
    oui, non = yes_no_choices(french, "Oui", "Non")
    assert parse_choice("numéro deux", TOPICS, french) == 2
    assert parse_choice("D\u2019accord", (oui, non), french) == 1
    assert parse_choice("non", (oui, non), french) == 2
    assert parse_choice("two", TOPICS, french) is None
    assert parse_choice("yes", (oui, non), french) is None


def test_from_toml_rejects_bad_numbers() -> None:
    with pytest.raises(ValueError, match="integer"):
        Vocabulary.from_toml({"numbers": {"two": "2"}})


def test_load_vocabulary_english() -> None:
    assert "yes" in EN.yes
    assert "nope" in EN.no
    assert EN.number_words["two"] == 2
    assert EN.number_words["2nd"] == 2
    assert "number" in EN.number_prefixes


@pytest.mark.parametrize("language", ["xx", "../en", ""])
def test_load_vocabulary_falls_back_to_english(language: str) -> None:
    assert load_vocabulary(language) == EN


def test_clean_text_removes_nul_and_controls() -> None:
    assert clean_text("a\x00b\x07c\x9fd") == "abcd"


def test_clean_text_keeps_newline_and_tab_inside() -> None:
    assert clean_text("  one\ttwo\nthree  ") == "one\ttwo\nthree"


def test_clean_text_replaces_lone_surrogate() -> None:
    cleaned = clean_text("hi \ud83d there")
    assert cleaned == "hi \ufffd there"
    cleaned.encode("utf-8")  # would raise UnicodeEncodeError if a surrogate were left


def test_clean_text_joins_surrogate_pair() -> None:
    assert clean_text("\ud83d\ude00") == "😀"


def test_clean_text_keeps_long_text_whole() -> None:
    text = "word " * 1999 + "last!"
    assert len(text) == 10_000
    assert clean_text(text) == text


def test_clean_text_applies_nfc() -> None:
    assert clean_text("cafe\u0301") == "caf\u00e9"


def test_a_parser_kept_for_one_question_never_answers_for_another() -> None:
    vocabulary = Vocabulary.from_toml({"numbers": {"two": 2}})
    food_first = (Choice(1, "Food", "🍎"), Choice(2, "Staff", "👥"))
    staff_first = (Choice(1, "Staff", "👥"), Choice(2, "Food", "🍎"))
    for _ in range(2):  # the second time round, both parsers are the kept ones
        assert parse_choice("food", food_first, vocabulary) == 1
        assert parse_choice("food", staff_first, vocabulary) == 2
        assert parse_choice("two", food_first, vocabulary) == 2
    assert len(vocabulary.parsers) == 2


def test_a_vocabulary_keeps_a_bounded_number_of_parsers() -> None:
    vocabulary = Vocabulary.from_toml({})
    for number in range(1, 600):
        options = (Choice(1, f"Thing {number}"), Choice(2, "Something else"))
        assert parse_choice(f"thing {number}", options, vocabulary) == 1
    assert 0 < len(vocabulary.parsers) <= 256
    assert vocabulary == Vocabulary.from_toml({})  # what it keeps is not what it is


def test_a_reply_of_plain_digits_means_what_the_whole_parser_makes_of_it() -> None:
    """Plain digits skip normalising (it would change nothing); the answer is the same."""
    vocabulary = load_vocabulary("en")
    option_sets = [
        [Choice(1, "Good", "😀"), Choice(2, "OK", "😐"), Choice(3, "Not good", "🙁")],
        [Choice(1, "2", "🍎"), Choice(2, "Two", "🍌")],  # a label that is another's number
        [Choice(number, f"Option {number}") for number in range(1, 11)],
        list(yes_no_choices(vocabulary, "Yes", "No")),
    ]
    replies = [str(number) for number in range(0, 25)] + ["007", "02", "10", "1" * 250]
    for options in option_sets:
        for reply in replies:
            assert parse_choice(reply, options, vocabulary) == _parse_any(
                reply, options, vocabulary), (reply, options)

"""SMS bodies: GSM-7 or UCS-2, segments as carriers bill them, and clean splits."""

from __future__ import annotations

import itertools

import pytest

from channels.sms_text import (
    GSM7_BASIC,
    GSM7_EXTENDED,
    SegmentCount,
    SmsStyle,
    count_segments,
    is_gsm7,
    plain_punctuation,
    render_sms,
    sms_bodies,
    split_sms,
    total_segments,
)

ZHE = "\u0436"  # Cyrillic small letter zhe: in the BMP, not GSM-7, so one UCS-2 unit
FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # woman, woman, girl: 8 UTF-16 units
KEYCAP_ONE = "1\ufe0f\u20e3"
FLAG_GB = "\U0001f1ec\U0001f1e7"
THUMBS_UP_MEDIUM = "\U0001f44d\U0001f3fd"

SURVEY_OPTIONS = (
    {"number": 1, "emoji": "😀", "label": "Exactly how we want it"},
    {"number": 2, "emoji": "🙂", "label": "There\u2019s more to be done", "picture": "ok.png"},
    {"number": 3, "emoji": "", "label": "I don\u2019t know"},
)
SURVEY_TEXT = (
    "How is the food at Oak House? \U0001f37d\ufe0f Think about the last week \u2013 lunch too."
)
SURVEY_FOOTER = "Send the number. 🔢"


def words_of(parts: list[str]) -> list[str]:
    return " ".join(parts).split()


# --- GSM-7 detection -------------------------------------------------------------------


def test_the_alphabets_are_the_gsm_03_38_tables() -> None:
    assert len(GSM7_BASIC) == 127
    assert set("^{}\\[~]|\u20ac") <= GSM7_EXTENDED
    assert not GSM7_BASIC & GSM7_EXTENDED
    assert {"@", "\u00a3", "\u00e9", "\u0394", "\u00df", "\n", "\u00e0"} <= GSM7_BASIC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("Hello Ann, how are you?", True),
        ("Caf\u00e9 at 5 @ \u00a33.50\nBring \u00c5se & \u00d8yvind", True),
        ("Costs \u20ac5 {maybe} [or] ~6 | 2^3 \\ done", True),
        ("It\u2019s fine", False),
        ("Good 😀", False),
        ("\u043f\u0440\u0438\u0432\u0435\u0442", False),
        ("gar\u00e7on", False),  # only the capital C cedilla is in the alphabet
        ("tab\there", False),
        ("back`tick", False),
    ],
)
def test_is_gsm7(text: str, expected: bool) -> None:
    assert is_gsm7(text) is expected


# --- Segment counts --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SegmentCount("GSM-7", 0, 1)),
        ("a" * 160, SegmentCount("GSM-7", 160, 1)),
        ("a" * 161, SegmentCount("GSM-7", 161, 2)),
        ("a" * 306, SegmentCount("GSM-7", 306, 2)),
        ("a" * 307, SegmentCount("GSM-7", 307, 3)),
        ("\u20ac", SegmentCount("GSM-7", 2, 1)),
        ("Only \u20ac5", SegmentCount("GSM-7", 8, 1)),
        ("a" * 158 + "\u20ac", SegmentCount("GSM-7", 160, 1)),
        ("a" * 159 + "\u20ac", SegmentCount("GSM-7", 161, 2)),
        (ZHE * 70, SegmentCount("UCS-2", 70, 1)),
        (ZHE * 71, SegmentCount("UCS-2", 71, 2)),
        (ZHE * 134, SegmentCount("UCS-2", 134, 2)),
        (ZHE * 135, SegmentCount("UCS-2", 135, 3)),
        ("😀", SegmentCount("UCS-2", 2, 1)),
        ("a" * 68 + "😀", SegmentCount("UCS-2", 70, 1)),
        ("a" * 69 + "😀", SegmentCount("UCS-2", 71, 2)),
        (FAMILY, SegmentCount("UCS-2", 8, 1)),
    ],
)
def test_count_segments(text: str, expected: SegmentCount) -> None:
    assert count_segments(text) == expected


@pytest.mark.parametrize(
    ("text", "units", "segments"),
    [
        # 66 units, then an emoji that would straddle the 67-unit boundary: it moves whole
        # to the second segment, which then overflows into a third.
        (ZHE * 66 + "😀" + ZHE * 66, 134, 3),
        # The same size with the emoji clear of the boundary needs only two.
        (ZHE * 67 + "😀" + ZHE * 65, 134, 2),
        # A GSM-7 escape pair is never split across the 153-septet boundary either.
        ("a" * 152 + "\u20ac" + "a" * 152, 306, 3),
        ("a" * 151 + "\u20ac" + "a" * 153, 306, 2),
    ],
)
def test_a_pair_never_straddles_a_segment_boundary(text: str, units: int, segments: int) -> None:
    count = count_segments(text)

    assert (count.units, count.segments) == (units, segments)


# --- Plain punctuation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\u2018Hi\u2019 it\u2019s me", "'Hi' it's me"),
        ("\u201cYes\u201d", '"Yes"'),
        ("9\u201310 \u2014 or later", "9-10 - or later"),
        ("Wait\u2026", "Wait..."),
        ("Oak\u00a0House", "Oak House"),
        ("\u2022 tea\n\u2022 cake", "- tea\n- cake"),
        ("Plain text stays.", "Plain text stays."),
    ],
)
def test_plain_punctuation(text: str, expected: str) -> None:
    assert plain_punctuation(text) == expected
    assert is_gsm7(plain_punctuation(text))


# --- Rendering -------------------------------------------------------------------------


def test_render_with_emoji_keeps_them_and_numbers_each_option() -> None:
    body = render_sms(
        text=SURVEY_TEXT, options=SURVEY_OPTIONS, footer=SURVEY_FOOTER, style=SmsStyle()
    )

    assert body == (
        f"{SURVEY_TEXT}\n"
        "\n"
        "1 😀 Exactly how we want it\n"
        "2 🙂 There\u2019s more to be done\n"
        "3 I don\u2019t know\n"
        "\n"
        "Send the number. 🔢"
    )
    assert count_segments(body).encoding == "UCS-2"


def test_render_without_emoji_drops_them_and_is_gsm7() -> None:
    body = render_sms(
        text=SURVEY_TEXT,
        options=SURVEY_OPTIONS,
        footer=SURVEY_FOOTER,
        style=SmsStyle(emoji=False),
    )

    assert body == (
        "How is the food at Oak House? Think about the last week - lunch too.\n"
        "\n"
        "1 Exactly how we want it\n"
        "2 There's more to be done\n"
        "3 I don't know\n"
        "\n"
        "Send the number."
    )
    assert is_gsm7(body)
    assert count_segments(body) == SegmentCount("GSM-7", len(body), 1)


@pytest.mark.parametrize(
    ("text", "options", "footer", "expected"),
    [
        ("Thank you, Ann.", (), "", "Thank you, Ann."),
        ("Thank you.", (), "Reply STOP to stop.", "Thank you.\n\nReply STOP to stop."),
        ("", ({"number": 1, "emoji": "", "label": "Yes"},), "", "1 Yes"),
        ("  Hi  \n", ({"number": 1, "label": "Yes"},), "  ", "Hi\n\n1 Yes"),
    ],
)
def test_render_omits_empty_parts(
    text: str, options: tuple[dict[str, object], ...], footer: str, expected: str
) -> None:
    assert render_sms(text=text, options=options, footer=footer, style=SmsStyle()) == expected


# --- Splitting -------------------------------------------------------------------------


def test_a_body_that_fits_is_one_part() -> None:
    body = "Hello Ann.\n\n1 Yes\n2 No"

    assert split_sms(body, max_segments=1) == [body]


@pytest.mark.parametrize("body", ["", "   ", "\n\n \t\n"])
def test_a_blank_body_gives_no_parts(body: str) -> None:
    assert split_sms(body, max_segments=3) == []


def test_parts_break_between_paragraphs_packing_as_many_as_fit() -> None:
    paragraphs = [f"Paragraph {n}. " + "word " * 11 + "end." for n in range(1, 6)]
    assert {len(p) for p in paragraphs} == {72}
    body = "\n\n".join(paragraphs)

    parts = split_sms(body, max_segments=1)

    # Two paragraphs and the blank line between them are 146 septets; three would be 220.
    assert parts == [
        "\n\n".join(paragraphs[0:2]),
        "\n\n".join(paragraphs[2:4]),
        paragraphs[4],
    ]


def test_a_paragraph_break_is_preferred_to_filling_the_part() -> None:
    long_paragraph = " ".join(f"Sentence number {n} is here." for n in range(20))
    body = "Hello Ann.\n\n" + long_paragraph

    parts = split_sms(body, max_segments=1)

    assert parts[0] == "Hello Ann."
    assert all(count_segments(part).segments == 1 for part in parts)
    assert words_of(parts) == body.split()


def test_a_long_option_list_moves_on_at_a_line_boundary() -> None:
    options = [
        {"number": n, "emoji": "", "label": f"Choice number {n} of many"} for n in range(1, 16)
    ]
    body = render_sms(text="Pick one.", options=options, footer="", style=SmsStyle())
    option_lines = body.splitlines()[2:]
    assert len(option_lines) == 15

    parts = split_sms(body, max_segments=1)

    assert parts[0] == "Pick one."
    assert len(parts) == 4
    assert all(count_segments(part).segments == 1 for part in parts)
    # Every option line is whole, in order, and each part after the first ends at one.
    assert "\n".join(parts[1:]).splitlines() == option_lines


def test_a_long_paragraph_breaks_after_sentences() -> None:
    body = " ".join(f"This is sentence {n}, which says a little." for n in range(30))

    parts = split_sms(body, max_segments=1)

    assert len(parts) > 1
    assert all(part.endswith(".") for part in parts)
    assert all(count_segments(part).segments == 1 for part in parts)
    assert words_of(parts) == body.split()


def test_a_long_sentence_breaks_between_words() -> None:
    words = [f"word{n}" for n in range(200)]
    body = " ".join(words)

    parts = split_sms(body, max_segments=1)

    assert len(parts) > 1
    for part in parts:
        assert count_segments(part).segments == 1
        assert all(word in words for word in part.split())
    assert words_of(parts) == words
    # Greedy: the next part's first word would not have fitted on the end of this one.
    for part, following in itertools.pairwise(parts):
        assert count_segments(f"{part} {following.split()[0]}").segments == 2


def test_only_a_word_longer_than_a_whole_message_is_cut() -> None:
    body = "Look: " + "a" * 500 + " done."

    parts = split_sms(body, max_segments=1)

    assert parts == ["Look:", "a" * 160, "a" * 160, "a" * 160, "a" * 20 + " done."]


@pytest.mark.parametrize(
    ("emoji", "max_segments", "encoding"),
    [(False, 1, "GSM-7"), (False, 3, "GSM-7"), (True, 2, "UCS-2"), (True, 3, "UCS-2")],
)
def test_ten_thousand_characters_split_into_parts_within_the_limit(
    emoji: bool, max_segments: int, encoding: str
) -> None:
    sentences = [
        f"Sentence {n} tells you about the day{' 😀' if emoji else ''}." for n in range(400)
    ]
    paragraphs = [" ".join(sentences[i : i + 7]) for i in range(0, len(sentences), 7)]
    body = "\n\n".join(paragraphs)
    assert len(body) >= 10_000

    parts = split_sms(body, max_segments=max_segments)

    assert len(parts) > 10
    assert all(count_segments(part).segments <= max_segments for part in parts)
    assert all(count_segments(part).encoding == encoding for part in parts)
    assert all(part and part == part.strip() for part in parts)
    assert words_of(parts) == body.split()


@pytest.mark.parametrize("sequence", [FAMILY, KEYCAP_ONE, FLAG_GB, THUMBS_UP_MEDIUM])
@pytest.mark.parametrize("prefix", ["", "x", "xy", "xyz"])
def test_an_emoji_sequence_is_never_split(sequence: str, prefix: str) -> None:
    body = prefix + sequence * 60  # one "word" far longer than a message: it must be cut

    parts = split_sms(body, max_segments=1)

    assert len(parts) > 1
    assert parts[0].startswith(prefix)
    assert "".join(parts) == body
    for part in parts:
        assert count_segments(part).segments == 1
        assert part.removeprefix(prefix).replace(sequence, "") == ""


def test_a_family_emoji_between_words_stays_whole() -> None:
    body = " ".join(f"We {FAMILY} went {n}" for n in range(60))

    parts = split_sms(body, max_segments=1)

    assert len(parts) > 1
    assert sum(part.count(FAMILY) for part in parts) == 60
    assert words_of(parts) == body.split()


def test_split_needs_at_least_one_segment() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        split_sms("hello", max_segments=0)
    with pytest.raises(ValueError, match="at least 1"):
        SmsStyle(max_segments=0)


# --- Bodies and totals -----------------------------------------------------------------


def test_sms_bodies_renders_then_splits_by_the_style() -> None:
    text = " ".join(["Tell us what you think about the new garden \u2013 it\u2019s yours."] * 12)
    style = SmsStyle(emoji=False, max_segments=2)

    bodies = sms_bodies(text=text, options=SURVEY_OPTIONS, footer=SURVEY_FOOTER, style=style)

    assert len(bodies) == 3
    assert all(is_gsm7(body) for body in bodies)
    assert all(count_segments(body).segments <= 2 for body in bodies)
    assert bodies[-1].endswith("3 I don't know\n\nSend the number.")


def test_sms_bodies_of_a_short_message_is_one_body() -> None:
    bodies = sms_bodies(
        text="Hi Ann.", options=(), footer="", style=SmsStyle(emoji=True, max_segments=1)
    )

    assert bodies == ["Hi Ann."]


@pytest.mark.parametrize(
    ("bodies", "expected"),
    [
        ([], 0),
        (["Hi"], 1),
        (["a" * 161, "😀", ""], 4),
        ([ZHE * 66 + "😀" + ZHE * 66, "a" * 307], 6),
    ],
)
def test_total_segments(bodies: list[str], expected: int) -> None:
    assert total_segments(bodies) == expected

"""The console channel: typed lines in, printed messages out, options as numbered lines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels.base import Delivery
from channels.console import ConsoleSender, parse_line, render

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)

PARTICIPATION = (
    {"number": 1, "emoji": "😀", "label": "Exactly how we want it"},
    {"number": 2, "emoji": "🙂", "label": "There's more to be done"},
)


def test_text_alone_is_printed_as_it_is() -> None:
    delivery = Delivery(outbox_id=1, address="console:ann", text="Thank you, Ann.")

    assert render(delivery) == "Thank you, Ann."


def test_a_question_shows_its_picture_options_and_footer_in_that_order() -> None:
    delivery = Delivery(
        outbox_id=1,
        address="console:ann",
        text="How is the food at Oak House?",
        options=PARTICIPATION,
        footer="Reply with a number.",
        picture="pictures/food.png",
    )

    assert render(delivery).splitlines() == [
        "How is the food at Oak House?",
        "  [picture: pictures/food.png]",
        "  1  😀 Exactly how we want it",
        "  2  🙂 There's more to be done",
        "Reply with a number.",
    ]


def test_options_without_emoji_have_no_gap_for_one() -> None:
    delivery = Delivery(
        outbox_id=1,
        address="console:ann",
        text="Pick one",
        options=(
            {"number": 1, "emoji": "", "label": "Yes"},
            {"number": 2, "label": "No"},
            {"number": 3, "emoji": None, "label": "Not sure"},
        ),
    )

    assert render(delivery).splitlines() == [
        "Pick one",
        "  1  Yes",
        "  2  No",
        "  3  Not sure",
    ]


@pytest.mark.parametrize(
    ("line", "text"),
    [
        ("2\n", "2"),
        ("two\r\n", "two"),
        ("  vote 2  \n", "  vote 2  "),
        ("💡 more trips out", "💡 more trips out"),
        ("\n", ""),
    ],
)
def test_a_typed_line_loses_only_its_line_ending(line: str, text: str) -> None:
    inbound = parse_line(address="console:ann", line=line, received_at=NOW)

    assert inbound.text == text
    assert inbound.channel == "console"
    assert inbound.address == "console:ann"
    assert inbound.received_at == NOW
    assert inbound.media == ()


def test_every_line_is_its_own_delivery() -> None:
    lines = [parse_line(address="console:ann", line="2\n", received_at=NOW) for _ in range(500)]

    provider_ids = {inbound.provider_id for inbound in lines}
    assert len(provider_ids) == 500
    assert all(provider_ids)


async def test_the_console_sender_prints_the_rendered_message() -> None:
    printed: list[str] = []
    sender = ConsoleSender(printed.append)
    delivery = Delivery(
        outbox_id=7, address="console:ann", text="Is this right?",
        options=({"number": 1, "emoji": "👍", "label": "Yes"},), footer="Reply 1.",
    )

    provider_ids = await sender.send(delivery)

    assert printed == ["Is this right?\n  1  👍 Yes\nReply 1."]
    assert provider_ids == ("console-7",)
    assert sender.channel == "console"

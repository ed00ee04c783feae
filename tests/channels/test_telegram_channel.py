"""The Telegram adapter beneath the app: reading updates, buttons, splitting, sending, polling.

Updates are real ``telegram.Update`` objects made from the double's builders; sending and
polling go through the real python-telegram-bot ``Bot`` (over ``HTTPXRequest``) to the Bot
API double on 127.0.0.1, so requests and answers are encoded and parsed for real.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import telegram
from telegram import Update
from telegram.error import RetryAfter
from telegram.request import HTTPXRequest

from bot.clock import ManualClock
from bot.messages import Inbound
from channels.base import Delivery, PermanentFailure, TemporaryFailure, Unreachable
from channels.telegram import (
    ALLOWED_UPDATES,
    CAPTION_LIMIT,
    TEXT_LIMIT,
    TelegramInbound,
    TelegramPoller,
    TelegramSender,
    acknowledge_tap,
    keyboard,
    parse_update,
    photo_from,
    retry_after_seconds,
    secret_is_valid,
    split_text,
)
from tests.doubles.telegram_api import (
    DEFAULT_TOKEN,
    TelegramDouble,
    build_callback_update,
    build_photo_update,
    build_text_update,
)

CHAT = 4242
ADDRESS = f"telegram:{CHAT}"
RECEIVED = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
HANG_TIMEOUT = 0.3
WAIT = 5.0  # the most any test waits for the double or a task, in seconds

OPTIONS: tuple[dict[str, Any], ...] = (
    {"number": 1, "emoji": "😀", "label": "Good", "value": "good"},
    {"number": 2, "emoji": "😐", "label": "OK", "value": "ok"},
    {"number": 3, "emoji": "", "label": "Don't know", "value": "unknown"},
)
BUTTONS = {
    "inline_keyboard": [
        [{"text": "1 😀 Good", "callback_data": "1"}],
        [{"text": "2 😐 OK", "callback_data": "2"}],
        [{"text": "3 Don't know", "callback_data": "3"}],
    ]
}


def make_bot(tg: TelegramDouble, *, read_timeout: float = WAIT) -> telegram.Bot:
    """The Bot as the app builds it, with short timeouts, pointed at the double."""
    return telegram.Bot(
        tg.token,
        base_url=tg.base_url,
        request=HTTPXRequest(
            connect_timeout=WAIT, read_timeout=read_timeout, write_timeout=WAIT,
            pool_timeout=WAIT,
        ),
        get_updates_request=HTTPXRequest(connect_timeout=WAIT, read_timeout=WAIT),
    )


@pytest.fixture
def tg() -> Iterator[TelegramDouble]:
    with TelegramDouble() as double:
        yield double


@pytest.fixture
async def bot(tg: TelegramDouble) -> AsyncIterator[telegram.Bot]:
    async with make_bot(tg) as real_bot:
        yield real_bot


@pytest.fixture
async def slow_bot(tg: TelegramDouble) -> AsyncIterator[telegram.Bot]:
    """A bot that gives up on an answer after HANG_TIMEOUT seconds."""
    async with make_bot(tg, read_timeout=HANG_TIMEOUT) as real_bot:
        yield real_bot


@pytest.fixture
def offline_bot() -> telegram.Bot:
    """A Bot for ``Update.de_json``; parsing never talks to the network."""
    return telegram.Bot(DEFAULT_TOKEN)


def parse(data: dict[str, Any], bot: telegram.Bot) -> TelegramInbound | None:
    update = Update.de_json(data, bot)
    assert update is not None
    return parse_update(update, received_at=RECEIVED)


def delivery(text: str = "How was lunch today?", **fields: Any) -> Delivery:
    return Delivery(outbox_id=7, address=ADDRESS, text=text, **fields)


def words(texts: list[str]) -> list[str]:
    return " ".join(texts).split()


# -- parse_update -------------------------------------------------------------------------------


def test_a_text_message_is_read_with_its_update_id_and_chat(offline_bot: telegram.Bot) -> None:
    parsed = parse(build_text_update(1001, CHAT, "The soup was cold 🥶"), offline_bot)

    assert parsed == TelegramInbound(
        Inbound(
            address=ADDRESS, text="The soup was cold 🥶", channel="telegram",
            provider_id="1001", received_at=RECEIVED,
        )
    )


def test_a_deep_link_start_is_read_as_typed(offline_bot: telegram.Bot) -> None:
    parsed = parse(build_text_update(1002, CHAT, "/start WILLOW1"), offline_bot)

    assert parsed is not None
    assert parsed.inbound.text == "/start WILLOW1"
    assert parsed.inbound.address == ADDRESS
    assert parsed.inbound.provider_id == "1002"
    assert parsed.callback_query_id is None


def test_a_button_tap_reads_as_its_data_and_keeps_the_query_to_answer(
    offline_bot: telegram.Bot,
) -> None:
    data = build_callback_update(1003, CHAT, "2", message_id=9, query_id="cbq-77")

    parsed = parse(data, offline_bot)

    assert parsed == TelegramInbound(
        Inbound(
            address=ADDRESS, text="2", channel="telegram", provider_id="1003",
            received_at=RECEIVED,
        ),
        callback_query_id="cbq-77",
    )


def test_a_tap_on_a_message_telegram_no_longer_sends_is_addressed_to_the_tapper(
    offline_bot: telegram.Bot,
) -> None:
    data = build_callback_update(1004, CHAT, "1", query_id="cbq-78")
    del data["callback_query"]["message"]
    data["callback_query"]["inline_message_id"] = "inline-1"

    parsed = parse(data, offline_bot)

    assert parsed is not None
    assert (parsed.inbound.address, parsed.inbound.text) == (ADDRESS, "1")
    assert parsed.callback_query_id == "cbq-78"


def test_a_photo_with_a_caption_brings_the_largest_size_and_the_caption(
    offline_bot: telegram.Bot,
) -> None:
    data = build_photo_update(1005, CHAT, "AgACphoto", "Look at the garden")
    sizes = data["message"]["photo"]
    largest = max(sizes, key=lambda size: size["width"] * size["height"])["file_id"]
    assert largest != sizes[0]["file_id"]  # the sizes differ, so picking one matters

    parsed = parse(data, offline_bot)

    assert parsed is not None
    assert parsed.inbound.media == (f"telegram-file:{largest}",)
    assert parsed.inbound.text == "Look at the garden"
    assert (parsed.inbound.address, parsed.inbound.provider_id) == (ADDRESS, "1005")


def test_a_photo_without_a_caption_is_read_with_empty_text(offline_bot: telegram.Bot) -> None:
    data = build_photo_update(1006, CHAT, "AgACbare")
    largest = data["message"]["photo"][-1]["file_id"]

    parsed = parse(data, offline_bot)

    assert parsed is not None
    assert parsed.inbound.text == ""
    assert parsed.inbound.media == (f"telegram-file:{largest}",)


@pytest.mark.parametrize("chat_type", ["group", "supergroup"])
def test_a_message_in_a_group_is_not_read(offline_bot: telegram.Bot, chat_type: str) -> None:
    data = build_text_update(1007, CHAT, "Hello everyone")
    data["message"]["chat"] = {"id": -100200300, "type": chat_type, "title": "Staff room"}

    assert parse(data, offline_bot) is None


def test_a_sticker_alone_is_not_read(offline_bot: telegram.Bot) -> None:
    data = build_text_update(1008, CHAT, "placeholder")
    del data["message"]["text"]
    data["message"]["sticker"] = {
        "file_id": "CAACsticker", "file_unique_id": "AgADsticker", "type": "regular",
        "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": "👍",
    }

    assert parse(data, offline_bot) is None


def test_an_edited_message_is_not_read_again(offline_bot: telegram.Bot) -> None:
    message = build_text_update(1009, CHAT, "Typo fixed")["message"]
    data = {"update_id": 1009, "edited_message": {**message, "edit_date": message["date"]}}

    assert parse(data, offline_bot) is None


# -- keyboard -----------------------------------------------------------------------------------


def test_each_option_is_a_button_on_its_own_row_sending_its_number() -> None:
    markup = keyboard(OPTIONS)

    assert markup is not None
    assert markup.to_dict() == BUTTONS


def test_an_option_without_an_emoji_key_reads_number_and_label() -> None:
    markup = keyboard([{"number": 4, "label": "Something else"}])

    assert markup is not None
    assert [[button.text for button in row] for row in markup.inline_keyboard] == [
        ["4 Something else"]
    ]


@pytest.mark.parametrize("options", [(), []])
def test_no_options_means_no_keyboard(options: Any) -> None:
    assert keyboard(options) is None


def test_long_labels_are_cut_to_64_characters() -> None:
    markup = keyboard([{"number": 12, "emoji": "🍲", "label": "a very long label " * 10}])

    assert markup is not None
    [[button]] = markup.inline_keyboard
    assert len(button.text) == 64
    assert button.text.startswith("12 🍲 a very long label")
    assert button.callback_data == "12"


# -- split_text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["Thank you.", "Line one\nLine two\n\nA new paragraph 😀", "x" * TEXT_LIMIT]
)
def test_text_within_the_limit_is_one_piece_unchanged(text: str) -> None:
    assert split_text(text) == [text]


def test_long_text_splits_at_whitespace_into_pieces_within_the_limit_losing_nothing() -> None:
    paragraphs = [
        "\n".join(f"Paragraph {p}, line {n}: the dinner was lovely but late." for n in range(20))
        for p in range(12)
    ]
    text = "\n\n".join(paragraphs)
    assert len(text) > 2 * TEXT_LIMIT

    pieces = split_text(text)

    assert len(pieces) >= 3
    assert all(0 < len(piece) <= TEXT_LIMIT for piece in pieces)
    assert words(pieces) == text.split()


def test_a_word_longer_than_the_limit_is_cut_where_the_piece_is_full() -> None:
    word = "".join(chr(ord("a") + n % 26) for n in range(250))

    pieces = split_text(f"Start {word} end", limit=100)

    assert all(len(piece) <= 100 for piece in pieces)
    assert "".join(pieces).replace(" ", "") == f"Start{word}end"


@pytest.mark.parametrize("separator", ["\n\n", "\n"], ids=["paragraph", "line"])
def test_a_paragraph_or_line_break_is_preferred_to_a_later_space(separator: str) -> None:
    first = " ".join(["alpha"] * 12)  # 71 characters: the break falls inside the window
    second = " ".join(["beta"] * 30)
    text = f"{first}{separator}{second}"

    pieces = split_text(text, limit=100)

    assert pieces[0] == first
    assert all(len(piece) <= 100 for piece in pieces)
    assert words(pieces) == text.split()


# -- TelegramSender -----------------------------------------------------------------------------


async def test_text_and_footer_go_as_one_message_with_the_buttons(
    tg: TelegramDouble, bot: telegram.Bot
) -> None:
    sender = TelegramSender(bot=bot)
    message = delivery(options=OPTIONS, footer="Tap a button or send the number.")

    ids = await sender.send(message)

    [call] = tg.sent()
    assert call.method == "sendMessage"
    assert call.params["chat_id"] == CHAT
    assert call.params["text"] == "How was lunch today?\n\nTap a button or send the number."
    assert call.params["reply_markup"] == BUTTONS
    assert ids == ("1",)  # the double numbers the messages it sends from 1
    assert sender.cost(message) == 1


async def test_a_message_without_options_has_no_keyboard(
    tg: TelegramDouble, bot: telegram.Bot
) -> None:
    await TelegramSender(bot=bot).send(delivery("Thanks, that is noted."))

    [call] = tg.sent()
    assert call.params["text"] == "Thanks, that is noted."
    assert "reply_markup" not in call.params


async def test_a_long_text_goes_as_several_messages_with_buttons_on_the_last_only(
    tg: TelegramDouble, bot: telegram.Bot
) -> None:
    text = "\n\n".join(f"Point {n}: " + "the garden needs more benches. " * 12 for n in range(30))
    assert len(text) > 2 * TEXT_LIMIT
    footer = "Tap a button."

    ids = await TelegramSender(bot=bot).send(delivery(text, options=OPTIONS, footer=footer))

    sent = tg.sent()
    assert len(sent) >= 3
    assert {call.method for call in sent} == {"sendMessage"}
    assert [call.params.get("reply_markup") for call in sent] == [None] * (len(sent) - 1) + [
        BUTTONS
    ]
    texts = [call.params["text"] for call in sent]
    assert all(len(piece) <= TEXT_LIMIT for piece in texts)
    assert words(texts) == f"{text} {footer}".split()
    assert ids == tuple(str(n) for n in range(1, len(sent) + 1))


async def test_a_picture_url_goes_by_send_photo_with_caption_and_buttons(
    tg: TelegramDouble, bot: telegram.Bot, tmp_path: Path
) -> None:
    url = "https://voicebank.example/media/lunch.png"
    sender = TelegramSender(bot=bot, photo_source=photo_from(tmp_path))

    ids = await sender.send(delivery(options=OPTIONS, footer="Tap one.", picture=url))

    [call] = tg.sent()
    assert call.method == "sendPhoto"
    assert call.params["photo"] == url
    assert call.params["caption"] == "How was lunch today?\n\nTap one."
    assert call.params["reply_markup"] == BUTTONS
    assert ids == ("1",)


async def test_a_picture_file_from_the_media_folder_is_uploaded(
    tg: TelegramDouble, bot: telegram.Bot, tmp_path: Path
) -> None:
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    (tmp_path / "faces").mkdir()
    (tmp_path / "faces" / "happy.png").write_bytes(picture)
    sender = TelegramSender(bot=bot, photo_source=photo_from(tmp_path))

    await sender.send(delivery(options=OPTIONS, picture="faces/happy.png"))

    [call] = tg.sent()
    assert call.method == "sendPhoto"
    assert isinstance(call.params["photo"], dict)
    assert call.params["photo"]["size"] == len(picture)
    assert call.params["caption"] == "How was lunch today?"
    assert call.params["reply_markup"] == BUTTONS


@pytest.mark.parametrize("picture", ["../secret.txt", "missing.png", "folder"])
async def test_a_picture_outside_the_media_folder_or_missing_sends_the_text_only(
    tg: TelegramDouble, bot: telegram.Bot, tmp_path: Path, picture: str
) -> None:
    media = tmp_path / "media"
    (media / "folder").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("not for sending")
    sender = TelegramSender(bot=bot, photo_source=photo_from(media))

    await sender.send(delivery(options=OPTIONS, picture=picture))

    [call] = tg.sent()
    assert call.method == "sendMessage"
    assert call.params["text"] == "How was lunch today?"
    assert call.params["reply_markup"] == BUTTONS


async def test_without_a_photo_source_a_picture_is_not_sent(
    tg: TelegramDouble, bot: telegram.Bot
) -> None:
    await TelegramSender(bot=bot).send(delivery(picture="https://voicebank.example/a.png"))

    assert [call.method for call in tg.sent()] == ["sendMessage"]


async def test_a_caption_longer_than_telegram_takes_goes_as_photo_then_text(
    tg: TelegramDouble, bot: telegram.Bot, tmp_path: Path
) -> None:
    text = "We asked about the new menu. " * 40
    assert len(text.strip()) > CAPTION_LIMIT
    url = "https://voicebank.example/media/menu.png"
    sender = TelegramSender(bot=bot, photo_source=photo_from(tmp_path))

    ids = await sender.send(delivery(text, options=OPTIONS, picture=url))

    photo, message = tg.sent()
    assert photo.method == "sendPhoto"
    assert photo.params["photo"] == url
    assert "caption" not in photo.params
    assert "reply_markup" not in photo.params
    assert message.method == "sendMessage"
    assert message.params["text"] == text.strip()
    assert message.params["reply_markup"] == BUTTONS
    assert ids == ("1", "2")


async def test_a_caption_of_exactly_the_limit_still_goes_with_the_photo(
    tg: TelegramDouble, bot: telegram.Bot, tmp_path: Path
) -> None:
    text = "y" * CAPTION_LIMIT
    sender = TelegramSender(bot=bot, photo_source=photo_from(tmp_path))

    await sender.send(delivery(text, picture="https://voicebank.example/media/menu.png"))

    [call] = tg.sent()
    assert (call.method, call.params["caption"]) == ("sendPhoto", text)


@pytest.mark.parametrize("method", ["sendMessage", "sendPhoto"])
async def test_a_flood_limit_is_a_temporary_failure_carrying_the_wait(
    tg: TelegramDouble, bot: telegram.Bot, tmp_path: Path, method: str
) -> None:
    tg.fail_next(method, "429", retry_after=3)
    picture = "https://voicebank.example/a.png" if method == "sendPhoto" else None
    sender = TelegramSender(bot=bot, photo_source=photo_from(tmp_path))

    with pytest.raises(TemporaryFailure) as caught:
        await sender.send(delivery(picture=picture))

    assert caught.value.retry_after == 3.0
    assert tg.sent() == []
    assert [call.outcome for call in tg.calls_to(method)] == ["429"]


async def test_a_person_who_blocked_the_bot_is_unreachable(
    tg: TelegramDouble, bot: telegram.Bot
) -> None:
    tg.fail_next("sendMessage", "blocked")

    with pytest.raises(Unreachable, match="blocked"):
        await TelegramSender(bot=bot).send(delivery())


async def test_a_blocked_chat_is_unreachable_for_a_photo_too(
    tg: TelegramDouble, bot: telegram.Bot, tmp_path: Path
) -> None:
    tg.block_chat(CHAT)
    sender = TelegramSender(bot=bot, photo_source=photo_from(tmp_path))

    with pytest.raises(Unreachable):
        await sender.send(delivery(picture="https://voicebank.example/a.png"))


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_is_a_temporary_failure_without_a_wait(
    tg: TelegramDouble, bot: telegram.Bot, status: int
) -> None:
    tg.fail_next("sendMessage", "5xx", status=status)

    with pytest.raises(TemporaryFailure) as caught:
        await TelegramSender(bot=bot).send(delivery())

    assert caught.value.retry_after is None
    assert not isinstance(caught.value, PermanentFailure)


async def test_a_hanging_api_times_out_as_a_temporary_failure(
    tg: TelegramDouble, slow_bot: telegram.Bot
) -> None:
    tg.fail_next("sendMessage", "hang")

    async with asyncio.timeout(WAIT):
        with pytest.raises(TemporaryFailure):
            await TelegramSender(bot=slow_bot).send(delivery())

    assert [call.outcome for call in tg.calls_to("sendMessage")] == ["hang"]


@pytest.mark.parametrize("wait", [3, timedelta(seconds=3)])
def test_retry_after_seconds_reads_the_wait_in_seconds(wait: int | timedelta) -> None:
    assert retry_after_seconds(RetryAfter(wait)) == 3.0


# -- photo_from ---------------------------------------------------------------------------------


def test_photo_from_keeps_urls_reads_files_and_refuses_to_leave_the_folder(
    tmp_path: Path,
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "ok.png").write_bytes(b"png bytes")
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    (media / "link.png").symlink_to(secret)
    source = photo_from(media)

    assert source("https://voicebank.example/a.png") == "https://voicebank.example/a.png"
    assert source("http://voicebank.example/a.png") == "http://voicebank.example/a.png"
    assert source("ok.png") == b"png bytes"
    assert source("../secret.txt") is None
    assert source(str(secret)) is None
    assert source("link.png") is None
    assert source("nothing.png") is None


# -- TelegramPoller -----------------------------------------------------------------------------


class Inbox:
    """A receive callback that records what it was given and fails on chosen calls."""

    def __init__(self, *, fail_on: frozenset[int] = frozenset()) -> None:
        self.fail_on = fail_on
        self.offered: list[TelegramInbound] = []
        self.stored: list[TelegramInbound] = []
        self.arrived = asyncio.Event()

    async def __call__(self, parsed: TelegramInbound) -> None:
        self.offered.append(parsed)
        if len(self.offered) in self.fail_on:
            raise RuntimeError("the inbox is down")
        self.stored.append(parsed)
        self.arrived.set()

    @property
    def stored_ids(self) -> list[str]:
        return [parsed.inbound.provider_id for parsed in self.stored]


def poller_for(bot: telegram.Bot, inbox: Inbox, *, timeout: int = 0) -> TelegramPoller:
    return TelegramPoller(bot=bot, receive=inbox, clock=ManualClock(RECEIVED), timeout=timeout)


async def test_an_update_that_could_not_be_stored_is_not_confirmed_and_comes_again(
    tg: TelegramDouble, bot: telegram.Bot
) -> None:
    update_id = tg.text_update(CHAT, "Hello")
    inbox = Inbox(fail_on=frozenset({1}))
    poller = poller_for(bot, inbox)

    with pytest.raises(RuntimeError, match="inbox is down"):
        await poller.poll_once()

    assert poller.offset is None
    assert [update["update_id"] for update in tg.pending_updates] == [update_id]

    assert await poller.poll_once() == 1

    assert [parsed.inbound.provider_id for parsed in inbox.offered] == [str(update_id)] * 2
    assert inbox.stored_ids == [str(update_id)]
    assert inbox.stored[0].inbound.received_at == RECEIVED


async def test_stored_updates_are_confirmed_by_the_next_offset(
    tg: TelegramDouble, bot: telegram.Bot
) -> None:
    first = tg.text_update(CHAT, "one")
    second = tg.photo_update(CHAT, "AgACtwo", "two")
    inbox = Inbox()
    poller = poller_for(bot, inbox)

    assert await poller.poll_once() == 2

    assert inbox.stored_ids == [str(first), str(second)]
    assert poller.offset == second + 1
    assert tg.confirmed_offset is None  # nothing is confirmed until the next call

    assert await poller.poll_once() == 0

    assert tg.confirmed_offset == second + 1
    assert tg.pending_updates == []
    opening, following = tg.calls_to("getUpdates")
    assert "offset" not in opening.params
    assert following.params["offset"] == second + 1
    assert opening.params["allowed_updates"] == list(ALLOWED_UPDATES)
    assert inbox.stored_ids == [str(first), str(second)]  # nothing came twice


async def test_a_failure_mid_batch_confirms_only_what_was_stored(
    tg: TelegramDouble, bot: telegram.Bot
) -> None:
    first = tg.text_update(CHAT, "one")
    second = tg.text_update(CHAT, "two")
    third = tg.text_update(CHAT, "three")
    inbox = Inbox(fail_on=frozenset({2}))
    poller = poller_for(bot, inbox)

    with pytest.raises(RuntimeError):
        await poller.poll_once()

    assert poller.offset == first + 1
    assert await poller.poll_once() == 2

    assert tg.confirmed_offset == first + 1
    assert inbox.stored_ids == [str(first), str(second), str(third)]


async def test_updates_the_bot_does_not_read_are_still_confirmed(
    tg: TelegramDouble, bot: telegram.Bot
) -> None:
    group = build_text_update(0, CHAT, "Hello group")
    group["message"]["chat"] = {"id": -100200300, "type": "group", "title": "Staff room"}
    update_id = tg.add_update(group)
    inbox = Inbox()
    poller = poller_for(bot, inbox)

    assert await poller.poll_once() == 1
    assert await poller.poll_once() == 0

    assert inbox.offered == []
    assert tg.confirmed_offset == update_id + 1
    assert tg.pending_updates == []


async def test_run_deletes_a_webhook_first_then_polls_until_stopped(
    tg: TelegramDouble, bot: telegram.Bot
) -> None:
    await bot.set_webhook("https://voicebank.example/telegram/webhook")
    update_id = tg.text_update(CHAT, "/start WILLOW1")
    inbox = Inbox()
    poller = poller_for(bot, inbox)

    running = asyncio.create_task(poller.run(retry_seconds=0))
    try:
        async with asyncio.timeout(WAIT):
            await inbox.arrived.wait()
        poller.stop()
        async with asyncio.timeout(WAIT):
            await running
    finally:
        running.cancel()

    assert inbox.stored_ids == [str(update_id)]
    assert tg.webhook is None
    methods = [call.method for call in tg.calls]
    assert methods.index("deleteWebhook") < methods.index("getUpdates")
    assert all(call.ok for call in tg.calls_to("getUpdates"))  # never a webhook conflict


async def test_run_keeps_polling_after_a_server_error(
    tg: TelegramDouble, bot: telegram.Bot
) -> None:
    tg.fail_next("getUpdates", "5xx")
    update_id = tg.text_update(CHAT, "still there?")
    inbox = Inbox()
    poller = poller_for(bot, inbox)

    running = asyncio.create_task(poller.run(retry_seconds=0))
    try:
        async with asyncio.timeout(WAIT):
            await inbox.arrived.wait()
        poller.stop()
        async with asyncio.timeout(WAIT):
            await running
    finally:
        running.cancel()

    assert inbox.stored_ids == [str(update_id)]
    assert tg.calls_to("getUpdates")[0].outcome == "5xx"


async def test_run_ends_promptly_when_cancelled_during_a_long_poll(
    tg: TelegramDouble, bot: telegram.Bot
) -> None:
    poller = poller_for(bot, Inbox(), timeout=30)

    running = asyncio.create_task(poller.run())
    assert await asyncio.to_thread(tg.wait_for_calls, 1, "getUpdates", WAIT)
    running.cancel()

    async with asyncio.timeout(WAIT):
        with pytest.raises(asyncio.CancelledError):
            await running
    assert running.cancelled()


# -- secret_is_valid and acknowledge_tap ----------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "valid"),
    [
        ("s3cret-webhook-token", True),
        ("s3cret-webhook-tokeN", False),
        ("", False),
        (None, False),
        ("s3cret", False),
        ("s3cret-webhook-token-and-more", False),
        ("s3cret-webhook-tokén", False),
    ],
)
def test_the_webhook_secret_must_match_exactly(given: str | None, valid: bool) -> None:
    assert secret_is_valid("s3cret-webhook-token", given) is valid


async def test_a_tap_is_acknowledged(tg: TelegramDouble, bot: telegram.Bot) -> None:
    await acknowledge_tap(bot, "cbq-42")

    [call] = tg.calls_to("answerCallbackQuery")
    assert call.ok
    assert call.params["callback_query_id"] == "cbq-42"


@pytest.mark.parametrize("kind", ["5xx", "429", "hang"])
async def test_a_failed_acknowledgement_is_swallowed(
    tg: TelegramDouble, slow_bot: telegram.Bot, kind: str
) -> None:
    tg.fail_next("answerCallbackQuery", kind)

    async with asyncio.timeout(WAIT):
        await acknowledge_tap(slow_bot, "cbq-43")

    assert [call.outcome for call in tg.calls_to("answerCallbackQuery")] == [kind]


async def test_a_picture_telegram_refuses_still_sends_the_words() -> None:
    with TelegramDouble() as tg:
        tg.fail_next("sendPhoto", "bad_photo")
        async with telegram.Bot(tg.token, base_url=tg.base_url) as bot:
            sender = TelegramSender(bot=bot, photo_source=lambda _: "https://example.org/x.jpg")
            ids = await sender.send(Delivery(outbox_id=1, address="telegram:77", text="Vote 1",
                                             picture="x.jpg"))
        assert [c.outcome for c in tg.calls_to("sendPhoto")] == ["bad_photo"]
        assert tg.sent_texts(77) == ["Vote 1"]
        assert len(ids) == 1


def test_a_photo_someone_sent_is_resent_by_its_telegram_file_id(tmp_path: Path) -> None:
    source = photo_from(tmp_path)

    assert source("telegram-file:AgACAgQ") == "AgACAgQ"
    assert source("telegram-file:") is None

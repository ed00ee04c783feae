"""The Telegram and Twilio HTTP doubles, driven by the real python-telegram-bot and twilio.

These tests pin down that the doubles speak each API closely enough for the real client libraries:
requests are encoded by the libraries, sent over TCP, parsed by the doubles, and the answers are
parsed back into the libraries' own objects and exceptions.
"""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
import requests
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.warnings import PTBDeprecationWarning
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.doubles import HttpDouble
from tests.doubles.telegram_api import (
    TelegramDouble,
    build_callback_update,
    build_text_update,
)
from tests.doubles.twilio_api import (
    CREATE,
    TwilioDouble,
    count_segments,
    inbound_sms_params,
    status_callback_params,
    twilio_signature,
)

CHAT = 4242
TO = "+15551230001"
FROM = "+15005550006"
SERVICE = "MG" + "a" * 32
HANG_TIMEOUT = 0.3

# twilio's AsyncTwilioHttpClient builds an aiohttp.BasicAuth and passes it as `auth=`, both of
# which aiohttp 3.14 deprecates; the warnings come from the library, not from the double.
twilio_async = pytest.mark.filterwarnings(
    "ignore:BasicAuth is deprecated:DeprecationWarning",
    "ignore:The 'auth' parameter is deprecated:DeprecationWarning",
)


# python-telegram-bot 22.x warns about RetryAfter.retry_after becoming a timedelta whenever the
# attribute is read, and RetryAfter.__init__ reads it itself to build its message, so every 429
# warns (unless PTB_TIMEDELTA=1 is set in the environment).
ptb_retry_after = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# -- Telegram -----------------------------------------------------------------------------------


@pytest.fixture
def tg() -> Iterator[TelegramDouble]:
    with TelegramDouble() as double:
        yield double


@pytest.fixture
async def bot(tg: TelegramDouble) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(tg.token, base_url=tg.base_url) as real_bot:
        yield real_bot


def keyboard() -> InlineKeyboardMarkup:
    yes = InlineKeyboardButton("Yes", callback_data="ans:yes")
    no = InlineKeyboardButton("No", callback_data="ans:no")
    return InlineKeyboardMarkup([[yes, no]])


async def test_bot_initialises_against_get_me(tg: TelegramDouble, bot: telegram.Bot) -> None:
    assert bot.username == "voicebank_test_bot"
    assert bot.first_name == "Voicebank"
    assert [call.method for call in tg.calls] == ["getMe"]
    assert tg.base_url == f"http://127.0.0.1:{tg.port}/bot"


async def test_wrong_token_is_unauthorized(tg: TelegramDouble) -> None:
    with pytest.raises(InvalidToken):
        async with telegram.Bot("999:wrong-token", base_url=tg.base_url):
            pass
    assert tg.calls[0].outcome == "unauthorized"


async def test_send_message_records_the_keyboard(tg: TelegramDouble, bot: telegram.Bot) -> None:
    first = await bot.send_message(CHAT, "How was today?", reply_markup=keyboard())
    second = await bot.send_message(CHAT, "42")

    assert first.text == "How was today?"
    assert first.chat.id == CHAT
    assert first.reply_markup == keyboard()
    assert second.message_id > first.message_id
    assert second.text == "42"
    sent = tg.sent()
    assert [call.params["chat_id"] for call in sent] == [CHAT, CHAT]
    assert sent[0].params["reply_markup"] == {
        "inline_keyboard": [
            [
                {"text": "Yes", "callback_data": "ans:yes"},
                {"text": "No", "callback_data": "ans:no"},
            ]
        ]
    }
    assert sent[1].params["text"] == "42"  # free text stays a string even when it looks like JSON
    assert tg.sent_texts(CHAT) == ["How was today?", "42"]
    assert tg.wait_for_sends(2, timeout=0)


async def test_send_photo_upload_and_url(tg: TelegramDouble, bot: telegram.Bot) -> None:
    picture = b"\x89PNG\r\n\x1a\n" + bytes(1000)
    uploaded = await bot.send_photo(CHAT, picture, caption="Your card", filename="card.png")
    by_url = await bot.send_photo(CHAT, "https://example.org/card.png")

    assert uploaded.caption == "Your card"
    assert uploaded.photo
    assert by_url.photo
    upload, url = (call.params for call in tg.sent())
    assert upload["photo"] == {"filename": "card.png", "size": len(picture)}
    assert upload["caption"] == "Your card"
    assert url["photo"] == "https://example.org/card.png"


async def test_get_updates_confirms_with_offset(tg: TelegramDouble, bot: telegram.Bot) -> None:
    first = tg.text_update(CHAT, "/start")
    second = tg.callback_update(CHAT, "ans:yes", message_id=7)
    third = tg.photo_update(CHAT, "AgACphoto", caption="me")
    assert (first, second, third) == (1000, 1001, 1002)

    updates = await bot.get_updates(limit=2)
    assert [u.update_id for u in updates] == [first, second]
    assert updates[0].message is not None
    assert updates[0].message.text == "/start"
    query = updates[1].callback_query
    assert query is not None
    assert query.data == "ans:yes"
    assert query.message is not None
    assert query.message.message_id == 7

    updates = await bot.get_updates(offset=second + 1)
    assert [u.update_id for u in updates] == [third]
    assert updates[0].message is not None
    assert updates[0].message.caption == "me"
    assert updates[0].message.photo[-1].file_id.startswith("AgACphoto")
    assert tg.confirmed_offset == second + 1

    assert await bot.get_updates(offset=third + 1, timeout=timedelta(seconds=0)) == ()
    assert tg.pending_updates == []
    assert tg.confirmed_offset == third + 1


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    tg: TelegramDouble, bot: telegram.Bot
) -> None:
    def add_when_polled() -> None:
        if tg.wait_for_calls(2, method="getUpdates"):
            tg.text_update(CHAT, "hello")

    await bot.get_updates(timeout=timedelta(seconds=0))
    feeder = threading.Thread(target=add_when_polled)
    feeder.start()
    started = time.monotonic()
    updates = await bot.get_updates(timeout=timedelta(seconds=5))
    elapsed = time.monotonic() - started
    feeder.join()

    assert [u.message.text for u in updates if u.message] == ["hello"]
    assert elapsed < 2


async def test_long_poll_answers_empty_at_timeout(tg: TelegramDouble, bot: telegram.Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=timedelta(seconds=0.2)) == ()
    assert 0.15 < time.monotonic() - started < 1
    assert tg.calls_to("getUpdates")[0].params["timeout"] == 0.2


async def test_webhook_blocks_get_updates(tg: TelegramDouble, bot: telegram.Bot) -> None:
    assert await bot.set_webhook(
        "https://voicebank.example/telegram",
        secret_token="s3cret",  # noqa: S106 - a made-up secret
        allowed_updates=["message", "callback_query"],
    )
    assert tg.webhook == {
        "url": "https://voicebank.example/telegram",
        "secret_token": "s3cret",
        "allowed_updates": ["message", "callback_query"],
        "max_connections": None,
    }
    info = await bot.get_webhook_info()
    assert info.url == "https://voicebank.example/telegram"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()

    assert await bot.delete_webhook()
    assert tg.webhook is None
    assert await bot.get_updates(timeout=timedelta(seconds=0)) == ()


async def test_answer_callback_query_and_edit_markup(
    tg: TelegramDouble, bot: telegram.Bot
) -> None:
    sent = await bot.send_message(CHAT, "Pick one", reply_markup=keyboard())
    assert await bot.answer_callback_query("cbq-1", text="Thanks")
    edited = await bot.edit_message_reply_markup(chat_id=CHAT, message_id=sent.message_id)

    assert isinstance(edited, telegram.Message)
    assert edited.text == "Pick one"
    assert edited.reply_markup is None
    answer = tg.calls_to("answerCallbackQuery")[0]
    assert answer.params == {"callback_query_id": "cbq-1", "text": "Thanks"}
    assert tg.calls_to("editMessageReplyMarkup")[0].params["message_id"] == sent.message_id
    assert len(tg.sent()) == 1


async def test_unknown_method_is_not_found(tg: TelegramDouble, bot: telegram.Bot) -> None:
    with pytest.raises(telegram.error.EndPointNotFound):
        await bot.do_api_request("noSuchMethod", api_kwargs={"chat_id": CHAT})
    assert tg.calls[-1].outcome == "not_found"


async def test_json_and_query_bodies_are_understood(tg: TelegramDouble) -> None:
    async with httpx.AsyncClient(base_url=f"{tg.base_url}{tg.token}") as client:
        payload = {"chat_id": CHAT, "text": "hi", "reply_markup": {"inline_keyboard": []}}
        by_json = await client.post("/sendMessage", json=payload)
        by_query = await client.get("/sendMessage", params={"chat_id": str(CHAT), "text": "7"})
    assert by_json.json()["result"]["text"] == "hi"
    assert by_query.json()["ok"] is True
    json_params, query_params = (call.params for call in tg.sent())
    assert json_params["reply_markup"] == {"inline_keyboard": []}
    assert query_params == {"chat_id": CHAT, "text": "7"}


@ptb_retry_after
async def test_injected_429_raises_retry_after(tg: TelegramDouble, bot: telegram.Bot) -> None:
    tg.fail_next("sendMessage", "429", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "hi")
    assert retry_seconds(caught.value) == 7
    await bot.send_message(CHAT, "hi again")  # the failure was used up

    assert [call.outcome for call in tg.calls_to("sendMessage")] == ["429", "ok"]
    assert len(tg.sent()) == 1


async def test_blocked_raises_forbidden(tg: TelegramDouble, bot: telegram.Bot) -> None:
    tg.fail_next("sendMessage", "blocked")
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(CHAT, "hi")

    tg.block_chat(CHAT + 1)
    await bot.send_message(CHAT, "still fine")
    for _ in range(2):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_photo(CHAT + 1, "https://example.org/x.png")
    assert tg.sent_texts() == ["still fine"]


@pytest.mark.parametrize("status", [None, 502])
async def test_server_errors_raise_network_error(
    tg: TelegramDouble, bot: telegram.Bot, status: int | None
) -> None:
    tg.fail_next("*", "5xx", count=2, status=status)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(CHAT, "hi")
    assert tg.sent() == []
    assert len(tg.calls_to("sendMessage")) == 2


async def test_hang_times_out(tg: TelegramDouble, bot: telegram.Bot) -> None:
    tg.fail_next("sendMessage", "hang")
    started = time.monotonic()
    with pytest.raises(TimedOut):
        await bot.send_message(
            CHAT, "hi", read_timeout=HANG_TIMEOUT, write_timeout=HANG_TIMEOUT
        )
    assert time.monotonic() - started < 2
    assert tg.calls[-1].outcome == "hang"
    assert tg.sent() == []


async def test_closing_releases_a_hanging_request() -> None:
    tg = TelegramDouble().start()
    try:
        async with telegram.Bot(tg.token, base_url=tg.base_url) as real_bot:
            tg.fail_next("sendMessage", "hang")
            pending = asyncio.create_task(real_bot.send_message(CHAT, "hi", read_timeout=10))
            assert await asyncio.to_thread(tg.wait_for_calls, 1, "sendMessage")
            started = time.monotonic()
            await asyncio.to_thread(tg.close)
            assert time.monotonic() - started < 3
            with pytest.raises(NetworkError):
                await pending
    finally:
        tg.close()


@ptb_retry_after
async def test_rate_limit_answers_429_when_the_window_is_full(tg: TelegramDouble) -> None:
    tg.rate_limit_per_second = 3
    async with telegram.Bot(tg.token, base_url=tg.base_url) as real_bot:
        for n in range(5):
            if n < 3:
                await real_bot.send_message(CHAT, f"m{n}")
            else:
                with pytest.raises(RetryAfter):
                    await real_bot.send_message(CHAT, f"m{n}")
    assert tg.rate_violations == 2
    assert len(tg.sent_times()) == 3
    assert tg.busiest_window() == 3.0
    assert [call.outcome for call in tg.calls_to("sendMessage")][-1] == "rate_limited"


def test_update_builders_make_valid_updates() -> None:
    plain = Update.de_json(build_text_update(7, CHAT, "/start"), None)
    pressed = Update.de_json(build_callback_update(8, CHAT, "ans:no"), None)

    assert plain.update_id == 7
    assert plain.message is not None
    assert plain.message.text == "/start"
    assert plain.message.chat.id == CHAT
    assert pressed.callback_query is not None
    assert pressed.callback_query.data == "ans:no"
    assert pressed.callback_query.from_user.id == CHAT


def test_double_lifecycle() -> None:
    double = TelegramDouble()
    double.close()  # closing before start is harmless
    with pytest.raises(RuntimeError, match="not started"):
        _ = double.base_url
    with double:
        with pytest.raises(RuntimeError, match="already started"):
            double.start()
        with pytest.raises(ValueError, match="unknown failure kind"):
            double.fail_next("sendMessage", "21610")
        response = httpx.get(f"{double.base_url}{double.token}/getMe")
        assert response.json()["result"]["username"] == "voicebank_test_bot"
    double.close()


def test_busiest_window_counts_weights() -> None:
    double = HttpDouble()
    for at, weight in [(0.0, 1), (0.5, 2), (0.99, 1), (1.0, 3), (2.5, 1)]:
        double._sends.add(at, weight)
    assert double.busiest_window() == 6.0  # 0.5, 0.99 and 1.0
    assert double.busiest_window(seconds=0.1) == 4.0  # 0.99 and 1.0
    assert double.busiest_window(seconds=10) == 8.0
    assert HttpDouble().busiest_window() == 0.0
    assert double._sends.weight_after(0.5) == 5  # what the rate limit sees at t=1.5
    assert double._sends.weight_after(3.0) == 0
    assert double._sends.weight_after(-1.0) == 8


# -- Twilio -------------------------------------------------------------------------------------


@pytest.fixture
def tw() -> Iterator[TwilioDouble]:
    with TwilioDouble() as double:
        yield double


@pytest.fixture
async def async_twilio(tw: TwilioDouble) -> AsyncIterator[Client]:
    http_client = AsyncTwilioHttpClient()
    client = Client(tw.account_sid, tw.auth_token, http_client=http_client)
    client.api.base_url = tw.base_url
    try:
        yield client
    finally:
        await http_client.close()


@pytest.fixture
def sync_twilio(tw: TwilioDouble) -> Iterator[Client]:
    http_client = TwilioHttpClient(timeout=HANG_TIMEOUT)
    client = Client(tw.account_sid, tw.auth_token, http_client=http_client)
    client.api.base_url = tw.base_url
    yield client
    assert http_client.session is not None
    http_client.session.close()


@twilio_async
async def test_async_client_creates_messages(tw: TwilioDouble, async_twilio: Client) -> None:
    by_number = await async_twilio.messages.create_async(
        to=TO,
        from_=FROM,
        body="Hello",
        media_url=["https://example.org/a.png", "https://example.org/b.png"],
        status_callback="https://voicebank.example/twilio/status",
    )
    by_service = await async_twilio.messages.create_async(
        to=TO, messaging_service_sid=SERVICE, body="Hi"
    )

    assert by_number.sid is not None
    assert by_number.sid.startswith("SM")
    assert len(by_number.sid) == 34
    assert by_number.status == "queued"
    assert by_number.from_ == FROM
    assert by_number.to == TO
    assert by_number.num_media == "2"
    assert by_number.num_segments == "1"
    assert by_number.date_created is not None
    assert by_service.messaging_service_sid == SERVICE
    assert by_service.from_ is None
    first, second = (call.params for call in tw.sent())
    assert first["MediaUrl"] == ["https://example.org/a.png", "https://example.org/b.png"]
    assert first["StatusCallback"] == "https://voicebank.example/twilio/status"
    assert second["MessagingServiceSid"] == SERVICE
    assert tw.sent_bodies(TO) == ["Hello", "Hi"]

    fetched = await async_twilio.messages(by_number.sid).fetch_async()
    assert fetched.body == "Hello"


def test_sync_client_creates_messages(tw: TwilioDouble, sync_twilio: Client) -> None:
    by_number = sync_twilio.messages.create(to=TO, from_=FROM, body="Hello")
    by_service = sync_twilio.messages.create(to=TO, messaging_service_sid=SERVICE, body="Hi")

    assert by_number.status == "queued"
    assert by_service.messaging_service_sid == SERVICE
    assert tw.wait_for_sends(2, timeout=0)
    assert tw.message(str(by_number.sid))["body"] == "Hello"


def test_wrong_auth_token_is_401(tw: TwilioDouble) -> None:
    http_client = TwilioHttpClient()
    client = Client(tw.account_sid, "not-the-token", http_client=http_client)
    client.api.base_url = tw.base_url
    try:
        with pytest.raises(TwilioRestException) as caught:
            client.messages.create(to=TO, from_=FROM, body="x")
    finally:
        assert http_client.session is not None
        http_client.session.close()
    assert caught.value.status == 401
    assert caught.value.code == 20003
    assert tw.sent() == []


def test_missing_sender_is_rejected(tw: TwilioDouble, sync_twilio: Client) -> None:
    with pytest.raises(TwilioRestException) as caught:
        sync_twilio.messages.create(to=TO, body="x")
    assert (caught.value.status, caught.value.code) == (400, 21603)


@twilio_async
@pytest.mark.parametrize(
    ("kind", "status", "code"), [("429", 429, 20429), ("5xx", 500, 20500), ("21610", 400, 21610)]
)
async def test_injected_failures(
    tw: TwilioDouble, async_twilio: Client, kind: str, status: int, code: int
) -> None:
    tw.fail_next(CREATE, kind)
    with pytest.raises(TwilioRestException) as caught:
        await async_twilio.messages.create_async(to=TO, from_=FROM, body="x")
    assert (caught.value.status, caught.value.code) == (status, code)
    assert [call.outcome for call in tw.calls] == [kind]

    await async_twilio.messages.create_async(to=TO, from_=FROM, body="x")
    assert len(tw.sent()) == 1


def test_unsubscribed_number_gets_21610(tw: TwilioDouble, sync_twilio: Client) -> None:
    tw.unsubscribe(TO)
    with pytest.raises(TwilioRestException) as caught:
        sync_twilio.messages.create(to=TO, from_=FROM, body="x")
    assert caught.value.code == 21610
    sync_twilio.messages.create(to="+15551230002", from_=FROM, body="x")
    assert tw.sent_bodies() == ["x"]


def test_429_carries_retry_after_header(tw: TwilioDouble) -> None:
    tw.fail_next(CREATE, "429", retry_after=9)
    response = httpx.post(
        f"{tw.base_url}{tw.messages_path}",
        data={"To": TO, "From": FROM, "Body": "x"},
        auth=(tw.account_sid, tw.auth_token),
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "9"
    assert response.json()["code"] == 20429


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, "1"),
        ("a" * 161, "2"),
        ("a" * 70 + "😀", "2"),
        ("é" * 70, "1"),  # é is in the GSM-7 alphabet
        ("ę" * 70, "1"),  # ę is not: UCS-2, 70 fit in one segment
        ("ę" * 71, "2"),
        ("€" * 80, "1"),  # extension characters take two septets
        ("€" * 81, "2"),
    ],
)
def test_num_segments(sync_twilio: Client, body: str, segments: str) -> None:
    message = sync_twilio.messages.create(to=TO, from_=FROM, body=body)
    assert message.num_segments == segments
    assert count_segments(body) == int(segments)


def test_count_segments_of_long_bodies() -> None:
    assert count_segments("") == 1
    assert count_segments("a" * 306) == 2
    assert count_segments("a" * 307) == 3
    assert count_segments("ę" * 134) == 2
    assert count_segments("ę" * 135) == 3


@twilio_async
async def test_weighted_rate_limit(async_twilio: Client) -> None:
    with TwilioDouble(rate_limit_per_second=3) as limited:
        async_twilio.api.base_url = limited.base_url
        await async_twilio.messages.create_async(to=TO, from_=FROM, body="a" * 161)  # 2 segments
        await async_twilio.messages.create_async(to=TO, from_=FROM, body="short")
        with pytest.raises(TwilioRestException) as caught:
            await async_twilio.messages.create_async(to=TO, from_=FROM, body="one too many")

        assert caught.value.status == 429
        assert limited.rate_violations == 1
        assert limited.busiest_window() == 3.0
        assert [call.weight for call in limited.sent()] == [2, 1]
        assert len(limited.sent_times()) == 2


@twilio_async
async def test_hang_needs_a_caller_timeout_with_the_async_client(
    tw: TwilioDouble, async_twilio: Client
) -> None:
    tw.fail_next(CREATE, "hang")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(HANG_TIMEOUT):
            await async_twilio.messages.create_async(to=TO, from_=FROM, body="x")
    assert tw.calls[-1].outcome == "hang"


def test_hang_times_out_with_the_sync_client(tw: TwilioDouble, sync_twilio: Client) -> None:
    tw.fail_next(CREATE, "hang")
    with pytest.raises(requests.exceptions.ReadTimeout):
        sync_twilio.messages.create(to=TO, from_=FROM, body="x")
    assert tw.sent() == []


def test_signature_validates_with_twilio() -> None:
    url = "https://voicebank.example/twilio/sms"
    params = inbound_sms_params(from_=FROM, to=TO, body="STOP", OptOutType="STOP")
    signature = twilio_signature("test-auth-token", url, params)

    assert RequestValidator("test-auth-token").validate(url, params, signature)
    assert not RequestValidator("another-token").validate(url, params, signature)
    assert not RequestValidator("test-auth-token").validate(url, {**params, "Body": "x"}, signature)


def test_webhook_form_builders() -> None:
    inbound = inbound_sms_params(from_=FROM, to=TO, body="Hi 😀", num_media=1)
    assert inbound["MessageSid"].startswith("SM")
    assert len(inbound["MessageSid"]) == 34
    assert inbound["SmsStatus"] == "received"
    assert inbound["ApiVersion"] == "2010-04-01"
    assert inbound["NumMedia"] == "1"
    assert inbound["NumSegments"] == "1"
    assert inbound["MediaContentType0"] == "image/jpeg"
    assert inbound_sms_params(from_=FROM, to=TO, body="x", sid="SM1")["MessageSid"] == "SM1"

    status = status_callback_params(message_sid="SM1", status="undelivered", error_code=30003)
    assert status["MessageStatus"] == "undelivered"
    assert status["ErrorCode"] == "30003"
    assert "ErrorCode" not in status_callback_params(message_sid="SM1", status="delivered")

"""The SMS adapter beneath the app: Twilio's signatures and forms, and sending through Twilio.

Sending goes through the real twilio ``Client`` over :class:`HttpxTwilioClient` to the Twilio
REST API double on 127.0.0.1, so forms, auth and answers are encoded and parsed for real.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from twilio.rest import Client

from bot.messages import Inbound
from bot.urns import InvalidURN
from channels.base import Delivery, PermanentFailure, TemporaryFailure, Unreachable
from channels.sms import (
    StatusReport,
    TwilioSender,
    parse_inbound,
    parse_status,
    signature_is_valid,
)
from channels.sms_text import SmsStyle, count_segments, is_gsm7
from channels.twilio_http import HttpxTwilioClient, retry_after_seconds
from tests.doubles.twilio_api import (
    CREATE,
    DEFAULT_FROM,
    TEST_AUTH_TOKEN,
    TwilioDouble,
    inbound_sms_params,
    new_sid,
    status_callback_params,
    twilio_signature,
)

URL = "https://voicebank.example/sms/twilio"
STATUS_URL = "https://voicebank.example/sms/twilio/status"
NUMBER = "+447700900123"
ADDRESS = f"tel:{NUMBER}"
SERVICE = "MG" + "0123456789abcdef" * 2
RECEIVED = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
HANG_TIMEOUT = 0.3
WAIT = 5.0

OPTIONS: tuple[dict[str, Any], ...] = (
    {"number": 1, "emoji": "😀", "label": "Good", "value": "good"},
    {"number": 2, "emoji": "😐", "label": "OK", "value": "ok"},
    {"number": 3, "emoji": "", "label": "Don't know", "value": "unknown"},
)
LONG_TEXT = " ".join(
    f"Sentence {n} about the new garden, the benches and the lunches there." for n in range(25)
)


def inbound_form(**fields: Any) -> dict[str, str]:
    fields.setdefault("from_", NUMBER)
    fields.setdefault("to", DEFAULT_FROM)
    fields.setdefault("body", "Hello")
    return inbound_sms_params(**fields)


def delivery(text: str = "How was lunch today?", **fields: Any) -> Delivery:
    return Delivery(outbox_id=3, address=ADDRESS, text=text, **fields)


# -- signature_is_valid -------------------------------------------------------------------------


def test_twilios_signature_for_this_url_and_form_is_valid() -> None:
    form = inbound_form(body="Lunch was lovely 😀")
    signature = twilio_signature(TEST_AUTH_TOKEN, URL, form)

    assert signature_is_valid(auth_token=TEST_AUTH_TOKEN, url=URL, params=form,
                              signature=signature) is True


@pytest.mark.parametrize(
    ("signed", "ours"),
    [
        ("https://voicebank.example:443/sms/twilio", URL),
        (URL, "https://voicebank.example:443/sms/twilio"),
    ],
)
def test_a_signature_for_the_url_with_or_without_its_port_is_valid(signed: str, ours: str
                                                                   ) -> None:
    """Twilio does not always sign the URL as it was configured: with the port or without."""
    form = inbound_form()
    signature = twilio_signature(TEST_AUTH_TOKEN, signed, form)

    assert signature_is_valid(auth_token=TEST_AUTH_TOKEN, url=ours, params=form,
                              signature=signature) is True


@pytest.mark.parametrize(
    "url",
    [
        "https://voicebank.example/sms/twilio/status",
        "http://voicebank.example/sms/twilio",
        "https://evil.example/sms/twilio",
        "https://voicebank.example/sms/twilio?x=1",
    ],
)
def test_a_signature_for_another_url_is_refused(url: str) -> None:
    form = inbound_form()
    signature = twilio_signature(TEST_AUTH_TOKEN, URL, form)

    assert signature_is_valid(auth_token=TEST_AUTH_TOKEN, url=url, params=form,
                              signature=signature) is False


@pytest.mark.parametrize(
    "change",
    [
        {"Body": "Goodbye"},
        {"From": "+447700900999"},
        {"OptOutType": "STOP"},
    ],
)
def test_a_signature_for_other_params_is_refused(change: dict[str, str]) -> None:
    form = inbound_form()
    signature = twilio_signature(TEST_AUTH_TOKEN, URL, form)

    assert signature_is_valid(auth_token=TEST_AUTH_TOKEN, url=URL, params={**form, **change},
                              signature=signature) is False


def test_a_signature_made_with_another_token_is_refused() -> None:
    form = inbound_form()
    signature = twilio_signature("another-token", URL, form)

    assert signature_is_valid(auth_token=TEST_AUTH_TOKEN, url=URL, params=form,
                              signature=signature) is False


@pytest.mark.parametrize("signature", ["", None])
def test_no_signature_is_refused(signature: str | None) -> None:
    assert signature_is_valid(auth_token=TEST_AUTH_TOKEN, url=URL, params=inbound_form(),
                              signature=signature) is False


@pytest.mark.parametrize(
    "signature",
    [
        "not-a-signature",
        "A" * 28,
        "ü" * 28,
        "\x00" * 28,
        "=" * 10_000,
    ],
)
def test_a_garbage_signature_is_refused_without_raising(signature: str) -> None:
    assert signature_is_valid(auth_token=TEST_AUTH_TOKEN, url=URL, params=inbound_form(),
                              signature=signature) is False


@pytest.mark.parametrize(
    "url", ["http://[::1/sms/twilio", "https://voicebank.example:port/sms/twilio", ""]
)
def test_a_garbage_url_is_refused_without_raising(url: str) -> None:
    form = inbound_form()
    signature = twilio_signature(TEST_AUTH_TOKEN, URL, form)

    assert signature_is_valid(auth_token=TEST_AUTH_TOKEN, url=url, params=form,
                              signature=signature) is False


# -- parse_inbound ------------------------------------------------------------------------------


def test_an_inbound_text_is_read_as_an_inbound_message() -> None:
    sid = new_sid("SM")
    form = inbound_form(from_="+447700900123", body="Lunch was lovely", sid=sid)

    assert parse_inbound(form, received_at=RECEIVED) == Inbound(
        address="tel:+447700900123", text="Lunch was lovely", channel="sms",
        provider_id=sid, received_at=RECEIVED, media=(), provider_answered=False,
    )


@pytest.mark.parametrize(
    ("from_", "address"),
    [
        ("07700 900123", "tel:+447700900123"),
        ("07700900123", "tel:+447700900123"),
        ("+44 (0)7700 900123", "tel:+447700900123"),
        ("+1 (415) 555-0100", "tel:+14155550100"),
    ],
)
def test_a_number_in_another_format_is_normalised(from_: str, address: str) -> None:
    assert parse_inbound(inbound_form(from_=from_), received_at=RECEIVED).address == address


@pytest.mark.parametrize("from_", ["VOICEBANK", "Tesco", ""])
def test_a_sender_that_is_not_a_phone_number_raises_invalid_urn(from_: str) -> None:
    with pytest.raises(InvalidURN):
        parse_inbound(inbound_form(from_=from_), received_at=RECEIVED)


def test_a_missing_from_raises_invalid_urn() -> None:
    form = inbound_form()
    del form["From"]

    with pytest.raises(InvalidURN):
        parse_inbound(form, received_at=RECEIVED)


def test_media_urls_are_read_in_order() -> None:
    form = inbound_form(num_media=3, body="")

    parsed = parse_inbound(form, received_at=RECEIVED)

    assert parsed.media == (form["MediaUrl0"], form["MediaUrl1"], form["MediaUrl2"])
    assert parsed.text == ""


@pytest.mark.parametrize("num_media", ["0", "", "many"])
def test_no_or_unreadable_num_media_means_no_media(num_media: str) -> None:
    form = inbound_form(NumMedia=num_media, MediaUrl0="https://api.twilio.com/media/1")

    assert parse_inbound(form, received_at=RECEIVED).media == ()


def test_the_sms_sid_stands_in_for_a_missing_message_sid() -> None:
    form = inbound_form(sid="SM" + "1" * 32)
    del form["MessageSid"]

    assert parse_inbound(form, received_at=RECEIVED).provider_id == "SM" + "1" * 32


@pytest.mark.parametrize(("opt_out", "answered"), [("STOP", True), ("START", True), ("", False)])
def test_an_opt_out_type_means_twilio_answered_already(opt_out: str, answered: bool) -> None:
    form = inbound_form(body="STOP", OptOutType=opt_out)

    assert parse_inbound(form, received_at=RECEIVED).provider_answered is answered


def test_no_opt_out_type_means_the_bot_answers() -> None:
    assert parse_inbound(inbound_form(), received_at=RECEIVED).provider_answered is False


@pytest.mark.parametrize(
    "body",
    [
        "  Good 😀👍🏽 — the soup\u2019s better\n\nthanks!  ",
        "👩\u200d👩\u200d👧 🇬🇧 1\ufe0f\u20e3",
        "x" * 10_000,
        "".join(chr(0x20 + n % 0x5E) for n in range(10_000)),
    ],
)
def test_the_body_is_kept_exactly(body: str) -> None:
    assert parse_inbound(inbound_form(body=body), received_at=RECEIVED).text == body


# -- parse_status -------------------------------------------------------------------------------


def test_a_status_callback_is_read_lower_cased() -> None:
    form = status_callback_params(message_sid="SM" + "a" * 32, status="Delivered")

    assert parse_status(form) == StatusReport(
        provider_id="SM" + "a" * 32, status="delivered", error_code=None
    )


def test_a_failed_status_keeps_its_error_code() -> None:
    form = status_callback_params(message_sid="SM" + "b" * 32, status="UNDELIVERED",
                                  error_code=30007)

    assert parse_status(form) == StatusReport(
        provider_id="SM" + "b" * 32, status="undelivered", error_code="30007"
    )


def test_an_empty_error_code_is_none() -> None:
    form = status_callback_params(message_sid="SM" + "c" * 32, status="sent", ErrorCode="")

    report = parse_status(form)

    assert report is not None
    assert report.error_code is None


def test_the_older_sms_fields_are_read_when_the_message_fields_are_missing() -> None:
    form = status_callback_params(message_sid="SM" + "d" * 32, status="sent")
    del form["MessageSid"], form["MessageStatus"]

    assert parse_status(form) == StatusReport(
        provider_id="SM" + "d" * 32, status="sent", error_code=None
    )


@pytest.mark.parametrize(
    "missing", [("MessageSid", "SmsSid"), ("MessageStatus", "SmsStatus")], ids=["sid", "status"]
)
def test_a_callback_naming_no_message_or_status_is_none(missing: tuple[str, str]) -> None:
    form = status_callback_params(message_sid="SM" + "e" * 32, status="sent")
    for name in missing:
        del form[name]

    assert parse_status(form) is None


# -- TwilioSender -------------------------------------------------------------------------------


@pytest.fixture
def tw() -> Iterator[TwilioDouble]:
    with TwilioDouble() as double:
        yield double


@pytest.fixture
async def http() -> AsyncIterator[HttpxTwilioClient]:
    client = HttpxTwilioClient(timeout=WAIT)
    try:
        yield client
    finally:
        await client.close()


def twilio_client(tw: TwilioDouble, http: HttpxTwilioClient, token: str = TEST_AUTH_TOKEN
                  ) -> Client:
    client = Client(tw.account_sid, token, http_client=http)
    client.api.base_url = tw.base_url
    return client


def make_sender(
    tw: TwilioDouble, http: HttpxTwilioClient, *, sender: str = DEFAULT_FROM, **fields: Any
) -> TwilioSender:
    fields.setdefault("style", SmsStyle())
    fields.setdefault("status_callback", STATUS_URL)
    return TwilioSender(client=twilio_client(tw, http), sender=sender, **fields)


async def test_a_short_message_goes_as_one_sms_from_our_number(
    tw: TwilioDouble, http: HttpxTwilioClient
) -> None:
    ids = await make_sender(tw, http).send(delivery())

    [call] = tw.sent()
    assert call.params["To"] == NUMBER
    assert call.params["From"] == DEFAULT_FROM
    assert "MessagingServiceSid" not in call.params
    assert call.params["Body"] == "How was lunch today?"
    assert call.params["StatusCallback"] == STATUS_URL
    assert call.params["MediaUrl"] == []
    [sid] = ids
    assert tw.message(sid)["body"] == "How was lunch today?"


async def test_a_messaging_service_sends_instead_of_a_number(
    tw: TwilioDouble, http: HttpxTwilioClient
) -> None:
    ids = await make_sender(tw, http, sender=SERVICE).send(delivery())

    [call] = tw.sent()
    assert call.params["MessagingServiceSid"] == SERVICE
    assert "From" not in call.params
    assert call.params["StatusCallback"] == STATUS_URL
    assert tw.message(ids[0])["messaging_service_sid"] == SERVICE


async def test_without_a_status_callback_none_is_asked_for(
    tw: TwilioDouble, http: HttpxTwilioClient
) -> None:
    await make_sender(tw, http, status_callback=None).send(delivery())

    [call] = tw.sent()
    assert "StatusCallback" not in call.params


async def test_options_go_as_numbered_lines_between_text_and_footer(
    tw: TwilioDouble, http: HttpxTwilioClient
) -> None:
    await make_sender(tw, http).send(
        delivery("How was lunch?", options=OPTIONS, footer="Send the number.")
    )

    assert tw.sent_bodies() == [
        "How was lunch?\n\n1 😀 Good\n2 😐 OK\n3 Don't know\n\nSend the number."
    ]


@pytest.mark.parametrize(
    "message",
    [
        delivery("Thanks!"),
        delivery("How was lunch?", options=OPTIONS, footer="Send the number."),
        delivery("Plain words only. " * 20),
        delivery(LONG_TEXT, footer="Reply STOP to stop."),
        delivery(LONG_TEXT + " 😀", options=OPTIONS),
    ],
    ids=["short", "options", "two-segments", "long", "long-ucs2"],
)
async def test_the_cost_is_the_segments_twilio_bills(
    tw: TwilioDouble, http: HttpxTwilioClient, message: Delivery
) -> None:
    sender = make_sender(tw, http)

    cost = sender.cost(message)
    ids = await sender.send(message)

    assert cost == sum(call.weight for call in tw.sent())
    assert cost == sum(int(tw.message(sid)["num_segments"]) for sid in ids)


async def test_a_long_message_goes_as_several_sms_and_all_their_ids_come_back_in_order(
    tw: TwilioDouble, http: HttpxTwilioClient
) -> None:
    sender = make_sender(tw, http, style=SmsStyle(max_segments=2))
    message = delivery(LONG_TEXT, options=OPTIONS, footer="Send the number.")

    ids = await sender.send(message)

    bodies = tw.sent_bodies()
    assert len(bodies) >= 3
    assert len(ids) == len(bodies) == len(set(ids))
    assert [tw.message(sid)["body"] for sid in ids] == bodies
    assert bodies == sender.bodies(message)
    assert all(count_segments(body).segments <= 2 for body in bodies)
    expected = f"{LONG_TEXT} 1 😀 Good 2 😐 OK 3 Don't know Send the number."
    assert " ".join(bodies).split() == expected.split()
    assert {call.params["To"] for call in tw.sent()} == {NUMBER}


async def test_without_emoji_the_bodies_stay_gsm7(
    tw: TwilioDouble, http: HttpxTwilioClient
) -> None:
    message = delivery(
        "How\u2019s lunch? 😀 Tell us \u2014 honestly\u2026", options=OPTIONS,
        footer="Send the number 🔢",
    )
    with_emoji = make_sender(tw, http).bodies(message)
    assert not all(is_gsm7(body) for body in with_emoji)  # the same message would be UCS-2

    await make_sender(tw, http, style=SmsStyle(emoji=False)).send(message)

    bodies = tw.sent_bodies()
    assert bodies
    assert all(is_gsm7(body) for body in bodies)
    assert bodies[0].startswith("How's lunch? Tell us - honestly...")
    assert "1 Good\n2 OK\n3 Don't know" in bodies[0]


async def test_a_picture_goes_with_the_first_part_only(
    tw: TwilioDouble, http: HttpxTwilioClient
) -> None:
    sender = make_sender(
        tw, http, style=SmsStyle(max_segments=1),
        picture_url=lambda name: f"https://voicebank.example/media/{name}",
    )

    await sender.send(delivery(LONG_TEXT, picture="garden.png"))

    media = [call.params["MediaUrl"] for call in tw.sent()]
    assert len(media) >= 2
    assert media[0] == ["https://voicebank.example/media/garden.png"]
    assert media[1:] == [[]] * (len(media) - 1)


async def test_a_picture_without_a_public_url_sends_the_text_only(
    tw: TwilioDouble, http: HttpxTwilioClient
) -> None:
    sender = make_sender(tw, http, picture_url=lambda name: None)

    await sender.send(delivery(picture="missing.png"))

    [call] = tw.sent()
    assert call.params["MediaUrl"] == []
    assert call.params["Body"] == "How was lunch today?"


async def test_without_mms_a_picture_is_not_sent(tw: TwilioDouble, http: HttpxTwilioClient
                                                 ) -> None:
    await make_sender(tw, http).send(delivery(picture="https://voicebank.example/a.png"))

    [call] = tw.sent()
    assert call.params["MediaUrl"] == []


@pytest.mark.parametrize(
    ("kind", "failure"),
    [("21610", Unreachable), ("429", TemporaryFailure), ("5xx", TemporaryFailure)],
)
async def test_twilio_refusals_map_to_failures(
    tw: TwilioDouble, http: HttpxTwilioClient, kind: str, failure: type[Exception]
) -> None:
    tw.fail_next(CREATE, kind)

    with pytest.raises(failure):
        await make_sender(tw, http).send(delivery())

    assert tw.sent() == []
    assert [call.outcome for call in tw.calls_to(CREATE)] == [kind]


async def test_a_429_asks_the_whole_channel_to_wait_as_long_as_twilio_says(
    tw: TwilioDouble, http: HttpxTwilioClient
) -> None:
    tw.fail_next(CREATE, "429", retry_after=7)

    with pytest.raises(TemporaryFailure, match="429") as refused:
        await make_sender(tw, http).send(delivery())

    assert refused.value.retry_after == 7


@pytest.mark.parametrize(
    ("header", "seconds"), [("3", 3.0), ("0.5", 0.5), (None, 1.0), ("soon", 1.0), ("-4", 1.0)]
)
def test_a_retry_after_that_says_nothing_useful_waits_a_second(
    header: str | None, seconds: float
) -> None:
    assert retry_after_seconds(header) == seconds


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_every_server_error_is_temporary(
    tw: TwilioDouble, http: HttpxTwilioClient, status: int
) -> None:
    tw.fail_next(CREATE, "5xx", status=status)

    with pytest.raises(TemporaryFailure, match=str(status)):
        await make_sender(tw, http).send(delivery())


async def test_a_number_that_opted_out_at_the_carrier_is_unreachable(
    tw: TwilioDouble, http: HttpxTwilioClient
) -> None:
    tw.unsubscribe(NUMBER)

    with pytest.raises(Unreachable, match="21610"):
        await make_sender(tw, http).send(delivery())


async def test_a_refused_message_is_a_permanent_failure(
    tw: TwilioDouble, http: HttpxTwilioClient
) -> None:
    with pytest.raises(PermanentFailure) as caught:
        await make_sender(tw, http).send(Delivery(outbox_id=4, address="tel:", text="Hello"))

    assert not isinstance(caught.value, Unreachable)
    assert "21604" in str(caught.value)


async def test_a_hanging_api_times_out_as_a_temporary_failure(tw: TwilioDouble) -> None:
    tw.fail_next(CREATE, "hang")
    http = HttpxTwilioClient(timeout=HANG_TIMEOUT)
    try:
        async with asyncio.timeout(WAIT):
            with pytest.raises(TemporaryFailure):
                await make_sender(tw, http).send(delivery())
    finally:
        await http.close()

    assert [call.outcome for call in tw.calls_to(CREATE)] == ["hang"]


async def test_an_unreachable_api_is_a_temporary_failure(http: HttpxTwilioClient) -> None:
    with TwilioDouble() as gone:
        client = Client(gone.account_sid, TEST_AUTH_TOKEN, http_client=http)
        client.api.base_url = gone.base_url
    sender = TwilioSender(client=client, sender=DEFAULT_FROM, style=SmsStyle())

    with pytest.raises(TemporaryFailure, match="could not reach Twilio"):
        await sender.send(delivery())


async def test_wrong_credentials_keep_the_message_for_later(
    tw: TwilioDouble, http: HttpxTwilioClient
) -> None:
    client = twilio_client(tw, http, token="not-the-token")  # noqa: S106
    sender = TwilioSender(client=client, sender=DEFAULT_FROM, style=SmsStyle())

    with pytest.raises(TemporaryFailure, match="401"):
        await sender.send(delivery())

    assert [call.outcome for call in tw.calls_to(CREATE)] == ["unauthorized"]

"""Telegram end to end: the real python-telegram-bot against the Bot API double."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.clock import ManualClock
from bot.engine import ConversationEngine
from bot.messages import Inbound
from storage import outbox
from storage.tables import Address, AuditEntry, OutboxStatus, Priority, Suggestion
from tests.doubles.telegram_api import TelegramDouble, build_callback_update, build_text_update
from tests.doubles.twilio_api import TwilioDouble, inbound_sms_params
from tests.voicebank.app_harness import (
    PUBLIC_URL,
    SMS_NUMBER,
    WEBHOOK_SECRET,
    RunningApp,
    add_person,
    add_service,
    rows,
    running_app,
)

CHAT = 501
ADDRESS = f"telegram:{CHAT}"


@pytest.fixture
def telegram() -> Iterator[TelegramDouble]:
    with TelegramDouble() as double:
        yield double


def _wait_for_sends(telegram: TelegramDouble, n: int) -> None:
    assert telegram.wait_for_sends(n, timeout=10), f"expected {n} sends, saw {telegram.sent()}"


def test_long_polling_joins_with_a_deep_link_and_shows_buttons(
    database: Engine, clock: ManualClock, telegram: TelegramDouble
) -> None:
    add_service(database)
    with running_app(database, clock, telegram=telegram) as app:
        update_id = telegram.text_update(CHAT, "/start WILLOW1")
        _wait_for_sends(telegram, 2)
        app.send_out()
        [stored] = app.inbox()

    assert (stored.provider_id, stored.address, stored.text) == (
        str(update_id), ADDRESS, "/start WILLOW1"
    )
    welcome, menu = telegram.sent()[:2]
    assert "Welcome to Voicebank" in welcome.params["text"]
    buttons = [row[0] for row in menu.params["reply_markup"]["inline_keyboard"]]
    assert [button["callback_data"] for button in buttons] == ["1", "2", "3", "4"]
    assert buttons[0]["text"] == "1 💡 Tell us an idea"
    assert telegram.webhook is None
    assert telegram.calls_to("deleteWebhook"), "polling clears any old webhook first"


def test_a_button_tap_is_answered_and_read_as_the_number(
    database: Engine, clock: ManualClock, telegram: TelegramDouble
) -> None:
    add_service(database)
    with running_app(database, clock, telegram=telegram) as app:
        telegram.text_update(CHAT, "/start WILLOW1")
        _wait_for_sends(telegram, 2)

        telegram.callback_update(CHAT, "1")
        _wait_for_sends(telegram, 3)
        app.send_out()

    [answer] = telegram.calls_to("answerCallbackQuery")
    assert answer.params["callback_query_id"].startswith("cbq-")
    assert "What is your idea?" in telegram.sent_texts(CHAT)[-1]


def test_updates_are_confirmed_to_telegram_only_after_they_are_stored(
    database: Engine, clock: ManualClock, telegram: TelegramDouble
) -> None:
    add_service(database)
    with running_app(database, clock, telegram=telegram) as app:
        first = telegram.text_update(CHAT, "/start WILLOW1")
        _wait_for_sends(telegram, 2)
        second = telegram.text_update(CHAT, "HELP")
        _wait_for_sends(telegram, 3)
        assert telegram.wait_for_calls(3, method="getUpdates")
        stored = {row.provider_id for row in app.inbox()}

    assert {str(first), str(second)} <= stored
    offset = telegram.confirmed_offset
    assert offset is not None
    assert offset == second + 1


def _webhook_app(database: Engine, clock: ManualClock, telegram: TelegramDouble
                 ) -> AbstractContextManager[RunningApp]:
    return running_app(database, clock, telegram=telegram, telegram_webhook_secret=WEBHOOK_SECRET)


def test_webhook_mode_registers_the_webhook_and_does_not_poll(
    database: Engine, clock: ManualClock, telegram: TelegramDouble
) -> None:
    with _webhook_app(database, clock, telegram):
        webhook = telegram.webhook

    assert webhook is not None
    assert webhook["url"] == f"{PUBLIC_URL}/telegram/webhook"
    assert webhook["secret_token"] == WEBHOOK_SECRET
    assert set(webhook["allowed_updates"]) == {"message", "callback_query"}
    assert telegram.calls_to("getUpdates") == []


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", WEBHOOK_SECRET + "x"])
def test_a_webhook_without_the_secret_is_refused_and_nothing_stored(
    database: Engine, clock: ManualClock, telegram: TelegramDouble, secret: str | None
) -> None:
    add_service(database)
    with _webhook_app(database, clock, telegram) as app:
        response = app.post_update(build_text_update(7001, CHAT, "/start WILLOW1"),
                                   secret=secret)
        app.settle()
        stored = app.inbox()

    assert response.status_code == 403
    assert stored == []
    assert telegram.sent() == []


def test_a_webhook_update_is_stored_answered_and_a_repeat_is_handled_once(
    database: Engine, clock: ManualClock, telegram: TelegramDouble
) -> None:
    add_service(database)
    with _webhook_app(database, clock, telegram) as app:
        update = build_text_update(7001, CHAT, "/start WILLOW1")
        first = app.post_update(update)
        again = app.post_update(update)
        app.send_out()
        tap = app.post_update(build_callback_update(7002, CHAT, "4"))
        app.send_out()
        stored = app.inbox()

    assert (first.status_code, again.status_code, tap.status_code) == (200, 200, 200)
    assert [row.provider_id for row in stored] == ["7001", "7002"]
    texts = telegram.sent_texts(CHAT)
    assert sum("Welcome to Voicebank" in text for text in texts) == 1
    assert "Voicebank helps you tell us what you think" in texts[2]
    assert len(telegram.calls_to("answerCallbackQuery")) == 1


def test_a_webhook_body_that_is_not_an_update_is_refused(
    database: Engine, clock: ManualClock, telegram: TelegramDouble
) -> None:
    with _webhook_app(database, clock, telegram) as app:
        response = app.client.post(
            "/telegram/webhook", content=b"{not json",
            headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
        )
        assert app.inbox() == []

    assert response.status_code == 400


def test_a_person_who_blocked_the_bot_is_not_sent_to_again(
    database: Engine, clock: ManualClock, telegram: TelegramDouble
) -> None:
    add_person(database, clock, ADDRESS)
    telegram.block_chat(CHAT)
    with running_app(database, clock, telegram=telegram) as app:
        with app.session() as session:
            for text in ("Our survey is open", "Please answer our survey"):
                outbox.queue_message(session=session, address=ADDRESS, channel="telegram",
                                     text=text, now=clock.now(), priority=Priority.BULK)
        app.send_out()
        clock.advance(timedelta(hours=1))
        app.send_out()

        sends = [c for c in telegram.calls if c.method == "sendMessage"]
        with app.session() as session:
            [address] = rows(session, Address)
            actions = [entry.action for entry in rows(session, AuditEntry)]
        statuses = [row.status for row in app.outbox()]

    assert len(sends) == 1
    assert sends[0].outcome == "blocked"
    assert not address.active
    assert "blocked" in (address.inactive_reason or "")
    assert statuses == [OutboxStatus.FAILED, OutboxStatus.CANCELLED]
    assert "address.deactivated" in actions


def test_a_flood_limit_pauses_the_channel_and_nothing_is_lost_or_doubled(
    database: Engine, clock: ManualClock, telegram: TelegramDouble
) -> None:
    telegram.fail_next("sendMessage", "429", retry_after=1)
    with running_app(database, clock, telegram=telegram) as app:
        with app.session() as session:
            outbox.queue_message(session=session, address="telegram:600", channel="telegram",
                                 text="Hello 600", now=clock.now())
        app.send_out()
        [limited] = [c for c in telegram.calls if c.method == "sendMessage"]
        with app.session() as session:
            for chat in range(601, 605):
                outbox.queue_message(session=session, address=f"telegram:{chat}",
                                     channel="telegram", text=f"Hello {chat}", now=clock.now())
        app.send_out()
        waited = [c for c in telegram.calls if c.method == "sendMessage"][1:]
        clock.advance(timedelta(minutes=1))
        app.send_out()
        statuses = {row.status for row in app.outbox()}

    assert limited.outcome == "429"
    assert len(waited) == 4
    assert all(call.at - limited.at >= 0.95 for call in waited), "the whole channel waited"
    texts = telegram.sent_texts()
    assert sorted(texts) == [f"Hello {chat}" for chat in range(600, 605)]
    assert statuses == {OutboxStatus.SENT}


def test_a_picture_goes_as_a_photo_with_its_caption_and_buttons(
    database: Engine, clock: ManualClock, telegram: TelegramDouble, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "cinema.png").write_bytes(b"\x89PNG" + b"0" * 500)
    options = [{"number": 1, "emoji": "😀", "label": "Yes"},
               {"number": 2, "emoji": "🙁", "label": "No"}]
    with running_app(database, clock, telegram=telegram, media_dir=str(media)) as app:
        with app.session() as session:
            outbox.queue_message(session=session, address=ADDRESS, channel="telegram",
                                 text="Shall we go to the cinema?", now=clock.now(),
                                 picture="cinema.png", options=options, footer="Send the number.")
            outbox.queue_message(session=session, address=ADDRESS, channel="telegram",
                                 text="Our new garden", now=clock.now(),
                                 picture="https://example.org/garden.jpg")
        app.send_out()

    upload, by_url = telegram.sent()
    assert upload.method == by_url.method == "sendPhoto"
    assert upload.params["caption"] == "Shall we go to the cinema?\n\nSend the number."
    assert upload.params["photo"]["size"] == 504
    assert len(upload.params["reply_markup"]["inline_keyboard"]) == 2
    assert by_url.params["photo"] == "https://example.org/garden.jpg"


def test_the_same_person_can_start_on_telegram_and_answer_by_sms(
    database: Engine, clock: ManualClock, telegram: TelegramDouble
) -> None:
    number = "+447700900123"
    service_id = add_service(database)
    add_person(database, clock, ADDRESS, f"tel:{number}", service_id=service_id)
    with TwilioDouble() as twilio, running_app(
        database, clock, telegram=telegram, twilio=twilio, telegram_webhook_secret=WEBHOOK_SECRET
    ) as app:
        app.post_update(build_text_update(7001, CHAT, "IDEA"))
        app.send_out()
        app.post_sms(inbound_sms_params(from_=number, to=SMS_NUMBER, body="More trips out"))
        app.send_out()
        sms_bodies = twilio.sent_bodies(number)

        with app.session() as session:
            [idea] = rows(session, Suggestion)
    assert "What is your idea?" in telegram.sent_texts(CHAT)[0]
    assert idea.text == "More trips out"
    assert "What is your idea about?" in sms_bodies[0]


def test_one_person_writing_by_sms_and_telegram_at_once_is_handled_one_at_a_time(
    database: Engine, clock: ManualClock, telegram: TelegramDouble
) -> None:
    number = "+447700900123"
    service_id = add_service(database)
    add_person(database, clock, ADDRESS, f"tel:{number}", service_id=service_id)
    with TwilioDouble() as twilio, running_app(
        database, clock, telegram=telegram, twilio=twilio, telegram_webhook_secret=WEBHOOK_SECRET
    ) as app:
        app.post_update(build_text_update(7001, CHAT, "IDEA"))
        app.send_out()
        barrier = threading.Barrier(2)

        def by_sms() -> None:
            barrier.wait()
            app.post_sms(inbound_sms_params(from_=number, to=SMS_NUMBER, body="More trips out"))

        def by_telegram() -> None:
            barrier.wait()
            app.post_update(build_text_update(7002, CHAT, "A cinema night"))

        threads = [threading.Thread(target=by_sms), threading.Thread(target=by_telegram)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        app.send_out()
        with app.session() as session:
            ideas = rows(session, Suggestion)
        handled = [row.status for row in app.inbox()]

    assert len(ideas) == 1, "one idea; the other message answers the next question"
    assert ideas[0].text in {"More trips out", "A cinema night"}
    assert handled == ["handled", "handled", "handled"]


def test_a_reply_committed_before_a_crash_goes_out_once_after_restart(
    database: Engine, clock: ManualClock, telegram: TelegramDouble
) -> None:
    service_id = add_service(database)
    add_person(database, clock, ADDRESS, service_id=service_id)
    engine = ConversationEngine(database=database, clock=clock)
    engine.receive(Inbound(address=ADDRESS, text="HELP", channel="telegram", provider_id="9001",
                           received_at=clock.now()))
    engine.handle_waiting(ADDRESS)  # committed; the process "dies" before sending

    with running_app(database, clock, telegram=telegram) as app:
        app.send_out()
        app.send_out()

    texts = telegram.sent_texts(CHAT)
    assert sum("Voicebank helps you tell us what you think" in text for text in texts) == 1


def test_a_message_claimed_by_a_dispatcher_that_died_goes_out_once_when_its_lease_ends(
    database: Engine, clock: ManualClock, telegram: TelegramDouble
) -> None:
    from storage.database import transaction

    with transaction(database) as session:
        outbox.queue_message(session=session, address=ADDRESS, channel="telegram",
                             text="Your surgery is tomorrow", now=clock.now())
        outbox.claim_due(session=session, now=clock.now(), channels=["telegram"])

    with running_app(database, clock, telegram=telegram) as app:
        app.send_out()
        assert telegram.sent() == [], "another dispatcher may still be sending it"
        clock.advance(outbox.CLAIM_LEASE)
        app.send_out()
        app.send_out()

    assert telegram.sent_texts(CHAT) == ["Your surgery is tomorrow"]

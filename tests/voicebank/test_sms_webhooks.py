"""SMS end to end: signed Twilio webhooks in, the real twilio client out to the REST double."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.clock import ManualClock
from storage.tables import Address, AuditEntry, OutboxStatus, Person, Priority
from tests.doubles.twilio_api import TwilioDouble, inbound_sms_params, status_callback_params
from tests.voicebank.app_harness import (
    PUBLIC_URL,
    SMS_NUMBER,
    RunningApp,
    add_person,
    add_service,
    rows,
    running_app,
)

ANN = "+447700900123"


@pytest.fixture
def twilio() -> Iterator[TwilioDouble]:
    with TwilioDouble() as double:
        yield double


@pytest.fixture
def app(database: Engine, clock: ManualClock, twilio: TwilioDouble) -> Iterator[RunningApp]:
    add_service(database)
    with running_app(database, clock, twilio=twilio) as running:
        yield running


def _text(app: RunningApp, body: str, *, sid: str | None = None, **extra: str) -> None:
    response = app.post_sms(inbound_sms_params(from_=ANN, to=SMS_NUMBER, body=body, sid=sid,
                                               **extra))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    app.settle()
    app.send_out()


def test_a_text_is_stored_and_answered_from_our_number(app: RunningApp, twilio: TwilioDouble
                                                       ) -> None:
    _text(app, "JOIN WILLOW1")

    [stored] = app.inbox()
    assert (stored.channel, stored.address, stored.text) == ("sms", f"tel:{ANN}", "JOIN WILLOW1")
    sent = twilio.sent()
    assert sent, "the welcome should have gone out"
    assert all(call.params["To"] == ANN and call.params["From"] == SMS_NUMBER for call in sent)
    assert all(call.params["StatusCallback"] == f"{PUBLIC_URL}/sms/twilio/status"
               for call in sent)
    assert "Welcome to Voicebank" in twilio.sent_bodies()[0]
    assert "Willow House" in twilio.sent_bodies()[0]
    assert all(row.status == OutboxStatus.SENT for row in app.outbox())
    assert all((row.provider_id or "").startswith("SM") for row in app.outbox())
    # Handling made way for the app's requests, all answered now.
    assert app.runtime.web is not None
    assert app.runtime.web.serving == 0


@pytest.mark.parametrize(
    "signature",
    [None, "", "not-a-signature", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="],
    ids=["missing", "empty", "garbage", "wrong"],
)
def test_a_forged_text_is_refused_and_nothing_is_stored(
    app: RunningApp, twilio: TwilioDouble, signature: str | None
) -> None:
    response = app.post_sms(inbound_sms_params(from_=ANN, to=SMS_NUMBER, body="JOIN WILLOW1"),
                            signature=signature)

    assert response.status_code == 403
    app.settle()
    assert app.inbox() == []
    assert twilio.calls == []


def test_the_signature_is_checked_against_the_public_url_not_the_host_header(
    app: RunningApp,
) -> None:
    params = inbound_sms_params(from_=ANN, to=SMS_NUMBER, body="hello")
    as_seen_behind_the_proxy = app.post_sms(
        params, signed_url="http://testserver/sms/twilio"
    )
    assert as_seen_behind_the_proxy.status_code == 403

    assert app.post_sms(params).status_code == 200


def test_a_signature_for_other_words_is_refused(app: RunningApp, twilio: TwilioDouble) -> None:
    params = inbound_sms_params(from_=ANN, to=SMS_NUMBER, body="1")
    from tests.doubles.twilio_api import twilio_signature

    signature = twilio_signature(twilio.auth_token, f"{PUBLIC_URL}/sms/twilio", params)
    tampered = params | {"Body": "STOP"}

    assert app.post_sms(tampered, signature=signature).status_code == 403
    assert app.inbox() == []


def test_a_repeated_message_sid_is_acknowledged_and_handled_once(
    app: RunningApp, twilio: TwilioDouble
) -> None:
    params = inbound_sms_params(from_=ANN, to=SMS_NUMBER, body="JOIN WILLOW1")

    first = app.post_sms(params)
    again = app.post_sms(params)
    app.settle()
    app.send_out()

    assert (first.status_code, again.status_code) == (200, 200)
    assert len(app.inbox()) == 1
    welcomes = [body for body in twilio.sent_bodies() if "Welcome" in body]
    assert len(welcomes) == 1


def test_a_very_long_text_is_kept_whole_and_answered_kindly(
    app: RunningApp, twilio: TwilioDouble
) -> None:
    _text(app, "JOIN WILLOW1")
    long_text = "I would like more trips to the seaside please. " * 220

    _text(app, long_text)

    assert app.inbox()[-1].text == long_text
    assert len(twilio.sent_bodies()) > 2
    assert not any("invalid" in body.lower() for body in twilio.sent_bodies())


def test_a_text_from_something_that_is_not_a_phone_number_is_dropped_politely(
    app: RunningApp, twilio: TwilioDouble
) -> None:
    response = app.post_sms(inbound_sms_params(from_="Vodafone", to=SMS_NUMBER, body="Top up"))

    assert response.status_code == 200
    app.settle()
    assert app.inbox() == []
    assert twilio.calls == []


@pytest.mark.parametrize("stop", ["STOP", "stopall", " Unsubscribe ", "cancel", "END", "Quit",
                                  "stop all", "S T O P"])
def test_stop_words_opt_the_person_out(app: RunningApp, twilio: TwilioDouble, stop: str) -> None:
    _text(app, "JOIN WILLOW1")

    _text(app, stop)

    with app.session() as session:
        [person] = rows(session, Person)
        assert person.opted_out_at == app.clock.now()
    assert "You will not get any more messages" in twilio.sent_bodies()[-1]


@pytest.mark.parametrize("start", ["START", "unstop", "Yes"])
def test_start_words_opt_the_person_back_in(
    app: RunningApp, twilio: TwilioDouble, start: str
) -> None:
    _text(app, "JOIN WILLOW1")
    _text(app, "STOP")

    _text(app, start)

    with app.session() as session:
        [person] = rows(session, Person)
        assert person.opted_out_at is None
    assert any("Welcome back" in body for body in twilio.sent_bodies())


@pytest.mark.parametrize("help_word", ["HELP", "info"])
def test_help_words_get_help(app: RunningApp, twilio: TwilioDouble, help_word: str) -> None:
    _text(app, "JOIN WILLOW1")
    before = len(twilio.sent_bodies())

    _text(app, help_word)

    after_help = twilio.sent_bodies()[before:]
    assert "Voicebank helps you tell us what you think" in after_help[0]


def test_when_twilio_answered_stop_itself_the_bot_stays_quiet_but_records_it(
    app: RunningApp, twilio: TwilioDouble
) -> None:
    _text(app, "JOIN WILLOW1")
    before = len(twilio.sent())

    _text(app, "STOP", OptOutType="STOP")

    assert len(twilio.sent()) == before
    with app.session() as session:
        [person] = rows(session, Person)
        assert person.opted_out_at is not None


def test_opting_out_cancels_queued_bulk_messages(app: RunningApp, twilio: TwilioDouble) -> None:
    from storage import outbox

    _text(app, "JOIN WILLOW1")
    with app.session() as session:
        [person] = rows(session, Person)
        outbox.queue_message(session=session, address=f"tel:{ANN}", channel="sms",
                             text="Our survey is open", now=app.clock.now() + timedelta(hours=1),
                             person_id=person.id, priority=Priority.BULK)

    _text(app, "STOP")

    invitation = next(row for row in app.outbox() if row.text == "Our survey is open")
    assert invitation.status == OutboxStatus.CANCELLED
    assert "Our survey is open" not in twilio.sent_bodies()


def test_an_unsubscribed_number_is_marked_and_never_retried(
    database: Engine, clock: ManualClock, twilio: TwilioDouble
) -> None:
    service_id = add_service(database)
    add_person(database, clock, f"tel:{ANN}", service_id=service_id)
    twilio.unsubscribe(ANN)
    with running_app(database, clock, twilio=twilio) as app:
        _text(app, "HELP")
        clock.advance(timedelta(hours=2))
        app.send_out()

        creates = twilio.calls_to("messages.create")
        assert len(creates) == 1
        assert creates[0].outcome == "21610"
        with app.session() as session:
            [address] = rows(session, Address)
            assert not address.active
            assert "21610" in (address.inactive_reason or "")
            actions = {entry.action for entry in rows(session, AuditEntry)}
        assert {"address.deactivated", "outbox.failed"} <= actions
        assert {row.status for row in app.outbox()} <= {OutboxStatus.FAILED,
                                                         OutboxStatus.CANCELLED}

        # Texting again shows the number works once more: it is active and answered.
        twilio.resubscribe(ANN)
        _text(app, "HELP")
        assert twilio.sent_bodies(), "a reply after the person wrote again"


def test_server_errors_and_rate_limits_are_retried_until_sent_once(
    app: RunningApp, twilio: TwilioDouble
) -> None:
    twilio.fail_next("messages.create", "5xx")
    twilio.fail_next("messages.create", "429")

    _text(app, "JOIN WILLOW1")
    for _ in range(4):
        app.clock.advance(timedelta(minutes=2))
        app.send_out()

    welcomes = [body for body in twilio.sent_bodies() if "Welcome" in body]
    assert len(welcomes) == 1
    assert all(row.status == OutboxStatus.SENT for row in app.outbox())


def _sent_sid(app: RunningApp) -> str:
    row = app.outbox()[0]
    assert row.provider_id is not None
    return row.provider_id


def _status(app: RunningApp, sid: str, status: str, error_code: str | None = None) -> int:
    response = app.post_sms(
        status_callback_params(message_sid=sid, status=status, error_code=error_code),
        path="/sms/twilio/status",
    )
    return response.status_code


def test_status_callbacks_never_move_a_message_backwards(app: RunningApp) -> None:
    _text(app, "JOIN WILLOW1")
    sid = _sent_sid(app)

    assert _status(app, sid, "sent") == 204
    assert _status(app, sid, "delivered") == 204
    assert _status(app, sid, "delivered") == 204
    assert _status(app, sid, "sent") == 204
    assert _status(app, sid, "failed", "30003") == 204

    row = app.outbox()[0]
    assert (row.status, row.delivery_status) == (OutboxStatus.DELIVERED, "delivered")
    assert row.delivered_at == app.clock.now()


def test_an_undelivered_message_is_marked_failed_with_the_reason(app: RunningApp) -> None:
    _text(app, "JOIN WILLOW1")
    sid = _sent_sid(app)

    _status(app, sid, "undelivered", "30003")

    row = app.outbox()[0]
    assert (row.status, row.delivery_status) == (OutboxStatus.FAILED, "undelivered")
    assert "30003" in (row.error or "")


def test_a_forged_status_callback_changes_nothing(app: RunningApp) -> None:
    _text(app, "JOIN WILLOW1")
    sid = _sent_sid(app)

    response = app.post_sms(status_callback_params(message_sid=sid, status="failed"),
                            path="/sms/twilio/status", signature="forged")

    assert response.status_code == 403
    assert app.outbox()[0].status == OutboxStatus.SENT


def test_a_status_callback_saying_the_number_opted_out_marks_the_address(
    app: RunningApp,
) -> None:
    _text(app, "JOIN WILLOW1")
    sid = _sent_sid(app)

    _status(app, sid, "failed", "21610")

    with app.session() as session:
        [address] = rows(session, Address)
        assert not address.active


def test_emoji_can_be_left_out_of_texts_to_keep_them_cheap(
    database: Engine, clock: ManualClock, twilio: TwilioDouble
) -> None:
    add_service(database)
    with running_app(database, clock, twilio=twilio, sms_emoji=False) as app:
        _text(app, "JOIN WILLOW1")

    bodies = twilio.sent_bodies()
    assert bodies
    assert all(body.isascii() for body in bodies)
    assert any("1 Tell us an idea" in body for body in bodies)


def test_with_mms_on_a_picture_goes_with_the_text(
    database: Engine, clock: ManualClock, twilio: TwilioDouble, tmp_path: Path
) -> None:
    from storage import outbox

    media = tmp_path / "media"
    media.mkdir()
    (media / "seaside.png").write_bytes(b"\x89PNG picture")
    with running_app(database, clock, twilio=twilio, sms_mms=True, media_dir=str(media)) as app:
        with app.session() as session:
            outbox.queue_message(session=session, address=f"tel:{ANN}", channel="sms",
                                 text="Our trip", now=clock.now(), picture="seaside.png")
            outbox.queue_message(session=session, address=f"tel:{ANN}", channel="sms",
                                 text="No such picture", now=clock.now(), picture="lost.png")
        app.send_out()
        served = app.client.get("/media/seaside.png")

    [with_picture, without] = twilio.sent()
    assert with_picture.params["MediaUrl"] == [f"{PUBLIC_URL}/media/seaside.png"]
    assert not without.params.get("MediaUrl")
    assert served.content == b"\x89PNG picture"


def test_without_mms_the_options_carry_the_meaning(
    database: Engine, clock: ManualClock, twilio: TwilioDouble
) -> None:
    from storage import outbox

    with running_app(database, clock, twilio=twilio) as app:
        with app.session() as session:
            outbox.queue_message(
                session=session, address=f"tel:{ANN}", channel="sms", text="How was the trip?",
                now=clock.now(), picture="https://example.org/trip.png",
                options=[{"number": 1, "emoji": "😀", "label": "Good"},
                         {"number": 2, "emoji": "🙁", "label": "Bad"}],
            )
        app.send_out()

    [call] = twilio.sent()
    assert not call.params.get("MediaUrl")
    assert "1 😀 Good" in call.params["Body"]
    assert "2 🙁 Bad" in call.params["Body"]


def test_a_messaging_service_can_send_instead_of_a_number(
    database: Engine, clock: ManualClock, twilio: TwilioDouble
) -> None:
    service = "MG" + "ab" * 16
    add_service(database)
    with running_app(database, clock, twilio=twilio, twilio_from=service) as app:
        _text(app, "JOIN WILLOW1")

    assert twilio.sent()
    assert all(call.params["MessagingServiceSid"] == service for call in twilio.sent())
    assert all("From" not in call.params for call in twilio.sent())

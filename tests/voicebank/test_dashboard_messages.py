"""The dashboard's messages page, through the whole app: listing, filtering, sending again."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.clock import ManualClock
from storage import inbox, outbox
from storage.database import transaction
from storage.tables import OutboxMessage, OutboxStatus, StaffRole
from tests.voicebank.dashboard_harness import Dashboard

SUMMER = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)  # 10:00 in London


@pytest.fixture
def dashboard(database: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[Dashboard]:
    with Dashboard.opened(database, ManualClock(SUMMER), monkeypatch, tmp_path) as dashboard:
        yield dashboard


def queue(dashboard: Dashboard, text: str, *, channel: str = "sms",
          address: str = "tel:+447700900123", status: str = OutboxStatus.QUEUED,
          attempts: int = 0, error: str | None = None, sensitive: bool = False,
          delivery_status: str | None = None) -> int:
    with transaction(dashboard.database) as session:
        message_id = outbox.queue_message(session=session, address=address, channel=channel,
                                          text=text, now=dashboard.clock.now(),
                                          sensitive=sensitive)
        message = session.get_one(OutboxMessage, message_id)
        message.status = status
        message.attempts = attempts
        message.error = error
        message.delivery_status = delivery_status
        session.add(message)
        return message_id


def receive(dashboard: Dashboard, text: str, *, channel: str = "sms",
            address: str = "tel:+447700900123", provider_id: str = "SM1") -> None:
    with transaction(dashboard.database) as session:
        inbox.store_inbound(session=session, row=inbox.arriving(
            channel=channel, provider_id=provider_id, address=address, text=text,
            received_at=dashboard.clock.now()))


def outbox_cells(html: str) -> str:
    """The part of the page after the "Messages out" heading."""
    return html.split("<h2>Messages out</h2>", 1)[1]


def inbox_cells(html: str) -> str:
    return html.split("<h2>Messages in</h2>", 1)[1].split("<h2>Messages out</h2>", 1)[0]


def test_someone_not_signed_in_is_sent_to_sign_in(dashboard: Dashboard) -> None:
    failed = queue(dashboard, "Hello", status=OutboxStatus.FAILED, error="boom")

    page = dashboard.client.get("/messages?status=failed")
    retry = dashboard.client.post(f"/messages/{failed}/retry", data={"csrf": "x"})

    assert page.status_code == 303
    assert page.headers["location"] == "/sign-in?next=/messages"
    assert retry.status_code == 303
    assert retry.headers["location"].startswith("/sign-in")
    assert dashboard.row(OutboxMessage, failed).status == OutboxStatus.FAILED


def test_an_mp_account_cannot_see_messages_or_send_them_again(dashboard: Dashboard) -> None:
    failed = queue(dashboard, "Hello", status=OutboxStatus.FAILED, error="boom")
    dashboard.sign_in_as(StaffRole.MP)

    page = dashboard.client.get("/messages")
    retry = dashboard.post(f"/messages/{failed}/retry")

    assert page.status_code == 403
    assert retry.status_code == 403
    assert dashboard.row(OutboxMessage, failed).status == OutboxStatus.FAILED


def test_the_page_shows_messages_in_and_out_and_hides_what_a_vote_said(
    dashboard: Dashboard,
) -> None:
    receive(dashboard, "I would like more trips out please")
    long_text = "Thank you for your idea. " * 20
    queue(dashboard, long_text, attempts=2, delivery_status="delivered",
          status=OutboxStatus.DELIVERED)
    queue(dashboard, "You voted for Ann. Thank you!", sensitive=True)
    failed = queue(dashboard, "See you at the surgery", status=OutboxStatus.FAILED,
                   attempts=5, error="Twilio said 21610: unsubscribed")
    dashboard.sign_in_as(StaffRole.STAFF)

    page = dashboard.client.get("/messages")

    assert page.status_code == 200
    html = page.text
    assert "I would like more trips out please" in inbox_cells(html)
    assert "01 Jul 2026 10:00" in html  # 09:00 UTC, shown in London's summer time
    out = outbox_cells(html)
    assert "Thank you for your idea. Thank you" in out
    assert long_text.strip() not in out
    assert "…" in out
    assert "[a voting message]" in out
    assert "You voted for Ann" not in html
    assert "Twilio said 21610: unsubscribed" in out
    assert f'action="/messages/{failed}/retry"' in out
    assert out.count("/retry") == 1  # only the failed message can be sent again
    assert '<th scope="col">Attempts</th>' in out


def test_the_messages_can_be_filtered_by_status_and_channel(dashboard: Dashboard) -> None:
    queue(dashboard, "sent by text", status=OutboxStatus.SENT)
    queue(dashboard, "failed by text", status=OutboxStatus.FAILED, error="no signal")
    queue(dashboard, "failed on telegram", channel="telegram", address="telegram:42",
          status=OutboxStatus.FAILED, error="blocked")
    receive(dashboard, "hello by text")
    receive(dashboard, "hello on telegram", channel="telegram", address="telegram:42",
            provider_id="7")
    dashboard.sign_in_as(StaffRole.ADMIN)

    failed = dashboard.client.get("/messages?status=failed").text
    telegram = dashboard.client.get("/messages?channel=telegram").text
    both = dashboard.client.get("/messages?status=failed&channel=sms").text

    assert "failed by text" in failed
    assert "failed on telegram" in failed
    assert "sent by text" not in failed
    assert "No messages in that match" in failed  # nothing received has failed
    assert "hello on telegram" in telegram
    assert "failed on telegram" in telegram
    assert "by text" not in telegram
    assert "failed by text" in both
    assert "telegram" not in outbox_cells(both)


def test_fifty_messages_a_page(dashboard: Dashboard) -> None:
    for number in range(1, 61):
        queue(dashboard, f"note {number:03d}")
    dashboard.sign_in_as(StaffRole.STAFF)

    first = outbox_cells(dashboard.client.get("/messages").text)
    second = outbox_cells(dashboard.client.get("/messages?page=2").text)

    assert "note 060" in first
    assert "note 011" in first
    assert "note 010" not in first
    assert "Older messages" in first
    assert "note 010" in second
    assert "note 001" in second
    assert "note 011" not in second
    assert "Older messages" not in second
    assert len(re.findall(r"note \d{3}", first)) == 50


def test_sending_a_failed_message_again_queues_it_and_records_who(
    dashboard: Dashboard,
) -> None:
    failed = queue(dashboard, "See you at the surgery", status=OutboxStatus.FAILED,
                   attempts=5, error="Twilio said no")
    user_id = dashboard.sign_in_as(StaffRole.STAFF)
    csrf = dashboard.csrf()
    dashboard.clock.advance(timedelta(hours=2))

    response = dashboard.client.post(f"/messages/{failed}/retry",
                                     data={"csrf": csrf, "status": "failed"})
    page = dashboard.client.get(response.headers["location"])

    assert response.status_code == 303
    assert response.headers["location"] == f"/messages?status=failed&retried={failed}"
    assert f"Message {failed} is queued to be sent again." in page.text
    message = dashboard.row(OutboxMessage, failed)
    assert message.status == OutboxStatus.QUEUED  # no SMS provider here, so it waits
    assert message.attempts == 0
    assert message.error is None
    assert message.next_attempt_at == dashboard.clock.now()
    [entry] = dashboard.audit("outbox.retried")
    assert entry.actor == f"staff_user:{user_id}"
    assert entry.subject == f"outbox:{failed}"
    assert entry.detail["error"] == "Twilio said no"


def test_sending_again_a_message_that_has_not_failed_changes_nothing(
    dashboard: Dashboard,
) -> None:
    sent = queue(dashboard, "Welcome", status=OutboxStatus.SENT, attempts=1)
    dashboard.sign_in_as(StaffRole.ADMIN)

    response = dashboard.post(f"/messages/{sent}/retry")
    page = dashboard.client.get(response.headers["location"])
    missing = dashboard.post("/messages/9999/retry")

    assert response.status_code == 303
    assert page.status_code == 200
    assert f"Message {sent} had not failed, so it was left as it was." in page.text
    message = dashboard.row(OutboxMessage, sent)
    assert message.status == OutboxStatus.SENT
    assert message.attempts == 1
    assert dashboard.audit("outbox.retried") == []
    assert missing.status_code == 404


@pytest.mark.parametrize("form", [{}, {"csrf": ""}, {"csrf": "not-the-token"}])
def test_a_retry_without_the_form_token_is_refused(
    dashboard: Dashboard, form: dict[str, str]
) -> None:
    failed = queue(dashboard, "See you", status=OutboxStatus.FAILED, attempts=5, error="no")
    dashboard.sign_in_as(StaffRole.ADMIN)

    response = dashboard.client.post(f"/messages/{failed}/retry", data=form)

    assert response.status_code == 403
    message = dashboard.row(OutboxMessage, failed)
    assert message.status == OutboxStatus.FAILED
    assert message.attempts == 5
    assert dashboard.audit("outbox.retried") == []


def test_an_unknown_status_shows_every_message_and_says_so(dashboard: Dashboard) -> None:
    receive(dashboard, "hello there")
    dashboard.sign_in_as(StaffRole.STAFF)

    page = dashboard.client.get("/messages?status=lost")

    assert page.status_code == 200
    assert "There is no status called “lost”" in page.text
    assert "hello there" in inbox_cells(page.text)

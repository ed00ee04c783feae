"""Delivery reports: kept by provider id, tied to their message, never moving backwards."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from bot.clock import ManualClock
from storage import delivery, outbox
from storage.database import transaction
from storage.tables import OutboxMessage, OutboxStatus

ANN = "tel:+447700900123"


def _sent(database: Engine, clock: ManualClock, *provider_ids: str) -> int:
    with transaction(database) as session:
        message_id = outbox.queue_message(session=session, address=ANN, channel="sms",
                                          text="hello", now=clock.now())
        outbox.mark_sent(session=session, message_id=message_id, provider_ids=provider_ids,
                         now=clock.now())
        return message_id


def _report(database: Engine, clock: ManualClock, provider_id: str, status: str,
            error_code: str | None = None) -> None:
    with transaction(database) as session:
        delivery.record_report(session=session, channel="sms", provider_id=provider_id,
                               status=status, error_code=error_code, now=clock.now())


def _row(database: Engine, message_id: int) -> OutboxMessage:
    with transaction(database) as session:
        return session.get_one(OutboxMessage, message_id)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["queued", "sent", "delivered"], "delivered"),
        (["delivered", "sent", "queued"], "delivered"),
        (["sent", "undelivered"], "undelivered"),
        (["delivered", "failed"], "delivered"),
        (["failed", "delivered"], "delivered"),
        (["sent", "sent", "sent"], "sent"),
        (["sent", "nonsense"], "sent"),
        (["delivered", "read"], "read"),
    ],
)
def test_a_report_only_moves_forward(
    database: Engine, clock: ManualClock, statuses: list[str], expected: str
) -> None:
    message_id = _sent(database, clock, "SM1")

    for status in statuses:
        _report(database, clock, "SM1", status)

    assert _row(database, message_id).delivery_status == expected


def test_a_report_that_comes_before_the_send_is_recorded_is_kept(
    database: Engine, clock: ManualClock
) -> None:
    _report(database, clock, "SM9", "delivered")

    message_id = _sent(database, clock, "SM9")

    row = _row(database, message_id)
    assert (row.status, row.delivery_status, row.delivered_at) == (
        OutboxStatus.DELIVERED, "delivered", clock.now()
    )


def test_a_message_in_parts_is_delivered_when_every_part_is(
    database: Engine, clock: ManualClock
) -> None:
    message_id = _sent(database, clock, "SM1", "SM2")

    _report(database, clock, "SM1", "delivered")
    assert _row(database, message_id).status == OutboxStatus.SENT

    _report(database, clock, "SM2", "delivered")
    assert _row(database, message_id).status == OutboxStatus.DELIVERED


def test_one_undelivered_part_fails_the_message_with_its_error(
    database: Engine, clock: ManualClock
) -> None:
    message_id = _sent(database, clock, "SM1", "SM2")

    _report(database, clock, "SM1", "delivered")
    _report(database, clock, "SM2", "undelivered", "30005")

    row = _row(database, message_id)
    assert (row.status, row.delivery_status) == (OutboxStatus.FAILED, "undelivered")
    assert "30005" in (row.error or "")


def test_a_report_for_a_message_we_never_sent_changes_no_message(
    database: Engine, clock: ManualClock
) -> None:
    message_id = _sent(database, clock, "SM1")

    _report(database, clock, "SM-unknown", "failed", "30003")

    row = _row(database, message_id)
    assert (row.status, row.delivery_status) == (OutboxStatus.SENT, "sent")

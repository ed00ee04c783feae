"""Delivery reports: what a provider says became of a message, never moving backwards.

Twilio calls back as a message goes queued → sent → delivered (or undelivered, failed).
Callbacks can arrive twice, out of order, or before the send that caused them has been
recorded. Each report is kept by the provider's id; a status only replaces one of lower
rank, so a late "sent" never undoes "delivered".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from storage.database import insert_unless_present
from storage.tables import DeliveryReport, OutboxMessage, OutboxStatus

RANK = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "delivered": 5,
    "read": 6,
}
FAILED = frozenset({"undelivered", "failed", "canceled"})
DELIVERED = frozenset({"delivered", "read"})


def rank(status: str) -> int:
    """How far along ``status`` is; an unknown status ranks lowest and changes nothing."""
    return RANK.get(status, 0)


def record_report(
    *,
    session: Session,
    channel: str,
    provider_id: str,
    status: str,
    error_code: str | None,
    now: datetime,
) -> OutboxMessage | None:
    """Store a provider's report and bring its outbox message up to date.

    Returns the outbox message it belongs to, when that is known yet.
    """
    status = status.strip().lower()
    _insert_ignoring_repeat(session, channel, provider_id, status, error_code, now)
    report = session.exec(
        select(DeliveryReport)
        .where(DeliveryReport.channel == channel, DeliveryReport.provider_id == provider_id)
        .with_for_update()
    ).one()
    if rank(status) > rank(report.status):
        report.status = status
        report.error_code = error_code
        report.updated_at = now
        session.add(report)
    message = _message_for(session, report)
    if message is not None:
        _settle(session, message, now)
    return message


def link_reports(
    *, session: Session, message: OutboxMessage, provider_ids: Sequence[str], now: datetime
) -> None:
    """Tie reports to a message just sent, making one for each part not heard of yet."""
    assert message.id is not None
    for provider_id in provider_ids:
        _insert_ignoring_repeat(session, message.channel, provider_id, "sent", None, now)
    reports = session.exec(
        select(DeliveryReport).where(
            DeliveryReport.channel == message.channel,
            col(DeliveryReport.provider_id).in_(list(provider_ids)),
        )
    )
    for report in reports:
        report.outbox_id = message.id
        session.add(report)
    session.flush()
    _settle(session, message, now)


def _insert_ignoring_repeat(
    session: Session,
    channel: str,
    provider_id: str,
    status: str,
    error_code: str | None,
    now: datetime,
) -> None:
    insert_unless_present(session, DeliveryReport.__table__, {  # type: ignore[attr-defined]
        "channel": channel,
        "provider_id": provider_id[:100],
        "status": status,
        "error_code": error_code,
        "updated_at": now,
    })


def _message_for(session: Session, report: DeliveryReport) -> OutboxMessage | None:
    if report.outbox_id is not None:
        return session.get(OutboxMessage, report.outbox_id)
    return None


def _settle(session: Session, message: OutboxMessage, now: datetime) -> None:
    """The message's delivery status is its least advanced part's; any failed part fails it."""
    statuses = list(
        session.exec(select(DeliveryReport.status).where(DeliveryReport.outbox_id == message.id))
    )
    if not statuses:
        return
    failed = [status for status in statuses if status in FAILED]
    overall = failed[0] if failed else min(statuses, key=rank)
    message.delivery_status = overall
    if overall in DELIVERED and message.status != OutboxStatus.DELIVERED:
        message.status = OutboxStatus.DELIVERED
        message.delivered_at = now
    elif overall in FAILED and message.status == OutboxStatus.SENT:
        message.status = OutboxStatus.FAILED
        codes = session.exec(
            select(DeliveryReport.error_code).where(
                DeliveryReport.outbox_id == message.id, col(DeliveryReport.error_code).is_not(None)
            )
        ).first()
        message.error = f"the provider could not deliver it ({overall}, error {codes or '?'})"
    session.add(message)

"""When a survey opens, closes and reminds: pure functions of the survey's times and now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta


def due_to_open(*, status: str, opens_at: datetime | None, closes_at: datetime | None,
                now: datetime) -> bool:
    """A scheduled survey opens once its time comes, unless it has already closed."""
    if status != "scheduled" or opens_at is None or opens_at > now:
        return False
    return closes_at is None or closes_at > now


def due_to_close(*, status: str, closes_at: datetime | None, now: datetime) -> bool:
    return status in ("open", "scheduled") and closes_at is not None and closes_at <= now


def due_reminder(
    *, reminders: Sequence[timedelta], closes_at: datetime | None, now: datetime
) -> int | None:
    """Which reminder is due now: the latest whose time has come, while the survey is open.

    Reminders are "this long before closing". If the scheduler was away when an earlier
    one fell due, only the latest is sent: nobody gets two reminders at once.
    """
    if closes_at is None or now >= closes_at:
        return None
    due = [(closes_at - before, index) for index, before in enumerate(reminders)
           if closes_at - before <= now]
    if not due:
        return None
    return max(due)[1]

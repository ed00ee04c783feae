"""When an action's owner is nudged: pure functions of the due date, the time zone and now.

Nudges go at 09:00 local time: a set number of days before the date (7 and 1 by default),
on the day, and each week after it while the action is open. After the second overdue
nudge the participation lead is told too. Only the latest nudge that has come due is sent,
so an owner never gets several at once after the scheduler was away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

NUDGE_TIME = time(9, 0)
DEFAULT_BEFORE = (7, 1)
LEAD_AFTER_OVERDUE = 2


@dataclass(frozen=True)
class Nudge:
    """Which nudge: ``before-7``, ``due``, ``overdue-1`` … and whether the lead hears too."""

    key: str
    days_late: int = 0
    tell_lead: bool = False


def at_nine(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, NUDGE_TIME, tzinfo=zone)


def due_nudge(
    *, due_on: date, now: datetime, zone: ZoneInfo, before: Sequence[int] = DEFAULT_BEFORE
) -> Nudge | None:
    """The latest nudge whose time has come for an open action due on ``due_on``."""
    local_now = now.astimezone(zone)
    if local_now < at_nine(due_on, zone):
        days = [d for d in before if d > 0 and local_now >= at_nine(due_on - timedelta(d), zone)]
        return Nudge(key=f"before-{min(days)}") if days else None
    weeks = (local_now.date() - due_on).days // 7
    if local_now < at_nine(due_on + timedelta(weeks=weeks), zone):
        weeks -= 1
    if weeks <= 0:
        return Nudge(key="due")
    return Nudge(key=f"overdue-{weeks}", days_late=weeks * 7,
                 tell_lead=weeks >= LEAD_AFTER_OVERDUE)

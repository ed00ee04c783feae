"""The clock port: the engine and the scheduler ask it the time, tests move it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware and in UTC."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until it is moved: for tests and benchmarks."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = moment.astimezone(UTC)


def spoken_day(day: date) -> str:
    """A date the way people say it: "Friday 5 December"."""
    return f"{day:%A} {day.day} {day:%B}"


def spoken_time(moment: datetime, zone: ZoneInfo) -> str:
    """A moment on the organisation's wall clock: "Friday 5 December at 17:00"."""
    local = moment.astimezone(zone)
    return f"{spoken_day(local.date())} at {local:%H:%M}"

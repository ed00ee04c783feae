"""Quiet hours: bulk messages (invitations, reminders) wait for morning; replies never wait."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class QuietHours:
    """A daily span in the organisation's time zone, such as 21:00 to 08:00."""

    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, span: str, zone: ZoneInfo) -> QuietHours | None:
        """``"21:00-08:00"``; an empty string means no quiet hours."""
        if not span.strip():
            return None
        match = _SPAN.match(span)
        if match is None:
            raise ValueError("write quiet hours like 21:00-08:00, or leave them empty")
        start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
        try:
            start, end = time(start_h, start_m), time(end_h, end_m)
        except ValueError as error:
            raise ValueError(f"{span!r} is not two times of day") from error
        if start == end:
            raise ValueError("quiet hours must start and end at different times")
        return cls(start=start, end=end, zone=zone)

    def contains(self, now: datetime) -> bool:
        """Whether ``now`` (any aware time) falls in quiet hours, on the local wall clock."""
        local = now.astimezone(self.zone).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

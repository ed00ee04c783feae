"""Quiet hours: bulk messages wait for the organisation's morning, on its own wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from scheduler.quiet_hours import QuietHours

LONDON = ZoneInfo("Europe/London")
TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")


def utc(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def quiet(span: str, zone: ZoneInfo = LONDON) -> QuietHours:
    hours = QuietHours.parse(span, zone)
    assert hours is not None
    return hours


# -- parse -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "start", "end"),
    [
        ("21:00-08:00", time(21, 0), time(8, 0)),
        ("12:00-13:00", time(12, 0), time(13, 0)),
        ("9:30-17:45", time(9, 30), time(17, 45)),
        ("  22:15 - 06:05  ", time(22, 15), time(6, 5)),
        ("00:00-23:59", time(0, 0), time(23, 59)),
        ("23:59-00:00", time(23, 59), time(0, 0)),
        ("07:00-7:01", time(7, 0), time(7, 1)),
    ],
)
def test_a_span_is_read_as_a_start_and_an_end(span: str, start: time, end: time) -> None:
    assert QuietHours.parse(span, LONDON) == QuietHours(start=start, end=end, zone=LONDON)


@pytest.mark.parametrize("span", ["", " ", "\t  \n"])
def test_an_empty_span_means_no_quiet_hours(span: str) -> None:
    assert QuietHours.parse(span, LONDON) is None


@pytest.mark.parametrize(
    ("span", "message"),
    [
        ("21-08", "write quiet hours like 21:00-08:00"),
        ("21:00", "write quiet hours like 21:00-08:00"),
        ("21:00 to 08:00", "write quiet hours like 21:00-08:00"),
        ("21.00-08.00", "write quiet hours like 21:00-08:00"),
        ("21:00-08:00-09:00", "write quiet hours like 21:00-08:00"),
        ("9pm-8am", "write quiet hours like 21:00-08:00"),
        ("21:0-08:00", "write quiet hours like 21:00-08:00"),
        ("121:00-08:00", "write quiet hours like 21:00-08:00"),
        ("-08:00", "write quiet hours like 21:00-08:00"),
        ("25:00-08:00", "is not two times of day"),
        ("24:00-08:00", "is not two times of day"),
        ("21:00-08:60", "is not two times of day"),
        ("21:75-08:00", "is not two times of day"),
        ("08:00-08:00", "must start and end at different times"),
        ("8:00-08:00", "must start and end at different times"),
        ("00:00-00:00", "must start and end at different times"),
    ],
)
def test_a_bad_span_is_refused_with_a_message_that_says_what_is_wrong(
    span: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        QuietHours.parse(span, LONDON)


def test_the_message_for_impossible_times_quotes_what_was_written() -> None:
    with pytest.raises(ValueError, match="'25:00-08:00'"):
        QuietHours.parse("25:00-08:00", LONDON)


# -- contains ----------------------------------------------------------------------------

# 2026-03-02 is in winter (London on GMT, UTC+0); 2026-07-01 is in summer (BST, UTC+1).
# The clocks go forward at 01:00 UTC on 2026-03-29 and back at 01:00 UTC on 2026-10-25.
OVERNIGHT = [
    # a winter day and night
    (utc(2026, 3, 2, 12, 0), False),
    (utc(2026, 3, 2, 20, 59, 59), False),
    (utc(2026, 3, 2, 21, 0), True),
    (utc(2026, 3, 2, 23, 59, 59), True),
    (utc(2026, 3, 3, 0, 0), True),
    (utc(2026, 3, 3, 3, 30), True),
    (utc(2026, 3, 3, 7, 59, 59), True),
    (utc(2026, 3, 3, 8, 0), False),
    (utc(2026, 3, 3, 8, 0, 1), False),
    # a summer day and night: local time is an hour ahead of UTC
    (utc(2026, 7, 1, 19, 59), False),  # 20:59 BST
    (utc(2026, 7, 1, 20, 0), True),  # 21:00 BST
    (utc(2026, 7, 1, 23, 30), True),  # 00:30 BST on 2 July
    (utc(2026, 7, 2, 6, 59), True),  # 07:59 BST
    (utc(2026, 7, 2, 7, 0), False),  # 08:00 BST
    (utc(2026, 7, 2, 7, 30), False),  # 08:30 BST
    # the night the clocks go forward
    (utc(2026, 3, 28, 20, 59), False),  # 20:59 GMT
    (utc(2026, 3, 28, 21, 0), True),  # 21:00 GMT
    (utc(2026, 3, 29, 0, 59), True),  # 00:59 GMT
    (utc(2026, 3, 29, 1, 0), True),  # 02:00 BST
    (utc(2026, 3, 29, 6, 59), True),  # 07:59 BST
    (utc(2026, 3, 29, 7, 0), False),  # 08:00 BST
    (utc(2026, 3, 29, 7, 59), False),  # 08:59 BST, though 07:59 in UTC
    (utc(2026, 3, 29, 19, 59), False),  # 20:59 BST
    (utc(2026, 3, 29, 20, 0), True),  # 21:00 BST, though 20:00 in UTC
    # the night the clocks go back
    (utc(2026, 10, 24, 19, 59), False),  # 20:59 BST
    (utc(2026, 10, 24, 20, 0), True),  # 21:00 BST
    (utc(2026, 10, 25, 0, 30), True),  # 01:30 BST
    (utc(2026, 10, 25, 1, 30), True),  # 01:30 GMT, the second time round
    (utc(2026, 10, 25, 7, 0), True),  # 07:00 GMT, which would be 08:00 in BST
    (utc(2026, 10, 25, 7, 59), True),  # 07:59 GMT
    (utc(2026, 10, 25, 8, 0), False),  # 08:00 GMT
    (utc(2026, 10, 25, 20, 30), False),  # 20:30 GMT, which would be 21:30 in BST
    (utc(2026, 10, 25, 21, 0), True),  # 21:00 GMT
]


@pytest.mark.parametrize(("now", "expected"), OVERNIGHT)
def test_overnight_quiet_hours_follow_the_london_wall_clock(
    now: datetime, expected: bool
) -> None:
    assert quiet("21:00-08:00").contains(now) is expected


MIDDAY = [
    (utc(2026, 3, 2, 11, 59, 59), False),
    (utc(2026, 3, 2, 12, 0), True),
    (utc(2026, 3, 2, 12, 59, 59), True),
    (utc(2026, 3, 2, 13, 0), False),
    (utc(2026, 3, 2, 0, 0), False),
    (utc(2026, 3, 2, 23, 0), False),
    (utc(2026, 7, 1, 11, 0), True),  # 12:00 BST
    (utc(2026, 7, 1, 11, 59), True),  # 12:59 BST
    (utc(2026, 7, 1, 12, 0), False),  # 13:00 BST
    (utc(2026, 3, 29, 11, 30), True),  # 12:30 BST on the day the clocks go forward
    (utc(2026, 3, 29, 12, 30), False),  # 13:30 BST
    (utc(2026, 10, 25, 12, 30), True),  # 12:30 GMT on the day the clocks go back
    (utc(2026, 10, 25, 11, 30), False),  # 11:30 GMT
]


@pytest.mark.parametrize(("now", "expected"), MIDDAY)
def test_a_span_within_one_day_holds_only_between_its_times(
    now: datetime, expected: bool
) -> None:
    assert quiet("12:00-13:00").contains(now) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 22:30 on 1 March in New York is 03:30 UTC on 2 March and 03:30 in London
        (datetime(2026, 3, 1, 22, 30, tzinfo=NEW_YORK), True),
        # 04:00 in New York is 09:00 in London
        (datetime(2026, 3, 2, 4, 0, tzinfo=NEW_YORK), False),
        # 21:30 in Tokyo is 12:30 in London
        (datetime(2026, 3, 2, 21, 30, tzinfo=TOKYO), False),
        # 07:30 in Tokyo on 3 March is 22:30 in London on 2 March
        (datetime(2026, 3, 3, 7, 30, tzinfo=TOKYO), True),
    ],
)
def test_any_aware_time_is_judged_on_the_organisations_clock(
    now: datetime, expected: bool
) -> None:
    assert quiet("21:00-08:00").contains(now) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 3, 2, 11, 59), False),  # 20:59 in Tokyo
        (utc(2026, 3, 2, 12, 0), True),  # 21:00 in Tokyo
        (utc(2026, 3, 2, 15, 0), True),  # midnight in Tokyo, the next day there
        (utc(2026, 3, 2, 22, 59), True),  # 07:59 on 3 March in Tokyo
        (utc(2026, 3, 2, 23, 0), False),  # 08:00 on 3 March in Tokyo
    ],
)
def test_quiet_hours_in_a_zone_far_from_utc(now: datetime, expected: bool) -> None:
    assert quiet("21:00-08:00", TOKYO).contains(now) is expected

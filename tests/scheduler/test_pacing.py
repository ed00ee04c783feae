"""Pacing: a channel never gets more than its rate in any window, and is kept busy up to it."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass

import pytest

from scheduler.pacing import Pace, Pacer

# Float sums such as 15.75 + 1.05 are off in the last bit; a window is judged to that.
EPSILON = 1e-9


class FakeTimer:
    """A monotonic clock that moves only when something sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.time = start

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.time += max(seconds, 0.0)
        await asyncio.sleep(0)


@dataclass(frozen=True)
class Send:
    at: float
    cost: float
    chat: str


async def simulate(
    pacer: Pacer, timer: FakeTimer, messages: Iterable[tuple[float, str]]
) -> list[Send]:
    """Hand each (cost, chat) over as soon as the pacer allows, the way the dispatcher does:
    ask how long to wait, sleep that long, ask again, and record when the answer is 0."""
    sends = []
    for cost, chat in messages:
        for _ in range(1000):
            wait = max(
                pacer.wait_for(cost, timer.now()), pacer.chat_wait(chat, timer.now())
            )
            if wait <= 0:
                break
            await timer.sleep(wait)
        else:
            pytest.fail(f"the pacer never let a message of cost {cost} go")
        book(pacer, cost, chat, timer.now())
        sends.append(Send(at=timer.now(), cost=cost, chat=chat))
    return sends


def book(pacer: Pacer, cost: float, chat: str, at: float) -> None:
    """Hand a message over to a provider that answers at once."""
    pacer.answered(pacer.record(cost, chat, at), at)


def busiest_window(sends: list[Send], window: float) -> float:
    """The most units handed over in any window of ``window`` seconds (the busiest window
    always starts at a send)."""
    return max(
        sum(other.cost for other in sends if send.at <= other.at < send.at + window - EPSILON)
        for send in sends
    )


def units_per_window(sends: list[Send], window: float) -> float:
    """The mean rate over the run: units handed over per ``window`` seconds."""
    elapsed = sends[-1].at - sends[0].at + window
    return sum(send.cost for send in sends) * window / elapsed


PACES = [
    Pace(rate=5),
    Pace(rate=1),
    Pace(rate=30),
    Pace(rate=5, window=1.0),
    Pace(rate=20, window=60.0),
]


@pytest.mark.parametrize("pace", [*PACES, Pace(rate=2.5)], ids=str)
async def test_a_long_run_of_single_sends_never_exceeds_the_rate_in_any_window(
    pace: Pace,
) -> None:
    timer = FakeTimer()

    sends = await simulate(Pacer(pace), timer, [(1, f"chat{i}") for i in range(400)])

    assert len(sends) == 400
    assert busiest_window(sends, pace.window) <= pace.rate


@pytest.mark.parametrize("pace", PACES, ids=str)
async def test_a_long_run_of_single_sends_keeps_close_to_the_rate(pace: Pace) -> None:
    # (whole rates only: at 2.5 a window can hold only two single sends)
    timer = FakeTimer()

    sends = await simulate(Pacer(pace), timer, [(1, f"chat{i}") for i in range(400)])

    assert units_per_window(sends, pace.window) >= 0.9 * pace.rate


async def test_a_full_window_waits_exactly_until_its_oldest_send_leaves_it() -> None:
    pacer = Pacer(Pace(rate=2, window=1.05))
    book(pacer, 1, "a", 10.0)
    book(pacer, 1, "b", 10.5)

    assert pacer.wait_for(1, 10.5) == pytest.approx(0.55)
    assert pacer.wait_for(1, 11.05) == 0
    assert pacer.wait_for(1, 12.0) == 0


async def test_the_first_sends_go_at_once_up_to_the_rate() -> None:
    timer = FakeTimer()

    sends = await simulate(Pacer(Pace(rate=5)), timer, [(1, f"chat{i}") for i in range(6)])

    assert [send.at for send in sends[:5]] == [1000.0] * 5
    assert sends[5].at == pytest.approx(1001.0)


_RNG = random.Random(2026)
SEEDED_COSTS = [_RNG.randint(1, 3) for _ in range(300)]


@pytest.mark.parametrize(
    "costs",
    [
        [1, 2, 3],
        [3, 3, 3],
        [2, 3],
        [1, 1, 1, 1, 3, 2],
        SEEDED_COSTS,
    ],
    ids=["1-2-3", "3-3-3", "2-3", "mixed", "seeded"],
)
async def test_sms_segments_never_exceed_the_rate_in_any_window(costs: list[int]) -> None:
    pace = Pace(rate=5)
    timer = FakeTimer()
    messages = [(cost, f"tel:+4477009{i:05d}") for i, cost in
                zip(range(300), itertools.cycle(costs), strict=False)]

    sends = await simulate(Pacer(pace), timer, messages)

    assert len(sends) == 300
    assert busiest_window(sends, pace.window) <= pace.rate
    # and the channel is not left idle: at least one segment goes in every window
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(sends)]
    assert max(gaps) <= pace.window + EPSILON


@pytest.mark.parametrize(("rate", "cost"), [(1, 3), (2, 3), (5, 12), (1.5, 2)])
async def test_a_message_dearer_than_the_rate_is_booked_over_later_windows(
    rate: float, cost: float
) -> None:
    pace = Pace(rate=rate)
    timer = FakeTimer()

    sends = await simulate(Pacer(pace), timer, [(cost, f"chat{i}") for i in range(100)])

    # Over any stretch of the run, what went out fits the windows it spanned plus the
    # one message that opened it.
    for first, last in itertools.combinations(range(len(sends)), 2):
        units = sum(send.cost for send in sends[first:last])
        elapsed = sends[last].at - sends[first].at
        assert units <= rate * elapsed / pace.window + EPSILON, (first, last)
    # The long run stays within the rate.
    assert units_per_window(sends, pace.window) <= rate * 1.01


async def test_three_segments_at_one_a_window_go_every_three_windows() -> None:
    pace = Pace(rate=1)
    timer = FakeTimer()

    sends = await simulate(Pacer(pace), timer, [(3, f"chat{i}") for i in range(50)])

    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(sends)]
    assert min(gaps) >= 3 * pace.window - EPSILON
    # ... and no slower: the long-run rate is the whole rate.
    assert units_per_window(sends, pace.window) >= 0.9 * pace.rate


async def test_a_cheap_message_after_a_dear_one_waits_for_the_booked_windows() -> None:
    pacer = Pacer(Pace(rate=1, window=1.0))
    book(pacer, 3, "tel:+447700900123", 100.0)

    assert pacer.wait_for(1, 100.0) == pytest.approx(3.0)
    assert pacer.wait_for(1, 101.5) == pytest.approx(1.5)
    assert pacer.wait_for(1, 103.0) == 0


async def test_chat_gap_holds_back_one_chat_while_the_others_go() -> None:
    pace = Pace(rate=30, chat_gap=1.0)
    timer = FakeTimer()
    messages = [(1, chat) for _ in range(4) for chat in ("ann", "bob", "cat")]

    sends = await simulate(Pacer(pace), timer, messages)

    for chat in ("ann", "bob", "cat"):
        times = [send.at for send in sends if send.chat == chat]
        assert len(times) == 4
        assert all(b - a >= pace.chat_gap - EPSILON for a, b in itertools.pairwise(times))
    # the three chats share each second rather than taking turns
    assert [send.chat for send in sends[:3]] == ["ann", "bob", "cat"]
    assert {send.at for send in sends[:3]} == {1000.0}
    assert sends[-1].at - sends[0].at == pytest.approx(3.0)


async def test_chat_wait_counts_from_the_chats_last_message_only() -> None:
    pacer = Pacer(Pace(rate=30, chat_gap=1.0))
    book(pacer, 1, "ann", 10.0)

    assert pacer.chat_wait("ann", 10.0) == pytest.approx(1.0)
    assert pacer.chat_wait("ann", 10.4) == pytest.approx(0.6)
    assert pacer.chat_wait("ann", 11.0) == 0
    assert pacer.chat_wait("ann", 50.0) == 0
    assert pacer.chat_wait("bob", 10.0) == 0
    assert pacer.wait_for(1, 10.0) == 0


async def test_without_a_chat_gap_a_chat_may_have_messages_back_to_back() -> None:
    pacer = Pacer(Pace(rate=30))
    book(pacer, 1, "ann", 10.0)

    assert pacer.chat_wait("ann", 10.0) == 0


@pytest.mark.parametrize(
    ("pauses", "at", "expected"),
    [
        ([(30.0, 5.0)], 5.0, 30.0),
        ([(30.0, 5.0)], 20.0, 15.0),
        ([(30.0, 5.0)], 35.0, 0.0),
        ([(30.0, 5.0)], 40.0, 0.0),
        # a shorter pause asked for later does not cut a longer one short
        ([(30.0, 5.0), (2.0, 6.0)], 6.0, 29.0),
        # a longer one extends it
        ([(30.0, 5.0), (60.0, 10.0)], 10.0, 60.0),
        ([(0.5, 5.0)], 5.0, 0.5),
    ],
)
def test_a_pause_holds_every_message_for_the_whole_pause(
    pauses: list[tuple[float, float]], at: float, expected: float
) -> None:
    pacer = Pacer(Pace(rate=5))
    for seconds, when in pauses:
        pacer.pause(seconds, when)

    assert pacer.wait_for(1, at) == pytest.approx(expected)


async def test_a_pause_on_a_full_window_waits_for_whichever_is_later() -> None:
    pacer = Pacer(Pace(rate=1, window=1.0))
    book(pacer, 1, "ann", 10.0)
    pacer.pause(0.25, 10.0)

    assert pacer.wait_for(1, 10.0) == pytest.approx(1.0)
    pacer.pause(5.0, 10.0)
    assert pacer.wait_for(1, 10.0) == pytest.approx(5.0)


async def test_sends_after_a_pause_keep_the_rate() -> None:
    pace = Pace(rate=5)
    pacer = Pacer(pace)
    timer = FakeTimer()
    before = await simulate(pacer, timer, [(1, f"chat{i}") for i in range(7)])
    pacer.pause(30.0, timer.now())
    paused_at = timer.now()

    after = await simulate(pacer, timer, [(1, f"later{i}") for i in range(20)])

    assert min(send.at for send in after) >= paused_at + 30.0
    assert busiest_window(before + after, pace.window) <= pace.rate


def test_a_send_still_on_its_way_holds_its_place_in_the_window() -> None:
    pacer = Pacer(Pace(rate=2))
    first = pacer.record(1, "ann", 10.0)
    pacer.record(1, "bob", 10.0)

    # Both could still reach the provider at any moment: nothing more may go.
    assert pacer.wait_for(1, 10.0) > 0
    assert pacer.wait_for(1, 30.0) > 0
    pacer.answered(first, 10.3)
    # The provider counted the first by 10.3 at the latest: a window after that, room.
    assert pacer.wait_for(1, 10.5) == pytest.approx(0.8)
    assert pacer.wait_for(1, 11.3) == 0


def test_a_slow_answer_moves_the_window_so_a_delayed_send_never_bunches_with_the_next() -> None:
    pace = Pace(rate=1)
    pacer = Pacer(pace)
    slow = pacer.record(1, "ann", 10.0)
    pacer.answered(slow, 10.4)  # it may have reached the provider as late as 10.4

    assert pacer.wait_for(1, 11.0) == pytest.approx(0.4)
    assert pacer.wait_for(1, 11.4) == 0


def test_a_chat_waits_a_whole_gap_after_its_last_message_was_answered() -> None:
    pacer = Pacer(Pace(rate=30, chat_gap=1.0))
    sent = pacer.record(1, "ann", 10.0)

    assert pacer.chat_wait("ann", 10.5) > 0  # still on its way
    pacer.answered(sent, 10.2)
    assert pacer.chat_wait("ann", 10.5) == pytest.approx(0.7)
    assert pacer.chat_wait("ann", 11.2) == 0
    assert pacer.chat_wait("bob", 10.5) == 0


@pytest.mark.parametrize("rate", [0, 0.0, -1, -0.5])
def test_a_rate_of_zero_or_less_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="rate must be above zero"):
        Pacer(Pace(rate=rate))

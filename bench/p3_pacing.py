"""P3 broadcast pacing: a broadcast through the real dispatcher at the provider's limit.

Telegram messages (many chats, some getting two or three) and SMS (one to six segments) go
from a SQLite outbox through :class:`~scheduler.dispatcher.Dispatcher` and the real senders,
built as the app builds them, to the Bot API and Twilio doubles, each enforcing its limit a
second from a process of its own, as a provider would. Part-way through, each double answers
one send with a 429 asking for a pause. From the doubles' records: the busiest one-second
window (at most the limit), the mean one (at least 0.9 of it), the closest two messages to
one chat (a second apart at least), the pause after the 429 (at least the retry-after asked
for) and whether every outbox message went exactly once.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import multiprocessing
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bench.common import Figure, Run, Skipped, percentile
from bot.clock import SystemClock
from channels import sms, telegram
from channels.base import Delivery, Sender
from channels.sms_text import SmsStyle, sms_bodies, total_segments
from scheduler.dispatcher import Dispatcher
from scheduler.pacing import Pace, Pacer
from storage import outbox
from storage.database import transaction
from storage.tables import OutboxMessage, OutboxStatus, Priority
from tests.doubles import Call
from tests.doubles.telegram_api import DEFAULT_TOKEN, SEND_METHODS, TelegramDouble
from tests.doubles.twilio_api import (
    CREATE,
    DEFAULT_FROM,
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TwilioDouble,
)
from voicebank.runtime import telegram_bot, twilio_client
from voicebank.settings import Settings

BENCH = "P3"
TITLE = "broadcast pacing at the provider's limit (Telegram, SMS)"

TELEGRAM_LIMIT = 30.0
"""Messages a second the Bot API double takes, and the pace an operator sets to match."""
SMS_LIMIT = 20.0
"""Segments a second the Twilio double takes, and the pace an operator sets to match."""
CHAT_GAP = 1.0
RETRY_AFTER = 1
INJECT_AT = 0.2
"""The share of a broadcast handed over before the provider answers one send with a 429."""
MEAN_TARGET = 0.9
WINDOW = 1.0
SAMPLE_STEP = 0.005
DRAIN_POLL = 0.2
START_SECONDS = 30.0
STOP = "stop"
RECORDS = "records"
FIRST_CHAT = 5_000_000
SHARES = (1, 1, 1, 2, 1, 3)
"""Messages per recipient, in turn: most get one, some two or three."""
YES_NO: tuple[dict[str, Any], ...] = (
    {"number": 1, "emoji": "👍", "label": "Yes"},
    {"number": 2, "emoji": "👎", "label": "No"},
)
NOTE = "Note {n}.{k}: the garden has new benches, a ramp and raised beds for planting."
SMS_STYLE = SmsStyle(emoji=True, max_segments=3)


@dataclass(frozen=True)
class Planned:
    """One message of the broadcast: who it goes to and what it says."""

    address: str
    text: str
    options: tuple[dict[str, Any], ...] = ()


def recipients(count: int, rng: random.Random, address: Callable[[int], str]) -> list[str]:
    """Who each of ``count`` messages goes to, shuffled so that a chat's messages may meet."""
    addresses: list[str] = []
    for recipient in itertools.count():
        share = SHARES[recipient % len(SHARES)]
        addresses.extend([address(recipient)] * min(share, count - len(addresses)))
        if len(addresses) >= count:
            break
    rng.shuffle(addresses)
    return addresses


def telegram_broadcast(count: int, rng: random.Random) -> list[Planned]:
    """An invitation to many chats, a third of them with Yes/No buttons."""
    addresses = recipients(count, rng, lambda chat: f"telegram:{FIRST_CHAT + chat}")
    return [
        Planned(address, f"Broadcast {n}: the new garden opens on Saturday at 2pm. "
                         "Would you like to come?", YES_NO if n % 3 == 0 else ())
        for n, address in enumerate(addresses)
    ]


def sms_text(n: int) -> str:
    """Message ``n``: mostly one segment (some with emoji, so UCS-2), some two, three, or
    long enough to go as two bodies."""
    kind = n % 20
    if kind < 10:
        return f"Message {n}: the garden opens on Saturday at 2pm. Reply 1 to come or 2 if not."
    if kind < 13:
        return f"Message {n}: lunch club is back on Friday 🍲 Reply 1 to come."
    notes = 3 if kind < 17 else 5 if kind < 19 else 9
    return " ".join(NOTE.format(n=n, k=k) for k in range(notes))


def sms_broadcast(count: int, rng: random.Random) -> list[Planned]:
    addresses = recipients(count, rng, lambda number: f"tel:+447700{900000 + number:06d}")
    return [Planned(address, sms_text(n)) for n, address in enumerate(addresses)]


def sms_segments(plan: list[Planned]) -> int:
    return sum(total_segments(sms_bodies(text=p.text, options=p.options, footer="",
                                         style=SMS_STYLE)) for p in plan)


def queue_broadcast(database: Engine, channel: str, plan: list[Planned]) -> dict[int, Planned]:
    """Queue the broadcast as bulk sends in one transaction; returns the outbox ids."""
    queued: dict[int, Planned] = {}
    now = SystemClock().now()
    with transaction(database) as session:
        for planned in plan:
            message_id = outbox.queue_message(
                session=session, address=planned.address, channel=channel, text=planned.text,
                now=now, options=list(planned.options), priority=Priority.BULK,
            )
            queued[message_id] = planned
    return queued


def unsent(database: Engine) -> int:
    """Outbox messages still queued or being sent."""
    with transaction(database) as session:
        return int(session.exec(
            select(func.count()).select_from(OutboxMessage).where(
                col(OutboxMessage.status).in_([OutboxStatus.QUEUED, OutboxStatus.SENDING]))
        ).one())


def statuses(database: Engine) -> dict[int, str]:
    with transaction(database) as session:
        rows = session.exec(select(OutboxMessage.id, OutboxMessage.status))
        return {message_id: status for message_id, status in rows if message_id is not None}


@dataclass(frozen=True)
class Handover:
    """One message handed to a channel's sender: when, until when, and whether it went."""

    outbox_id: int
    started: float
    finished: float
    sent: bool


class WatchedSender:
    """A channel's real sender, noting each handover on the clock the doubles record by
    (``time.monotonic``), and asking the provider for a 429 once ``inject_after`` have gone."""

    def __init__(self, sender: Sender, *, inject_after: int, inject: Callable[[], None]) -> None:
        self.sender = sender
        self.channel = sender.channel
        self.handovers: list[Handover] = []
        self._inject_after = inject_after
        self._inject = inject
        self._sent = 0

    def cost(self, delivery: Delivery) -> int:
        return self.sender.cost(delivery)

    async def send(self, delivery: Delivery) -> tuple[str, ...]:
        started = time.monotonic()
        sent = False
        try:
            provider_ids = await self.sender.send(delivery)
            sent = True
        finally:
            self.handovers.append(
                Handover(delivery.outbox_id, started, time.monotonic(), sent))
        self._sent += 1
        if self._sent == self._inject_after:
            self._inject()
        return provider_ids


class BookingPacer(Pacer):
    """A channel's real pacer, noting each moment it books a message handed over (on the
    doubles' clock): the dispatcher's own record of when it let a message go."""

    def __init__(self, pace: Pace) -> None:
        super().__init__(pace)
        self.bookings: list[float] = []

    def record(self, cost: float, chat: str, at: float) -> int:
        self.bookings.append(at)
        return super().record(cost, chat, at)


@dataclass
class Broadcast:
    """What one channel's broadcast left behind: the outbox, the handovers, the provider's
    record, and the (recipient, body) pairs the provider should have got for each message."""

    channel: str
    limit: float
    queued: dict[int, Planned]
    expected: dict[int, list[tuple[str, str]]]
    outcome: dict[int, str]
    handovers: list[Handover]
    bookings: list[float]
    calls: list[Call]
    sends: list[Call]
    rate_violations: int
    busiest: float
    drained: bool


def telegram_expected(planned: Planned) -> list[tuple[str, str]]:
    chat = planned.address.removeprefix(f"{telegram.CHANNEL}:")
    return [(chat, piece) for piece in telegram.split_text(planned.text)]


def telegram_key(call: Call) -> tuple[str, str]:
    return str(call.params.get("chat_id")), str(call.params.get("text", ""))


def sms_key(call: Call) -> tuple[str, str]:
    return str(call.params.get("To")), str(call.params.get("Body", ""))


async def wait_drained(database: Engine, seconds: float) -> bool:
    """Poll the outbox until nothing is queued or being sent; False if ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await asyncio.to_thread(unsent, database) == 0:
            return True
        await asyncio.sleep(DRAIN_POLL)
    return False


@dataclass(frozen=True)
class ProviderRecord:
    """What one double saw: every call, the successful sends, the sends its limit refused,
    and its busiest one-second window."""

    calls: list[Call]
    sends: list[Call]
    rate_violations: int
    busiest: float


def serve_doubles(connection: Connection, telegram_limit: float, sms_limit: float) -> None:
    """In a process of its own: both doubles, answering the benchmark until told to stop.

    Apart from the dispatcher, as a provider is, the doubles neither share its interpreter lock
    nor delay its event loop; ``time.monotonic`` is the same clock in both processes.
    """
    with TelegramDouble(rate_limit_per_second=telegram_limit) as tg, \
            TwilioDouble(rate_limit_per_second=sms_limit) as twilio:
        connection.send((tg.base_url, twilio.base_url))
        while (request := connection.recv()) != STOP:
            if request == telegram.CHANNEL:
                tg.fail_next("sendMessage", "429", retry_after=RETRY_AFTER)
            elif request == sms.CHANNEL:
                twilio.fail_next(CREATE, "429", retry_after=RETRY_AFTER)
            elif request == RECORDS:
                connection.send({
                    telegram.CHANNEL: ProviderRecord(tg.calls, tg.sent(), tg.rate_violations,
                                                     tg.busiest_window(WINDOW)),
                    sms.CHANNEL: ProviderRecord(twilio.calls, twilio.sent(),
                                                twilio.rate_violations,
                                                twilio.busiest_window(WINDOW)),
                })


class Providers:
    """The doubles' process, seen from the benchmark: their addresses, a way to have one
    answer its next send with a 429, and their records at the end."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(
            target=serve_doubles, args=(child, TELEGRAM_LIMIT, SMS_LIMIT),
            name="p3-provider-doubles", daemon=True,
        )

    def __enter__(self) -> Providers:
        self._process.start()
        if not self._connection.poll(START_SECONDS):
            self._end()
            raise RuntimeError("the provider doubles did not start")
        self.telegram_url, self.twilio_url = self._connection.recv()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._end()

    def refuse_next(self, channel: str) -> None:
        """Have the channel's double answer its next send with a 429 and a retry-after."""
        self._connection.send(channel)

    def records(self) -> dict[str, ProviderRecord]:
        self._connection.send(RECORDS)
        records: dict[str, ProviderRecord] = self._connection.recv()
        return records

    def _end(self) -> None:
        with contextlib.suppress(OSError):
            self._connection.send(STOP)
        self._process.join(timeout=START_SECONDS)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


async def broadcast(
    database: Engine, providers: Providers, telegram_plan: list[Planned],
    sms_plan: list[Planned],
) -> tuple[Broadcast, Broadcast]:
    """Send both broadcasts at once through one dispatcher, as the app runs both channels."""
    expected_seconds = max(len(telegram_plan) / TELEGRAM_LIMIT, sms_segments(sms_plan) / SMS_LIMIT)
    settings = Settings(
        telegram_token=DEFAULT_TOKEN, telegram_api_url=providers.telegram_url,
        telegram_rate=TELEGRAM_LIMIT, telegram_chat_gap=CHAT_GAP,
        twilio_account_sid=TEST_ACCOUNT_SID, twilio_auth_token=TEST_AUTH_TOKEN,
        twilio_from=DEFAULT_FROM, twilio_api_url=providers.twilio_url, sms_rate=SMS_LIMIT,
        sms_emoji=SMS_STYLE.emoji, sms_max_segments=SMS_STYLE.max_segments,
    )
    assert settings.twilio_from is not None
    bot = telegram_bot(settings)
    await bot.initialize()
    client, http = twilio_client(settings)
    sms_sender = sms.TwilioSender(
        client=client, sender=settings.twilio_from,
        style=SmsStyle(emoji=settings.sms_emoji, max_segments=settings.sms_max_segments),
        status_callback=f"{settings.public_url}{sms.STATUS_PATH}",
    )
    watched_telegram = WatchedSender(
        telegram.TelegramSender(bot=bot),
        inject_after=max(1, int(len(telegram_plan) * INJECT_AT)),
        inject=lambda: providers.refuse_next(telegram.CHANNEL),
    )
    watched_sms = WatchedSender(
        sms_sender, inject_after=max(1, int(len(sms_plan) * INJECT_AT)),
        inject=lambda: providers.refuse_next(sms.CHANNEL),
    )
    paces = {
        telegram.CHANNEL: Pace(rate=settings.telegram_rate, chat_gap=settings.telegram_chat_gap),
        sms.CHANNEL: Pace(rate=settings.sms_rate),
    }
    # No quiet hours: the figures must not depend on the hour the benchmark runs at.
    dispatcher = Dispatcher(
        database=database, clock=SystemClock(),
        senders={telegram.CHANNEL: watched_telegram, sms.CHANNEL: watched_sms},
        paces=paces, max_attempts=settings.send_attempts, rng=random.Random(7),
    )
    pacers = {channel: BookingPacer(pace) for channel, pace in paces.items()}
    dispatcher.pacers.update(pacers)
    telegram_queued = queue_broadcast(database, telegram.CHANNEL, telegram_plan)
    sms_queued = queue_broadcast(database, sms.CHANNEL, sms_plan)
    running = asyncio.create_task(dispatcher.run())
    try:
        drained = await wait_drained(database, 2 * expected_seconds + 30)
    finally:
        dispatcher.stop()
        await running
        await bot.shutdown()
        await http.close()
    outcome = statuses(database)
    seen = providers.records()
    tg, twilio = seen[telegram.CHANNEL], seen[sms.CHANNEL]
    return (
        Broadcast(
            channel=telegram.CHANNEL, limit=TELEGRAM_LIMIT, queued=telegram_queued,
            expected={i: telegram_expected(p) for i, p in telegram_queued.items()},
            outcome={i: outcome[i] for i in telegram_queued},
            handovers=watched_telegram.handovers,
            bookings=pacers[telegram.CHANNEL].bookings, calls=tg.calls, sends=tg.sends,
            rate_violations=tg.rate_violations, busiest=tg.busiest, drained=drained,
        ),
        Broadcast(
            channel=sms.CHANNEL, limit=SMS_LIMIT, queued=sms_queued,
            expected={
                i: [(p.address.removeprefix("tel:"), body) for body in sms_sender.bodies(
                    Delivery(outbox_id=i, address=p.address, text=p.text, options=p.options))]
                for i, p in sms_queued.items()
            },
            outcome={i: outcome[i] for i in sms_queued},
            handovers=watched_sms.handovers, bookings=pacers[sms.CHANNEL].bookings,
            calls=twilio.calls, sends=twilio.sends,
            rate_violations=twilio.rate_violations, busiest=twilio.busiest, drained=drained,
        ),
    )


def busiest_window(calls: list[tuple[float, int]]) -> int:
    """The most weight in any one-second window ``[t, t + 1)`` of ``calls`` (time, weight)."""
    ordered = sorted(calls)
    best = total = end = 0
    for at, weight in ordered:
        while end < len(ordered) and ordered[end][0] < at + WINDOW:
            total += ordered[end][1]
            end += 1
        best = max(best, total)
        total -= weight
    return best


def mean_window(
    sends: list[tuple[float, int]], *, pause: tuple[float, float] | None = None
) -> tuple[float, float]:
    """The mean weight in a one-second window ``[t, t + 1)``, over every ``t`` from the first
    send to a second before the last (sampled finely), leaving out windows that touch
    ``pause``; and the span from the first send to the last."""
    if not sends:
        return 0.0, 0.0
    times = [at for at, _ in sends]
    totals = list(itertools.accumulate(weight for _, weight in sends))
    first, last = times[0], times[-1]
    if last - first <= WINDOW:
        return float(totals[-1]), last - first

    def weight_before(moment: float) -> int:
        index = bisect.bisect_left(times, moment)
        return totals[index - 1] if index else 0

    samples = []
    steps = int((last - WINDOW - first) / SAMPLE_STEP) + 1
    for step in range(steps):
        start = first + step * SAMPLE_STEP
        if pause is not None and start < pause[1] and start + WINDOW > pause[0]:
            continue
        samples.append(weight_before(start + WINDOW) - weight_before(start))
    return (sum(samples) / len(samples) if samples else 0.0), last - first


@dataclass(frozen=True)
class Reading:
    """The figures one broadcast gave."""

    mean: float
    mean_with_pause: float
    span: float
    closest: float | None
    pause_seen: float | None
    started_in_pause: int
    in_flight: int
    answered_429: bool
    exactly_once: int
    lost: int
    twice: int
    stray: int
    unsettled: int
    recipients: int
    several: int
    most: int
    units: int
    busiest_tried: int
    skew_ms: dict[str, float]


def covering(call: Call, handovers: list[Handover]) -> Handover | None:
    """The handover a provider call was made in: the last of its message's to start before it."""
    return max((h for h in handovers if h.started <= call.at), key=lambda h: h.started,
               default=None)


def read(record: Broadcast, key: Callable[[Call], tuple[str, str]]) -> Reading:
    """Read a broadcast's records against each other: the provider's sends against the outbox,
    the handovers against the 429."""
    owner = {pair: outbox_id for outbox_id, pairs in record.expected.items() for pair in pairs}
    got = Counter(key(call) for call in record.sends)
    lost = sum(1 for pairs in record.expected.values() if any(got[p] == 0 for p in pairs))
    twice = sum(1 for pairs in record.expected.values() if any(got[p] > 1 for p in pairs))
    exactly_once = sum(
        1 for pairs in record.expected.values() if all(got[p] == 1 for p in pairs))
    stray = sum(count for pair, count in got.items() if pair not in owner)

    # The first arrival of each outbox message at the provider, by recipient.
    arrived: dict[int, float] = {}
    for call in record.sends:
        outbox_id = owner.get(key(call))
        if outbox_id is not None and outbox_id not in arrived:
            arrived[outbox_id] = call.at
    by_recipient: dict[str, list[float]] = defaultdict(list)
    for outbox_id, at in arrived.items():
        by_recipient[record.queued[outbox_id].address].append(at)
    gaps = [later - earlier for times in by_recipient.values()
            for earlier, later in itertools.pairwise(sorted(times))]
    shares = Counter(planned.address for planned in record.queued.values())

    sends = sorted((call.at, call.weight) for call in record.sends)
    mean_with_pause, span = mean_window(sends)
    handed: dict[int | None, list[Handover]] = defaultdict(list)
    for each in record.handovers:
        handed[each.outbox_id].append(each)
    made_in = {id(call): covering(call, handed[owner.get(key(call))]) for call in record.sends}
    first_calls: dict[Handover, float] = {}
    for call in sorted(record.sends, key=lambda call: call.at):
        made = made_in[id(call)]
        if made is not None and made not in first_calls:
            first_calls[made] = call.at
    skews = [at - made.started for made, at in first_calls.items()]
    injected = next((call for call in record.calls if call.outcome == "429"), None)
    pause_seen: float | None = None
    started_in_pause = in_flight = 0
    mean = mean_with_pause
    if injected is not None:
        refused = owner.get(key(injected))
        answered = min((h.finished for h in record.handovers
                        if h.outbox_id == refused and not h.sent and h.finished >= injected.at),
                       default=injected.at)
        pause = (injected.at, injected.at + RETRY_AFTER)
        mean, _ = mean_window(sends, pause=pause)
        # The pause starts as the 429 reaches the dispatcher; from then, what did it book?
        booked_after = [at for at in record.bookings if at >= answered]
        pause_seen = min(booked_after) - answered if booked_after else None
        started_in_pause = sum(1 for at in booked_after if at < answered + RETRY_AFTER)
        in_flight = sum(1 for call in record.sends
                        if pause[0] < call.at < pause[1]
                        and (made := made_in[id(call)]) is not None and made.started < answered)
    return Reading(
        mean=mean, mean_with_pause=mean_with_pause, span=span,
        closest=min(gaps) if gaps else None, pause_seen=pause_seen,
        started_in_pause=started_in_pause, in_flight=in_flight,
        answered_429=injected is not None, exactly_once=exactly_once, lost=lost, twice=twice,
        stray=stray,
        unsettled=sum(1 for status in record.outcome.values() if status != OutboxStatus.SENT),
        recipients=len(shares), several=sum(1 for n in shares.values() if n > 1),
        most=max(shares.values(), default=0), units=sum(weight for _, weight in sends),
        busiest_tried=busiest_window([(call.at, call.weight) for call in record.calls
                                      if call.method in (SEND_METHODS | {CREATE})]),
        skew_ms={"p50": round(percentile(skews, 0.5) * 1000, 1),
                 "p99": round(percentile(skews, 0.99) * 1000, 1),
                 "max": round(max(skews, default=0.0) * 1000, 1)},
    )


def figures(record: Broadcast, reading: Reading, unit: str) -> list[Figure]:
    """The broadcast's figures, each against the limit (or wait) it is judged by."""
    name = record.channel
    limit = record.limit
    per_second = f"{unit}/s"
    busiest = Figure(
        BENCH, f"{name}: busiest 1 s window", reading.busiest_tried, unit, baseline=limit,
        baseline_name="the double's limit", higher_is_better=False,
        target=f"<= {limit:g} {unit} (ratio >= 1.00)", met=reading.busiest_tried <= limit,
        detail={
            "counted": "every send that reached the double, taken or refused",
            "busiest_taken": record.busiest, "refused_by_rate_limit": record.rate_violations,
            "total": reading.units,
            # The pacer books a send when it hands it over; the provider counts it on arrival.
            "handover_to_provider_ms": reading.skew_ms,
        },
    )
    mean = Figure(
        BENCH, f"{name}: mean 1 s window", round(reading.mean, 2), per_second, baseline=limit,
        baseline_name="the double's limit", target=f"ratio >= {MEAN_TARGET}",
        met=reading.mean >= MEAN_TARGET * limit,
        detail={
            "windows": "every 1 s window from the first send to the last, but those touching "
                       "the pause the provider asked for",
            "mean_with_the_pause": round(reading.mean_with_pause, 2),
            "span_s": round(reading.span, 2), "total": reading.units,
        },
    )
    honoured = (reading.pause_seen is not None and reading.pause_seen >= RETRY_AFTER
                and reading.started_in_pause == 0)
    paused = Figure(
        BENCH, f"{name}: pause after a 429", round(reading.pause_seen or 0.0, 3), "s",
        baseline=float(RETRY_AFTER), baseline_name="retry-after asked",
        target="ratio >= 1.00, nothing handed over in the pause", met=honoured,
        detail={
            "measured": "from the 429 reaching the dispatcher to the next message its pacer "
                        "let go",
            "429_answered": reading.answered_429,
            "handed_over_in_the_pause": reading.started_in_pause,
            "arrived_in_the_pause_but_sent_before_it": reading.in_flight,
        },
    )
    total = len(record.queued)
    once = Figure(
        BENCH, f"{name}: outbox messages sent exactly once", reading.exactly_once, "messages",
        baseline=float(total), baseline_name="queued",
        target="ratio = 1.00, none lost, none twice",
        met=(reading.exactly_once == total and reading.stray == 0 and reading.unsettled == 0
             and record.drained),
        detail={
            "lost": reading.lost, "sent_twice": reading.twice, "unexpected_sends": reading.stray,
            "outbox_not_marked_sent": reading.unsettled, "drained": record.drained,
            "recipients": reading.recipients, "recipients_with_several": reading.several,
            "most_to_one_recipient": reading.most,
        },
    )
    return [busiest, mean, paused, once]


def telegram_figures(record: Broadcast) -> list[Figure]:
    reading = read(record, telegram_key)
    closest = reading.closest if reading.closest is not None else 0.0
    gap = Figure(
        BENCH, "telegram: closest two messages to one chat", round(closest, 3), "s",
        baseline=CHAT_GAP, baseline_name="Telegram's 1 a second a chat",
        target="ratio >= 1.00", met=reading.closest is not None and closest >= CHAT_GAP,
        detail={"chats_with_several": reading.several},
    )
    busiest, mean, paused, once = figures(record, reading, "messages")
    return [busiest, mean, gap, paused, once]


def sms_figures(record: Broadcast) -> list[Figure]:
    reading = read(record, sms_key)
    found = figures(record, reading, "segments")
    # SMS has no per-number pace; say how close two messages to one number came.
    found[-1].detail["closest_two_to_one_number_s"] = (
        round(reading.closest, 3) if reading.closest is not None else None)
    found[-1].detail["provider_messages"] = len(record.sends)
    return found


def run(run: Run) -> list[Figure | Skipped]:
    rng = random.Random(3)
    telegram_plan = telegram_broadcast(run.size(150, 1000), rng)
    sms_plan = sms_broadcast(run.size(60, 1000), rng)
    with Providers() as providers, run.database("sqlite", "p3") as (_url, database):
        telegram_record, sms_record = asyncio.run(
            broadcast(database, providers, telegram_plan, sms_plan))
    return [*telegram_figures(telegram_record), *sms_figures(sms_record)]

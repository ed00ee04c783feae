"""HTTP doubles of the Telegram Bot API and the Twilio REST API, served for real on 127.0.0.1.

The real python-telegram-bot and twilio libraries talk to these servers in tests and benchmarks,
so no library code is mocked: requests are encoded, sent over TCP and parsed exactly as they would
be against the real services. Each double runs an aiohttp server in a background thread with its
own event loop, records every call, can inject failures (rate limits, server errors, hangs,
channel-specific refusals) and can enforce a sliding-window rate limit.

This module holds the machinery both doubles share (:class:`HttpDouble`, :class:`Call`); the
doubles themselves are :class:`tests.doubles.telegram_api.TelegramDouble` and
:class:`tests.doubles.twilio_api.TwilioDouble`. Nothing here depends on pytest, so benchmarks may
import it too, from any process.
"""

from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import contextlib
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

__all__ = ["Call", "Failure", "HttpDouble"]

HOST = "127.0.0.1"
# The most any upload may weigh; Telegram itself takes photos up to 10 MB.
MAX_BODY_BYTES = 64 * 1024 * 1024
# Outcome of a call that was answered successfully.
OK = "ok"
# Outcome of a send refused because the double's rate limit was full.
RATE_LIMITED = "rate_limited"
# Wildcard for fail_next: the failure applies to the next call of any method.
ANY_METHOD = "*"


@dataclass(frozen=True)
class Call:
    """One request the double received.

    ``outcome`` says how it was answered: ``"ok"`` for success, the injected failure's kind
    (``"429"``, ``"5xx"``, ``"hang"``, ...), ``"rate_limited"``, or an error such as
    ``"unauthorized"``, ``"not_found"``, ``"bad_request"``, ``"conflict"``, ``"blocked"``.
    ``weight`` is how much a successful send counts against the rate limit (SMS segments for
    Twilio, 1 otherwise).
    """

    method: str
    params: dict[str, Any]
    at: float
    outcome: str = OK
    weight: int = 1

    @property
    def ok(self) -> bool:
        return self.outcome == OK


@dataclass(frozen=True)
class Failure:
    """An injected failure waiting for the next call of ``method`` (or of any, for ``"*"``)."""

    method: str
    kind: str
    retry_after: int = 1
    status: int | None = None


@dataclass
class _SendLog:
    """Successful sends in time order, with running weight totals so the rate limit check is
    O(log n) however long a benchmark runs."""

    times: list[float] = field(default_factory=list)
    weights: list[int] = field(default_factory=list)
    totals: list[int] = field(default_factory=list)  # totals[i] = sum(weights[: i + 1])

    def add(self, at: float, weight: int) -> None:
        self.times.append(at)
        self.weights.append(weight)
        self.totals.append((self.totals[-1] if self.totals else 0) + weight)

    def weight_after(self, since: float) -> int:
        """The total weight of sends strictly later than ``since``."""
        first = bisect.bisect_right(self.times, since)
        if first == len(self.times):
            return 0
        return self.totals[-1] - (self.totals[first - 1] if first else 0)


class HttpDouble:
    """An aiohttp server on 127.0.0.1 in a background thread, plus thread-safe call records.

    Subclasses add their routes in :meth:`_add_routes`, and call :meth:`_record`,
    :meth:`_take_failure`, :meth:`_admit_send` and :meth:`_hang` from their handlers, which
    all run on the double's own event loop.
    """

    #: The kinds of failure :meth:`fail_next` accepts; subclasses extend it.
    FAILURE_KINDS: frozenset[str] = frozenset({"429", "5xx", "hang"})
    #: The methods whose successful calls are sends (count for sent(), rate limit, waits).
    SEND_METHODS: frozenset[str] = frozenset()

    def __init__(self, *, rate_limit_per_second: float | None = None) -> None:
        #: Weighted successful sends allowed in any sliding 1-second window; None: no limit.
        self.rate_limit_per_second = rate_limit_per_second
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._sends = _SendLog()
        self._failures: deque[Failure] = deque()
        self._rate_violations = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._closing = False
        self._waiters: set[asyncio.Future[None]] = set()
        self._port: int | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        """Start serving; returns once the port is bound. Starting twice is an error."""
        if self._thread is not None:
            raise RuntimeError(f"{type(self).__name__} was already started")
        ready: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name=f"{type(self).__name__}-server", daemon=True
        )
        self._thread.start()
        try:
            self._port = ready.result(timeout=10)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop serving: hanging and long-polling requests are released, then the server and
        its loop close. Safe to call more than once, and before start()."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        if thread.is_alive():
            raise RuntimeError(f"{type(self).__name__} did not stop within 30 s")
        self._thread = None
        self._loop = None
        self._stop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not started; use start() or `with`")
        return self._port

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT``, without a trailing slash."""
        return f"http://{HOST}:{self.port}"

    # -- records ------------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """A copy of every call received so far, in arrival order."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The calls of one method, in arrival order."""
        with self._lock:
            return [call for call in self._calls if call.method == method]

    def sent(self) -> list[Call]:
        """The successful sends, in order (injected failures and refusals are not sends)."""
        with self._lock:
            return [c for c in self._calls if c.ok and c.method in self.SEND_METHODS]

    def sent_times(self) -> list[float]:
        """The time.monotonic() of every successful send, in order."""
        with self._lock:
            return list(self._sends.times)

    @property
    def rate_violations(self) -> int:
        """How many sends the rate limit refused with a 429."""
        with self._lock:
            return self._rate_violations

    def busiest_window(self, seconds: float = 1.0) -> float:
        """The most weighted successful sends in any window ``[t, t + seconds)``."""
        with self._lock:
            times, weights = list(self._sends.times), list(self._sends.weights)
        best = total = 0
        end = 0
        for start, start_time in enumerate(times):
            while end < len(times) and times[end] < start_time + seconds:
                total += weights[end]
                end += 1
            best = max(best, total)
            total -= weights[start]
        return float(best)

    def wait_for_sends(self, n: int, timeout: float = 5.0) -> bool:
        """Block until at least ``n`` successful sends are recorded; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._sends.times) >= n, timeout)

    def wait_for_calls(self, n: int, method: str | None = None, timeout: float = 5.0) -> bool:
        """Block until at least ``n`` calls (of ``method``, if given) are recorded."""

        def enough() -> bool:
            matching = (c for c in self._calls if method is None or c.method == method)
            return sum(1 for _ in matching) >= n

        with self._changed:
            return self._changed.wait_for(enough, timeout)

    # -- failure injection --------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        kind: str,
        *,
        count: int = 1,
        retry_after: int = 1,
        status: int | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` (``"*"``: any method) with a failure.

        ``kind`` is one of :attr:`FAILURE_KINDS`. ``retry_after`` is the seconds a ``"429"``
        asks the client to wait; ``status`` picks the HTTP status of a ``"5xx"`` (500 unless
        given). Failures are consumed in the order they were queued.
        """
        if kind not in self.FAILURE_KINDS:
            kinds = sorted(self.FAILURE_KINDS)
            raise ValueError(f"unknown failure kind {kind!r}; use one of {kinds}")
        if status is not None and not 500 <= status <= 599:
            raise ValueError(f"status must be a 5xx, not {status}")
        with self._lock:
            self._failures.extend(Failure(method, kind, retry_after, status) for _ in range(count))

    @property
    def pending_failures(self) -> list[Failure]:
        with self._lock:
            return list(self._failures)

    # -- for subclasses -----------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _record(
        self, method: str, params: dict[str, Any], outcome: str, *, weight: int = 1
    ) -> Call:
        """Record a call that is not a successful send (those go through _admit_send)."""
        call = Call(method, params, time.monotonic(), outcome, weight)
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()
        return call

    def _take_failure(self, method: str) -> Failure | None:
        """Pop the first queued failure for ``method``, if any."""
        with self._lock:
            for failure in self._failures:
                if failure.method in (method, ANY_METHOD):
                    self._failures.remove(failure)
                    return failure
        return None

    def _admit_send(self, method: str, params: dict[str, Any], *, weight: int = 1) -> bool:
        """Record a send that passed every other check: as successful if the rate limit lets it
        through (True), else as ``"rate_limited"`` (False)."""
        with self._changed:
            now = time.monotonic()
            limit = self.rate_limit_per_second
            if limit is not None and self._sends.weight_after(now - 1.0) + weight > limit:
                self._rate_violations += 1
                self._calls.append(Call(method, params, now, RATE_LIMITED, weight))
                self._changed.notify_all()
                return False
            self._calls.append(Call(method, params, now, OK, weight))
            self._sends.add(now, weight)
            self._changed.notify_all()
            return True

    async def _park(self, seconds: float | None) -> None:
        """Sleep on the double's loop until :meth:`_wake_threadsafe` is called, the double
        closes, or ``seconds`` pass (None: no limit)."""
        if self._closing:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            async with asyncio.timeout(seconds):
                await waiter
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)

    async def _hang(self) -> web.Response:
        """Never answer until the double closes (the client will usually time out first)."""
        while not self._closing:
            await self._park(None)
        return web.Response(status=503, text="the double closed")

    def _wake_threadsafe(self) -> None:
        """Wake every parked handler (from any thread)."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed
            loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for waiter in list(self._waiters):
            if not waiter.done():
                waiter.set_result(None)

    # -- the server thread --------------------------------------------------------------------

    def _run(self, ready: concurrent.futures.Future[int]) -> None:
        try:
            asyncio.run(self._serve(ready))
        except BaseException as exc:  # report a failed start to start()
            if not ready.done():
                ready.set_exception(exc)
            else:
                raise

    async def _serve(self, ready: concurrent.futures.Future[int]) -> None:
        self._stop = asyncio.Event()
        self._closing = False
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        self._add_routes(app)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, HOST, 0)
            await site.start()
            self._loop = asyncio.get_running_loop()
            ready.set_result(int(runner.addresses[0][1]))
            await self._stop.wait()
        finally:
            self._closing = True
            self._wake()
            await asyncio.sleep(0)  # let released handlers answer before the server shuts
            await runner.cleanup()


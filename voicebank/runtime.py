"""What runs while the app is up: channels in, the engine, and the dispatcher out.

Built in the web app's lifespan from the assembled :class:`~voicebank.wiring.Voicebank`.
Routes and the Telegram poller call :meth:`Runtime.accept`, which stores a message in the
inbox and returns; handling happens in the background, one message at a time per person,
and the dispatcher is woken to send the replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from telegram import Bot
from telegram.error import TelegramError
from telegram.request import HTTPXRequest
from twilio.rest import Client

from bot.messages import Inbound
from channels import sms, telegram
from channels.base import Sender
from channels.registry import ChannelRegistry
from channels.sms_text import SmsStyle
from channels.twilio_http import HttpxTwilioClient
from scheduler.dispatcher import Dispatcher
from scheduler.leadership import Leadership
from scheduler.pacing import Pace
from storage import delivery, people
from storage.audit import record_audit
from storage.database import transaction
from voicebank.inbox_writer import InboxWriter
from voicebank.settings import Settings
from voicebank.wiring import Voicebank

log = logging.getLogger(__name__)

SEND_TIMEOUT = 15.0
STOP_TIMEOUT = 20.0
POLLING_LEADERSHIP = "voicebank telegram polling"
HANDLER_THREADS = 2
"""Threads handling messages in one process. Two, not more: one runs the rules while the
other waits on the database. Handling is mostly Python, so each thread more takes a share
of the interpreter from the web server: measured with P2 on PostgreSQL, all in one process,
four threads took in webhooks at half the rate of two, and handled no more messages a
second. On SQLite handling takes turns at the write lock anyway."""
INBOX_POLL_SECONDS = 0.5
MAKE_WAY_SECONDS = 0.1
"""How long a handling thread waits, at most, before each message while the web server in
its process is busy (see :class:`WebLoad`). While requests never stop coming, one process
still handles about ``HANDLER_THREADS / MAKE_WAY_SECONDS`` messages a second, and catches
up once they ease. Measured with P2 on PostgreSQL, all in one process: about 800 webhooks a
second taken in, p99 about 300 ms, against about 630 and 410 ms without making way."""


class WebLoad:
    """How many web requests this process is serving now: the web app counts them
    (``serving`` is changed only in the event loop's thread), and handling makes way for
    them.

    Handling is mostly Python and shares the interpreter with the web server in one process.
    When messages pour in, taking each one in quickly matters more than answering a moment
    sooner: Twilio and Telegram wait for the webhook's answer, and a slow one makes them
    deliver again. A message on its own waits only until its own request is answered.
    """

    POLL_SECONDS = 0.005

    def __init__(self) -> None:
        self.serving = 0

    def wait_for_lull(self, most: float) -> None:
        """Block (in a handling thread) until no request is in hand, or ``most`` seconds."""
        deadline = time.monotonic() + most
        while self.serving and time.monotonic() < deadline:
            time.sleep(self.POLL_SECONDS)


def telegram_bot(settings: Settings) -> Bot:
    """The Bot API client, pointed at ``VOICEBANK_TELEGRAM_API_URL``."""
    assert settings.telegram_token is not None
    # Take durations as timedelta now, as python-telegram-bot 23 will; without this every
    # flood-limit answer logs a deprecation warning.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    return Bot(
        settings.telegram_token.get_secret_value(),
        base_url=str(settings.telegram_api_url),
        request=HTTPXRequest(
            connection_pool_size=16, connect_timeout=5.0, read_timeout=SEND_TIMEOUT,
            write_timeout=SEND_TIMEOUT, pool_timeout=SEND_TIMEOUT,
        ),
        get_updates_request=HTTPXRequest(
            connect_timeout=5.0, read_timeout=telegram.POLL_TIMEOUT + 10.0,
        ),
    )


def twilio_client(settings: Settings) -> tuple[Client, HttpxTwilioClient]:
    """The REST client, pointed at ``VOICEBANK_TWILIO_API_URL``; made inside the event loop."""
    assert settings.twilio_account_sid
    assert settings.twilio_auth_token
    http = HttpxTwilioClient(timeout=SEND_TIMEOUT)
    client = Client(
        settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value(),
        http_client=http,
    )
    client.api.base_url = str(settings.twilio_api_url).rstrip("/")
    return client, http


def picture_url(settings: Settings, picture: str) -> str | None:
    """A picture's public address, for MMS: a URL as it is, a media file under /media/."""
    if picture.startswith(("http://", "https://")):
        return picture
    if not (Path(settings.media_dir) / picture).is_file():
        return None
    return f"{settings.public_url}/media/{picture}"


class Runtime:
    """Receiving, handling and sending, started and stopped with the app.

    ``receive`` is off in a worker that only sends: it neither polls Telegram nor sets its
    webhook. Sending is on unless the settings turn this process's dispatcher off. ``web`` is
    the web app's count of requests in hand when this process serves the web too: handling
    makes way for them.
    """

    def __init__(self, voicebank: Voicebank, *, receive: bool = True,
                 web: WebLoad | None = None) -> None:
        self.voicebank = voicebank
        self.web = web
        self.settings = voicebank.settings
        self.receive = receive
        self.bot: Bot | None = None
        self.poller: telegram.TelegramPoller | None = None
        self.polling_lead = Leadership(voicebank.database, POLLING_LEADERSHIP)
        self.dispatcher: Dispatcher | None = None
        self._twilio_http: HttpxTwilioClient | None = None
        self.inbox = InboxWriter(voicebank.engine)
        self._handling: dict[str, asyncio.Task[None]] = {}
        self._inbox_watch: asyncio.Task[None] | None = None
        self._again: set[str] = set()
        # Handling has threads of its own, so storing new messages never queues behind it.
        self._handlers = ThreadPoolExecutor(max_workers=HANDLER_THREADS,
                                            thread_name_prefix="voicebank-handling")
        self._dispatching: asyncio.Task[None] | None = None
        self._polling: asyncio.Task[None] | None = None

    async def start(self) -> None:
        senders = ChannelRegistry()
        paces: dict[str, Pace] = {}
        settings = self.settings
        if settings.telegram_on:
            self.bot = telegram_bot(settings)
            try:
                await self.bot.initialize()
            except TelegramError as error:
                # Sending retries until Telegram answers; a bad token says so in the log.
                log.error("Telegram did not answer getMe: %s", error)
            senders.register(telegram.TelegramSender(
                bot=self.bot, photo_source=telegram.photo_from(Path(settings.media_dir))
            ))
            paces[telegram.CHANNEL] = Pace(
                rate=settings.telegram_rate, chat_gap=settings.telegram_chat_gap
            )
        if settings.sms_on:
            client, self._twilio_http = twilio_client(settings)
            assert settings.twilio_from is not None
            senders.register(sms.TwilioSender(
                client=client,
                sender=settings.twilio_from,
                style=SmsStyle(emoji=settings.sms_emoji, max_segments=settings.sms_max_segments),
                status_callback=f"{settings.public_url}{sms.STATUS_PATH}",
                picture_url=(lambda p: picture_url(settings, p)) if settings.sms_mms else None,
            ))
            paces[sms.CHANNEL] = Pace(rate=settings.sms_rate)
        if settings.dispatcher:
            self.dispatcher = self._dispatcher(senders, paces)
            self._dispatching = asyncio.create_task(self.dispatcher.run(), name="dispatcher")
        if self.bot is not None and self.receive:
            await self._start_telegram(self.bot)
        if settings.handling and not self.receive:
            self._inbox_watch = asyncio.create_task(self._watch_inbox(), name="inbox watch")

    async def _watch_inbox(self) -> None:
        """In a worker: handle what web workers stored without handling, as it arrives."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                handled = await loop.run_in_executor(
                    self._handlers, self.voicebank.engine.handle_all_waiting)
            except Exception:
                log.exception("handling waiting messages failed; trying again")
                handled = 0
            if handled and self.dispatcher is not None:
                self.dispatcher.wake()
            if not handled:
                await asyncio.sleep(INBOX_POLL_SECONDS)

    def _dispatcher(self, senders: Mapping[str, Sender], paces: Mapping[str, Pace]) -> Dispatcher:
        return Dispatcher(
            database=self.voicebank.database,
            clock=self.voicebank.clock,
            senders=senders,
            paces=paces,
            quiet_hours=self.settings.quiet,
            max_attempts=self.settings.send_attempts,
        )

    async def _start_telegram(self, bot: Bot) -> None:
        secret = self.settings.telegram_webhook_secret
        if secret is not None:
            try:
                await bot.set_webhook(
                    url=f"{self.settings.public_url}{telegram.WEBHOOK_PATH}",
                    secret_token=secret.get_secret_value(),
                    allowed_updates=list(telegram.ALLOWED_UPDATES),
                )
            except TelegramError as error:
                log.error("Telegram refused the webhook %s%s: %s", self.settings.public_url,
                          telegram.WEBHOOK_PATH, error)
                return
            log.info("Telegram: webhook set to %s%s", self.settings.public_url,
                     telegram.WEBHOOK_PATH)
            return
        # Telegram allows one poller per bot: with several processes, one leads at a time.
        self.poller = telegram.TelegramPoller(
            bot=bot, receive=self.accept_telegram, clock=self.voicebank.clock,
            may_poll=lambda: asyncio.to_thread(self.polling_lead.try_lead),
        )
        self._polling = asyncio.create_task(self.poller.run(), name="telegram polling")
        log.info("Telegram: long polling (in whichever process leads the polling)")

    async def stop(self) -> None:
        """Stop taking messages in, finish what is in hand, and close the clients."""
        if self.poller is not None:
            self.poller.stop()
        if self._polling is not None:
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
        await asyncio.to_thread(self.polling_lead.release)
        if self._inbox_watch is not None:
            self._inbox_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._inbox_watch
        if self._handling:
            await asyncio.wait(set(self._handling.values()), timeout=STOP_TIMEOUT)
        self._handlers.shutdown(wait=False)
        if self.dispatcher is not None and self._dispatching is not None:
            self.dispatcher.stop()
            try:
                await asyncio.wait_for(self._dispatching, timeout=STOP_TIMEOUT)
            except TimeoutError:
                log.warning("the dispatcher did not stop in time; its claims will expire")
        if self.bot is not None:
            await self.bot.shutdown()
        if self._twilio_http is not None:
            await self._twilio_http.close()

    # -- receiving -------------------------------------------------------------------------

    async def accept(self, inbound: Inbound) -> bool:
        """Store ``inbound`` and start handling it; False if it was a repeat delivery."""
        stored = await self.inbox.store(inbound)
        if stored is None:
            return False
        if self.settings.handling:
            self._handle_soon(inbound.address)
        return True

    async def accept_telegram(self, parsed: telegram.TelegramInbound) -> None:
        await self.accept(parsed.inbound)
        if parsed.callback_query_id is not None and self.bot is not None:
            await telegram.acknowledge_tap(self.bot, parsed.callback_query_id)

    def _handle_soon(self, address: str) -> None:
        """Handle what ``address`` sent, one task per address: a message that arrives while
        its sender's earlier ones are being handled is picked up by the same task."""
        running = self._handling.get(address)
        if running is not None and not running.done():
            self._again.add(address)
            return
        task = asyncio.create_task(self._handle(address), name=f"handling {address}")
        self._handling[address] = task
        task.add_done_callback(lambda done: self._handled(address, done))

    def _handled(self, address: str, task: asyncio.Task[None]) -> None:
        if self._handling.get(address) is task:
            del self._handling[address]

    async def _handle(self, address: str) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._again.discard(address)
            try:
                await loop.run_in_executor(self._handlers, functools.partial(
                    self.voicebank.engine.handle_waiting, address,
                    before_each=self._make_way))
            except Exception:
                # The message stays in the inbox; the sweep will pick it up again.
                log.exception("handling messages from %s failed; the sweep will retry", address)
            if self.dispatcher is not None:
                self.dispatcher.wake()
            if address not in self._again:
                return

    def _make_way(self) -> None:
        """Before each message a handling thread takes on, let this process's web requests
        go first (for at most ``MAKE_WAY_SECONDS``)."""
        if self.web is not None:
            self.web.wait_for_lull(MAKE_WAY_SECONDS)

    async def settle(self) -> None:
        """Wait until every message taken in so far is handled (for tests and shutdown)."""
        while self._handling:
            await asyncio.wait(set(self._handling.values()))

    async def drain(self) -> int:
        """Handle what was taken in, then send everything due now; returns how many sent."""
        await self.settle()
        if self.dispatcher is None:
            return 0
        sent = 0
        while True:
            await self.dispatcher.wait_idle()
            round_sent = await self.dispatcher.dispatch_due()
            sent += round_sent
            if round_sent == 0:
                await self.dispatcher.wait_idle()
                return sent

    # -- delivery reports ------------------------------------------------------------------

    async def record_sms_status(self, report: sms.StatusReport) -> None:
        await asyncio.to_thread(self._record_sms_status, report)

    def _record_sms_status(self, report: sms.StatusReport) -> None:
        now = self.voicebank.clock.now()
        with transaction(self.voicebank.database) as session:
            message = delivery.record_report(
                session=session, channel=sms.CHANNEL, provider_id=report.provider_id,
                status=report.status, error_code=report.error_code, now=now,
            )
            if message is not None and report.error_code == str(sms.UNSUBSCRIBED):
                reason = f"the number has opted out of texts (Twilio error {sms.UNSUBSCRIBED})"
                if people.deactivate_address(session=session, urn=message.address,
                                             reason=reason, now=now):
                    record_audit(session=session, actor="twilio", action="address.deactivated",
                                 subject=message.address, at=now, detail={"reason": reason})

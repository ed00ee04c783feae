"""Telegram through python-telegram-bot: reading updates, and sending with buttons.

Updates arrive by long polling (the default) or by webhook when a secret is set. Either
way an update is stored in the inbox, under its ``update_id``, before Telegram is told it
arrived: by polling, the next ``getUpdates`` offset confirms only what was stored; by
webhook, the route answers only after the store. Options go out as inline keyboard
buttons; a tap comes back as the option's number, as if typed.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.clock import Clock
from bot.messages import Inbound
from channels.base import Delivery, PermanentFailure, TemporaryFailure, Unreachable

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105  (a header name)
ALLOWED_UPDATES = ("message", "callback_query")
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
POLL_TIMEOUT = 25
TELEGRAM_FILE = "telegram-file:"


def secret_is_valid(expected: str, given: str | None) -> bool:
    """Whether the webhook's secret header matches, compared in constant time."""
    if not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True)
class TelegramInbound:
    """An update read as an inbound message, with the button tap to answer, if any."""

    inbound: Inbound
    callback_query_id: str | None = None


def parse_update(update: Update, *, received_at: datetime) -> TelegramInbound | None:
    """A private-chat message, photo or button tap as an :class:`Inbound`; None otherwise."""
    provider_id = str(update.update_id)
    if update.callback_query is not None:
        query = update.callback_query
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        inbound = Inbound(
            address=f"{CHANNEL}:{chat_id}", text=query.data or "", channel=CHANNEL,
            provider_id=provider_id, received_at=received_at,
        )
        return TelegramInbound(inbound, callback_query_id=query.id)
    message = update.message
    if message is None or message.chat.type != ChatType.PRIVATE:
        return None
    media: tuple[str, ...] = ()
    if message.photo:
        media = (f"{TELEGRAM_FILE}{message.photo[-1].file_id}",)
    text = message.text or message.caption or ""
    if not text and not media:
        return None  # stickers, locations and the like: nothing the bot reads
    inbound = Inbound(
        address=f"{CHANNEL}:{message.chat.id}", text=text, channel=CHANNEL,
        provider_id=provider_id, received_at=received_at, media=media,
    )
    return TelegramInbound(inbound)


def keyboard(options: Sequence[dict[str, Any]]) -> InlineKeyboardMarkup | None:
    """One button a row, reading "2 😐 OK"; tapping it sends back the number."""
    if not options:
        return None
    rows = []
    for option in options:
        label = " ".join(
            part for part in (str(option["number"]), option.get("emoji", ""), option["label"])
            if part
        )
        rows.append([InlineKeyboardButton(label[:64], callback_data=str(option["number"]))])
    return InlineKeyboardMarkup(rows)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Text in pieces Telegram accepts, broken at paragraphs, lines or spaces."""
    pieces = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        # A paragraph break if there is one in the second half, else a line break, else
        # a space; a hard cut only inside a word longer than a whole message.
        cut = next(
            (at for at in (window.rfind(sep) for sep in ("\n\n", "\n")) if at > limit // 2),
            window.rfind(" "),
        )
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    pieces.append(rest)
    return pieces


PhotoSource = Callable[[str], str | bytes | None]
"""Turns an outbox picture (a URL, or a file name in the media folder) into what
``sendPhoto`` takes: a URL string or the file's bytes; None when there is no such file."""


class TelegramSender:
    """Sends outbox messages through the Bot API: text with buttons, or a photo with a caption."""

    channel = CHANNEL

    def __init__(self, *, bot: Bot, photo_source: PhotoSource | None = None) -> None:
        self.bot = bot
        self.photo_source = photo_source

    def cost(self, delivery: Delivery) -> int:
        return 1

    async def send(self, delivery: Delivery) -> tuple[str, ...]:
        chat_id = int(delivery.address.removeprefix(f"{CHANNEL}:"))
        text = "\n\n".join(part for part in (delivery.text, delivery.footer) if part)
        markup = keyboard(delivery.options)
        photo = self._photo(delivery.picture)
        try:
            return await self._send(chat_id, text, markup, photo)
        except BadRequest as error:
            if photo is None:
                raise _failure(error) from error
            # A picture Telegram cannot fetch or read must not cost the person the words.
            log.warning("Telegram refused the picture %r (%s); sending text only",
                        delivery.picture, error.message)
        try:
            return await self._send(chat_id, text, markup, None)
        except TelegramError as error:
            raise _failure(error) from error

    async def _send(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None,
                    photo: str | bytes | None) -> tuple[str, ...]:
        try:
            sent: list[Message] = []
            if photo is not None and len(text) <= CAPTION_LIMIT:
                sent.append(await self.bot.send_photo(
                    chat_id, photo, caption=text or None, reply_markup=markup
                ))
            else:
                if photo is not None:
                    sent.append(await self.bot.send_photo(chat_id, photo))
                pieces = split_text(text) if text else []
                for index, piece in enumerate(pieces):
                    last = index == len(pieces) - 1
                    sent.append(await self.bot.send_message(
                        chat_id, piece, reply_markup=markup if last else None
                    ))
        except BadRequest:
            raise
        except TelegramError as error:
            raise _failure(error) from error
        return tuple(str(message.message_id) for message in sent)

    def _photo(self, picture: str | None) -> str | bytes | None:
        if not picture or self.photo_source is None:
            return None
        return self.photo_source(picture)


def retry_after_seconds(error: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds, whichever type this PTB version gives."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def _failure(error: TelegramError) -> Exception:
    reason = f"Telegram: {error.message}"
    if isinstance(error, RetryAfter):
        return TemporaryFailure(reason, retry_after=retry_after_seconds(error))
    if isinstance(error, Forbidden):
        # "bot was blocked by the user", "user is deactivated": nothing more can reach them.
        return Unreachable(reason)
    if isinstance(error, BadRequest):
        if "chat not found" in error.message.lower():
            return Unreachable(reason)
        return PermanentFailure(reason)
    if isinstance(error, InvalidToken):
        return TemporaryFailure(f"{reason} (check VOICEBANK_TELEGRAM_TOKEN)")
    if isinstance(error, NetworkError):  # includes TimedOut and 5xx answers
        return TemporaryFailure(reason)
    return PermanentFailure(reason)


def photo_from(media_dir: Path) -> PhotoSource:
    """Pictures by URL as they are; other names read from ``media_dir``, never outside it."""
    root = media_dir.resolve()

    def source(picture: str) -> str | bytes | None:
        if picture.startswith(("http://", "https://")):
            return picture
        if picture.startswith(TELEGRAM_FILE):  # a photo someone sent the bot: resend by id
            return picture.removeprefix(TELEGRAM_FILE) or None
        try:
            path = (root / picture).resolve()
        except (ValueError, OSError):
            return None
        if not path.is_relative_to(root) or not path.is_file():
            log.warning("picture %r is not in the media folder %s; sending text only", picture,
                        root)
            return None
        return path.read_bytes()

    return source


async def acknowledge_tap(bot: Bot, callback_query_id: str) -> None:
    """Stop the button's spinner; the answer itself comes as a message after handling."""
    try:
        await bot.answer_callback_query(callback_query_id)
    except TelegramError as error:  # a late answer is harmless: the tap is already stored
        log.info("could not answer button tap %s: %s", callback_query_id, error)


Receive = Callable[[TelegramInbound], Awaitable[None]]
"""Stores a message in the inbox (and starts its handling); returns once it is stored."""
MayPoll = Callable[[], Awaitable[bool]]
"""Whether this process may poll now: Telegram allows one getUpdates caller per bot."""
STAND_BY_SECONDS = 5.0


class TelegramPoller:
    """Long polling: fetch updates, store each, then confirm them with the next offset."""

    def __init__(
        self, *, bot: Bot, receive: Receive, clock: Clock, timeout: int = POLL_TIMEOUT,
        may_poll: MayPoll | None = None,
    ) -> None:
        self.bot = bot
        self.receive = receive
        self.clock = clock
        self.timeout = timeout
        self.may_poll = may_poll
        self.offset: int | None = None
        self._stopping = False

    async def poll_once(self) -> int:
        """One ``getUpdates``; every update is stored before the next call confirms it."""
        updates = await self.bot.get_updates(
            offset=self.offset, timeout=self.timeout, allowed_updates=list(ALLOWED_UPDATES),
        )
        for update in updates:
            parsed = parse_update(update, received_at=self.clock.now())
            if parsed is not None:
                await self.receive(parsed)
            self.offset = update.update_id + 1
        return len(updates)

    async def run(self, *, retry_seconds: float = 5.0) -> None:
        """Poll until :meth:`stop` or cancelled; an error waits a little and tries again.

        Cancelling mid-poll loses nothing: updates not yet stored were not confirmed,
        and Telegram sends them again. With ``may_poll``, a process that may not poll now
        stands by and asks again every few seconds.
        """
        self._stopping = False
        webhook_cleared = False
        while not self._stopping:
            if self.may_poll is not None and not await self.may_poll():
                await asyncio.sleep(STAND_BY_SECONDS)
                continue
            try:
                if not webhook_cleared:
                    await self.bot.delete_webhook()  # getUpdates refuses while one is set
                    webhook_cleared = True
                await self.poll_once()
            except RetryAfter as error:
                await asyncio.sleep(retry_after_seconds(error))
            except TelegramError as error:
                log.warning("Telegram polling: %s; trying again in %s s", error, retry_seconds)
                await asyncio.sleep(retry_seconds)

    def stop(self) -> None:
        self._stopping = True

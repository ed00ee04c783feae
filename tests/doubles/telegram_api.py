"""A Telegram Bot API double: a real HTTP server that the real python-telegram-bot talks to.

Point ``telegram.Bot(token, base_url=double.base_url)`` (or the app's
VOICEBANK_TELEGRAM_API_URL) at :attr:`TelegramDouble.base_url`. The double answers getMe,
getUpdates (with offset confirmation and long polling), the webhook methods, sendMessage,
sendPhoto, answerCallbackQuery and the message-editing methods the way the real API does, records
every call, queues updates for the bot to fetch, injects failures (429 rate limits, 403 "bot was
blocked", 5xx, hangs) and can enforce a sliding-window rate limit on sends.

How python-telegram-bot sends requests: every method is a POST to ``{base_url}{token}/{method}``.
Without uploads the body is ``application/x-www-form-urlencoded`` in which str values are sent
as-is and every other value is JSON-encoded (chat_id ``123`` arrives as ``"123"``, reply_markup
as a JSON object); uploads make it ``multipart/form-data`` with the same fields plus file parts.
The double also takes JSON bodies and query strings. It decodes form values that are JSON (objects,
arrays, numbers, booleans) except in fields that are free text or ids (see ``TEXT_FIELDS``), so a
message text ``"42"`` stays a string.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tests.doubles import ANY_METHOD, OK, Call, HttpDouble

__all__ = [
    "ANY_METHOD",
    "BOT_USER",
    "DEFAULT_TOKEN",
    "SEND_METHODS",
    "Call",
    "TelegramDouble",
    "build_callback_update",
    "build_photo_update",
    "build_text_update",
]

DEFAULT_TOKEN = "123456:TEST-token"  # noqa: S105 - a fake token for the double
BOT_USER: dict[str, Any] = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Voicebank",
    "username": "voicebank_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
FIRST_UPDATE_ID = 1000
USER_FIRST_NAME = "Ann"

#: Methods whose successful calls count as sends.
SEND_METHODS = frozenset({"sendMessage", "sendPhoto"})
#: Methods answered with ``true`` and nothing else.
TRUE_METHODS = frozenset(
    {
        "answerCallbackQuery",
        "sendChatAction",
        "setMyCommands",
        "deleteMyCommands",
        "deleteMessage",
        "logOut",
        "close",
    }
)
EDIT_METHODS = frozenset({"editMessageReplyMarkup", "editMessageText", "editMessageCaption"})
#: Form fields kept as strings even when they look like JSON.
TEXT_FIELDS = frozenset(
    {
        "text",
        "caption",
        "url",
        "secret_token",
        "callback_query_id",
        "photo",
        "parse_mode",
        "inline_message_id",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "file_id",
    }
)
_Handler = Callable[[str, dict[str, Any]], Awaitable[web.Response]]
_JSONISH = re.compile(r"\s*(?:[\[{]|-?\d|true\s*$|false\s*$)")

CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
BLOCKED = "Forbidden: bot was blocked by the user"


def _user(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": USER_FIRST_NAME}


def _private_chat(chat_id: int | str) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": USER_FIRST_NAME}


def _photo_sizes(file_id: str, size: int = 0) -> list[dict[str, Any]]:
    """The three sizes Telegram makes of a photo, each with its own id."""
    return [
        {
            "file_id": f"{file_id}-{suffix}",
            "file_unique_id": f"u{index}{zlib.crc32(file_id.encode())}",
            "width": width,
            "height": height,
            "file_size": max(1, size * width // 1280) if size else width * 60,
        }
        for index, (suffix, width, height) in enumerate(
            (("s", 90, 67), ("m", 320, 240), ("x", 1280, 960))
        )
    ]


def build_text_update(
    update_id: int, chat_id: int, text: str, *, message_id: int | None = None
) -> dict[str, Any]:
    """A private-chat text message Update as Telegram would send it (to getUpdates or a
    webhook). Commands (text starting with "/") get their bot_command entity."""
    message: dict[str, Any] = {
        "message_id": update_id if message_id is None else message_id,
        "date": int(time.time()),
        "chat": _private_chat(chat_id),
        "from": _user(chat_id),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id, "message": message}


def build_callback_update(
    update_id: int,
    chat_id: int,
    data: str,
    *,
    message_id: int = 1,
    message_text: str = "…",
    query_id: str | None = None,
) -> dict[str, Any]:
    """A callback_query Update: the user pressed an inline button on the bot's message
    ``message_id`` carrying ``data``."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id or f"cbq-{update_id}",
            "from": _user(chat_id),
            "chat_instance": f"ci-{chat_id}",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": _private_chat(chat_id),
                "from": {k: BOT_USER[k] for k in ("id", "is_bot", "first_name", "username")},
                "text": message_text,
            },
        },
    }


def build_photo_update(
    update_id: int, chat_id: int, file_id: str, caption: str = "", *, message_id: int | None = None
) -> dict[str, Any]:
    """A private-chat photo message Update (three PhotoSizes, optional caption)."""
    message: dict[str, Any] = {
        "message_id": update_id if message_id is None else message_id,
        "date": int(time.time()),
        "chat": _private_chat(chat_id),
        "from": _user(chat_id),
        "photo": _photo_sizes(file_id),
    }
    if caption:
        message["caption"] = caption
    return {"update_id": update_id, "message": message}


def _decode(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in TEXT_FIELDS or not _JSONISH.match(value):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _error(status: int, description: str, **parameters: Any) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


def _result(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


class TelegramDouble(HttpDouble):
    """The Telegram Bot API on 127.0.0.1; see the module docstring.

    Records: :attr:`calls` (every request, as :class:`~tests.doubles.Call`), :meth:`sent`
    (successful sendMessage/sendPhoto calls), :attr:`webhook`, :attr:`confirmed_offset`.
    Failure kinds for :meth:`fail_next`: ``"429"``, ``"5xx"``, ``"hang"``, ``"blocked"``,
    ``"bad_photo"`` (400: Telegram cannot use the picture).
    """

    FAILURE_KINDS = frozenset({"429", "5xx", "hang", "blocked", "bad_photo"})
    SEND_METHODS = SEND_METHODS

    def __init__(
        self, token: str = DEFAULT_TOKEN, *, rate_limit_per_second: float | None = None
    ) -> None:
        super().__init__(rate_limit_per_second=rate_limit_per_second)
        self.token = token
        self._updates: deque[dict[str, Any]] = deque()
        self._next_update_id = FIRST_UPDATE_ID
        self._next_message_id = 1
        self._messages: dict[tuple[Any, int], dict[str, Any]] = {}
        self._blocked: set[Any] = set()
        self._webhook: dict[str, Any] | None = None
        self._confirmed_offset: int | None = None
        self._method_handlers = self._handlers()

    # -- public API ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/bot``: python-telegram-bot appends ``{token}/{method}``."""
        return f"{self.root_url}/bot"

    @property
    def webhook(self) -> dict[str, Any] | None:
        """The webhook set by setWebhook (url, secret_token, allowed_updates), or None."""
        with self._lock:
            return None if self._webhook is None else dict(self._webhook)

    @property
    def confirmed_offset(self) -> int | None:
        """The highest offset getUpdates was called with (updates below it are gone)."""
        with self._lock:
            return self._confirmed_offset

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Queued updates not yet confirmed by an offset."""
        with self._lock:
            return list(self._updates)

    def add_update(self, update: dict[str, Any]) -> int:
        """Queue an Update (its update_id is replaced by the next one, from 1000) and wake
        any long-polling getUpdates. Returns the update_id."""
        with self._lock:
            update_id = self._next_update_id
            self._next_update_id += 1
            self._updates.append({**update, "update_id": update_id})
        self._wake_threadsafe()
        return update_id

    def text_update(self, chat_id: int, text: str) -> int:
        """Queue a text message from the user ``chat_id``; returns the update_id."""
        with self._lock:
            update_id, message_id = self._next_update_id, self._take_message_id()
        return self.add_update(build_text_update(update_id, chat_id, text, message_id=message_id))

    def callback_update(
        self, chat_id: int, data: str, message_id: int | None = None, *, message_text: str = "…"
    ) -> int:
        """Queue a button press with callback ``data`` on the bot's message ``message_id``
        (default: the last message sent to that chat, else 1); returns the update_id."""
        with self._lock:
            update_id = self._next_update_id
            if message_id is None:
                sent = [mid for (chat, mid) in self._messages if chat == chat_id]
                message_id = max(sent, default=1)
            stored = self._messages.get((chat_id, message_id))
            if stored is not None:
                message_text = stored.get("text") or stored.get("caption") or message_text
        return self.add_update(
            build_callback_update(
                update_id, chat_id, data, message_id=message_id, message_text=message_text
            )
        )

    def photo_update(self, chat_id: int, file_id: str, caption: str = "") -> int:
        """Queue a photo from the user ``chat_id``; returns the update_id."""
        with self._lock:
            update_id, message_id = self._next_update_id, self._take_message_id()
        return self.add_update(
            build_photo_update(update_id, chat_id, file_id, caption, message_id=message_id)
        )

    def block_chat(self, chat_id: int | str) -> None:
        """From now on every call naming this chat answers 403 "bot was blocked by the user"."""
        with self._lock:
            self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int | str) -> None:
        with self._lock:
            self._blocked.discard(chat_id)

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        """The text (or caption) of each successful send, optionally to one chat."""
        return [
            str(call.params.get("text", call.params.get("caption", "")))
            for call in self.sent()
            if chat_id is None or call.params.get("chat_id") == chat_id
        ]

    # -- server -------------------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{path:.*}", self._handle)

    def _take_message_id(self) -> int:
        message_id = self._next_message_id
        self._next_message_id += 1
        return message_id

    async def _handle(self, request: web.Request) -> web.Response:
        match = re.fullmatch(r"/bot([^/]+)/([^/]+)", request.path)
        if match is None:
            self._record(request.path, {}, "not_found")
            return _error(404, "Not Found")
        token, method = match.groups()
        params = await _read_params(request)
        if token != self.token:
            self._record(method, params, "unauthorized")
            return _error(401, "Unauthorized")

        failure = self._take_failure(method)
        if failure is not None:
            self._record(method, params, failure.kind)
            if failure.kind == "429":
                return _error(
                    429,
                    f"Too Many Requests: retry after {failure.retry_after}",
                    retry_after=failure.retry_after,
                )
            if failure.kind == "blocked":
                return _error(403, BLOCKED)
            if failure.kind == "bad_photo":
                return _error(400, "Bad Request: wrong file identifier/HTTP URL specified")
            if failure.kind == "5xx":
                status = failure.status or 500
                return _error(status, "Bad Gateway" if status == 502 else "Internal Server Error")
            return await self._hang()

        with self._lock:
            blocked = "chat_id" in params and params["chat_id"] in self._blocked
        if blocked:
            self._record(method, params, "blocked")
            return _error(403, BLOCKED)

        handler = self._method_handlers.get(method)
        if handler is None:
            self._record(method, params, "not_found")
            return _error(404, "Not Found")
        return await handler(method, params)

    async def _get_me(self, method: str, params: dict[str, Any]) -> web.Response:
        self._record(method, params, OK)
        return _result(BOT_USER)

    async def _true(self, method: str, params: dict[str, Any]) -> web.Response:
        self._record(method, params, OK)
        return _result(True)

    async def _get_updates(self, method: str, params: dict[str, Any]) -> web.Response:
        with self._lock:
            webhook_active = self._webhook is not None
        if webhook_active:
            self._record(method, params, "conflict")
            return _error(409, CONFLICT_WEBHOOK)
        self._record(method, params, OK)
        offset = _int(params.get("offset"))
        limit = min(max(_int(params.get("limit")) or 100, 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        self._confirm(offset)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                batch = list(self._updates)[:limit]
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self._closing:
                return _result(batch)
            await self._park(remaining)

    def _confirm(self, offset: int | None) -> None:
        if offset is None:
            return
        with self._lock:
            if offset < 0:  # the last -offset updates stay, all earlier ones are forgotten
                while len(self._updates) > -offset:
                    self._updates.popleft()
                return
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
            self._confirmed_offset = max(offset, self._confirmed_offset or offset)

    async def _set_webhook(self, method: str, params: dict[str, Any]) -> web.Response:
        self._record(method, params, OK)
        url = params.get("url") or ""
        with self._lock:
            if params.get("drop_pending_updates") is True:
                self._updates.clear()
            if not url:
                self._webhook = None
            else:
                self._webhook = {
                    "url": url,
                    "secret_token": params.get("secret_token"),
                    "allowed_updates": params.get("allowed_updates"),
                    "max_connections": params.get("max_connections"),
                }
        self._wake_threadsafe()
        return _result(True)

    async def _delete_webhook(self, method: str, params: dict[str, Any]) -> web.Response:
        self._record(method, params, OK)
        with self._lock:
            self._webhook = None
            if params.get("drop_pending_updates") is True:
                self._updates.clear()
        return _result(True)

    async def _get_webhook_info(self, method: str, params: dict[str, Any]) -> web.Response:
        self._record(method, params, OK)
        with self._lock:
            webhook, pending = self._webhook, len(self._updates)
        info: dict[str, Any] = {
            "url": webhook["url"] if webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": pending,
        }
        if webhook and webhook.get("allowed_updates") is not None:
            info["allowed_updates"] = webhook["allowed_updates"]
        if webhook and webhook.get("max_connections") is not None:
            info["max_connections"] = webhook["max_connections"]
        return _result(info)

    async def _send(self, method: str, params: dict[str, Any]) -> web.Response:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            self._record(method, params, "bad_request")
            return _error(400, "Bad Request: chat_id is empty")
        if method == "sendMessage" and not params.get("text"):
            self._record(method, params, "bad_request")
            return _error(400, "Bad Request: message text is empty")
        if method == "sendPhoto" and not params.get("photo"):
            self._record(method, params, "bad_request")
            return _error(400, "Bad Request: there is no photo in the request")
        if not self._admit_send(method, params):
            return _error(429, "Too Many Requests: retry after 1", retry_after=1)
        with self._lock:
            message_id = self._take_message_id()
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": _private_chat(chat_id),
            "from": {k: BOT_USER[k] for k in ("id", "is_bot", "first_name", "username")},
        }
        if method == "sendMessage":
            message["text"] = params["text"]
        else:
            photo = params["photo"]
            size = photo.get("size", 0) if isinstance(photo, dict) else 0
            message["photo"] = _photo_sizes(f"AgAC-photo-{message_id}", size)
            if params.get("caption"):
                message["caption"] = params["caption"]
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        with self._lock:
            self._messages[(chat_id, message_id)] = message
        return _result(message)

    async def _edit(self, method: str, params: dict[str, Any]) -> web.Response:
        self._record(method, params, OK)
        if params.get("inline_message_id"):
            return _result(True)
        chat_id, message_id = params.get("chat_id"), _int(params.get("message_id"))
        if chat_id is None or message_id is None:
            return _error(400, "Bad Request: message identifier is not specified")
        with self._lock:
            message = dict(
                self._messages.get((chat_id, message_id))
                or {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": _private_chat(chat_id),
                    "text": "…",
                }
            )
            message["edit_date"] = int(time.time())
            markup = params.get("reply_markup")
            if isinstance(markup, dict) and markup.get("inline_keyboard"):
                message["reply_markup"] = markup
            else:
                message.pop("reply_markup", None)
            if method == "editMessageText" and "text" in params:
                message["text"] = params["text"]
            if method == "editMessageCaption" and "caption" in params:
                message["caption"] = params["caption"]
            self._messages[(chat_id, message_id)] = message
        return _result(message)

    def _handlers(self) -> dict[str, _Handler]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send,
            "sendPhoto": self._send,
            **dict.fromkeys(TRUE_METHODS, self._true),
            **dict.fromkeys(EDIT_METHODS, self._edit),
        }


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


async def _read_params(request: web.Request) -> dict[str, Any]:
    """The request's parameters from its query string and its JSON, urlencoded or multipart
    body; uploaded files become {"filename", "size"}."""
    pairs: list[tuple[str, Any]] = list(request.query.items())
    if request.body_exists:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                pairs.extend(body.items())
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    upload = {"filename": value.filename, "size": len(value.file.read())}
                    pairs.append((name, upload))
                else:
                    pairs.append((name, value))
    return {name: _decode(name, value) for name, value in pairs}


"""A Twilio REST API double (Messages), a real HTTP server the real twilio library talks to.

Point a ``twilio.rest.Client`` at it with ``client.api.base_url = double.base_url`` (twilio's
``Domain.base_url``); both the sync client (requests) and ``AsyncTwilioHttpClient`` (aiohttp)
work. The double creates and fetches Message resources under
``/2010-04-01/Accounts/{AccountSid}/Messages``, checks HTTP Basic auth, records every call,
injects failures (429, 5xx, 21610 "unsubscribed recipient", hangs), and can enforce a
sliding-window rate limit weighted by SMS segments.

The module also builds what Twilio sends the app: inbound SMS webhook forms
(:func:`inbound_sms_params`), delivery status callbacks (:func:`status_callback_params`) and their
``X-Twilio-Signature`` (:func:`twilio_signature`, computed by twilio's own RequestValidator).

Segment counting (:func:`count_segments`) is a simplified version of what carriers do: a body
made only of GSM-7 characters takes 160 septets in one segment and 153 per segment when split
(characters of the GSM-7 extension table, such as ``€`` or ``{``, take two septets); any other
body is UCS-2 and takes 70 UTF-16 code units in one segment and 67 per segment when split (an
emoji outside the BMP takes two). It ignores that a split never breaks an escape sequence or a
surrogate pair, so near a boundary it can be one segment short.
"""

from __future__ import annotations

import base64
import math
import secrets
from collections.abc import Mapping
from email.utils import formatdate
from typing import Any

from aiohttp import web
from twilio.request_validator import RequestValidator

from tests.doubles import ANY_METHOD, Call, HttpDouble

__all__ = [
    "ANY_METHOD",
    "CREATE",
    "DEFAULT_FROM",
    "DEFAULT_TO",
    "FETCH",
    "TEST_ACCOUNT_SID",
    "TEST_AUTH_TOKEN",
    "Call",
    "TwilioDouble",
    "count_segments",
    "inbound_sms_params",
    "new_sid",
    "status_callback_params",
    "twilio_signature",
]

TEST_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TEST_AUTH_TOKEN = "test-auth-token"  # noqa: S105 - a fake credential for the double
DEFAULT_FROM = "+15005550006"
DEFAULT_TO = "+15551230001"
API_VERSION = "2010-04-01"
#: The method names calls are recorded under (and fail_next takes).
CREATE = "messages.create"
FETCH = "messages.fetch"
MAX_BODY_CHARS = 1600

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def new_sid(prefix: str) -> str:
    """A random Twilio-style SID: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def count_segments(body: str) -> int:
    """How many SMS segments ``body`` takes (see the module docstring); at least 1."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in body):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in body)
        single, part = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    if units <= single:
        return 1
    return math.ceil(units / part)


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send with a POST of ``params`` to ``url``."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))


def inbound_sms_params(
    *,
    from_: str,
    to: str,
    body: str,
    sid: str | None = None,
    num_media: int = 0,
    account_sid: str = TEST_ACCOUNT_SID,
    **extra: object,
) -> dict[str, str]:
    """The form Twilio POSTs to an SMS webhook for an incoming message.

    ``num_media`` adds MediaUrlN/MediaContentTypeN fields; ``extra`` adds or overrides fields
    (for example ``OptOutType="STOP"`` or ``MessagingServiceSid=...``).
    """
    message_sid = sid or new_sid("SM")
    params = {
        "ToCountry": "US",
        "SmsMessageSid": message_sid,
        "NumMedia": str(num_media),
        "SmsSid": message_sid,
        "SmsStatus": "received",
        "Body": body,
        "To": to,
        "NumSegments": str(count_segments(body)),
        "MessageSid": message_sid,
        "AccountSid": account_sid,
        "From": from_,
        "FromCountry": "US",
        "ApiVersion": API_VERSION,
    }
    for index in range(num_media):
        params[f"MediaUrl{index}"] = (
            f"https://api.twilio.com/{API_VERSION}/Accounts/{account_sid}"
            f"/Messages/{message_sid}/Media/{new_sid('ME')}"
        )
        params[f"MediaContentType{index}"] = "image/jpeg"
    params.update({name: str(value) for name, value in extra.items()})
    return params


def status_callback_params(
    *,
    message_sid: str,
    status: str,
    error_code: int | str | None = None,
    to: str = DEFAULT_TO,
    from_: str = DEFAULT_FROM,
    account_sid: str = TEST_ACCOUNT_SID,
    **extra: object,
) -> dict[str, str]:
    """The form Twilio POSTs to a message's StatusCallback when its status changes."""
    params = {
        "SmsSid": message_sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": to,
        "MessageSid": message_sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    params.update({name: str(value) for name, value in extra.items()})
    return params


def _error(
    status: int, code: int, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status, headers=headers)


class TwilioDouble(HttpDouble):
    """Twilio's Messages API on 127.0.0.1; see the module docstring.

    Calls are recorded as ``"messages.create"`` (:data:`CREATE`) and ``"messages.fetch"``
    (:data:`FETCH`); create params are the form fields as strings, with ``MediaUrl`` always a
    list. A successful create's :class:`~tests.doubles.Call` has ``weight`` = its segments.
    Failure kinds for :meth:`fail_next`: ``"429"``, ``"5xx"``, ``"hang"``, ``"21610"``.
    """

    FAILURE_KINDS = frozenset({"429", "5xx", "hang", "21610"})
    SEND_METHODS = frozenset({CREATE})

    def __init__(
        self,
        account_sid: str = TEST_ACCOUNT_SID,
        auth_token: str = TEST_AUTH_TOKEN,
        *,
        rate_limit_per_second: float | None = None,
    ) -> None:
        super().__init__(rate_limit_per_second=rate_limit_per_second)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._unsubscribed: set[str] = set()
        self._messages: dict[str, dict[str, Any]] = {}

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: set it as ``client.api.base_url``."""
        return self.root_url

    @property
    def messages_path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    def unsubscribe(self, number: str) -> None:
        """From now on, sends To this number answer 21610 (the recipient replied STOP)."""
        with self._lock:
            self._unsubscribed.add(number)

    def resubscribe(self, number: str) -> None:
        with self._lock:
            self._unsubscribed.discard(number)

    def message(self, sid: str) -> dict[str, Any]:
        """The Message resource the double answered for ``sid``."""
        with self._lock:
            return dict(self._messages[sid])

    def sent_bodies(self, to: str | None = None) -> list[str]:
        """The Body of each successful create, optionally To one number."""
        return [
            str(call.params.get("Body", ""))
            for call in self.sent()
            if to is None or call.params.get("To") == to
        ]

    # -- server -------------------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        base = f"/{API_VERSION}/Accounts/{{account_sid}}/Messages"
        app.router.add_post(f"{base}.json", self._create)
        app.router.add_get(f"{base}/{{sid}}.json", self._fetch)
        app.router.add_route("*", "/{path:.*}", self._not_found)

    def _authorized(self, request: web.Request) -> bool:
        """Whether the request carries HTTP Basic auth ``account_sid:auth_token``. (Decoded by
        hand: aiohttp deprecates BasicAuth and drops it in 4.0.)"""
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
            return False
        login, _, password = decoded.partition(":")
        return login == self.account_sid and password == self.auth_token

    def _guard(
        self, request: web.Request, method: str, params: dict[str, Any]
    ) -> web.Response | None:
        """The 401/404 answer for a request with bad credentials or account, else None."""
        if not self._authorized(request):
            self._record(method, params, "unauthorized")
            return web.json_response(
                {
                    "code": 20003,
                    "message": "Authenticate",
                    "more_info": "https://www.twilio.com/docs/errors/20003",
                    "status": 401,
                },
                status=401,
                headers={"WWW-Authenticate": 'Basic realm="Twilio API"'},
            )
        if request.match_info["account_sid"] != self.account_sid:
            self._record(method, params, "not_found")
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        return None

    async def _not_found(self, request: web.Request) -> web.Response:
        self._record(request.path, {}, "not_found")
        return _error(404, 20404, f"The requested resource {request.path} was not found")

    async def _fetch(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        params = {"Sid": sid}
        refused = self._guard(request, FETCH, params)
        if refused is not None:
            return refused
        with self._lock:
            message = self._messages.get(sid)
        if message is None:
            self._record(FETCH, params, "not_found")
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        self._record(FETCH, params, "ok")
        return web.json_response(message)

    async def _create(self, request: web.Request) -> web.Response:
        form = await request.post()
        params: dict[str, Any] = {"MediaUrl": []}
        for name, value in form.items():
            text = value if isinstance(value, str) else str(value)
            if name == "MediaUrl":
                params["MediaUrl"].append(text)
            elif name in params:
                previous = params[name]
                params[name] = [*previous, text] if isinstance(previous, list) else [previous, text]
            else:
                params[name] = text
        refused = self._guard(request, CREATE, params)
        if refused is not None:
            return refused

        failure = self._take_failure(CREATE)
        if failure is not None:
            self._record(CREATE, params, failure.kind)
            if failure.kind == "429":
                return _error(
                    429, 20429, "Too Many Requests", {"Retry-After": str(failure.retry_after)}
                )
            if failure.kind == "5xx":
                return _error(failure.status or 500, 20500, "Internal Server Error")
            if failure.kind == "21610":
                return _error(400, 21610, "Attempt to send to unsubscribed recipient")
            return await self._hang()

        to = params.get("To")
        body = params.get("Body", "")
        problem = None
        if not to:
            problem = 21604, "A 'To' phone number is required."
        elif not params.get("From") and not params.get("MessagingServiceSid"):
            problem = 21603, "A 'From' or 'MessagingServiceSid' parameter is required"
        elif not body and not params["MediaUrl"] and not params.get("ContentSid"):
            problem = 21602, "Message body is required."
        elif len(body) > MAX_BODY_CHARS:
            problem = 21617, "The concatenated message body exceeds the 1600 character limit."
        if problem is not None:
            self._record(CREATE, params, "bad_request")
            return _error(400, *problem)
        with self._lock:
            unsubscribed = to in self._unsubscribed
        if unsubscribed:
            self._record(CREATE, params, "21610")
            return _error(400, 21610, "Attempt to send to unsubscribed recipient")

        segments = count_segments(body)
        if not self._admit_send(CREATE, params, weight=segments):
            return _error(429, 20429, "Too Many Requests", {"Retry-After": "1"})
        message = self._message_resource(params, segments)
        with self._lock:
            self._messages[message["sid"]] = message
        return web.json_response(message, status=201)

    def _message_resource(self, params: dict[str, Any], segments: int) -> dict[str, Any]:
        sid = new_sid("SM")
        now = formatdate(usegmt=True)
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": params.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": params.get("From"),
            "messaging_service_sid": params.get("MessagingServiceSid"),
            "num_media": str(len(params["MediaUrl"])),
            "num_segments": str(segments),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": params["To"],
            "uri": f"{uri}.json",
        }

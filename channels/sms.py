"""SMS through Twilio: reading its webhooks, and sending through its REST API.

Inbound: ``POST /sms/twilio`` carries a form signed with ``X-Twilio-Signature``; the
signature is checked against the public URL (never the Host header a proxy rewrote)
before anything is stored. Outbound: each outbox message becomes one or more SMS bodies
(options as numbered lines, long replies split cleanly), paced in segments, from a number
or a Messaging Service. Twilio reports delivery to ``POST /sms/twilio/status``.
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import httpx
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance

from bot.messages import Inbound
from bot.urns import normalise_urn
from channels.base import Delivery, PermanentFailure, TemporaryFailure, Unreachable
from channels.sms_text import SmsStyle, sms_bodies, total_segments
from channels.twilio_http import TooManyRequests

log = logging.getLogger(__name__)

CHANNEL = "sms"
INBOUND_PATH = "/sms/twilio"
STATUS_PATH = "/sms/twilio/status"
UNSUBSCRIBED = 21610
"""Twilio's error for a number that replied STOP at the carrier: sending is refused."""
MAX_MEDIA = 10


def signature_is_valid(
    *, auth_token: str, url: str, params: Mapping[str, str], signature: str | None
) -> bool:
    """Whether ``signature`` is Twilio's for ``url`` and ``params``; never raises."""
    if not signature:
        return False
    validator = _validator(auth_token)
    try:
        # The URL as we know it is what Twilio signs; the SDK's whole check (the URL with
        # and without its port, as Twilio is not always consistent) only if that fails.
        if hmac.compare_digest(validator.compute_signature(url, dict(params)), signature):
            return True
        return bool(validator.validate(url, dict(params), signature))
    except (ValueError, TypeError, UnicodeError):
        return False


@functools.lru_cache(maxsize=4)
def _validator(auth_token: str) -> RequestValidator:
    return RequestValidator(auth_token)


def parse_inbound(form: Mapping[str, str], *, received_at: datetime) -> Inbound:
    """A Twilio inbound-SMS form as an :class:`Inbound`; raises InvalidURN for a bad From."""
    address = normalise_urn(f"tel:{form.get('From', '')}")
    media_count = _int(form.get("NumMedia"))
    media = tuple(
        form[f"MediaUrl{n}"] for n in range(min(media_count, MAX_MEDIA)) if f"MediaUrl{n}" in form
    )
    return Inbound(
        address=address,
        text=form.get("Body", ""),
        channel=CHANNEL,
        provider_id=form.get("MessageSid") or form.get("SmsSid") or "",
        received_at=received_at,
        media=media,
        # With Advanced Opt-Out, Twilio answers STOP, START and HELP itself and says so.
        provider_answered=bool(form.get("OptOutType")),
    )


@dataclass(frozen=True)
class StatusReport:
    """One delivery status callback."""

    provider_id: str
    status: str
    error_code: str | None


def parse_status(form: Mapping[str, str]) -> StatusReport | None:
    """A status callback's message id, status and error code; None if it names no message."""
    provider_id = form.get("MessageSid") or form.get("SmsSid")
    status = form.get("MessageStatus") or form.get("SmsStatus")
    if not provider_id or not status:
        return None
    return StatusReport(provider_id=provider_id, status=status.lower(),
                        error_code=form.get("ErrorCode") or None)


class TwilioSender:
    """Sends outbox messages as SMS (or MMS with a picture) through Twilio's REST API."""

    channel = CHANNEL

    def __init__(
        self,
        *,
        client: Client,
        sender: str,
        style: SmsStyle,
        status_callback: str | None = None,
        picture_url: Callable[[str], str | None] | None = None,
    ) -> None:
        self.client = client
        self.sender = sender
        self.style = style
        self.status_callback = status_callback
        self.picture_url = picture_url

    def bodies(self, delivery: Delivery) -> list[str]:
        """The SMS bodies ``delivery`` goes as: text, numbered options, footer; split if long."""
        return sms_bodies(
            text=delivery.text, options=delivery.options, footer=delivery.footer, style=self.style
        ) or [""]

    def cost(self, delivery: Delivery) -> int:
        return total_segments(self.bodies(delivery))

    async def send(self, delivery: Delivery) -> tuple[str, ...]:
        number = delivery.address.removeprefix("tel:")
        media = self._media(delivery)
        ids = []
        for index, body in enumerate(self.bodies(delivery)):
            message = await self._create(number, body, media if index == 0 else None)
            ids.append(str(message.sid))
        return tuple(ids)

    def _media(self, delivery: Delivery) -> list[str] | None:
        if not delivery.picture or self.picture_url is None:
            return None
        url = self.picture_url(delivery.picture)
        return [url] if url else None

    async def _create(self, number: str, body: str, media: list[str] | None) -> MessageInstance:
        fields: dict[str, object] = {"to": number, "body": body}
        if self.sender.startswith("MG"):
            fields["messaging_service_sid"] = self.sender
        else:
            fields["from_"] = self.sender
        if self.status_callback:
            fields["status_callback"] = self.status_callback
        if media:
            fields["media_url"] = media
        try:
            return await self.client.messages.create_async(**fields)
        except TooManyRequests as error:
            raise TemporaryFailure(str(error), retry_after=error.retry_after) from error
        except TwilioRestException as error:
            raise _failure(error.status, error.code, error.msg) from error
        except TwilioServiceException as error:  # the newer problem-details form
            raise _failure(error.status, error.code, str(error)) from error
        except (httpx.HTTPError, TimeoutError) as error:
            raise TemporaryFailure(f"could not reach Twilio: {error!r}") from error


def _failure(status: int, code: int | None, message: str) -> Exception:
    reason = f"Twilio {status} error {code}: {message}"
    if code == UNSUBSCRIBED:
        return Unreachable(f"the number has opted out of texts (Twilio error {UNSUBSCRIBED})")
    if status == 429 or status >= 500:
        return TemporaryFailure(reason)
    if status in (401, 403):
        # Wrong credentials are the deployment's mistake, not the message's: keep it.
        return TemporaryFailure(reason)
    return PermanentFailure(reason)


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


"""The channels' webhook routes: verify, parse, hand off, return.

Nothing is stored for a request that fails its check (403), and nothing here decides
what to say back: the route stores the message through the runtime and returns, well
inside Twilio's 15 seconds and Telegram's patience.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.routing import Route
from telegram import Update

from bot.urns import InvalidURN
from channels import sms, telegram
from voicebank.runtime import Runtime
from voicebank.settings import Settings

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _settings(request: Request) -> Settings:
    return _runtime(request).settings


async def _signed_twilio_form(request: Request) -> dict[str, str] | Response:
    """The form, if Twilio signed it for our public URL; otherwise the response to give."""
    settings = _settings(request)
    if not settings.sms_on or settings.twilio_auth_token is None:
        return Response("SMS is not configured here.", status_code=404)
    body = await request.body()
    if len(body) > MAX_BODY:
        return Response("Too large.", status_code=413)
    form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    # Twilio signs the URL it called: ours as configured, not the Host a proxy passed on.
    url = f"{settings.public_url}{request.url.path}"
    if request.url.query:
        url = f"{url}?{request.url.query}"
    signature = request.headers.get("X-Twilio-Signature")
    if not sms.signature_is_valid(
        auth_token=settings.twilio_auth_token.get_secret_value(), url=url, params=form,
        signature=signature,
    ):
        log.warning("refused a Twilio request to %s with a missing or wrong signature", url)
        return Response("Forbidden.", status_code=403)
    return form


async def twilio_inbound(request: Request) -> Response:
    form = await _signed_twilio_form(request)
    if isinstance(form, Response):
        return form
    runtime = _runtime(request)
    try:
        inbound = sms.parse_inbound(form, received_at=runtime.voicebank.clock.now())
    except InvalidURN as error:
        log.warning("an SMS from an address that is not a phone number was ignored: %s", error)
        return Response(EMPTY_TWIML, media_type="application/xml")
    if not inbound.provider_id:
        return Response("MessageSid is missing.", status_code=400)
    await runtime.accept(inbound)
    return Response(EMPTY_TWIML, media_type="application/xml")


async def twilio_status(request: Request) -> Response:
    form = await _signed_twilio_form(request)
    if isinstance(form, Response):
        return form
    report = sms.parse_status(form)
    if report is not None:
        await _runtime(request).record_sms_status(report)
    return Response(status_code=204)


async def telegram_webhook(request: Request) -> Response:
    runtime = _runtime(request)
    secret = runtime.settings.telegram_webhook_secret
    if runtime.bot is None or secret is None:
        return Response("Telegram webhooks are not configured here.", status_code=404)
    if not telegram.secret_is_valid(secret.get_secret_value(),
                                    request.headers.get(telegram.SECRET_HEADER)):
        log.warning("refused a Telegram webhook request with a missing or wrong secret")
        return Response("Forbidden.", status_code=403)
    body = await request.body()
    if len(body) > MAX_BODY:
        return Response("Too large.", status_code=413)
    try:
        update = Update.de_json(json.loads(body), runtime.bot)
    except (ValueError, TypeError, KeyError) as error:
        log.warning("a Telegram webhook body could not be read: %s", error)
        return Response("Not an update.", status_code=400)
    parsed = telegram.parse_update(update, received_at=runtime.voicebank.clock.now())
    if parsed is not None:
        await runtime.accept_telegram(parsed)
    return JSONResponse({})


# Plain Starlette routes: the webhooks take the request as it is and need nothing of
# FastAPI's parameter handling, which would cost each request more than the rest does.
router = APIRouter(routes=[
    Route(sms.INBOUND_PATH, twilio_inbound, methods=["POST"], include_in_schema=False),
    Route(sms.STATUS_PATH, twilio_status, methods=["POST"], include_in_schema=False),
    Route(telegram.WEBHOOK_PATH, telegram_webhook, methods=["POST"], include_in_schema=False),
])

"""The whole app, started through its lifespan against the Telegram and Twilio doubles.

Tests talk to it as the providers would: signed webhooks in, REST calls out to the
doubles on 127.0.0.1. The app's clock is a ManualClock the test moves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from bot.clock import ManualClock
from storage import people
from storage.database import transaction
from storage.tables import InboxMessage, OutboxMessage
from tests.doubles.telegram_api import TelegramDouble
from tests.doubles.twilio_api import TwilioDouble, twilio_signature
from voicebank.runtime import Runtime
from voicebank.settings import Settings, load_settings
from voicebank.web.app import create_app

PUBLIC_URL = "https://voicebank.example.org"
SMS_NUMBER = "+447700900000"
WEBHOOK_SECRET = "s3cret-Token_for-tests"  # noqa: S105  (the tests' own)


@dataclass
class RunningApp:
    client: TestClient
    runtime: Runtime
    settings: Settings
    clock: ManualClock
    twilio: TwilioDouble | None
    telegram: TelegramDouble | None

    @property
    def database(self) -> Engine:
        return self.runtime.voicebank.database

    def settle(self) -> None:
        """Wait until every message taken in has been handled (its replies queued)."""
        portal = self.client.portal
        assert portal is not None
        portal.call(self.runtime.settle)

    def send_out(self) -> None:
        """Send everything due now (beside the dispatcher's own loop), and wait until sent."""
        portal = self.client.portal
        assert portal is not None
        portal.call(self.runtime.drain)

    def post_sms(
        self,
        params: Mapping[str, str],
        *,
        path: str = "/sms/twilio",
        signature: str | None = "sign",
        signed_url: str | None = None,
    ) -> httpx.Response:
        """POST a Twilio form; signed for the public URL unless told otherwise."""
        headers = {}
        if signature == "sign":
            assert self.twilio is not None
            url = signed_url or f"{PUBLIC_URL}{path}"
            headers["X-Twilio-Signature"] = twilio_signature(self.twilio.auth_token, url, params)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        return self.client.post(path, data=dict(params), headers=headers)

    def post_update(self, update: dict[str, Any], *, secret: str | None = WEBHOOK_SECRET
                    ) -> httpx.Response:
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        return self.client.post("/telegram/webhook", json=update, headers=headers)

    def inbox(self) -> list[InboxMessage]:
        with transaction(self.database) as session:
            return list(session.exec(select(InboxMessage).order_by(col(InboxMessage.id))))

    def outbox(self) -> list[OutboxMessage]:
        with transaction(self.database) as session:
            return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))

    def session(self) -> Any:
        return transaction(self.database)


def database_url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def add_service(database: Engine, *, code: str = "WILLOW1", name: str = "Willow House") -> int:
    with transaction(database) as session:
        constituency = people.add_constituency(session=session, name=f"{name} area")
        assert constituency.id is not None
        service = people.add_service(
            session=session, name=name, constituency_id=constituency.id, join_code=code
        )
        assert service.id is not None
        return service.id


def add_person(database: Engine, clock: ManualClock, *urns: str, service_id: int | None = None
               ) -> int:
    with transaction(database) as session:
        person = people.add_person(
            session=session, urns=urns, now=clock.now(), name="Ann", service_id=service_id
        )
        assert person.id is not None
        return person.id


@contextmanager
def running_app(
    database: Engine,
    clock: ManualClock,
    *,
    twilio: TwilioDouble | None = None,
    telegram: TelegramDouble | None = None,
    **overrides: Any,
) -> Iterator[RunningApp]:
    """Start the app on ``database`` with the given doubles as its providers."""
    values: dict[str, Any] = {
        "database_url": database_url_of(database),
        "public_url": PUBLIC_URL,
        "quiet_hours": "",
    }
    if twilio is not None:
        values |= {
            "twilio_account_sid": twilio.account_sid,
            "twilio_auth_token": twilio.auth_token,
            "twilio_from": SMS_NUMBER,
            "twilio_api_url": twilio.base_url,
            "sms_rate": 100.0,
        }
    if telegram is not None:
        values |= {
            "telegram_token": telegram.token,
            "telegram_api_url": telegram.base_url,
            "telegram_rate": 100.0,
            "telegram_chat_gap": 0.0,
        }
    settings = load_settings(**(values | overrides))
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        yield RunningApp(
            client=client,
            runtime=app.state.runtime,
            settings=settings,
            clock=clock,
            twilio=twilio,
            telegram=telegram,
        )


def rows(session: Session, model: type[Any]) -> list[Any]:
    return list(session.exec(select(model)))

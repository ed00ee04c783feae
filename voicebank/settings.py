"""Deployment settings: ``VOICEBANK_*`` environment variables or a ``.env`` file."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.urns import InvalidURN, normalise_urn
from scheduler.quiet_hours import QuietHours

ENV_PREFIX = "VOICEBANK_"
_MESSAGING_SERVICE = re.compile(r"^MG[0-9a-fA-F]{32}$")
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class SettingsError(Exception):
    """A setting has a bad value; the message names the variable and says what is wrong."""


class Settings(BaseSettings):
    """Everything a deployment can set, read once and passed down."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite:///./voicebank.db"
    public_url: str = "http://127.0.0.1:8000"
    timezone: str = "Europe/London"
    telegram_token: SecretStr | None = None
    telegram_api_url: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org/bot")
    telegram_webhook_secret: SecretStr | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = None
    twilio_api_url: AnyHttpUrl = AnyHttpUrl("https://api.twilio.com")
    quiet_hours: str = "21:00-08:00"
    telegram_rate: float = Field(default=25.0, gt=0, le=1000)
    telegram_chat_gap: float = Field(default=1.0, ge=0, le=60)
    sms_rate: float = Field(default=1.0, gt=0, le=1000)
    sms_emoji: bool = True
    sms_mms: bool = False
    sms_max_segments: int = Field(default=3, ge=1, le=10)
    media_dir: str = "./media"
    send_attempts: int = Field(default=6, ge=1, le=50)
    nudge_days: str = "7,1"
    """Days before an action's date that its owner is nudged, separated by commas."""
    safeguarding_words: str = ""
    """More words and phrases that suggest someone may be at risk, separated by commas."""
    dispatcher: bool = True
    """Send the outbox from this process (off for a web-only worker)."""
    handling: bool = True
    """Handle messages in this process (off: a web worker only stores what arrives, and a
    ``voicebank worker`` handles it)."""
    scheduler: bool = True
    """Take part in choosing the scheduler's leader (off for a web-only worker)."""
    tick_seconds: int = Field(default=60, ge=1, le=3600)
    """How often the scheduler asks what is due."""

    @model_validator(mode="after")
    def _twilio_is_complete(self) -> Settings:
        given = [self.twilio_account_sid, self.twilio_auth_token, self.twilio_from]
        if any(given) and not all(given):
            missing = [
                name for name, value in zip(
                    ("twilio_account_sid", "twilio_auth_token", "twilio_from"), given,
                    strict=True,
                ) if not value
            ]
            raise ValueError(
                "SMS needs VOICEBANK_TWILIO_ACCOUNT_SID, VOICEBANK_TWILIO_AUTH_TOKEN and "
                "VOICEBANK_TWILIO_FROM together; missing: "
                + ", ".join(f"{ENV_PREFIX}{name.upper()}" for name in missing)
            )
        return self

    @field_validator("twilio_from")
    @classmethod
    def _twilio_from_is_a_sender(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if _MESSAGING_SERVICE.match(value):
            return value
        try:
            return normalise_urn(f"tel:{value}").removeprefix("tel:")
        except InvalidURN as error:
            raise ValueError(
                "is neither a phone number (+447700900123) nor a Messaging Service SID (MG…)"
            ) from error

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret_is_telegrams_kind(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WEBHOOK_SECRET.match(value.get_secret_value()):
            raise ValueError("must be 1 to 256 of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_parse(cls, value: str) -> str:
        QuietHours.parse(value, ZoneInfo("UTC"))
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _database_url_parses(cls, value: str) -> str:
        try:
            make_url(value)
        except ArgumentError as error:
            raise ValueError(
                "is not a database URL; write it like sqlite:///./voicebank.db or "
                "postgresql+psycopg://user@host/voicebank"
            ) from error
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str) -> str:
        """Keep the URL as written but without a trailing slash, so paths join cleanly."""
        AnyHttpUrl(value)
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _timezone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError("is not a time zone; write it like Europe/London") from error
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def telegram_on(self) -> bool:
        return self.telegram_token is not None and bool(self.telegram_token.get_secret_value())

    @property
    def sms_on(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from)

    @field_validator("nudge_days")
    @classmethod
    def _nudge_days_are_numbers(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not all(part.isdigit() and 0 < int(part) <= 365 for part in parts):
            raise ValueError("write whole days from 1 to 365 separated by commas, like 7,1")
        return ",".join(parts)

    @property
    def nudge_days_list(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.nudge_days.split(",") if part)

    @property
    def safeguarding_words_list(self) -> tuple[str, ...]:
        return tuple(w.strip() for w in self.safeguarding_words.split(",") if w.strip())

    @property
    def quiet(self) -> QuietHours | None:
        return QuietHours.parse(self.quiet_hours, self.zone)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's errors into one message per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = []
        for item in error.errors():
            message = item["msg"].removeprefix("Value error, ")
            if not item["loc"]:  # a rule about several settings names them itself
                problems.append(message)
                continue
            problems.append(f"{ENV_PREFIX}{str(item['loc'][0]).upper()}: {message}")
        raise SettingsError("; ".join(problems)) from None

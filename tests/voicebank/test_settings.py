"""Settings as a deployment writes them: defaults, VOICEBANK_* variables, a .env file, mistakes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from voicebank.settings import ENV_PREFIX, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No VOICEBANK_* variable from the developer's shell and no .env from their checkout."""
    for name in list(os.environ):
        if name.upper().startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_are_the_ones_in_the_design() -> None:
    settings = load_settings()

    assert settings.database_url == "sqlite:///./voicebank.db"
    assert str(settings.public_url).rstrip("/") == "http://127.0.0.1:8000"
    assert settings.timezone == "Europe/London"
    assert settings.zone.key == "Europe/London"
    assert settings.telegram_token is None
    assert settings.telegram_webhook_secret is None
    assert str(settings.telegram_api_url) == "https://api.telegram.org/bot"
    assert settings.twilio_account_sid is None
    assert settings.twilio_auth_token is None
    assert settings.twilio_from is None
    assert str(settings.twilio_api_url).rstrip("/") == "https://api.twilio.com"


def test_voicebank_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEBANK_DATABASE_URL", "postgresql+psycopg://vb@db.example/voicebank")
    monkeypatch.setenv("VOICEBANK_PUBLIC_URL", "https://voicebank.example.org")
    monkeypatch.setenv("VOICEBANK_TIMEZONE", "Europe/Dublin")
    monkeypatch.setenv("VOICEBANK_TELEGRAM_TOKEN", "123:abc")
    monkeypatch.setenv("VOICEBANK_TELEGRAM_API_URL", "http://127.0.0.1:8081/bot")
    monkeypatch.setenv("VOICEBANK_TWILIO_ACCOUNT_SID", "AC123")
    monkeypatch.setenv("VOICEBANK_TWILIO_AUTH_TOKEN", "secret")
    monkeypatch.setenv("VOICEBANK_TWILIO_FROM", "+447700900500")
    monkeypatch.setenv("VOICEBANK_TWILIO_API_URL", "http://127.0.0.1:8082")

    settings = load_settings()

    assert settings.database_url == "postgresql+psycopg://vb@db.example/voicebank"
    assert str(settings.public_url).rstrip("/") == "https://voicebank.example.org"
    assert settings.zone.key == "Europe/Dublin"
    assert settings.telegram_token is not None
    assert settings.telegram_token.get_secret_value() == "123:abc"
    assert str(settings.telegram_api_url) == "http://127.0.0.1:8081/bot"
    assert settings.twilio_account_sid == "AC123"
    assert settings.twilio_auth_token is not None
    assert settings.twilio_auth_token.get_secret_value() == "secret"
    assert settings.twilio_from == "+447700900500"
    assert str(settings.twilio_api_url).rstrip("/") == "http://127.0.0.1:8082"


def test_secrets_are_not_shown_when_settings_are_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEBANK_TELEGRAM_TOKEN", "123:very-secret")
    monkeypatch.setenv("VOICEBANK_TWILIO_AUTH_TOKEN", "also-secret")
    monkeypatch.setenv("VOICEBANK_TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("VOICEBANK_TWILIO_FROM", "+447700900001")

    shown = repr(load_settings())

    assert "very-secret" not in shown
    assert "also-secret" not in shown


def test_a_dot_env_file_in_the_working_directory_is_read(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text(
        "# settings for this machine\n"
        "VOICEBANK_TIMEZONE=America/New_York\n"
        "VOICEBANK_DATABASE_URL=sqlite:///./from-dotenv.db\n"
        "SOMETHING_ELSE=ignored\n",
        encoding="utf-8",
    )

    settings = load_settings()

    assert settings.timezone == "America/New_York"
    assert settings.database_url == "sqlite:///./from-dotenv.db"


def test_a_variable_wins_over_the_dot_env_file(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_environment / ".env").write_text("VOICEBANK_TIMEZONE=America/New_York\n",
                                            encoding="utf-8")
    monkeypatch.setenv("VOICEBANK_TIMEZONE", "Asia/Tokyo")

    assert load_settings().timezone == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VOICEBANK_TIMEZONE", "Mars/Base"),
        ("VOICEBANK_TIMEZONE", "../../etc/passwd"),
        ("VOICEBANK_PUBLIC_URL", "not a url"),
        ("VOICEBANK_PUBLIC_URL", "ftp://voicebank.example.org"),
        ("VOICEBANK_DATABASE_URL", "not a database url"),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError, match=variable) as raised:
        load_settings()

    assert str(raised.value).count(ENV_PREFIX) == 1


def test_a_bad_value_in_the_dot_env_file_names_its_variable(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text("VOICEBANK_TIMEZONE=Mars/Base\n", encoding="utf-8")

    with pytest.raises(SettingsError, match="VOICEBANK_TIMEZONE"):
        load_settings()


def test_two_bad_values_name_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEBANK_TIMEZONE", "Mars/Base")
    monkeypatch.setenv("VOICEBANK_PUBLIC_URL", "not a url")

    with pytest.raises(SettingsError) as raised:
        load_settings()

    message = str(raised.value)
    assert "VOICEBANK_TIMEZONE" in message
    assert "VOICEBANK_PUBLIC_URL" in message
    assert "Europe/London" in message  # says how to write it, not only that it is wrong


def test_overrides_are_checked_like_variables() -> None:
    with pytest.raises(SettingsError, match="VOICEBANK_DATABASE_URL"):
        load_settings(database_url="::nothing::")


def test_sms_settings_are_all_or_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEBANK_TWILIO_ACCOUNT_SID", "AC" + "0" * 32)

    with pytest.raises(SettingsError) as raised:
        load_settings()

    assert "VOICEBANK_TWILIO_AUTH_TOKEN" in str(raised.value)
    assert "VOICEBANK_TWILIO_FROM" in str(raised.value)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("+44 7700 900001", "+447700900001"),
        ("07700900001", "+447700900001"),
        ("MG" + "a1" * 16, "MG" + "a1" * 16),
    ],
)
def test_the_sms_sender_is_a_number_or_a_messaging_service(given: str, kept: str) -> None:
    settings = load_settings(
        twilio_account_sid="AC" + "0" * 32, twilio_auth_token="token",  # noqa: S106
        twilio_from=given,
    )

    assert settings.twilio_from == kept
    assert settings.sms_on


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("VOICEBANK_TWILIO_FROM", "Voicebank", "Messaging Service"),
        ("VOICEBANK_QUIET_HOURS", "9pm to 8am", "21:00-08:00"),
        ("VOICEBANK_TELEGRAM_WEBHOOK_SECRET", "has spaces in it", "A-Z"),
        ("VOICEBANK_TELEGRAM_RATE", "0", "greater than 0"),
        ("VOICEBANK_SMS_MAX_SEGMENTS", "0", "greater than or equal to 1"),
        ("VOICEBANK_NUDGE_DAYS", "a week", "like 7,1"),
    ],
)
def test_bad_channel_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv("VOICEBANK_TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("VOICEBANK_TWILIO_AUTH_TOKEN", "token")
    monkeypatch.setenv("VOICEBANK_TWILIO_FROM", "+447700900001")
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError) as raised:
        load_settings()

    assert variable in str(raised.value)
    assert says in str(raised.value)


def test_quiet_hours_can_be_turned_off() -> None:
    settings = load_settings(quiet_hours="")

    assert settings.quiet is None
    assert load_settings().quiet is not None


def test_nudge_days_and_safeguarding_words_are_lists() -> None:
    settings = load_settings(nudge_days=" 14, 3 ,1", safeguarding_words="pushed me, shoved ")

    assert settings.nudge_days_list == (14, 3, 1)
    assert settings.safeguarding_words_list == ("pushed me", "shoved")
    assert load_settings().nudge_days_list == (7, 1)

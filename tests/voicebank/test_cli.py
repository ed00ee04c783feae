"""The ``voicebank`` command as a person runs it: the installed script, in its own directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from storage.database import create_database_engine
from storage.migrate import head_revision
from storage.tables import Address, InboxMessage, OutboxMessage, Person, Service, Suggestion
from voicebank.demo import ensure_demo_organisation
from voicebank.settings import ENV_PREFIX, load_settings
from voicebank.wiring import assemble

SCRIPT = Path(sys.executable).parent / "voicebank"
TIMEOUT = 120


@pytest.fixture(autouse=True)
def no_developer_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Seeding in process reads neither the developer's VOICEBANK_* nor a checkout's .env."""
    for name in [n for n in os.environ if n.upper().startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def database_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'v.db'}"


def run_voicebank(
    *args: str, cwd: Path, stdin: str = "", settings: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the console script in ``cwd`` with its own database and no stray VOICEBANK_*."""
    if not SCRIPT.exists():
        pytest.skip(f"the voicebank console script is not installed next to {sys.executable}")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(ENV_PREFIX)}
    env.update({"VOICEBANK_DATABASE_URL": database_url(cwd), "PYTHONIOENCODING": "utf-8"})
    env.update(settings or {})
    process = subprocess.Popen(  # noqa: S603  (our own script, fixed arguments)
        [str(SCRIPT), *args], cwd=cwd, env=env, text=True, encoding="utf-8",
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        stdout, stderr = process.communicate(stdin, timeout=TIMEOUT)
    finally:
        process.kill()
        process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def assert_in_order(text: str, expected: Iterable[str]) -> list[int]:
    """Each expected piece appears after the one before; returns where each was found."""
    positions, start = [], 0
    for piece in expected:
        found = text.find(piece, start)
        assert found >= 0, f"{piece!r} not found after position {start} in:\n{text}"
        positions.append(found)
        start = found + len(piece)
    return positions


def test_a_scripted_conversation_in_the_console(tmp_path: Path) -> None:
    voicebank = assemble(load_settings(database_url=database_url(tmp_path)))
    try:
        assert ensure_demo_organisation(database=voicebank.database, clock=voicebank.clock)
    finally:
        voicebank.close()
    lines = ["hello", "JOIN willow1", "help", "1", "A garden please", "2", "yes", "skip",
             "stop", "menu", "start"]

    result = run_voicebank("chat", "--as", "tel:07700900123", cwd=tmp_path,
                           stdin="\n".join(lines) + "\n")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    at = assert_in_order(out, [
        "JOIN",                                        # hello: how to join
        "Welcome to Voicebank", "Willow House",        # JOIN willow1
        "Tell us an idea", "Get help",                 # ... and the menu
        "Send STOP",                                   # help
        "What is your idea",                           # 1
        "What is your idea about?", "Food",            # the idea text
        "Can we tell staff this idea is from you?",    # 2 (food)
        "Do you have a photo",                         # yes
        "Your idea number is 1",                       # skip
        "Send START",                                  # stop
        "Welcome back",                                # start
    ])
    assert "Welcome to Voicebank" not in out[:at[1]]
    stop_reply_end = out.index("\n", at[12])
    assert out[stop_reply_end:at[13]].strip() == "", "a stopped person was sent the menu"

    engine = create_database_engine(database_url(tmp_path))
    try:
        with Session(engine) as session:
            address = session.exec(select(Address).where(col(Address.urn).like("%900123"))).one()
            assert address.urn == "tel:+447700900123"
            person = session.get_one(Person, address.person_id)
            assert person.opted_out_at is None
            suggestion = session.exec(select(Suggestion)).one()
            assert suggestion.text == "A garden please"
            assert suggestion.topic == "food"
            assert suggestion.person_id == person.id
            assert suggestion.service_id is not None
            assert session.get_one(Service, suggestion.service_id).name == "Willow House"

            inbox = session.exec(select(InboxMessage).order_by(col(InboxMessage.id))).all()
            assert [row.text for row in inbox] == lines
            assert {row.address for row in inbox} == {"tel:+447700900123"}
            assert {row.status for row in inbox} == {"handled"}
            outbox = session.exec(
                select(OutboxMessage).where(OutboxMessage.address == "tel:+447700900123")
            ).all()
            assert outbox
            assert {row.status for row in outbox} == {"sent"}
            menu_while_stopped = inbox[lines.index("menu")]
            assert not [row for row in outbox if row.in_reply_to == menu_while_stopped.id]
    finally:
        engine.dispose()


def test_chat_as_something_that_is_not_an_address_exits_2(tmp_path: Path) -> None:
    result = run_voicebank("chat", "--as", "not-a-urn", cwd=tmp_path, stdin="hello\n")

    assert result.returncode == 2
    assert "not-a-urn" in result.stderr
    assert "tel:+447700900123" in result.stderr  # says how to write one
    assert result.stdout == ""


def test_a_bad_setting_stops_the_command_and_names_the_variable(tmp_path: Path) -> None:
    result = run_voicebank("db", "upgrade", cwd=tmp_path,
                           settings={"VOICEBANK_TIMEZONE": "Mars/Base"})

    assert result.returncode == 2
    assert "VOICEBANK_TIMEZONE" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "v.db").exists()


def test_a_bad_setting_in_a_dot_env_file_is_reported_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("VOICEBANK_PUBLIC_URL=not a url\n", encoding="utf-8")

    result = run_voicebank("db", "upgrade", cwd=tmp_path)

    assert result.returncode == 2
    assert "VOICEBANK_PUBLIC_URL" in result.stderr


def test_staff_set_up_a_service_and_a_person_and_cannot_reuse_a_code_or_address(
    tmp_path: Path,
) -> None:
    upgraded = run_voicebank("db", "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"revision {head_revision()}" in upgraded.stdout

    steps = [
        ("constituency", "add", "Riverside"),
        ("service", "add", "Willow House", "--constituency", "Riverside", "--code", "oak9"),
        ("person", "add", "Ann", "--urn", "tel:07700900999", "--service", "OAK9",
         "--role", "mp"),
    ]
    results = [run_voicebank(*step, cwd=tmp_path) for step in steps]
    for step, result in zip(steps, results, strict=True):
        assert result.returncode == 0, (step, result.stderr)
    assert "JOIN OAK9" in results[1].stdout
    taken_code = run_voicebank("service", "add", "Oak Lodge", "--constituency", "Riverside",
                               "--code", "Oak9", cwd=tmp_path)
    taken_address = run_voicebank("person", "add", "Bob", "--urn", "tel:+44 7700 900999",
                                  cwd=tmp_path)
    listed = run_voicebank("person", "list", cwd=tmp_path)
    services = run_voicebank("service", "list", cwd=tmp_path)

    assert taken_code.returncode == 1
    assert "OAK9" in taken_code.stderr
    assert taken_address.returncode == 1
    assert "tel:+447700900999" in taken_address.stderr
    assert listed.returncode == 0, listed.stderr
    [ann] = [line for line in listed.stdout.splitlines() if "Ann" in line]
    assert "mp" in ann.split()
    assert "tel:+447700900999" in ann
    assert "Bob" not in listed.stdout
    assert [line.split() for line in services.stdout.splitlines()] == [
        ["OAK9", "Willow", "House", "(Riverside)"]
    ]


def test_run_says_which_channels_are_on_and_what_to_give_the_providers() -> None:
    from voicebank.cli import describe_channels
    from voicebank.settings import load_settings

    off = describe_channels(load_settings(twilio_account_sid=None, telegram_token=None))
    on = describe_channels(load_settings(
        public_url="https://voicebank.example.org", twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="token", twilio_from="+447700900000",  # noqa: S106
        telegram_token="123:abc", telegram_webhook_secret="secret-1",  # noqa: S106
    ))

    assert off == [
        "SMS: off (set VOICEBANK_TWILIO_ACCOUNT_SID, VOICEBANK_TWILIO_AUTH_TOKEN and "
        "VOICEBANK_TWILIO_FROM)",
        "Telegram: off (set VOICEBANK_TELEGRAM_TOKEN)",
    ]
    assert on == [
        "SMS: from +447700900000; give Twilio the webhook "
        "https://voicebank.example.org/sms/twilio (HTTP POST)",
        "Telegram: webhook at https://voicebank.example.org/telegram/webhook",
    ]


def test_several_web_workers_on_sqlite_are_refused_with_the_way_forward(tmp_path: Path) -> None:
    result = run_voicebank("run", "--workers", "2", cwd=tmp_path)

    assert result.returncode == 2
    assert "PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "v.db").exists()


def test_a_worker_with_nothing_to_do_is_refused(tmp_path: Path) -> None:
    result = run_voicebank("worker", "--no-handling", "--no-dispatcher", "--no-scheduler",
                           cwd=tmp_path)

    assert result.returncode == 2
    assert "nothing to do" in result.stderr

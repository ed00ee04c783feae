"""Several Voicebank processes on one PostgreSQL database, as docs/deploy.md runs them: web
workers taking one person's messages in turn, and two schedulers of which one leads."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import ManualClock
from bot.conversation import Kind
from bot.surveys.definition import QuestionDef, SurveyDef
from bot.surveys.store import save_survey
from scheduler.runner import LEADERSHIP
from storage.database import transaction
from storage.tables import OutboxMessage, Suggestion
from tests.advisory_locks import holders
from tests.doubles.twilio_api import TwilioDouble, inbound_sms_params, twilio_signature
from tests.voicebank.app_harness import PUBLIC_URL, SMS_NUMBER, add_person, add_service
from voicebank.settings import ENV_PREFIX

pytestmark = pytest.mark.postgres
SCRIPT = Path(sys.executable).parent / "voicebank"
PERSON = "+447700900123"
DEADLINE = 30.0


def wait_until(condition: Callable[[], bool], what: str, timeout: float = DEADLINE,
               explain: Callable[[], str] = str) -> None:
    """Poll ``condition`` (another process is doing the work) until true or the deadline;
    ``explain`` says what the processes did, for the failure's message."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}\n{explain()}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class VoicebankProcess:
    """``voicebank ARGS`` in its own process, its output kept in a file to read."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self._log = log.open("w", encoding="utf-8")
        self.process = subprocess.Popen(  # noqa: S603  (our own script, fixed arguments)
            [str(SCRIPT), *args], env=env, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8")

    def healthy(self, port: int) -> bool:
        """Whether it answers /healthz; a process that ended fails the test with its output."""
        if self.process.poll() is not None:
            raise AssertionError(f"voicebank ended early:\n{self.output()}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., VoicebankProcess]]:
    if not SCRIPT.exists():
        pytest.skip(f"the voicebank console script is not installed next to {sys.executable}")
    started: list[VoicebankProcess] = []

    def starter(name: str, args: list[str], **settings: str) -> VoicebankProcess:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith(ENV_PREFIX)}
        env.update({"PYTHONIOENCODING": "utf-8", "PTB_TIMEDELTA": "true"})
        env.update({f"{ENV_PREFIX}{key.upper()}": value for key, value in settings.items()})
        process = VoicebankProcess(args, env, tmp_path / f"{name}.log")
        started.append(process)
        return process

    yield starter
    for process in started:
        process.stop()


@pytest.fixture
def postgres(database: Engine) -> Engine:
    if database.dialect.name != "postgresql":
        pytest.skip("several processes share a PostgreSQL database (docs/deploy.md)")
    return database


def database_url(database: Engine) -> str:
    return database.url.render_as_string(hide_password=False)


@pytest.mark.parametrize("layout", ["web workers handle", "a worker handles"])
def test_one_persons_messages_to_two_web_workers_make_one_conversation(
    postgres: Engine, clock: ManualClock, start: Callable[..., VoicebankProcess], layout: str
) -> None:
    service_id = add_service(postgres)
    person_id = add_person(postgres, clock, f"tel:{PERSON}", service_id=service_id)
    with TwilioDouble() as twilio:
        ports = [free_port(), free_port()]
        settings = {
            "database_url": database_url(postgres), "public_url": PUBLIC_URL,
            "twilio_account_sid": twilio.account_sid, "twilio_auth_token": twilio.auth_token,
            "twilio_from": SMS_NUMBER, "twilio_api_url": twilio.base_url,
            "quiet_hours": "",
        }
        web = ["--no-scheduler"] if layout == "web workers handle" else [
            "--no-handling", "--no-dispatcher", "--no-scheduler"]
        workers = [start(f"web-{port}", ["run", "--port", str(port), *web], **settings)
                   for port in ports]
        if layout == "a worker handles":
            workers.append(start("worker", ["worker", "--no-scheduler"], **settings))
        for worker, port in zip(workers[:2], ports, strict=True):
            wait_until(lambda worker=worker, port=port: worker.healthy(port),
                       f"the worker on port {port}")

        said = ["IDEA", "More curry nights", "2", "yes", "SKIP"]
        expected = ["What is your idea?", "What is your idea about?",
                    "Can we tell staff this idea is from you?",
                    "Do you have a photo for your idea?", "Your idea number is"]
        for turn, (text, reply) in enumerate(zip(said, expected, strict=True)):
            port = ports[turn % 2]  # the load balancer alternates between the workers
            params = inbound_sms_params(from_=PERSON, to=SMS_NUMBER, body=text)
            response = httpx.post(
                f"http://127.0.0.1:{port}/sms/twilio", data=params,
                headers={"X-Twilio-Signature": twilio_signature(
                    twilio.auth_token, f"{PUBLIC_URL}/sms/twilio", params)},
            )
            assert response.status_code == 200
            wait_until(lambda reply=reply: any(reply in call.params["Body"]
                                               for call in twilio.sent()),
                       f"the reply {reply!r} from port {port}")

        bodies = [call.params["Body"] for call in twilio.sent()]
        for worker in workers:
            worker.stop()

    # Each reply came once, in the order the conversation asked.
    positions = [next(i for i, body in enumerate(bodies) if reply in body)
                 for reply in expected]
    assert positions == sorted(positions)
    assert all(sum(reply in body for body in bodies) == 1 for reply in expected)
    with Session(postgres) as session:
        ideas = session.exec(select(Suggestion)).all()
    assert [(idea.text, idea.topic, idea.person_id) for idea in ideas] == [
        ("More curry nights", "food", person_id)]


def _open_survey_for_everyone(database: Engine, clock: ManualClock, title: str) -> None:
    """A survey whose opening time has passed: the next tick opens it and invites everyone."""
    with transaction(database) as session:
        save_survey(session=session, now=clock.now(), survey=SurveyDef(
            title=title, opens_at=clock.now() - timedelta(minutes=1),
            closes_at=clock.now() + timedelta(days=7),
            questions=(QuestionDef(position=1, kind=Kind.TEXT, text="What shall we cook?"),),
        ))


def _invitations(database: Engine, title: str) -> list[str]:
    with Session(database) as session:
        rows = session.exec(select(OutboxMessage).where(
            col(OutboxMessage.text).contains(title))).all()
    return sorted(row.address for row in rows)


LEADS = "now leads voicebank scheduler"


def _lead_holders(database: Engine) -> list[str]:
    """Who holds the scheduler's advisory lock: each session's pid and what it is running."""
    with database.connect() as connection:
        return [f"pid {pid} ({application or 'no name'}): {query}"
                for pid, application, query in holders(connection, LEADERSHIP)]


def _explain(database: Engine, schedulers: list[VoicebankProcess]) -> Callable[[], str]:
    def explanation() -> str:
        logs = "\n".join(f"--- {s.log_path.name}:\n{s.output()}" for s in schedulers)
        return f"the scheduler's lead is held by {_lead_holders(database) or 'nobody'}\n{logs}"
    return explanation


def test_of_two_schedulers_one_leads_and_each_invitation_is_queued_once(
    postgres: Engine, start: Callable[..., VoicebankProcess]
) -> None:
    real = ManualClock(datetime.now(UTC))  # the workers run on the real clock
    service_id = add_service(postgres)
    addresses = sorted(f"tel:+4477009001{n:02d}" for n in range(12))
    for address in addresses:
        add_person(postgres, real, address, service_id=service_id)
    settings = {"database_url": database_url(postgres), "tick_seconds": "1"}
    schedulers = [
        start(f"scheduler-{n}", ["worker", "--no-dispatcher", "--no-handling"], **settings)
        for n in (1, 2)
    ]
    explain = _explain(postgres, schedulers)
    _open_survey_for_everyone(postgres, real, "Summer trips")

    wait_until(lambda: len(_invitations(postgres, "Summer trips")) >= len(addresses),
               "the survey invitations", explain=explain)
    leaders = [s for s in schedulers if LEADS in s.output()]
    assert len(leaders) == 1
    (leader,) = leaders
    (follower,) = [s for s in schedulers if s is not leader]

    # The leader stops; the other takes the lead and the next survey is still sent once.
    leader.stop()
    wait_until(lambda: LEADS in follower.output(), "the other scheduler to lead",
               explain=explain)
    _open_survey_for_everyone(postgres, real, "Winter lunches")
    wait_until(lambda: len(_invitations(postgres, "Winter lunches")) >= len(addresses),
               "the second survey's invitations", explain=explain)
    assert _invitations(postgres, "Summer trips") == addresses
    assert _invitations(postgres, "Winter lunches") == addresses

"""The overview: what a lead sees first thing, and how little an MP sees of other places."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bot.actions.service import create_action
from bot.clock import ManualClock
from bot.conversation import Kind
from bot.surveys.definition import Audience, AudienceKind, QuestionDef, SurveyDef
from bot.surveys.invitations import open_survey
from bot.surveys.store import save_survey
from storage import people
from storage.database import create_database_engine, transaction
from storage.migrate import upgrade_database
from storage.suggestions import record_suggestion
from storage.tables import Role
from voicebank import accounts
from voicebank.settings import ENV_PREFIX, load_settings
from voicebank.web.app import create_app

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PASSWORD = "a long enough password"  # noqa: S105  (the tests' own)


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    for name in [n for n in os.environ if n.upper().startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'v.db'}"
    engine = create_database_engine(url)
    upgrade_database(engine)
    with transaction(engine) as session:
        for place, code in (("Riverside", "WILLOW1"), ("Hillview", "OAK3")):
            constituency = people.add_constituency(session=session, name=place)
            service = people.add_service(session=session, name=f"{place} House",
                                         constituency_id=constituency.id or 0, join_code=code)
            people.add_person(session=session, urns=[f"tel:+4477009001{len(place):02d}"],
                              now=NOW, name=f"Someone in {place}", service_id=service.id)
            survey_id = save_survey(session=session, now=NOW, survey=SurveyDef(
                title=f"{place} survey", questions=(
                    QuestionDef(position=1, kind=Kind.TEXT, text="How are things?"),),
                audience=Audience(kind=AudienceKind.CONSTITUENCY, value=place)))
            open_survey(session=session, survey_id=survey_id, now=NOW)
        mp = people.add_person(session=session, urns=["tel:+447700900150"], now=NOW,
                               name="Zoe Hart", roles=[Role.SERVICE_USER, Role.MP],
                               service_id=1)
        staff = people.add_person(session=session, urns=["tel:+447700900151"], now=NOW,
                                  name="Sam", roles=[Role.STAFF])
        idea = record_suggestion(session=session, text="A quiet room", topic="home", now=NOW,
                                 person_id=None, service_id=1)
        create_action(session=session, what="Find a quiet room", owner_id=staff.id or 0,
                      due_on=date(2026, 11, 1), now=NOW - timedelta(days=60), actor="test",
                      suggestion_ids=[idea.id or 0])
        record_suggestion(session=session, text="More music", topic="activities", now=NOW,
                          person_id=None, service_id=2)
        accounts.add_user(session=session, email="lead@example.org", name="Lead",
                          role="admin", password=PASSWORD, now=NOW, actor="test")
        accounts.add_user(session=session, email="mp@example.org", name="Zoe", role="mp",
                          password=PASSWORD, now=NOW, actor="test", person_id=mp.id)
    engine.dispose()
    app = create_app(load_settings(database_url=url), clock=ManualClock(NOW))
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def _overview_as(client: TestClient, email: str) -> str:
    client.cookies.clear()
    client.post("/sign-in", data={"email": email, "password": PASSWORD, "next": "/"})
    page = client.get("/")
    assert page.status_code == 200
    return page.text


def test_the_lead_sees_everything_that_needs_attention(client: TestClient) -> None:
    page = _overview_as(client, "lead@example.org")

    assert "Riverside survey" in page
    assert "Hillview survey" in page
    assert "Find a quiet room" in page, "the overdue action"
    assert "More music" in page, "the idea with no action yet"
    assert "A quiet room" not in page.split("<h2>New ideas</h2>")[1], "it has an action"


def test_an_mp_sees_only_their_own_constituency(client: TestClient) -> None:
    page = _overview_as(client, "mp@example.org")

    assert "Riverside survey" in page
    assert "Hillview survey" not in page
    assert "Find a quiet room" not in page
    assert "More music" not in page

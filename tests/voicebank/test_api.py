"""The REST API: tokens, roles, and what it returns, checked against its own schema."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from bot.clock import ManualClock
from storage import people
from storage.database import create_database_engine, transaction
from storage.migrate import upgrade_database
from storage.suggestions import record_suggestion
from storage.tables import Action, AuditEntry, OutboxMessage, Role
from voicebank import accounts
from voicebank.settings import ENV_PREFIX, load_settings
from voicebank.web.app import create_app

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PASSWORD = "a long enough password"  # noqa: S105  (the tests' own)


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict]]:
    for name in [n for n in os.environ if n.upper().startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'v.db'}"
    engine = create_database_engine(url)
    upgrade_database(engine)
    ids: dict = {}
    with transaction(engine) as session:
        river = people.add_constituency(session=session, name="Riverside")
        willow = people.add_service(session=session, name="Willow House",
                                    constituency_id=river.id or 0, join_code="WILLOW1")
        ann = people.add_person(session=session, urns=["tel:+447700900001"], now=NOW,
                                name="Ann", service_id=willow.id)
        sam = people.add_person(session=session, urns=["tel:+447700900002"], now=NOW,
                                name="Sam", roles=[Role.STAFF], service_id=willow.id)
        idea = record_suggestion(session=session, text="A garden", topic="home", now=NOW,
                                 person_id=ann.id, service_id=willow.id)
        ids.update(ann=ann.id, sam=sam.id, idea=idea.id)
        for email, role in (("lead@example.org", "admin"), ("mp@example.org", "mp")):
            accounts.add_user(session=session, email=email, name=email, role=role,
                              password=PASSWORD, now=NOW, actor="test")
        ids["lead_token"] = accounts.create_token(session=session, email="lead@example.org",
                                                  label="test", now=NOW)
        ids["mp_token"] = accounts.create_token(session=session, email="mp@example.org",
                                                label="test", now=NOW)
    engine.dispose()
    ids["url"] = url
    app = create_app(load_settings(database_url=url), clock=ManualClock(NOW))
    with TestClient(app) as client:
        yield client, ids


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ROUTES = [("GET", "/api/v1/people"), ("GET", "/api/v1/ideas"), ("GET", "/api/v1/actions"),
          ("POST", "/api/v1/actions"), ("GET", "/api/v1/surveys"),
          ("GET", "/api/v1/surveys/1/results"), ("GET", "/api/v1/elections"),
          ("GET", "/api/v1/elections/1/results"), ("GET", "/api/v1/surgeries")]
MP_MAY = {"/api/v1/surveys", "/api/v1/elections", "/api/v1/elections/1/results",
          "/api/v1/surgeries"}


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_refuses_a_request_without_a_token(
    api: tuple[TestClient, dict], method: str, path: str
) -> None:
    client, _ = api
    for headers in ({}, _as("vb_not-a-token"), {"Authorization": "Basic abc"}):
        response = client.request(method, path, headers=headers, json={})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[1] not in MP_MAY])
def test_an_mp_token_cannot_reach_staff_routes(
    api: tuple[TestClient, dict], method: str, path: str
) -> None:
    client, ids = api

    response = client.request(method, path, headers=_as(ids["mp_token"]), json={})

    assert response.status_code == 403


def test_people_and_ideas_for_staff(api: tuple[TestClient, dict]) -> None:
    client, ids = api

    listed = client.get("/api/v1/people", headers=_as(ids["lead_token"])).json()
    ideas = client.get("/api/v1/ideas", headers=_as(ids["lead_token"])).json()

    assert [(p["name"], p["addresses"]) for p in listed] == [
        ("Ann", ["tel:+447700900001"]), ("Sam", ["tel:+447700900002"])]
    assert [(i["id"], i["text"], i["actions"]) for i in ideas] == [(ids["idea"], "A garden", [])]


def test_an_action_made_through_the_api_tells_its_owner_and_is_audited(
    api: tuple[TestClient, dict]
) -> None:
    client, ids = api
    due = (NOW + timedelta(days=10)).date()

    made = client.post("/api/v1/actions", headers=_as(ids["lead_token"]), json={
        "what": "Plant a garden", "owner_id": ids["sam"], "due_on": due.isoformat(),
        "ideas": [ids["idea"]]})

    assert made.status_code == 201
    assert made.json()["ideas"] == [ids["idea"]]
    engine = create_database_engine(ids["url"])
    try:
        with Session(engine) as session:
            action = session.exec(select(Action)).one()
            told = session.exec(select(OutboxMessage)).one()
            audit = session.exec(select(AuditEntry).where(
                AuditEntry.action == "action.created")).one()
    finally:
        engine.dispose()
    assert (action.what, action.due_on) == ("Plant a garden", due)
    assert told.text.startswith("New action 1 for you")
    assert audit.actor.startswith("staff_user:")


@pytest.mark.parametrize(("body", "says"), [
    ({"what": "x", "owner_id": 1, "due_on": "2026-12-01", "ideas": [1]}, "not staff"),
    ({"what": "x", "owner_id": 2, "due_on": "2026-12-01", "ideas": [99]}, "no idea 99"),
    ({"what": "x", "owner_id": 2, "due_on": "2026-12-01"}, "idea or to a participation"),
])
def test_a_bad_action_gets_a_clear_reason(api: tuple[TestClient, dict], body: dict,
                                          says: str) -> None:
    client, ids = api

    response = client.post("/api/v1/actions", headers=_as(ids["lead_token"]), json=body)

    assert response.status_code == 409
    assert says in response.json()["detail"]


def test_an_unknown_survey_is_not_found(api: tuple[TestClient, dict]) -> None:
    client, ids = api

    response = client.get("/api/v1/surveys/42/results", headers=_as(ids["lead_token"]))

    assert response.status_code == 404


def test_the_api_is_documented_at_docs(api: tuple[TestClient, dict]) -> None:
    client, _ = api

    schema = client.get("/openapi.json").json()

    assert {"/api/v1/people", "/api/v1/actions", "/api/v1/surveys/{survey_id}/results"} <= set(
        schema["paths"])
    assert client.get("/docs").status_code == 200


def test_an_election_counted_is_readable_and_one_not_counted_is_not(
    api: tuple[TestClient, dict]
) -> None:
    from bot.elections import outcome
    from bot.elections import service as elections

    client, ids = api
    engine = create_database_engine(ids["url"])
    try:
        with transaction(engine) as session:
            poll = elections.create_poll(
                session=session, title="Staff award", question="Who?",
                options=[elections.PollOption("Sam"), elections.PollOption("Jo")],
                electorate_kind="everyone", electorate_value="", now=NOW)
            poll_id = poll.id or 0
            elections.open_voting(session=session, election_id=poll_id, now=NOW, actor="t")
            elections.cast_vote(session=session, election_id=poll_id, person_id=ids["ann"],
                                candidate_id=2)
        before = client.get(f"/api/v1/elections/{poll_id}/results",
                            headers=_as(ids["lead_token"]))
        with transaction(engine) as session:
            elections.close_voting(session=session, election_id=poll_id, now=NOW, actor="t")
            outcome.count(session=session, election_id=poll_id, now=NOW, actor="t", seed="s")
    finally:
        engine.dispose()

    after = client.get(f"/api/v1/elections/{poll_id}/results", headers=_as(ids["lead_token"]))
    listed = client.get("/api/v1/elections", headers=_as(ids["lead_token"])).json()

    assert before.status_code == 404
    assert after.status_code == 200
    assert [(t["candidate"], t["votes"], t["elected"]) for t in after.json()["tallies"]] == [
        ("Jo", 1, True), ("Sam", 0, False)]
    assert len(after.json()["receipts"]) == 1
    assert [(e["title"], e["voted"], e["on_roll"]) for e in listed] == [("Staff award", 1, 2)]


def test_a_broken_character_in_a_request_gets_a_422_not_a_server_error(
    api: tuple[TestClient, dict]
) -> None:
    client, ids = api

    response = client.post(
        "/api/v1/actions", content=b'{"what": "\\ud800", "owner_id": 2, "due_on": "2030-01-01"}',
        headers={**_as(ids["lead_token"]), "Content-Type": "application/json"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "what"]

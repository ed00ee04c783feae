"""The REST API's write routes: who may call them, what each one changes (rows, audit,
messages queued), why one is refused, and that every answer is one the schema describes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from bot.actions.service import create_action
from bot.clock import ManualClock
from bot.conversation import Kind
from bot.elections import service as elections
from bot.surveys.definition import Audience, AudienceKind, QuestionDef, SurveyDef
from bot.surveys.store import save_survey
from storage import people
from storage.database import create_database_engine, transaction
from storage.migrate import upgrade_database
from storage.suggestions import record_suggestion
from storage.tables import (
    AuditEntry,
    Candidate,
    Constituency,
    Election,
    ElectionResult,
    OutboxMessage,
    OutboxStatus,
    Person,
    Role,
    RollEntry,
    Service,
    Surgery,
    Survey,
    SurveyParticipant,
)
from tests.voicebank.api_harness import NOW, add_accounts, bearer, clear_settings_environment
from tests.voicebank.browser_harness import serving
from voicebank.settings import ENV_PREFIX, load_settings
from voicebank.web.app import create_app


def _seed(engine: Engine) -> dict[str, Any]:
    """Riverside with Willow House; Ann and Bo use it, Sam is staff, Mo its MP; an idea of
    Ann's made into Sam's action; a survey to everyone; a message that failed; and
    accounts: lead (admin), sam (staff, Sam), jo (staff, nobody), mp."""
    ids: dict[str, Any] = {}
    with transaction(engine) as session:
        river = people.add_constituency(session=session, name="Riverside")
        willow = people.add_service(session=session, name="Willow House",
                                    constituency_id=river.id or 0, join_code="WILLOW1")
        found = {name: people.add_person(session=session, urns=[f"tel:+44770090000{n}"],
                                         now=NOW, name=name, roles=roles, service_id=willow.id)
                 for n, (name, roles) in enumerate((
                     ("Ann", [Role.SERVICE_USER]), ("Bo", [Role.SERVICE_USER]),
                     ("Sam", [Role.STAFF]), ("Mo", [Role.SERVICE_USER, Role.MP])), start=1)}
        ids.update({name.lower(): person.id for name, person in found.items()})
        idea = record_suggestion(session=session, text="A garden", topic="home", now=NOW,
                                 person_id=ids["ann"], service_id=willow.id)
        ids["action"] = create_action(session=session, what="Plant a garden",
                                      owner_id=ids["sam"], due_on=date(2026, 12, 1), now=NOW,
                                      actor="test", suggestion_ids=[idea.id or 0]).id
        ids["survey"] = save_survey(session=session, now=NOW, survey=SurveyDef(
            title="How is the food?", audience=Audience(kind=AudienceKind.EVERYONE),
            questions=(QuestionDef(position=1, kind=Kind.TEXT, text="What would you change?"),)))
        failed = OutboxMessage(person_id=ids["ann"], address="tel:+447700900001", channel="sms",
                               text="Hello", status=OutboxStatus.FAILED, error="no signal",
                               attempts=5, created_at=NOW, next_attempt_at=NOW)
        session.add(failed)
        session.flush()
        ids["failed"] = failed.id
        ids.update(add_accounts(session, [("lead", "admin", None), ("sam", "staff", ids["sam"]),
                                          ("jo", "staff", None), ("mp", "mp", ids["mo"])]))
    return ids


def _app(url: str, media: Path) -> FastAPI:
    return create_app(load_settings(database_url=url, media_dir=str(media)),
                      clock=ManualClock(NOW))


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict]]:
    clear_settings_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'v.db'}"
    engine = create_database_engine(url)
    upgrade_database(engine)
    ids = _seed(engine)
    ids["engine"] = engine
    try:
        with TestClient(_app(url, tmp_path)) as client:
            yield client, ids
    finally:
        engine.dispose()


def _rows(ids: dict, model: Any, *where: Any) -> list[Any]:
    with Session(ids["engine"], expire_on_commit=False) as session:
        return list(session.exec(select(model).where(*where)))


def _audit(ids: dict, action: str) -> list[AuditEntry]:
    return _rows(ids, AuditEntry, AuditEntry.action == action)


ADMIN_ROUTES = ["/api/v1/people", "/api/v1/constituencies", "/api/v1/services",
                "/api/v1/surveys/1/open", "/api/v1/surveys/1/close", "/api/v1/elections",
                "/api/v1/elections/1/candidates/1/approve",
                "/api/v1/elections/1/candidates/1/decline", "/api/v1/elections/1/nominations",
                "/api/v1/elections/1/voting", "/api/v1/elections/1/close",
                "/api/v1/elections/1/count", "/api/v1/elections/1/announce",
                "/api/v1/surgeries", "/api/v1/surgeries/1/cancel"]
STAFF_ROUTES = ["/api/v1/actions/1/done", "/api/v1/messages/1/retry"]


def test_every_change_refuses_a_request_without_a_token(api: tuple[TestClient, dict]) -> None:
    client, _ = api
    for path in ADMIN_ROUTES + STAFF_ROUTES:
        for headers in ({}, bearer("vb_not-a-token"), {"Authorization": "Basic abc"}):
            response = client.post(path, headers=headers, json={})
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"] == "Bearer"


def test_the_wrong_role_changes_nothing(api: tuple[TestClient, dict]) -> None:
    client, ids = api
    for token, paths in (("mp", ADMIN_ROUTES + STAFF_ROUTES), ("sam", ADMIN_ROUTES),
                         ("jo", ADMIN_ROUTES)):
        for path in paths:
            response = client.post(path, headers=bearer(ids[f"{token}_token"]), json={})
            assert response.status_code == 403, (token, path)
            assert response.json() == {"detail": "This token's account cannot do that."}
    assert _rows(ids, AuditEntry, col(AuditEntry.actor).startswith("staff_user:")) == []


def test_a_person_added_is_stored_and_audited(api: tuple[TestClient, dict]) -> None:
    client, ids = api

    made = client.post("/api/v1/people", headers=bearer(ids["lead_token"]), json={
        "name": "  Cal   Reed ", "address": "07700 900123", "service_code": "willow1"})
    telegram = client.post("/api/v1/people", headers=bearer(ids["lead_token"]), json={
        "name": "Dee", "address": "telegram:123456789", "role": "staff"})

    assert made.status_code == 201
    assert made.json() | {"id": 0} == {"id": 0, "name": "Cal Reed", "roles": ["service_user"],
                                       "service_id": 1, "addresses": ["tel:+447700900123"],
                                       "opted_out": False}
    assert telegram.status_code == 201
    assert telegram.json()["addresses"] == ["telegram:123456789"]
    assert telegram.json()["roles"] == ["staff"]
    added = _audit(ids, "person.added")
    assert [entry.subject for entry in added] == [f"person:{made.json()['id']}",
                                                  f"person:{telegram.json()['id']}"]
    assert {entry.actor for entry in added} == {"staff_user:1"}


@pytest.mark.parametrize(("body", "says"), [
    ({"name": "Cal", "address": "12345", "service_code": "WILLOW1"},
     "not a phone number we can read"),
    ({"name": "Cal", "address": "07700 900001", "service_code": "WILLOW1"},
     "already in Voicebank"),
    ({"name": "Cal", "address": "07700 900123", "service_code": "NOPE9"},
     "No service has the join code"),
    ({"name": "Cal", "address": "07700 900123"}, "needs the code of the service"),
    ({"name": "Cal", "address": "telegram:abc", "role": "staff"}, "not a Telegram chat id"),
    ({"name": "   ", "address": "07700 900123", "service_code": "WILLOW1"}, "no name"),
])
def test_a_person_who_cannot_be_added_gets_a_clear_reason(
    api: tuple[TestClient, dict], body: dict, says: str
) -> None:
    client, ids = api

    response = client.post("/api/v1/people", headers=bearer(ids["lead_token"]), json=body)

    assert response.status_code == 409
    assert says in response.json()["detail"]
    assert len(_rows(ids, Person)) == 4


def test_constituencies_and_services_are_added_and_audited(
    api: tuple[TestClient, dict]
) -> None:
    client, ids = api
    lead = bearer(ids["lead_token"])

    place = client.post("/api/v1/constituencies", headers=lead, json={"name": " Hill  view "})
    home = client.post("/api/v1/services", headers=lead, json={
        "name": "Oak House", "constituency": "Hill view", "join_code": "oak3"})

    assert place.status_code == 201
    assert place.json() == {"id": 2, "name": "Hill view"}
    assert home.status_code == 201
    assert home.json() == {"id": 2, "name": "Oak House", "constituency_id": 2,
                           "join_code": "OAK3"}
    assert _rows(ids, Service, Service.join_code == "OAK3")[0].constituency_id == 2
    assert [e.subject for e in _audit(ids, "constituency.added")] == ["constituency:2"]
    assert [e.detail for e in _audit(ids, "service.added")] == [{"join_code": "OAK3"}]


@pytest.mark.parametrize(("path", "body", "says"), [
    ("/api/v1/constituencies", {"name": "riverside"}, "already a constituency"),
    ("/api/v1/constituencies", {"name": " \t "}, "Write the constituency's name"),
    ("/api/v1/services", {"name": "Oak", "constituency": "Nowhere", "join_code": "OAK3"},
     "no constituency called Nowhere"),
    ("/api/v1/services", {"name": "Oak", "constituency": "Riverside", "join_code": "willow1"},
     "WILLOW1 is already used"),
])
def test_setup_that_clashes_is_refused(api: tuple[TestClient, dict], path: str, body: dict,
                                       says: str) -> None:
    client, ids = api

    response = client.post(path, headers=bearer(ids["lead_token"]), json=body)

    assert response.status_code == 409
    assert says in response.json()["detail"]
    assert len(_rows(ids, Constituency)) == 1
    assert len(_rows(ids, Service)) == 1


def test_a_bad_join_code_is_not_valid_input(api: tuple[TestClient, dict]) -> None:
    client, ids = api

    response = client.post("/api/v1/services", headers=bearer(ids["lead_token"]), json={
        "name": "Oak", "constituency": "Riverside", "join_code": "no"})

    assert response.status_code == 422


def test_opening_a_survey_invites_its_audience_and_closing_it_stops_it(
    api: tuple[TestClient, dict]
) -> None:
    client, ids = api
    lead, survey = bearer(ids["lead_token"]), ids["survey"]

    opened = client.post(f"/api/v1/surveys/{survey}/open", headers=lead)
    invitations = _rows(ids, OutboxMessage,
                        col(OutboxMessage.dedupe_key).startswith(f"survey:{survey}:invite"))
    closed = client.post(f"/api/v1/surveys/{survey}/close", headers=lead)

    assert opened.status_code == 200
    assert opened.json() == {"id": survey, "status": "open", "invited": 4}
    assert len(_rows(ids, SurveyParticipant)) == 4
    assert {message.person_id for message in invitations} == {
        ids["ann"], ids["bo"], ids["sam"], ids["mo"]}
    assert "How is the food?" in invitations[0].text
    assert closed.json() == {"id": survey, "status": "closed", "invited": 4}
    assert _rows(ids, Survey)[0].status == "closed"
    assert [(e.action, e.actor) for e in _audit(ids, "survey.opened")
            + _audit(ids, "survey.closed")] == [("survey.opened", "staff_user:1"),
                                                ("survey.closed", "staff_user:1")]
    for again in ("open", "close"):
        refused = client.post(f"/api/v1/surveys/{survey}/{again}", headers=lead)
        assert refused.status_code == 409
        assert "closed" in refused.json()["detail"]
    for step in ("open", "close"):
        unknown = client.post(f"/api/v1/surveys/42/{step}", headers=lead)
        assert (unknown.status_code, unknown.json()) == (404, {
            "detail": "There is no survey 42."})


def test_an_election_runs_from_draft_to_announced(api: tuple[TestClient, dict]) -> None:
    client, ids = api
    lead = bearer(ids["lead_token"])

    made = client.post("/api/v1/elections", headers=lead, json={
        "constituency": "Riverside", "seats": 1, "term_months": 12})
    election = made.json()["id"]
    steps = {"nominations": client.post(f"/api/v1/elections/{election}/nominations",
                                        headers=lead)}
    with transaction(ids["engine"]) as session:
        for name in ("ann", "bo"):
            elections.nominate(session=session, election_id=election, now=NOW, change="More",
                               why="Because", person=session.get_one(Person, ids[name]))
    approved = client.post(f"/api/v1/elections/{election}/candidates/1/approve", headers=lead)
    declined = client.post(f"/api/v1/elections/{election}/candidates/2/decline", headers=lead)
    steps["voting"] = client.post(f"/api/v1/elections/{election}/voting", headers=lead)
    late = client.post(f"/api/v1/elections/{election}/candidates/2/approve", headers=lead)
    with transaction(ids["engine"]) as session:
        elections.cast_vote(session=session, election_id=election, person_id=ids["bo"],
                            candidate_id=1)
    for step in ("close", "count", "announce"):
        steps[step] = client.post(f"/api/v1/elections/{election}/{step}", headers=lead,
                                  json={"seed": "roll-the-dice"} if step == "count" else None)

    assert made.status_code == 201
    assert made.json()["title"] == "Service user MP for Riverside"
    assert made.json()["status"] == "draft"
    assert approved.json() == {"id": 1, "election_id": election, "name": "Ann",
                               "status": "approved", "number": 1}
    assert declined.json()["status"] == "declined"
    assert (late.status_code, late.json()) == (409, {
        "detail": "Voting has started; the candidates are fixed."})
    assert {name: (r.status_code, r.json()["status"], r.json()["reached"])
            for name, r in steps.items()} == {
        "nominations": (200, "nominations", 0), "voting": (200, "voting", 3),
        "close": (200, "closed", 0), "count": (200, "counted", 0),
        "announce": (200, "announced", 3)}
    assert steps["count"].json()["seed"] == "roll-the-dice"
    assert sorted(r.person_id for r in _rows(ids, RollEntry)) == sorted(
        [ids["ann"], ids["bo"], ids["mo"]])
    assert _rows(ids, Election)[0].seed == "roll-the-dice"
    assert [(r.candidate_id, r.votes, r.elected) for r in _rows(ids, ElectionResult)] == [
        (1, 1, True)]
    assert _audit(ids, "election.counted")[0].detail == {"seed": "roll-the-dice"}
    assert {e.actor for e in _audit(ids, "election.created") + _audit(ids, "election.approved")
            + _audit(ids, "election.voting_opened")} == {"staff_user:1"}
    ballots = _rows(ids, OutboxMessage, col(OutboxMessage.dedupe_key).startswith(
        f"election:{election}:ballot"))
    assert {message.person_id for message in ballots} == {ids["ann"], ids["bo"], ids["mo"]}


def test_election_steps_out_of_turn_are_refused(api: tuple[TestClient, dict]) -> None:
    client, ids = api
    lead = bearer(ids["lead_token"])
    election = client.post("/api/v1/elections", headers=lead, json={
        "constituency": "Riverside", "seats": 2, "term_months": 6}).json()["id"]

    voting = client.post(f"/api/v1/elections/{election}/voting", headers=lead)
    count = client.post(f"/api/v1/elections/{election}/count", headers=lead)
    client.post(f"/api/v1/elections/{election}/nominations", headers=lead)
    again = client.post(f"/api/v1/elections/{election}/nominations", headers=lead)
    nobody = client.post(f"/api/v1/elections/{election}/candidates/9/approve", headers=lead)
    maybe = client.post(f"/api/v1/elections/{election}/candidates/9/maybe", headers=lead)
    unknown = client.post("/api/v1/elections/42/close", headers=lead)
    nowhere = client.post("/api/v1/elections", headers=lead, json={
        "constituency": "Nowhere", "seats": 1, "term_months": 12})

    assert (voting.status_code, voting.json()) == (409, {
        "detail": "Nobody has been approved to stand yet."})
    assert count.status_code == 409
    assert "count after voting has closed" in count.json()["detail"].lower()
    assert again.status_code == 409
    assert "already nominations" in again.json()["detail"]
    assert nobody.status_code == 404
    assert maybe.status_code == 422
    assert (unknown.status_code, unknown.json()) == (404, {
        "detail": "There is no election 42."})
    assert nowhere.status_code == 409
    assert "no constituency called 'Nowhere'" in nowhere.json()["detail"]
    assert len(_rows(ids, Election)) == 1
    assert _rows(ids, Candidate) == []


def test_an_action_signed_off_by_its_owner_tells_who_asked(
    api: tuple[TestClient, dict]
) -> None:
    client, ids = api
    path = f"/api/v1/actions/{ids['action']}/done"

    others = client.post(path, headers=bearer(ids["jo_token"]), json={"note": "Done"})
    done = client.post(path, headers=bearer(ids["sam_token"]), json={"note": "Planted on Monday"})
    again = client.post(path, headers=bearer(ids["lead_token"]))
    unknown = client.post("/api/v1/actions/42/done", headers=bearer(ids["lead_token"]))

    assert others.status_code == 403
    assert done.status_code == 200
    assert done.json() == {"id": ids["action"], "status": "done", "told": 1}
    told = _rows(ids, OutboxMessage, OutboxMessage.person_id == ids["ann"],
                 col(OutboxMessage.dedupe_key).contains("we_did"))
    assert len(told) == 1
    assert told[0].text.startswith('You said: "A garden"')
    entry = _audit(ids, "action.done")[0]
    assert (entry.actor, entry.detail["note"]) == ("staff_user:2", "Planted on Monday")
    assert (again.status_code, again.json()) == (409, {
        "detail": f"Action {ids['action']} was already signed off."})
    assert unknown.status_code == 404


def test_an_admin_may_sign_off_any_action(api: tuple[TestClient, dict]) -> None:
    client, ids = api

    done = client.post(f"/api/v1/actions/{ids['action']}/done", headers=bearer(ids["lead_token"]))

    assert (done.status_code, done.json()["told"]) == (200, 1)


def test_a_surgery_is_booked_and_cancelled(api: tuple[TestClient, dict]) -> None:
    client, ids = api
    lead = bearer(ids["lead_token"])

    booked = client.post("/api/v1/surgeries", headers=lead, json={
        "mp_id": ids["mo"], "service_code": "willow1", "starts_at": "2026-12-01T14:00:00Z",
        "place": "The lounge"})
    surgery = booked.json()["id"]
    cancelled = client.post(f"/api/v1/surgeries/{surgery}/cancel", headers=lead)
    again = client.post(f"/api/v1/surgeries/{surgery}/cancel", headers=lead)
    unknown = client.post("/api/v1/surgeries/42/cancel", headers=lead)

    assert booked.status_code == 201
    assert booked.json() | {"id": 0} == {
        "id": 0, "mp_id": ids["mo"], "service_id": 1, "starts_at": "2026-12-01T14:00:00Z",
        "ends_at": "2026-12-01T16:00:00Z", "place": "The lounge", "status": "scheduled"}
    assert cancelled.json()["status"] == "cancelled"
    assert _rows(ids, Surgery)[0].status == "cancelled"
    assert [e.actor for e in _audit(ids, "surgery.scheduled") + _audit(
        ids, "surgery.cancelled")] == ["staff_user:1", "staff_user:1"]
    assert again.status_code == 409
    assert "not started can be cancelled" in again.json()["detail"]
    assert unknown.status_code == 404


@pytest.mark.parametrize(("change", "says"), [
    ({"mp_id": 2}, "is not an MP"),
    ({"service_code": "OAK3"}, "no service with the code OAK3"),
    ({"starts_at": "2026-11-01T14:00:00+01:00"}, "must be in the future"),
    ({"ends_at": "2026-12-01T13:00:00Z"}, "end after it starts"),
    ({"ends_at": "2026-12-05T13:00:00Z"}, "a day at most"),
    ({"starts_at": "9999-12-31T23:30:00-05:00"}, "off the calendar"),
    ({"starts_at": "2040-01-01T10:00:00Z"}, "five years ahead"),
])
def test_a_surgery_that_cannot_be_booked_gets_a_clear_reason(
    api: tuple[TestClient, dict], change: dict, says: str
) -> None:
    client, ids = api
    body = {"mp_id": ids["mo"], "service_code": "WILLOW1",
            "starts_at": "2026-12-01T14:00:00Z"} | change

    response = client.post("/api/v1/surgeries", headers=bearer(ids["lead_token"]), json=body)

    assert response.status_code == 409
    assert says in response.json()["detail"]
    assert _rows(ids, Surgery) == []


def test_a_failed_message_is_queued_again_once(api: tuple[TestClient, dict]) -> None:
    client, ids = api
    path = f"/api/v1/messages/{ids['failed']}/retry"

    retried = client.post(path, headers=bearer(ids["jo_token"]))
    message = _rows(ids, OutboxMessage, OutboxMessage.id == ids["failed"])[0]
    again = client.post(path, headers=bearer(ids["lead_token"]))
    unknown = client.post("/api/v1/messages/4242/retry", headers=bearer(ids["lead_token"]))

    assert retried.json() == {"id": ids["failed"], "status": "queued"}
    assert (message.status, message.attempts, message.error) == ("queued", 0, None)
    assert [(e.actor, e.subject) for e in _audit(ids, "outbox.retried")] == [
        ("staff_user:3", f"outbox:{ids['failed']}")]
    assert again.status_code == 409
    assert "only a failed message" in again.json()["detail"]
    assert unknown.status_code == 404


def test_the_changes_and_their_refusals_are_documented(api: tuple[TestClient, dict]) -> None:
    client, _ = api
    election, done = "/api/v1/elections/{election_id}", "/api/v1/actions/{action_id}/done"
    expected = {
        "/api/v1/people": {"201", "409"}, "/api/v1/constituencies": {"201", "409"},
        "/api/v1/services": {"201", "409"}, "/api/v1/elections": {"201", "409"},
        "/api/v1/surveys/{survey_id}/open": {"200", "404", "409"},
        "/api/v1/surveys/{survey_id}/close": {"200", "404", "409"},
        f"{election}/candidates/{{candidate_id}}/{{decision}}": {"200", "404", "409"},
        **{f"{election}/{step}": {"200", "404", "409"}
           for step in ("nominations", "voting", "close", "count", "announce")},
        done: {"200", "403", "404", "409"}, "/api/v1/surgeries": {"201", "409"},
        "/api/v1/surgeries/{surgery_id}/cancel": {"200", "404", "409"},
        "/api/v1/messages/{message_id}/retry": {"200", "404", "409"}}

    paths = client.get("/openapi.json").json()["paths"]

    for path, statuses in expected.items():
        assert statuses | {"422"} == set(paths[path]["post"]["responses"]), path


# The write routes against their own schema, as test_api_schema.py checks the rest. ---------


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    saved = {k: v for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX)}
    for name in saved:
        del os.environ[name]
    directory = tmp_path_factory.mktemp("changes")
    url = f"sqlite:///{directory / 'v.db'}"
    engine = create_database_engine(url)
    upgrade_database(engine)
    token = _seed(engine)["lead_token"]
    with transaction(engine) as session:
        elections.create_election(session=session, constituency="Riverside", seats=1,
                                  term_months=12, now=NOW)
    engine.dispose()
    try:
        with serving(_app(url, directory)) as base:
            yield base, token
    finally:
        os.environ.update(saved)


def test_every_change_answers_as_its_schema_says(running: tuple[str, str]) -> None:
    base, token = running
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    changes = schema.include(path_regex=r"^/api/v1/").include(method="POST")
    checked = 0
    for result in changes.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"})

        check()
        checked += 1
    assert checked >= len(ADMIN_ROUTES + STAFF_ROUTES)


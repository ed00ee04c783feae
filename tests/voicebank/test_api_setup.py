"""The REST API's setting-up routes: a survey built from a file or a template, people added
from a CSV file, a poll created. Who may call them, what each stores (rows, audit), and why
one is refused with nothing stored; on SQLite, and on PostgreSQL when it is configured."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from bot.clock import ManualClock
from bot.surveys.store import load_survey
from bot.surveys.templates import TEMPLATES
from storage import people
from storage.database import transaction
from storage.tables import (
    AuditEntry,
    Candidate,
    Election,
    OutboxMessage,
    Person,
    Role,
    Survey,
)
from tests.voicebank.api_harness import NOW, add_accounts, bearer, clear_settings_environment
from voicebank.settings import load_settings
from voicebank.web.app import create_app

ROUTES = ["/api/v1/surveys", "/api/v1/surveys/from-template", "/api/v1/people/import",
          "/api/v1/polls"]
SURVEY = """title: How is the food?
audience: {service: willow1}
opens: 2026-12-01 09:00
closes: 2026-12-08 17:00
reminders: [2 days]
questions:
  - kind: scale
    scale: smiley
    text: How is the food?
  - kind: text
    text: What would you change?
"""
PEOPLE = ("Name;Phone;Service;Role\n"
          "Cal Reed;07700 900123;willow 1;\n"
          "Dee;12345;WILLOW1;\n"
          "\n"
          "Eve;07700 900001;WILLOW1;\n"
          "Fay;+44 7700 900124;;staff\n")
POLL = {"title": "New name", "question": "What shall we call the new house?",
        "options": [{"label": "Oak House", "emoji": "🌳"}, {"label": "Elm House"}],
        "electorate": "mp", "voting_opens_at": "2026-12-01T09:00:00Z",
        "voting_closes_at": "2026-12-08T17:00:00+00:00", "reminders": ["2 days"]}
BODIES: dict[str, dict[str, Any]] = {
    "/api/v1/surveys": {"yaml": SURVEY}, "/api/v1/surveys/from-template": {"template": "smiley"},
    "/api/v1/people/import": {"csv": PEOPLE}, "/api/v1/polls": POLL}


def _seed(engine: Engine) -> dict[str, Any]:
    """Riverside with Willow House; Ann uses it and Mo is its MP; accounts lead (admin),
    jo (staff) and mp (Mo's), each with a token."""
    ids: dict[str, Any] = {}
    with transaction(engine) as session:
        river = people.add_constituency(session=session, name="Riverside")
        willow = people.add_service(session=session, name="Willow House",
                                    constituency_id=river.id or 0, join_code="WILLOW1")
        ids["willow"] = willow.id
        for n, (name, roles) in enumerate((("Ann", [Role.SERVICE_USER]),
                                           ("Mo", [Role.SERVICE_USER, Role.MP])), start=1):
            ids[name.lower()] = people.add_person(
                session=session, urns=[f"tel:+44770090000{n}"], now=NOW, name=name,
                roles=roles, service_id=willow.id).id
        ids.update(add_accounts(session, [("lead", "admin", None), ("jo", "staff", None),
                                          ("mp", "mp", ids["mo"])]))
    return ids


@pytest.fixture
def api(database: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
        ) -> Iterator[tuple[TestClient, dict]]:
    clear_settings_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)
    ids = _seed(database)
    ids["engine"] = database
    settings = load_settings(database_url=database.url.render_as_string(hide_password=False),
                             media_dir=str(tmp_path))
    with TestClient(create_app(settings, clock=ManualClock(NOW))) as client:
        yield client, ids


def _rows(ids: dict, model: Any, *where: Any) -> list[Any]:
    with Session(ids["engine"], expire_on_commit=False) as session:
        return list(session.exec(select(model).where(*where)))


def _audit(ids: dict, action: str) -> list[AuditEntry]:
    return _rows(ids, AuditEntry, AuditEntry.action == action)


def _nothing_set_up(ids: dict) -> None:
    assert _rows(ids, Survey) == []
    assert _rows(ids, Election) == []
    assert sorted(person.name for person in _rows(ids, Person)) == ["Ann", "Mo"]
    assert _rows(ids, AuditEntry, col(AuditEntry.actor).startswith("staff_user:")) == []


def test_every_setup_route_refuses_a_request_without_a_token(
    api: tuple[TestClient, dict]
) -> None:
    client, ids = api
    for path in ROUTES:
        for headers in ({}, bearer("vb_not-a-token"), {"Authorization": "Basic abc"}):
            response = client.post(path, headers=headers, json=BODIES[path])
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"] == "Bearer"
    _nothing_set_up(ids)


@pytest.mark.parametrize("token", ["jo", "mp"])
def test_only_an_admin_token_sets_things_up(api: tuple[TestClient, dict], token: str) -> None:
    client, ids = api
    for path in ROUTES:
        response = client.post(path, headers=bearer(ids[f"{token}_token"]), json=BODIES[path])
        assert response.status_code == 403, path
        assert response.json() == {"detail": "This token's account cannot do that."}
    _nothing_set_up(ids)


# Surveys -----------------------------------------------------------------------------------


def test_a_survey_file_is_built_stored_and_listed(api: tuple[TestClient, dict]) -> None:
    client, ids = api
    lead = bearer(ids["lead_token"])

    built = client.post("/api/v1/surveys", headers=lead, json={"yaml": SURVEY})
    listed = client.get("/api/v1/surveys", headers=lead)

    assert built.status_code == 201
    survey = built.json()
    assert survey == {"id": survey["id"], "title": "How is the food?", "status": "scheduled",
                      "opens_at": "2026-12-01T09:00:00Z", "closes_at": "2026-12-08T17:00:00Z",
                      "anonymous": False}
    assert listed.json() == [survey]
    with Session(ids["engine"]) as session:
        stored = load_survey(session=session, survey_id=survey["id"])
    assert stored is not None
    assert (stored.audience.kind, stored.audience.value) == ("service", "WILLOW1")
    assert [(q.kind, [o.label for o in q.options]) for q in stored.questions] == [
        ("scale", ["Good", "OK", "Not good"]), ("text", [])]
    assert [(e.actor, e.subject, e.detail) for e in _audit(ids, "survey.created")] == [
        ("staff_user:1", f"survey:{survey['id']}",
         {"title": "How is the food?", "template": None})]


def test_a_survey_is_built_from_a_template_as_a_draft(api: tuple[TestClient, dict]) -> None:
    client, ids = api

    built = client.post("/api/v1/surveys/from-template", headers=bearer(ids["lead_token"]),
                        json={"template": "smiley"})
    unknown = client.post("/api/v1/surveys/from-template", headers=bearer(ids["lead_token"]),
                          json={"template": "frowny"})

    assert built.status_code == 201
    assert (built.json()["title"], built.json()["status"]) == ("How are things?", "draft")
    with Session(ids["engine"]) as session:
        stored = load_survey(session=session, survey_id=built.json()["id"])
    assert stored is not None
    assert len(stored.questions) == 5
    assert [e.detail for e in _audit(ids, "survey.created")] == [
        {"title": "How are things?", "template": "smiley"}]
    assert unknown.status_code == 422
    assert len(_rows(ids, Survey)) == 1


LAUGHS = "".join(f"l{n}: &l{n} [{', '.join([f'*l{n - 1}' if n else 'ha'] * 9)}]\n"
                 for n in range(8)) + "title: Ha\nquestions: *l7\n"


@pytest.mark.parametrize(("text", "says"), [
    ("title: Food\nquestions:\n  - kind: choice\n    text: Which meal?\n    options:\n"
     "      - {number: 12, label: Soup}\n      - {number: 2, label: Pie}\n",
     "The survey, line 6: questions[1].options[1].number: must be a whole number from 1 to 9"),
    ("title: Food\nquestions:\n  - kind: text\n    text: Why?\n  - kind: maybe\n    text: Hm\n",
     "The survey, line 5: questions[2].kind: must be choice, scale, yes_no or text"),
    ("title: Food\n\tquestions: []\n", "The survey, line 2: this is not valid YAML"),
    ("title: Food\nintro: \x13\n", "The survey, line 2: this is not valid YAML: it has the "
                                   "character #x0013"),
    ("", "The survey, line 1: the file is empty"),
    ("title: Food\naudience: {constituency: Hillview}\nquestions:\n  - {kind: text, text: Why}\n",
     "Audience: there is no constituency Hillview; choose another."),
    ("title: " + "[" * 5000 + "]" * 5000 + "\n",
     "The survey, line 1: this is nested more than 40 levels deep"),
    (LAUGHS, "it would have more than 100000 parts"),
])
def test_a_survey_file_with_mistakes_says_where_and_stores_nothing(
    api: tuple[TestClient, dict], text: str, says: str
) -> None:
    client, ids = api

    response = client.post("/api/v1/surveys", headers=bearer(ids["lead_token"]),
                           json={"yaml": text})

    assert response.status_code == 409
    assert says in response.json()["detail"]
    _nothing_set_up(ids)


def test_every_mistake_in_a_survey_file_is_reported_a_line_each(
    api: tuple[TestClient, dict]
) -> None:
    client, ids = api
    text = ("title: Food\nopens: 2026-12-08 09:00\nclosses: 2026-12-01 09:00\nquestions:\n"
            "  - kind: choice\n    text: Which?\n    options: [{number: 1, label: Soup}]\n")

    response = client.post("/api/v1/surveys", headers=bearer(ids["lead_token"]),
                           json={"yaml": text})

    assert response.json()["detail"].splitlines() == [
        "The survey, line 3: closses: is not a field we know; did you mean closes?",
        "The survey, line 7: questions[1].options: needs at least two options"]


# People from a CSV file --------------------------------------------------------------------


def test_a_dry_run_reports_every_row_and_stores_nothing(api: tuple[TestClient, dict]) -> None:
    client, ids = api

    response = client.post("/api/v1/people/import", params={"dry_run": "true"},
                           headers=bearer(ids["lead_token"]), json={"csv": PEOPLE})

    assert response.status_code == 200
    report = response.json()
    assert report["dry_run"] is True
    assert [(row["line"], row["name"], row["address"], row["service"], row["role"],
             row["problems"]) for row in report["added"]] == [
        (2, "Cal Reed", "tel:+447700900123", "WILLOW1", "service_user", []),
        (6, "Fay", "tel:+447700900124", "", "staff", [])]
    assert [(row["line"], row["address"], row["problems"]) for row in report["left_out"]] == [
        (3, None, ["“12345” is not a phone number we can read. Write it like 07700 900123 "
                   "or +44 7700 900123."]),
        (5, None, ["The number 07700 900001 is already in Voicebank."])]
    _nothing_set_up(ids)


def test_an_import_adds_the_good_rows_and_says_which_were_left_out(
    api: tuple[TestClient, dict]
) -> None:
    client, ids = api
    lead = bearer(ids["lead_token"])

    response = client.post("/api/v1/people/import", headers=lead, json={"csv": PEOPLE})
    again = client.post("/api/v1/people/import", headers=lead, json={"csv": PEOPLE})
    listed = {person["name"]: person for person in client.get("/api/v1/people",
                                                               headers=lead).json()}

    assert response.status_code == 200
    assert response.json()["dry_run"] is False
    assert [row["name"] for row in response.json()["added"]] == ["Cal Reed", "Fay"]
    assert [row["line"] for row in response.json()["left_out"]] == [3, 5]
    assert (listed["Cal Reed"]["roles"], listed["Cal Reed"]["service_id"],
            listed["Cal Reed"]["addresses"]) == (["service_user"], ids["willow"],
                                                 ["tel:+447700900123"])
    assert (listed["Fay"]["roles"], listed["Fay"]["service_id"]) == (["staff"], None)
    assert [(e.actor, e.detail) for e in _audit(ids, "people.imported")] == [
        ("staff_user:1", {"count": 2, "left_out": 2})]
    assert again.json()["added"] == []
    assert [row["line"] for row in again.json()["left_out"]] == [2, 3, 5, 6]
    assert len(_rows(ids, Person)) == 4


@pytest.mark.parametrize(("text", "says"), [
    ("name,number\nCal,07700 900123\n", "This file has no phone or service column"),
    ("name,phone,service\n", "has nobody in it"),
    ("", "The file is empty"),
    (";,,\n\t\"\"\n", "The file is empty"),
])
def test_a_file_that_is_not_a_list_of_people_adds_nobody(
    api: tuple[TestClient, dict], text: str, says: str
) -> None:
    client, ids = api

    response = client.post("/api/v1/people/import", headers=bearer(ids["lead_token"]),
                           json={"csv": text})

    assert response.status_code == 409
    assert says in response.json()["detail"]
    _nothing_set_up(ids)


# Polls -------------------------------------------------------------------------------------


def test_a_poll_is_created_with_its_options_and_can_be_opened(
    api: tuple[TestClient, dict]
) -> None:
    client, ids = api
    lead = bearer(ids["lead_token"])

    made = client.post("/api/v1/polls", headers=lead, json=POLL)
    poll = made.json()["id"]
    listed = client.get("/api/v1/elections", headers=lead).json()
    opened = client.post(f"/api/v1/elections/{poll}/voting", headers=lead)

    assert made.status_code == 201
    assert made.json() == {
        "id": poll, "title": "New name", "question": "What shall we call the new house?",
        "status": "draft", "electorate": "role:mp", "voting_opens_at": "2026-12-01T09:00:00Z",
        "voting_closes_at": "2026-12-08T17:00:00Z", "reminders": ["2 days"],
        "options": [{"number": 1, "label": "Oak House", "emoji": "🌳"},
                    {"number": 2, "label": "Elm House", "emoji": ""}]}
    assert [(e["id"], e["kind"], e["title"]) for e in listed] == [(poll, "poll", "New name")]
    assert [(c.number, c.name, c.status) for c in _rows(ids, Candidate)] == [
        (1, "Oak House", "approved"), (2, "Elm House", "approved")]
    assert [(e.actor, e.subject) for e in _audit(ids, "poll.created")] == [
        ("staff_user:1", f"election:{poll}")]
    assert (opened.status_code, opened.json()["reached"]) == (200, 1)
    ballots = _rows(ids, OutboxMessage, col(OutboxMessage.dedupe_key).startswith(
        f"election:{poll}:ballot"))
    assert {message.person_id for message in ballots} == {ids["mo"]}
    assert [option.get("label") for message in ballots for option in message.options] == [
        "Oak House", "Elm House"]


@pytest.mark.parametrize(("change", "says"), [
    ({"options": [{"label": "Oak House"}]}, "A poll needs at least two options."),
    ({"options": [{"label": "Oak"}, {"label": "  "}]}, "Each option needs a label."),
    ({"title": " \t "}, "A poll needs a title and a question."),
    ({"electorate": "constituency:Hillview"}, "There is no constituency called Hillview."),
    ({"electorate": "service:oak3"}, "No service has the join code OAK3."),
    ({"electorate": "the staff"}, "“the staff” is not an electorate."),
    ({"voting_opens_at": "2026-11-01T09:00:00Z"}, "that time has passed"),
    ({"voting_closes_at": "2026-11-30T09:00:00Z"}, "voting open before it closes"),
    ({"voting_closes_at": "2040-01-01T09:00:00Z"}, "at most five years ahead"),
    ({"voting_opens_at": "9999-12-31T23:30:00-05:00"}, "off the calendar"),
    ({"reminders": ["soon"]}, "Reminders: “soon”: write it like 2 days"),
    ({"reminders": ["400 days"]}, "at most a year before it closes"),
    ({"reminders": ["9999999999999999 weeks"]}, "at most a year before it closes"),
])
def test_a_poll_the_rules_refuse_gets_a_clear_reason(
    api: tuple[TestClient, dict], change: dict, says: str
) -> None:
    client, ids = api

    response = client.post("/api/v1/polls", headers=bearer(ids["lead_token"]), json=POLL | change)

    assert response.status_code == 409
    assert says in response.json()["detail"]
    _nothing_set_up(ids)


def test_a_poll_may_go_to_a_service_constituency_or_role(api: tuple[TestClient, dict]) -> None:
    client, ids = api
    made = {written: client.post("/api/v1/polls", headers=bearer(ids["lead_token"]),
                                 json=POLL | {"electorate": written}).json()["electorate"]
            for written in ("everyone", "service:willow1", "constituency:Riverside",
                            "role:Staff", "MPs")}

    assert made == {"everyone": "everyone", "service:willow1": "service:WILLOW1",
                    "constituency:Riverside": "constituency:Riverside",
                    "role:Staff": "role:staff", "MPs": "role:mp"}


def test_the_setup_routes_and_their_refusals_are_documented(
    api: tuple[TestClient, dict]
) -> None:
    client, _ = api

    schema = client.get("/openapi.json").json()
    paths = schema["paths"]

    assert {path: set(paths[path]["post"]["responses"]) for path in ROUTES} == {
        "/api/v1/surveys": {"201", "409", "422"},
        "/api/v1/surveys/from-template": {"201", "409", "422"},
        "/api/v1/people/import": {"200", "409", "422"}, "/api/v1/polls": {"201", "409", "422"}}
    template = schema["components"]["schemas"]["SurveyTemplateIn"]["properties"]["template"]
    assert set(template["enum"]) == set(TEMPLATES)

"""The people and services pages, through the whole app: who may see them, adding a person,
a constituency and a service, and adding people from a CSV file in two steps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.clock import ManualClock
from storage import people
from storage.database import transaction
from storage.tables import Address, Constituency, Person, PersonRole, Service, StaffRole
from tests.voicebank.dashboard_harness import Dashboard as BaseDashboard
from voicebank.people_import import open_sealed, seal_rows

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
GOOD_AND_BAD = (b"Name,Phone,Service,Role\n"
                b"Ann Jones,07700 900123,OAK3,\n"
                b"Ben Smith,12345,OAK3,\n"
                b"Cat Lee,+44 7700 900456,oak3,mp\n")


class Dashboard(BaseDashboard):
    def people(self) -> dict[str, tuple[str, ...]]:
        """Everyone's name, with their addresses, roles and service's join code."""
        found = {}
        with transaction(self.database) as session:
            for person in session.exec(select(Person)):
                urns = session.exec(select(Address.urn).where(Address.person_id == person.id))
                roles = session.exec(select(PersonRole.role).where(
                    PersonRole.person_id == person.id))
                service = session.get(Service, person.service_id) if person.service_id else None
                found[person.name] = (*sorted(urns), *sorted(roles),
                                      service.join_code if service else "")
        return found

    def upload(self, data: bytes, csrf: str | None = None, name: str = "people.csv") -> Any:
        return self.client.post("/people/import", data={"csrf": csrf or self.csrf()},
                                files={"file": (name, data, "text/csv")})


@pytest.fixture
def dashboard(database: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[Dashboard]:
    with transaction(database) as session:
        area = people.add_constituency(session=session, name="North")
        assert area.id is not None
        oak = people.add_service(session=session, name="Oak House", constituency_id=area.id,
                                 join_code="OAK3")
        people.add_person(session=session, urns=["tel:+447700900999"], now=NOW, name="Dee Known",
                          service_id=oak.id)
    with Dashboard.opened(database, ManualClock(NOW), monkeypatch, tmp_path) as dashboard:
        yield dashboard


def sealed_field(html: str) -> str:
    found = re.search(r'name="rows" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


PAGES = ["/people", "/services", "/people/import"]
FORMS: list[tuple[str, dict[str, str]]] = [
    ("/people", {"name": "Eve", "kind": "tel", "address": "07700 900777", "service": "OAK3",
                 "role": "service_user"}),
    ("/services/constituencies", {"name": "South"}),
    ("/services", {"name": "Elm Court", "constituency_id": "1", "join_code": "ELM9"}),
    ("/people/import/confirm", {"rows": "x.y"}),
]


def test_someone_not_signed_in_is_sent_to_sign_in(dashboard: Dashboard) -> None:
    for page in PAGES:
        response = dashboard.client.get(page)
        assert response.status_code == 303
        assert response.headers["location"] == f"/sign-in?next={page}"
    for action, form in FORMS:
        assert dashboard.client.post(action, data={"csrf": "x", **form}).status_code == 303
    upload = dashboard.client.post("/people/import", data={"csrf": "x"},
                                   files={"file": ("p.csv", GOOD_AND_BAD, "text/csv")})
    assert upload.status_code == 303
    assert set(dashboard.people()) == {"Dee Known"}


@pytest.mark.parametrize("role", [StaffRole.STAFF, StaffRole.MP])
def test_staff_and_mps_may_not_see_or_change_people(dashboard: Dashboard, role: str) -> None:
    dashboard.sign_in_as(role)
    csrf = dashboard.csrf()

    for page in PAGES:
        assert dashboard.client.get(page).status_code == 403
    for action, form in FORMS:
        assert dashboard.client.post(action, data={"csrf": csrf, **form}).status_code == 403
    assert dashboard.upload(GOOD_AND_BAD, csrf=csrf).status_code == 403
    assert set(dashboard.people()) == {"Dee Known"}
    assert len(dashboard.rows(Service)) == 1
    assert len(dashboard.rows(Constituency)) == 1


@pytest.mark.parametrize("csrf", [None, "", "forged"])
def test_a_form_without_the_right_csrf_token_changes_nothing(dashboard: Dashboard,
                                                              csrf: str | None) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)
    token = {} if csrf is None else {"csrf": csrf}

    for action, form in FORMS:
        assert dashboard.client.post(action, data={**token, **form}).status_code == 403
    upload = dashboard.client.post("/people/import", data=token,
                                   files={"file": ("p.csv", GOOD_AND_BAD, "text/csv")})
    assert upload.status_code == 403
    assert set(dashboard.people()) == {"Dee Known"}
    assert len(dashboard.rows(Service)) == 1
    assert len(dashboard.rows(Constituency)) == 1


def test_an_admin_sees_everyone_and_can_search_by_name_or_number(dashboard: Dashboard) -> None:
    with transaction(dashboard.database) as session:
        people.add_person(session=session, urns=["telegram:424242"], now=NOW, name="Eli Staff",
                          roles=["staff"])
        gone = people.add_person(session=session, urns=["tel:+447700900888"], now=NOW,
                                 name="Fay Quiet")
        gone.opted_out_at = NOW
    dashboard.sign_in_as(StaffRole.ADMIN)

    page = dashboard.client.get("/people")
    by_name = dashboard.client.get("/people?q=dee").text
    by_number = dashboard.client.get("/people", params={"q": "07700 900888"}).text
    nobody = dashboard.client.get("/people?q=zed").text

    assert page.status_code == 200
    for shown in ("Dee Known", "tel:+447700900999", "Oak House (OAK3)", "service_user",
                  "Eli Staff", "telegram:424242", "staff", "Yes, since 02 Mar 2026"):
        assert shown in page.text
    assert '<th scope="col">Stopped messages</th>' in page.text
    assert "Dee Known" in by_name
    assert "Fay Quiet" not in by_name
    assert "Fay Quiet" in by_number
    assert "Dee Known" not in by_number
    assert "matches “zed”" in nobody


def test_an_admin_adds_a_person_by_phone_or_telegram(dashboard: Dashboard) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)

    by_phone = dashboard.post("/people", {
        "name": "Ann Jones", "kind": "tel", "address": "07700 900123", "service": "OAK3",
        "role": "mp"})
    by_telegram = dashboard.post("/people", {
        "name": "Ben Staff", "kind": "telegram", "address": "123456789", "service": "",
        "role": "staff"})

    assert by_phone.status_code == 303
    assert by_telegram.status_code == 303
    shown = dashboard.client.get(by_phone.headers["location"]).text
    assert "Ann Jones is added." in shown
    assert dashboard.people()["Ann Jones"] == ("tel:+447700900123", "mp", "OAK3")
    assert dashboard.people()["Ben Staff"] == ("telegram:123456789", "staff", "")
    added = dashboard.audit("person.added")
    assert [entry.detail["role"] for entry in added] == ["mp", "staff"]
    assert added[0].actor.startswith("staff_user:")


@pytest.mark.parametrize(("form", "says"), [
    ({"address": "12345"}, "“12345” is not a phone number we can read"),
    ({"address": "ring me"}, "“ring me” is not a phone number we can read"),
    ({"address": "07700 900999"}, "The number 07700 900999 is already in Voicebank."),
    ({"kind": "telegram", "address": "@ann"}, "“@ann” is not a Telegram chat id"),
    ({"address": ""}, "There is no phone number or Telegram id."),
    ({"name": " "}, "There is no name."),
    ({"service": "NOPE1"}, "No service has the join code “NOPE1”."),
    ({"service": ""}, "There is no service join code."),
    ({"role": "king"}, "“king” is not a role."),
])
def test_a_person_with_a_problem_is_not_added_and_the_page_says_why(
    dashboard: Dashboard, form: dict[str, str], says: str
) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)
    typed = {"name": "Ann Jones", "kind": "tel", "address": "07700 900123", "service": "OAK3",
             "role": "service_user", **form}

    response = dashboard.post("/people", typed)

    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert says in response.text
    assert f'value="{typed["address"]}"' in response.text, "what was typed is kept"
    assert set(dashboard.people()) == {"Dee Known"}
    assert dashboard.audit("person.added") == []


def test_an_admin_adds_a_constituency_and_a_service_and_sees_the_join_codes(
    dashboard: Dashboard,
) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)

    area = dashboard.post("/services/constituencies", {"name": "South"})
    [south] = dashboard.rows(Constituency, Constituency.name == "South")
    service = dashboard.post("/services", {
        "name": "Elm Court", "constituency_id": str(south.id), "join_code": "elm9"})

    assert area.status_code == 303
    assert service.status_code == 303
    page = dashboard.client.get(service.headers["location"]).text
    assert "Elm Court is added. People join it by sending: JOIN ELM9" in page
    assert "<h3>South</h3>" in page
    assert '<tr><th scope="row">Elm Court</th><td>ELM9</td><td>0</td></tr>' in page
    assert '<tr><th scope="row">Oak House</th><td>OAK3</td><td>1</td></tr>' in page
    [elm] = dashboard.rows(Service, Service.join_code == "ELM9")
    assert elm.constituency_id == south.id
    assert [e.subject for e in dashboard.audit("constituency.added")] == [
        f"constituency:{south.id}"]
    assert [e.detail["join_code"] for e in dashboard.audit("service.added")] == ["ELM9"]


@pytest.mark.parametrize(("action", "form", "says"), [
    ("/services/constituencies", {"name": "north"}, "There is already a constituency called"),
    ("/services/constituencies", {"name": "  "}, "Write the constituency"),
    ("/services", {"name": "Elm", "constituency_id": "1", "join_code": "oak3"},
     "The join code OAK3 is already used."),
    ("/services", {"name": "Elm", "constituency_id": "1", "join_code": "E1"},
     "A join code is 3 to 10 letters and numbers"),
    ("/services", {"name": "Elm", "constituency_id": "1", "join_code": "ELM_9"},
     "A join code is 3 to 10 letters and numbers"),
    ("/services", {"name": "Elm", "constituency_id": "99", "join_code": "ELM9"},
     "Choose the constituency"),
    ("/services", {"name": "", "constituency_id": "1", "join_code": "ELM9"},
     "Write the service"),
])
def test_a_bad_constituency_or_service_is_not_added(
    dashboard: Dashboard, action: str, form: dict[str, str], says: str
) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)

    response = dashboard.post(action, form)

    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert says in response.text.replace("&#39;", "'")
    assert len(dashboard.rows(Service)) == 1
    assert len(dashboard.rows(Constituency)) == 1


def test_the_import_page_explains_the_columns(dashboard: Dashboard) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)

    page = dashboard.client.get("/people/import")

    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert '<label for="people-file">' in page.text
    for column in ("name", "phone", "service", "role"):
        assert f'<th scope="row">{column}</th>' in page.text
    assert "07700 900123" in page.text


def test_an_import_is_checked_first_then_adds_exactly_the_good_rows(dashboard: Dashboard
                                                                    ) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)

    preview = dashboard.upload(GOOD_AND_BAD)

    assert preview.status_code == 200
    html = preview.text
    assert "2 rows will be added. 1 row has a problem and will be left out." in html
    assert re.search(r'<th scope="row">3</th><td>Ben Smith</td>.*?Left out:</span> '
                     r"“12345” is not a phone number we can read", html, re.S)
    assert re.search(r'<th scope="row">2</th><td>Ann Jones</td>.*?Will add', html, re.S)
    assert re.search(r'<th scope="row">4</th><td>Cat Lee</td>.*?Will add', html, re.S)
    assert set(dashboard.people()) == {"Dee Known"}, "nothing is stored before confirming"

    confirmed = dashboard.post("/people/import/confirm", {"rows": sealed_field(html)})

    assert confirmed.status_code == 200
    assert "2 people were added. 1 row was left out." in confirmed.text
    assert dashboard.people() == {
        "Dee Known": ("tel:+447700900999", "service_user", "OAK3"),
        "Ann Jones": ("tel:+447700900123", "service_user", "OAK3"),
        "Cat Lee": ("tel:+447700900456", "mp", "OAK3"),
    }
    [audited] = dashboard.audit("people.imported")
    assert audited.detail["count"] == 2
    assert audited.detail["left_out"] == 1
    assert audited.actor.startswith("staff_user:")


def test_the_preview_names_every_kind_of_problem(dashboard: Dashboard) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)
    data = (b"name,phone,service,role\n"
            b"Ann,07700 900123,OAK3,\n"
            b"Ann twice,+447700900123,OAK3,\n"
            b"Dee again,07700 900999,OAK3,\n"
            b"Gus,07700 900555,PINE2,\n"
            b"Hal,07700 900556,OAK3,boss\n"
            b",07700 900557,OAK3,\n")

    html = dashboard.upload(data).text.replace("&#39;", "'")

    for line, says in ((3, "is also on line 2"), (4, "already in Voicebank"),
                       (5, "No service has the join code “PINE2”"), (6, "“boss” is not a role"),
                       (7, "There is no name.")):
        assert re.search(rf'<th scope="row">{line}</th>.*?Left out:</span> [^<]*{says}',
                         html, re.S), says
    assert "1 row will be added. 5 rows have a problem" in html


def test_confirming_checks_every_row_again(dashboard: Dashboard) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)
    sealed = sealed_field(dashboard.upload(GOOD_AND_BAD).text)
    with transaction(dashboard.database) as session:
        people.add_person(session=session, urns=["tel:+447700900456"], now=NOW, name="Cat")

    first = dashboard.post("/people/import/confirm", {"rows": sealed})
    again = dashboard.post("/people/import/confirm", {"rows": sealed})

    assert "1 person was added. 2 rows were left out." in first.text
    assert "Line 4 (Cat Lee): The number +44 7700 900456 is already in Voicebank." in first.text
    assert "0 people were added. 3 rows were left out." in again.text
    assert set(dashboard.people()) == {"Dee Known", "Cat", "Ann Jones"}
    assert [entry.detail["count"] for entry in dashboard.audit("people.imported")] == [1]


def test_a_changed_or_forged_list_is_refused(dashboard: Dashboard) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)
    csrf = dashboard.csrf()
    sealed = sealed_field(dashboard.upload(GOOD_AND_BAD).text)
    rows, left_out = open_sealed(sealed, key=csrf) or ([], 0)
    rows.append({"line": "9", "name": "Mallory", "phone": "07700 900666", "service": "OAK3",
                 "role": "admin"})
    body, _, signature = sealed.rpartition(".")
    changed = seal_rows(rows, left_out=left_out, key="a guess").rpartition(".")[0]

    for forged in (f"{changed}.{signature}", seal_rows(rows, left_out=0, key="a guess"),
                   f"{body}x.{signature}", body, "", "not even close"):
        response = dashboard.client.post("/people/import/confirm",
                                         data={"csrf": csrf, "rows": forged})
        assert response.status_code == 400
        assert "changed after it was checked, so nobody was added" in response.text
    assert set(dashboard.people()) == {"Dee Known"}
    assert dashboard.audit("people.imported") == []


def test_a_list_checked_in_another_session_is_refused(dashboard: Dashboard) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)
    sealed = sealed_field(dashboard.upload(GOOD_AND_BAD).text)
    dashboard.post("/sign-out")
    dashboard.sign_in(StaffRole.ADMIN)

    response = dashboard.post("/people/import/confirm", {"rows": sealed})

    assert response.status_code == 400
    assert set(dashboard.people()) == {"Dee Known"}


@pytest.mark.parametrize(("name", "data", "says"), [
    ("", b"", "Choose a CSV file to upload."),
    ("people.csv", b"", "The file is empty."),
    ("people.csv", b"\n\n", "The file is empty."),
    ("people.csv", "name,phone,service\nSiân,07700 900123,OAK3\n".encode("cp1252"),
     "not a CSV file saved as UTF-8 text"),
    ("people.xlsx", b"PK\x03\x04\x00\x00", "This is a spreadsheet file, not a CSV file."),
    ("people.csv", b"PK\x03\x04\x00\x00", "The file is not a CSV file."),
    ("people.csv", b"who,where\nAnn,OAK3\n", "no name or phone or service column"),
    ("people.csv", b"name,phone,service\n" + b"x" * (1024 * 1024), "bigger than 1 MB"),
])
def test_a_file_that_cannot_be_read_gets_a_kind_error(
    dashboard: Dashboard, name: str, data: bytes, says: str
) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)

    response = dashboard.upload(data, name=name)

    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert says in response.text
    assert 'action="/people/import/confirm"' not in response.text
    assert set(dashboard.people()) == {"Dee Known"}


def test_a_file_of_nothing_but_problems_offers_no_confirm_button(dashboard: Dashboard) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)

    html = dashboard.upload(b"name,phone,service\nDee,07700 900999,OAK3\n").text

    assert "Nobody can be added from this file." in html
    assert 'action="/people/import/confirm"' not in html

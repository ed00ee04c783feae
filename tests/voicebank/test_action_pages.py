"""The dashboard's ideas, actions, map and plan, and surgeries, through the whole app: who
may see and do what, turning ideas into an action, signing it off, booking surgeries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.clock import ManualClock
from storage import people
from storage.database import transaction
from storage.suggestions import record_suggestion
from storage.tables import (
    Action,
    ActionStatus,
    ActionSuggestion,
    AuditEntry,
    MpTerm,
    OutboxMessage,
    Role,
    StaffRole,
    Surgery,
    SurgeryStatus,
)
from tests.voicebank.dashboard_harness import PASSWORD
from tests.voicebank.dashboard_harness import Dashboard as BaseDashboard
from voicebank import accounts

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday; London is on UTC in winter
LAST_YEAR = NOW - timedelta(days=365)


class Dashboard(BaseDashboard):
    def told(self, name: str) -> list[str]:
        return [m.text for m in self.rows(OutboxMessage,
                                          OutboxMessage.person_id == self.ids[name])]


@pytest.fixture
def dashboard(database: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[Dashboard]:
    """Riverside (Willow House: Ann and Bob; The Boathouse: Max, its MP) and Hillview
    (Oak Lodge: Hal, its MP); staff Sam and Tia. Ann and Bob sent ideas, Cath a concern.
    Accounts: lead (admin), sam and tia (staff), max and hal (MPs), linked to people."""
    ids: dict[str, int] = {}
    with transaction(database) as session:
        river = people.add_constituency(session=session, name="Riverside")
        hill = people.add_constituency(session=session, name="Hillview")
        homes = {
            "willow": people.add_service(session=session, name="Willow House",
                                         constituency_id=river.id or 0, join_code="WILLOW1"),
            "boat": people.add_service(session=session, name="The Boathouse",
                                       constituency_id=river.id or 0, join_code="BOAT2"),
            "oak": people.add_service(session=session, name="Oak Lodge",
                                      constituency_id=hill.id or 0, join_code="OAK3"),
        }
        for n, (name, home, roles) in enumerate([
            ("Ann", "willow", [Role.SERVICE_USER]), ("Bob", "willow", [Role.SERVICE_USER]),
            ("Cath", "willow", [Role.SERVICE_USER]), ("Sam", "willow", [Role.STAFF]),
            ("Tia", "boat", [Role.STAFF]), ("Max", "boat", [Role.SERVICE_USER, Role.MP]),
            ("Hal", "oak", [Role.SERVICE_USER, Role.MP]),
        ]):
            person = people.add_person(session=session, urns=[f"tel:+44770090050{n}"],
                                       now=LAST_YEAR, name=name, roles=roles,
                                       service_id=homes[home].id)
            ids[name] = person.id or 0
        for name, place in (("Max", river), ("Hal", hill)):
            session.add(MpTerm(person_id=ids[name], constituency_id=place.id or 0,
                               starts_at=LAST_YEAR, ends_at=NOW + timedelta(days=200)))
        for name, text in (("Ann", "More trips to the seaside please"),
                           ("Bob", "Trips out at the weekend"),
                           ("Cath", "Someone at night shouts and hurts me")):
            idea = record_suggestion(session=session, text=text, topic="trips",
                                     now=NOW - timedelta(days=2), person_id=ids[name],
                                     service_id=homes["willow"].id)
            idea.concern = name == "Cath"
            ids[f"idea:{name}"] = idea.id or 0
        for who, role, linked in (("lead", StaffRole.ADMIN, ""), ("sam", StaffRole.STAFF, "Sam"),
                                  ("tia", StaffRole.STAFF, "Tia"), ("max", StaffRole.MP, "Max"),
                                  ("hal", StaffRole.MP, "Hal")):
            user = accounts.add_user(session=session, email=f"{who}@example.org",
                                     name=who.title(), role=role, password=PASSWORD,
                                     now=LAST_YEAR, actor="test",
                                     person_id=ids[linked] if linked else None)
            ids[f"user:{who}"] = user.id or 0
    with Dashboard.opened(database, ManualClock(NOW), monkeypatch, tmp_path,
                          ids=ids) as dashboard:
        yield dashboard


def make_action(dashboard: Dashboard, owner: str = "Tia") -> int:
    """An action from Ann's and Bob's ideas, made from the ideas page by Sam."""
    dashboard.sign_in("sam")
    made = dashboard.post("/ideas/triage", {
        "idea": [dashboard.ids["idea:Ann"], dashboard.ids["idea:Bob"]],
        "what": "Book a minibus for a seaside trip", "owner": dashboard.ids[owner],
        "due": "2026-12-12", "standard": "3.2"})
    assert made.status_code == 303, made.text
    return int(made.headers["location"].rsplit("=", 1)[1])


def book_surgery(dashboard: Dashboard, mp: str = "Max", code: str = "WILLOW1") -> int:
    with transaction(dashboard.database) as session:
        surgery = Surgery(mp_id=dashboard.ids[mp], service_id=people.service_by_join_code(
            session=session, code=code).id or 0,  # type: ignore[union-attr]
            starts_at=NOW + timedelta(days=3), ends_at=NOW + timedelta(days=3, hours=2),
            place="the lounge", created_at=NOW)
        session.add(surgery)
        session.flush()
        return surgery.id or 0


def test_someone_not_signed_in_is_sent_to_sign_in(dashboard: Dashboard) -> None:
    for response in (dashboard.client.get("/ideas"), dashboard.client.get("/actions"),
                     dashboard.client.get("/plan"), dashboard.client.get("/surgeries"),
                     dashboard.client.post("/ideas/triage", data={"csrf": "x"}),
                     dashboard.client.post("/actions/1/done", data={"csrf": "x"}),
                     dashboard.client.post("/surgeries/new", data={"csrf": "x"}),
                     dashboard.client.post("/surgeries/1/cancel", data={"csrf": "x"})):
        assert response.status_code == 303
        assert response.headers["location"].startswith("/sign-in?next=/")


def test_an_mp_sees_only_their_own_surgeries_and_no_ideas_or_actions(
    dashboard: Dashboard,
) -> None:
    action_id = make_action(dashboard)
    max_surgery, hal_surgery = book_surgery(dashboard), book_surgery(dashboard, "Hal", "OAK3")
    dashboard.sign_in("max")

    for path in ("/ideas", "/actions", "/plan"):
        assert dashboard.client.get(path).status_code == 403
    assert dashboard.post("/ideas/triage", {"idea": dashboard.ids["idea:Ann"]}
                          ).status_code == 403
    assert dashboard.post(f"/actions/{action_id}/done").status_code == 403
    assert dashboard.post(f"/surgeries/{max_surgery}/cancel").status_code == 403
    listed = dashboard.client.get("/surgeries").text
    assert f'href="/surgeries/{max_surgery}"' in listed
    assert f'href="/surgeries/{hal_surgery}"' not in listed
    assert "Oak Lodge" not in listed
    assert "Book a surgery" not in listed
    assert dashboard.client.get(f"/surgeries/{max_surgery}").status_code == 200
    hidden = dashboard.client.get(f"/surgeries/{hal_surgery}")
    assert hidden.status_code == 404
    assert "Oak Lodge" not in hidden.text
    assert dashboard.rows(Action, Action.status == ActionStatus.DONE) == []


def test_the_ideas_page_shows_the_newest_first_and_hides_a_concerns_words(
    dashboard: Dashboard,
) -> None:
    dashboard.sign_in("sam")

    page = dashboard.client.get("/ideas")

    assert page.status_code == 200
    html = page.text
    assert "(safeguarding concern)" in html
    assert "shouts and hurts" not in html
    assert html.index("(safeguarding concern)") < html.index("Trips out at the weekend") \
        < html.index("More trips to the seaside")
    assert f'name="idea" value="{dashboard.ids["idea:Ann"]}"' in html
    owners = html.split('id="owner"', 1)[1].split("</select>", 1)[0]
    assert ">Sam<" in owners
    assert ">Tia<" in owners
    assert ">Ann<" not in owners


def test_every_change_needs_the_forms_csrf_token(dashboard: Dashboard) -> None:
    action_id = make_action(dashboard)
    surgery_id = book_surgery(dashboard)
    dashboard.sign_in("lead")
    triage = {"idea": dashboard.ids["idea:Cath"], "what": "Talk to the night staff",
              "owner": dashboard.ids["Sam"], "due": "2026-12-01"}
    booking = {"mp": dashboard.ids["Max"], "service": "BOAT2", "starts": "2026-12-01T10:00"}

    for token in ({}, {"csrf": "forged"}):
        for path, data in (("/ideas/triage", triage), (f"/actions/{action_id}/done", {}),
                           ("/surgeries/new", booking), (f"/surgeries/{surgery_id}/cancel", {})):
            assert dashboard.client.post(path, data=data | token).status_code == 403, path

    assert [a.status for a in dashboard.rows(Action)] == [ActionStatus.OPEN]
    assert [s.status for s in dashboard.rows(Surgery)] == [SurgeryStatus.SCHEDULED]


def test_two_ideas_become_an_action_and_its_owner_is_told(dashboard: Dashboard) -> None:
    action_id = make_action(dashboard)

    action = dashboard.rows(Action)[0]
    assert (action.id, action.owner_id, action.due_on, action.standard) == (
        action_id, dashboard.ids["Tia"], date(2026, 12, 12), "3.2")
    assert action.created_by == f"staff_user:{dashboard.ids['user:sam']}"
    assert sorted(link.suggestion_id for link in dashboard.rows(ActionSuggestion)) == sorted(
        [dashboard.ids["idea:Ann"], dashboard.ids["idea:Bob"]])
    assert any(text.startswith(f"New action {action_id} for you")
               for text in dashboard.told("Tia"))
    page = dashboard.client.get(f"/actions?made={action_id}&show=all").text
    assert f"Action {action_id} is made. Tia has been sent a message about it." in page
    assert "Book a minibus for a seaside trip" in page
    assert "Only Tia or an admin can sign it off." in page
    plan = dashboard.client.get("/plan")
    assert plan.status_code == 200
    assert "map and plan" in plan.text
    assert "Book a minibus for a seaside trip" in plan.text
    assert plan.text.count("<main") == 1


def test_a_bad_action_form_is_shown_again_with_what_to_put_right(dashboard: Dashboard) -> None:
    dashboard.sign_in("sam")
    form = {"idea": [dashboard.ids["idea:Ann"]], "what": "Book a minibus",
            "owner": dashboard.ids["Tia"], "due": "2026-12-12"}

    past = dashboard.post("/ideas/triage", form | {"due": "2026-11-01"})
    not_staff = dashboard.post("/ideas/triage", form | {"owner": dashboard.ids["Ann"]})
    standard = dashboard.post("/ideas/triage", form | {"standard": "three"})
    nothing = dashboard.post("/ideas/triage", form | {"idea": []})

    assert past.status_code == 422
    assert "Sunday 1 November 2026 has passed" in past.text
    assert 'role="alert"' in past.text
    assert f'value="{dashboard.ids["idea:Ann"]}" checked' in past.text
    assert "Book a minibus</textarea>" in past.text
    assert "Ann is not staff" in not_staff.text
    assert "is not a participation standard" in standard.text
    assert "Link the action to an idea or to a participation standard." in nothing.text
    assert dashboard.rows(Action) == []
    assert dashboard.told("Tia") == []


def test_the_owner_signs_off_and_the_ideas_authors_hear_you_said_we_did(
    dashboard: Dashboard,
) -> None:
    action_id = make_action(dashboard)
    dashboard.sign_in("sam")
    refused = dashboard.post(f"/actions/{action_id}/done", {"note": "not mine"})
    assert refused.status_code == 403
    assert dashboard.rows(Action)[0].status == ActionStatus.OPEN
    assert not any(text.startswith("You said") for text in dashboard.told("Ann"))

    dashboard.sign_in("tia")
    mine = dashboard.client.get("/actions").text
    assert f"Sign off action {action_id} as done" in mine
    done = dashboard.post(f"/actions/{action_id}/done", {"note": "We went on 5 December"})

    assert done.status_code == 303
    assert done.headers["location"] == f"/actions?done={action_id}&told=2"
    assert "Told 2 people “you said, we did”." in dashboard.client.get(
        done.headers["location"]).text
    action = dashboard.rows(Action)[0]
    assert (action.status, action.done_by, action.done_note) == (
        ActionStatus.DONE, dashboard.ids["Tia"], "We went on 5 December")
    for name in ("Ann", "Bob"):
        assert any(text.startswith('You said: "') for text in dashboard.told(name)), name
    audit = dashboard.rows(AuditEntry, AuditEntry.action == "action.done")
    assert [a.actor for a in audit] == [f"staff_user:{dashboard.ids['user:tia']}"]
    again = dashboard.post(f"/actions/{action_id}/done")
    assert again.status_code == 422
    assert f"Action {action_id} was already signed off." in again.text


def test_an_admin_may_sign_off_anyones_action(dashboard: Dashboard) -> None:
    action_id = make_action(dashboard)
    dashboard.sign_in("lead")

    done = dashboard.post(f"/actions/{action_id}/done")

    assert done.status_code == 303
    action = dashboard.rows(Action)[0]
    assert (action.status, action.done_by) == (ActionStatus.DONE, dashboard.ids["Tia"])


def test_an_admin_books_and_cancels_a_surgery(dashboard: Dashboard) -> None:
    dashboard.sign_in("sam")
    assert dashboard.client.get("/surgeries").status_code == 200
    assert dashboard.post("/surgeries/new", {
        "mp": dashboard.ids["Max"], "service": "BOAT2", "starts": "2026-12-01T10:00"}
    ).status_code == 403
    dashboard.sign_in("lead")

    wrong_place = dashboard.post("/surgeries/new", {
        "mp": dashboard.ids["Hal"], "service": "WILLOW1", "starts": "2026-12-01T10:00"})
    booked = dashboard.post("/surgeries/new", {
        "mp": dashboard.ids["Max"], "service": "WILLOW1", "starts": "2026-12-01T10:00",
        "place": "the lounge"})

    assert wrong_place.status_code == 422
    assert "Hal is not an MP for the constituency of Willow House." in wrong_place.text
    assert booked.status_code == 303
    surgery = dashboard.rows(Surgery)[0]
    assert (surgery.mp_id, surgery.starts_at, surgery.ends_at, surgery.place) == (
        dashboard.ids["Max"], datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        datetime(2026, 12, 1, 12, 0, tzinfo=UTC), "the lounge")
    page = dashboard.client.get(booked.headers["location"]).text
    assert f"Surgery {surgery.id} is booked" in page
    coming = page.split("<h2>Coming up</h2>", 1)[1].split("<h2>", 1)[0]
    assert "01 Dec 2026 10:00" in coming
    assert f"Cancel surgery {surgery.id}" in coming
    assert [a.actor for a in dashboard.rows(AuditEntry, AuditEntry.action == "surgery.scheduled")
            ] == [f"staff_user:{dashboard.ids['user:lead']}"]

    cancelled = dashboard.post(f"/surgeries/{surgery.id}/cancel")

    assert cancelled.status_code == 303
    assert dashboard.rows(Surgery)[0].status == SurgeryStatus.CANCELLED
    past = dashboard.client.get("/surgeries").text.split("<h2>Past and cancelled</h2>", 1)[1]
    assert "cancelled" in past
    again = dashboard.post(f"/surgeries/{surgery.id}/cancel")
    assert again.status_code == 422
    assert "Only a surgery that has not started can be cancelled." in again.text
    assert dashboard.post("/surgeries/999/cancel").status_code == 404

"""The dashboard's elections and polls, through the whole app: who may see and do what, and
an election and a poll from nominations to the announced result."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.elections import service
from storage import people
from storage.database import transaction
from storage.tables import (
    AuditEntry,
    Ballot,
    Candidate,
    CandidateStatus,
    Election,
    ElectionStatus,
    MpTerm,
    OutboxMessage,
    Person,
    Role,
    StaffRole,
    StaffUser,
)
from tests.voicebank.dashboard_harness import PASSWORD
from tests.voicebank.dashboard_harness import Dashboard as BaseDashboard
from voicebank import accounts

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 10:00 in London too: winter
LAST_YEAR = NOW - timedelta(days=365)


class Dashboard(BaseDashboard):
    def election(self, election_id: int) -> Election:
        return self.row(Election, election_id)


@pytest.fixture
def dashboard(database: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[Dashboard]:
    """Riverside (Willow House: Ann, Bob; The Boathouse: Cath, Dev and Max, its MP) and
    Hillview (Oak Lodge: Hal, its MP). Accounts: lead (admin), sam (staff), max and hal
    (MPs, linked to their people)."""
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
            ("Cath", "boat", [Role.SERVICE_USER]), ("Dev", "boat", [Role.SERVICE_USER]),
            ("Max", "boat", [Role.SERVICE_USER, Role.MP]),
            ("Hal", "oak", [Role.SERVICE_USER, Role.MP]),
        ]):
            person = people.add_person(session=session, urns=[f"tel:+44770090040{n}"],
                                       now=LAST_YEAR, name=name, roles=roles,
                                       service_id=homes[home].id)
            ids[name] = person.id or 0
        for name, place in (("Max", river), ("Hal", hill)):
            session.add(MpTerm(person_id=ids[name], constituency_id=place.id or 0,
                               starts_at=LAST_YEAR, ends_at=NOW + timedelta(days=200)))
        for who, role, person_id in (("lead", StaffRole.ADMIN, None),
                                     ("sam", StaffRole.STAFF, None),
                                     ("max", StaffRole.MP, ids["Max"]),
                                     ("hal", StaffRole.MP, ids["Hal"])):
            accounts.add_user(session=session, email=f"{who}@example.org", name=who.title(),
                              role=role, password=PASSWORD, now=LAST_YEAR, actor="test",
                              person_id=person_id)
    with Dashboard.opened(database, ManualClock(NOW), monkeypatch, tmp_path,
                          ids=ids) as dashboard:
        yield dashboard


def make_election(dashboard: Dashboard, constituency: str = "Riverside") -> int:
    with transaction(dashboard.database) as session:
        election = service.create_election(session=session, constituency=constituency,
                                           seats=1, term_months=12, now=NOW)
        return election.id or 0


def make_poll(dashboard: Dashboard, kind: str = "role", value: str = Role.MP) -> int:
    with transaction(dashboard.database) as session:
        poll = service.create_poll(
            session=session, title="Name the new house", question="What shall we call it?",
            options=[service.PollOption("Oak House", "🌳"), service.PollOption("River View")],
            electorate_kind=kind, electorate_value=value, now=NOW)
        return poll.id or 0


def nominate(dashboard: Dashboard, election_id: int, *names: str) -> dict[str, int]:
    with transaction(dashboard.database) as session:
        return {name: service.nominate(
            session=session, election_id=election_id,
            person=session.get_one(Person, dashboard.ids[name]),
            change=f"{name} wants more trips out", why=f"{name} listens", now=NOW).id or 0
            for name in names}


def vote(dashboard: Dashboard, election_id: int, votes: dict[str, int]) -> list[str]:
    receipts = []
    with transaction(dashboard.database) as session:
        for name, candidate_id in votes.items():
            cast = service.cast_vote(session=session, election_id=election_id,
                                     person_id=dashboard.ids[name], candidate_id=candidate_id)
            assert cast.receipt is not None, cast.why
            receipts.append(cast.receipt)
    return receipts


def test_someone_not_signed_in_is_sent_to_sign_in(dashboard: Dashboard) -> None:
    election_id = make_election(dashboard)

    for response in (dashboard.client.get("/elections"),
                     dashboard.client.get(f"/elections/{election_id}"),
                     dashboard.client.post("/elections/new", data={"csrf": "x"}),
                     dashboard.client.post(f"/elections/{election_id}/nominations",
                                           data={"csrf": "x"})):
        assert response.status_code == 303
        assert response.headers["location"].startswith("/sign-in?next=/elections")
    assert dashboard.election(election_id).status == ElectionStatus.DRAFT


def test_staff_can_read_elections_but_not_change_them(dashboard: Dashboard) -> None:
    election_id = make_election(dashboard)
    dashboard.sign_in("sam")

    listed = dashboard.client.get("/elections")
    shown = dashboard.client.get(f"/elections/{election_id}")
    moved = dashboard.post(f"/elections/{election_id}/nominations")
    made = dashboard.post("/elections/new", {"kind": "election", "constituency": "Hillview",
                                             "seats": "1", "term_months": "12"})

    assert listed.status_code == 200
    assert "Service user MP for Riverside" in listed.text
    assert shown.status_code == 200
    assert "Open nominations now" not in shown.text
    assert "New election" not in listed.text
    assert (moved.status_code, made.status_code) == (403, 403)
    assert dashboard.election(election_id).status == ElectionStatus.DRAFT
    assert len(dashboard.rows(Election)) == 1


def test_an_mp_sees_only_their_constituency_and_the_mps_polls(dashboard: Dashboard) -> None:
    riverside = make_election(dashboard)
    hillview = make_election(dashboard, "Hillview")
    for_mps = make_poll(dashboard)
    for_everyone = make_poll(dashboard, "everyone", "")
    dashboard.sign_in("max")

    listed = dashboard.client.get("/elections").text

    assert f'href="/elections/{riverside}"' in listed
    assert f'href="/elections/{for_mps}"' in listed
    assert "Service user MP for Hillview" not in listed
    assert f'href="/elections/{for_everyone}"' not in listed
    assert dashboard.client.get(f"/elections/{riverside}").status_code == 200
    assert dashboard.client.get(f"/elections/{for_mps}").status_code == 200
    for hidden in (hillview, for_everyone, 999):
        page = dashboard.client.get(f"/elections/{hidden}")
        assert page.status_code == 404
        assert "Hillview" not in page.text
    assert dashboard.post(f"/elections/{hillview}/nominations").status_code == 403


def test_every_change_needs_the_forms_csrf_token(dashboard: Dashboard) -> None:
    election_id = make_election(dashboard)
    dashboard.sign_in("lead")
    form = {"kind": "election", "constituency": "Hillview", "seats": "1", "term_months": "12"}

    for token in ({}, {"csrf": "forged"}):
        assert dashboard.client.post("/elections/new", data=form | token).status_code == 403
        for step in ("nominations", "open", "close", "count", "announce"):
            assert dashboard.client.post(f"/elections/{election_id}/{step}",
                                         data=token).status_code == 403, step
    assert dashboard.election(election_id).status == ElectionStatus.DRAFT
    dashboard.post(f"/elections/{election_id}/nominations")
    candidate = nominate(dashboard, election_id, "Ann")["Ann"]
    for decision in ("approve", "decline"):
        refused = dashboard.client.post(
            f"/elections/{election_id}/candidates/{candidate}/{decision}",
            data={"csrf": "forged"})
        assert refused.status_code == 403

    assert len(dashboard.rows(Election)) == 1
    assert dashboard.rows(Candidate)[0].status == CandidateStatus.NOMINATED


def test_an_election_from_nominations_to_the_announced_result(dashboard: Dashboard) -> None:
    dashboard.sign_in("lead")

    made = dashboard.post("/elections/new", {
        "kind": "election", "constituency": "Riverside", "seats": "1", "term_months": "12",
        "closes": "2026-12-08T17:00", "remind": "2 days"})
    assert made.status_code == 303
    election_id = int(made.headers["location"].rsplit("/", 1)[1])
    created = dashboard.election(election_id)
    assert created.voting_closes_at == datetime(2026, 12, 8, 17, 0, tzinfo=UTC)
    assert created.reminders == [2 * 86400]
    assert [a.actor for a in dashboard.rows(AuditEntry, AuditEntry.action == "election.created")
            ] == [f"staff_user:{accounts_id(dashboard, 'lead')}"]

    nominations = dashboard.post(f"/elections/{election_id}/nominations")
    assert nominations.headers["location"] == f"/elections/{election_id}?done=nominations&count=0"
    standing = nominate(dashboard, election_id, "Ann", "Bob", "Cath")
    page = dashboard.client.get(f"/elections/{election_id}").text
    assert "Ann wants more trips out" in page
    assert "Cath listens" in page
    for name, decision in (("Ann", "approve"), ("Cath", "approve"), ("Bob", "decline")):
        response = dashboard.post(
            f"/elections/{election_id}/candidates/{standing[name]}/{decision}")
        assert response.status_code == 303
    statuses = {c.name: c.status for c in dashboard.rows(Candidate)}
    assert statuses == {"Ann": "approved", "Bob": "declined", "Cath": "approved"}
    told = [m.text for m in dashboard.rows(OutboxMessage,
                                           OutboxMessage.person_id == dashboard.ids["Ann"])]
    assert any(text.startswith("Good news!") for text in told)

    too_soon = dashboard.post(f"/elections/{election_id}/count")
    assert too_soon.status_code == 422
    assert 'role="alert"' in too_soon.text
    assert "Count after voting has closed" in too_soon.text

    opened = dashboard.post(f"/elections/{election_id}/open")
    assert opened.headers["location"] == f"/elections/{election_id}?done=open&count=5"
    notice = dashboard.client.get(opened.headers["location"]).text
    assert "Voting is open: 5 people on the roll" in notice
    receipts = vote(dashboard, election_id, {"Ann": standing["Ann"], "Dev": standing["Ann"],
                                             "Bob": standing["Cath"], "Cath": standing["Cath"]})
    during = dashboard.client.get(f"/elections/{election_id}").text
    willow = during.split("<th scope=\"row\">Willow House</th>", 1)[1].split("</tr>", 1)[0]
    boat = during.split("<th scope=\"row\">The Boathouse</th>", 1)[1].split("</tr>", 1)[0]
    assert "<td>2</td><td>2</td><td>2 of 2 (100%)</td>" in willow
    assert "<td>3</td><td>2</td><td>2 of 3 (67%)</td>" in boat
    assert "4 of 5 (80%) voted" in during

    assert dashboard.post(f"/elections/{election_id}/close").status_code == 303
    counted = dashboard.post(f"/elections/{election_id}/count", {"seed": "board-2026"})
    assert counted.status_code == 303
    result = dashboard.client.get(f"/elections/{election_id}").text
    assert dashboard.election(election_id).seed == "board-2026"
    assert 'src="data:image/png;base64,iVBORw0KGgo' in result
    alt = re.search(r'<img src="data:image/png;base64,[^"]+" alt="([^"]+)"', result)
    assert alt is not None
    assert alt.group(1).startswith("Bar chart: Service user MP for Riverside. ")
    assert "elected by drawing lots" in alt.group(1)
    assert "Ties were settled by drawing lots with seed <code>board-2026</code>" in result
    assert "4 ballots were counted" in result
    for code in receipts:
        assert f"<li><code>{code}</code></li>" in result
    assert "Announce the result" in result

    announced = dashboard.post(f"/elections/{election_id}/announce")
    assert announced.status_code == 303
    assert "The result is announced: 5 people told." in dashboard.client.get(
        announced.headers["location"]).text
    assert dashboard.election(election_id).status == ElectionStatus.ANNOUNCED
    winners = [t.person_id for t in dashboard.rows(MpTerm, MpTerm.election_id == election_id)]
    assert len(winners) == 1
    assert winners[0] in {dashboard.ids["Ann"], dashboard.ids["Cath"]}
    again = dashboard.post(f"/elections/{election_id}/open")
    assert again.status_code == 422
    assert "phases only move forward" in again.text


def accounts_id(dashboard: Dashboard, who: str) -> int:
    with transaction(dashboard.database) as session:
        user = session.exec(select(StaffUser).where(
            StaffUser.email == f"{who}@example.org")).one()
        return user.id or 0


def test_a_poll_among_the_mps(dashboard: Dashboard) -> None:
    dashboard.sign_in("lead")

    made = dashboard.post("/elections/new", {
        "kind": "poll", "title": "Name the new house", "question": "What shall we call it?",
        "options": "🌳 Oak House\r\n🌊 River View\r\n", "electorate": "role:mp"})
    assert made.status_code == 303
    poll_id = int(made.headers["location"].rsplit("/", 1)[1])
    options = {c.name: c for c in dashboard.rows(Candidate)}
    assert {name: c.emoji for name, c in options.items()} == {"Oak House": "🌳",
                                                               "River View": "🌊"}
    assert dashboard.rows(AuditEntry, AuditEntry.action == "poll.created")
    page = dashboard.client.get(f"/elections/{poll_id}").text
    assert "🌳 Oak House" in page
    assert "Open nominations now" not in page

    assert dashboard.post(f"/elections/{poll_id}/open").headers["location"].endswith("count=2")
    vote(dashboard, poll_id, {"Max": options["Oak House"].id or 0,
                              "Hal": options["Oak House"].id or 0})
    dashboard.post(f"/elections/{poll_id}/close")
    dashboard.post(f"/elections/{poll_id}/count", {"seed": "poll-seed"})
    dashboard.sign_in("hal")
    result = dashboard.client.get(f"/elections/{poll_id}").text

    assert "Bar chart: Name the new house. Oak House 2 votes (100%), elected; River View " \
           "0 votes (0%), not elected. 2 votes cast." in result
    assert "Announce the result" not in result
    assert len(dashboard.rows(Ballot)) == 2


def test_a_bad_form_is_shown_again_with_what_to_put_right(dashboard: Dashboard) -> None:
    dashboard.sign_in("lead")

    past = dashboard.post("/elections/new", {
        "kind": "election", "constituency": "Riverside", "seats": "1", "term_months": "12",
        "title": "Spring election", "opens": "2020-01-01T09:00"})
    few = dashboard.post("/elections/new", {
        "kind": "poll", "title": "Only one", "question": "Yes?", "options": "🌳 Oak House",
        "electorate": "role:mp"})
    seats = dashboard.post("/elections/new", {
        "kind": "election", "constituency": "Riverside", "seats": "two", "term_months": "12"})
    nobody = dashboard.post("/elections/new", {
        "kind": "poll", "title": "Who?", "question": "Yes?", "options": "A\nB",
        "electorate": "role:king"})

    assert past.status_code == 422
    assert "When voting opens: that time has passed" in past.text
    assert 'value="Spring election"' in past.text
    assert few.status_code == 422
    assert "A poll needs at least two options." in few.text
    assert "🌳 Oak House</textarea>" in few.text
    assert "whole numbers" in seats.text
    assert "Choose who votes in the poll." in nobody.text
    assert dashboard.rows(Election) == []
    assert dashboard.rows(AuditEntry, col(AuditEntry.action).in_(
        ["election.created", "poll.created"])) == []

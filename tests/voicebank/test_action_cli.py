"""``voicebank action …`` and ``voicebank surgery …`` as staff use them, on a SQLite file:
ideas into actions, the owner told, the refusals, overdue actions, signing off with
"you said, we did", and booking, listing and cancelling an MP's surgery."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from bot.actions.schedule import send_surgery_messages
from bot.actions.service import create_action
from storage import people
from storage.database import create_database_engine, transaction
from storage.migrate import upgrade_database
from storage.suggestions import record_suggestion
from storage.tables import (
    Action,
    ActionStatus,
    ActionSuggestion,
    OutboxMessage,
    Role,
    Suggestion,
    Surgery,
    SurgeryStatus,
)
from voicebank.action_cli import action_app, surgery_app
from voicebank.settings import ENV_PREFIX

runner = CliRunner()
LONDON = ZoneInfo("Europe/London")
LAST_MONTH = datetime.now(UTC) - timedelta(days=30)


def local_today() -> date:
    return datetime.now(LONDON).date()


def long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> typer.Typer:
    """The commands as ``voicebank action`` and ``voicebank surgery``, on a SQLite file."""
    for name in [n for n in os.environ if n.upper().startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOICEBANK_DATABASE_URL", f"sqlite:///{tmp_path / 'v.db'}")
    voicebank = typer.Typer()
    voicebank.add_typer(action_app, name="action")
    voicebank.add_typer(surgery_app, name="surgery")
    return voicebank


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Engine]:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'v.db'}")
    upgrade_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def ids(database: Engine) -> dict[str, int]:
    """Willow House: Ann and Bob (service users), Max (their MP), Helen and Raj (staff).
    Ideas: 1 Ann's, 2 Bob's sent anonymously, 3 Ann's with a safeguarding concern, and 4
    heard by Max at last month's surgery 1."""
    with transaction(database) as session:
        river = people.add_constituency(session=session, name="Riverside")
        willow = people.add_service(session=session, name="Willow House",
                                    constituency_id=river.id or 0, join_code="WILLOW1")
        found: dict[str, int] = {"willow": willow.id or 0}
        everyone = [("Ann", [Role.SERVICE_USER]), ("Bob", [Role.SERVICE_USER]),
                    ("Max", [Role.SERVICE_USER, Role.MP]), ("Helen Lewis", [Role.STAFF]),
                    ("Raj", [Role.STAFF])]
        for n, (name, roles) in enumerate(everyone):
            person = people.add_person(session=session, urns=[f"tel:+44770090040{n}"],
                                       now=LAST_MONTH, name=name, roles=roles,
                                       service_id=willow.id)
            found[name.split()[0]] = person.id or 0
        for person_id, text, topic in ((found["Ann"], "More trips to the seaside", "trips"),
                                       (found["Bob"], "A bus to the seaside please", "trips"),
                                       (found["Ann"], "Someone shouts at me at night", "")):
            record_suggestion(session=session, text=text, topic=topic, now=LAST_MONTH,
                              person_id=person_id, service_id=willow.id)
        second = session.get_one(Suggestion, 2)
        second.anonymous, second.person_id = True, None
        session.get_one(Suggestion, 3).concern = True
        surgery = Surgery(mp_id=found["Max"], service_id=willow.id or 0,
                          starts_at=LAST_MONTH, ends_at=LAST_MONTH + timedelta(hours=2),
                          status=SurgeryStatus.HELD, created_at=LAST_MONTH)
        session.add(surgery)
        session.flush()
        heard = record_suggestion(session=session, text="People want a garden", topic="",
                                  now=LAST_MONTH, person_id=None, service_id=willow.id)
        heard.source, heard.surgery_id = "surgery", surgery.id
    return found


def invoke(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def ok(app: typer.Typer, *args: str) -> str:
    code, out, err = invoke(app, *args)
    assert code == 0, err or out
    return out


def refused(app: typer.Typer, *args: str, code: int = 1) -> str:
    got, out, err = invoke(app, *args)
    assert got == code, out or err
    return err.strip()


def outbox_to(database: Engine, person_id: int) -> list[str]:
    with Session(database) as session:
        return list(session.exec(select(OutboxMessage.text)
                                 .where(OutboxMessage.person_id == person_id)
                                 .order_by(col(OutboxMessage.id))))


def add_seaside_action(app: typer.Typer, ids: dict[str, int], due: date) -> str:
    return ok(app, "action", "add", "--what", "Plan a trip to the seaside in the spring",
              "--owner", str(ids["Helen"]), "--due", due.isoformat(), "--idea", "1",
              "--idea", "2", "--standard", "3.2")


# Ideas and actions -------------------------------------------------------------------------


def test_ideas_shows_who_said_what_and_marks_a_concern(
    app: typer.Typer, ids: dict[str, int]
) -> None:
    lines = ok(app, "action", "ideas").splitlines()

    assert len(lines) == 4
    first, anonymous, concern, heard = lines
    assert first.split()[:2] == ["1", f"{LAST_MONTH.astimezone(LONDON):%Y-%m-%d}"]
    assert "Willow House" in first
    assert "trips" in first
    assert "Ann" in first
    assert "More trips to the seaside" in first
    assert "idea" in first
    assert "anonymous" in anonymous
    assert "Bob" not in anonymous
    assert "⚠️ Someone shouts at me at night" in concern
    assert "⚠️" not in first
    assert "surgery" in heard
    assert "heard by Max" in heard
    assert "People want a garden" in heard


def test_an_action_from_two_ideas_tells_its_owner_and_links_the_ideas(
    app: typer.Typer, database: Engine, ids: dict[str, int]
) -> None:
    due = local_today() + timedelta(days=30)

    out = add_seaside_action(app, ids, due)

    assert out.splitlines() == [
        f"Action 1: Plan a trip to the seaside in the spring. Owner: Helen Lewis. "
        f"Due: {long_date(due)}. From ideas 1, 2. Standard 3.2.",
        "Helen Lewis has been sent a message about it.",
    ]
    [told] = outbox_to(database, ids["Helen"])
    assert told.startswith("New action 1 for you")
    assert "Plan a trip to the seaside in the spring" in told
    with Session(database) as session:
        action = session.get_one(Action, 1)
        links = session.exec(select(ActionSuggestion.suggestion_id)
                             .order_by(col(ActionSuggestion.suggestion_id))).all()
    assert (action.owner_id, action.due_on, action.standard, action.created_by) == (
        ids["Helen"], due, "3.2", "staff:cli")
    assert list(links) == [1, 2]
    listed = ok(app, "action", "ideas").splitlines()
    assert listed[0].endswith("→ action 1")
    assert listed[1].endswith("→ action 1")
    fresh = ok(app, "action", "ideas", "--new").splitlines()
    assert [line.split()[0] for line in fresh] == ["3", "4"]


def test_an_action_today_is_fine_but_the_rules_and_bad_options_are_refused(
    app: typer.Typer, database: Engine, ids: dict[str, int]
) -> None:
    later = (local_today() + timedelta(days=7)).isoformat()

    assert "Ann is not staff" in refused(
        app, "action", "add", "--what", "Trips", "--owner", str(ids["Ann"]), "--due", later,
        "--idea", "1")
    assert refused(app, "action", "add", "--what", "Trips", "--owner", str(ids["Helen"]),
                   "--due", later, "--idea", "1", "--idea", "99") == "There is no idea 99."
    assert refused(app, "action", "add", "--what", "Trips", "--owner", "999", "--due", later,
                   "--idea", "1") == "There is no person 999."
    assert "Link the action to an idea" in refused(
        app, "action", "add", "--what", "Trips", "--owner", str(ids["Helen"]), "--due", later)
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    assert "has passed" in refused(
        app, "action", "add", "--what", "Trips", "--owner", str(ids["Helen"]),
        "--due", yesterday, "--idea", "1", code=2)
    assert "--due" in refused(app, "action", "add", "--what", "Trips", "--owner",
                              str(ids["Helen"]), "--due", "next friday", "--idea", "1", code=2)
    assert "--standard" in refused(app, "action", "add", "--what", "Trips", "--owner",
                                   str(ids["Helen"]), "--due", later, "--standard", "three",
                                   code=2)
    with Session(database) as session:
        assert session.exec(select(Action)).first() is None
    assert outbox_to(database, ids["Helen"]) == []

    ok(app, "action", "add", "--what", "Trips", "--owner", str(ids["Helen"]),
       "--due", local_today().isoformat(), "--standard", "1.1")


def test_list_marks_open_actions_whose_date_has_passed(
    app: typer.Typer, database: Engine, ids: dict[str, int]
) -> None:
    today = local_today()
    with transaction(database) as session:
        for what, due in (("Fix the garden gate", today - timedelta(days=3)),
                          ("Paint the lounge", today + timedelta(days=10)),
                          ("Buy a new kettle", today - timedelta(days=9))):
            create_action(session=session, what=what, owner_id=ids["Raj"], due_on=due,
                          now=LAST_MONTH, actor="test", suggestion_ids=[1])
        session.get_one(Action, 3).status = ActionStatus.DONE

    everything = ok(app, "action", "list").splitlines()
    open_only = ok(app, "action", "list", "--open").splitlines()
    overdue = ok(app, "action", "list", "--overdue").splitlines()

    assert [line.split()[0] for line in everything] == ["3", "1", "2"]
    kettle, gate, lounge = everything
    assert "done" in kettle
    assert "overdue" not in kettle
    assert "⏰ overdue" in gate
    assert f"due {today - timedelta(days=3):%Y-%m-%d}" in gate
    assert "Raj" in gate
    assert "Fix the garden gate" in gate
    assert "open" in lounge
    assert "overdue" not in lounge
    assert [line.split()[0] for line in open_only] == ["1", "2"]
    assert [line.split()[0] for line in overdue] == ["1"]


def test_done_signs_it_off_and_tells_the_people_who_asked(
    app: typer.Typer, database: Engine, ids: dict[str, int]
) -> None:
    add_seaside_action(app, ids, local_today() + timedelta(days=30))

    out = ok(app, "action", "done", "1", "--note", "Booked the coach for May")

    assert out.splitlines() == ["Action 1 is done, signed off by Helen Lewis.",
                                'Told 1 person "you said, we did".']
    with Session(database) as session:
        action = session.get_one(Action, 1)
    assert (action.status, action.done_by, action.done_note) == (
        ActionStatus.DONE, ids["Helen"], "Booked the coach for May")
    [we_did] = outbox_to(database, ids["Ann"])
    assert 'You said: "More trips to the seaside"' in we_did
    assert "We did: Plan a trip to the seaside in the spring" in we_did
    assert outbox_to(database, ids["Bob"]) == []
    shown = ok(app, "action", "show", "1")
    assert "Status: done." in shown
    assert "Signed off by Helen Lewis on " in shown
    assert "Note: Booked the coach for May" in shown
    assert "Ann                More trips to the seaside  → action 1" in shown
    assert "anonymous          A bus to the seaside please  → action 1" in shown
    assert "Bob" not in shown
    assert "already signed off by Helen Lewis" in refused(app, "action", "done", "1")


def test_staff_can_sign_off_for_the_owner_but_a_service_user_cannot(
    app: typer.Typer, database: Engine, ids: dict[str, int]
) -> None:
    add_seaside_action(app, ids, local_today() + timedelta(days=30))

    assert "Ann is not staff" in refused(app, "action", "done", "1", "--by", str(ids["Ann"]))
    assert refused(app, "action", "done", "7") == "There is no action 7."
    out = ok(app, "action", "done", "1", "--by", str(ids["Raj"]))

    assert "signed off by Raj" in out
    with Session(database) as session:
        assert session.get_one(Action, 1).done_by == ids["Raj"]


def test_show_an_open_action_and_an_unknown_one(
    app: typer.Typer, ids: dict[str, int]
) -> None:
    due = local_today() + timedelta(days=30)
    add_seaside_action(app, ids, due)

    shown = ok(app, "action", "show", "1").splitlines()

    assert shown[:5] == ["Action 1: Plan a trip to the seaside in the spring", "Status: open.",
                         "Owner: Helen Lewis.", f"Due: {long_date(due)}.", "Standard: 3.2."]
    assert shown[5].startswith("Made ")
    assert shown[5].endswith(" by staff:cli.")
    assert not any("Signed off" in line for line in shown)
    assert refused(app, "action", "show", "5") == "There is no action 5."


# Surgeries ---------------------------------------------------------------------------------


def test_a_surgery_is_booked_with_its_reminders_described(
    app: typer.Typer, database: Engine, ids: dict[str, int]
) -> None:
    out = ok(app, "surgery", "add", "--mp", str(ids["Max"]), "--service", "willow1",
             "--starts", "2099-12-01 10:00", "--place", "the lounge")

    assert out.splitlines() == [
        "Surgery 2: Max at Willow House (the lounge), Tuesday 1 December 2099 10:00 to 12:00.",
        "Reminders will go:",
        "  to Max: Monday 30 November at 10:00 and Tuesday 1 December at 09:00",
        "  to the 2 people at Willow House: Sunday 29 November at 10:00",
        "  to Max when it ends (Tuesday 1 December at 12:00): what did people say?",
    ]
    with Session(database) as session:
        surgery = session.get_one(Surgery, 2)
    assert surgery.starts_at == datetime(2099, 12, 1, 10, tzinfo=UTC)
    assert surgery.ends_at == datetime(2099, 12, 1, 12, tzinfo=UTC)
    assert (surgery.mp_id, surgery.service_id, surgery.status) == (
        ids["Max"], ids["willow"], SurgeryStatus.SCHEDULED)


def test_a_surgery_is_refused_for_a_non_mp_an_unknown_service_or_a_bad_time(
    app: typer.Typer, database: Engine, ids: dict[str, int]
) -> None:
    starts = ("--starts", "2099-12-01 10:00")

    assert refused(app, "surgery", "add", "--mp", str(ids["Ann"]), "--service", "WILLOW1",
                   *starts) == f"Person {ids['Ann']} is not an MP."
    assert refused(app, "surgery", "add", "--mp", str(ids["Max"]), "--service", "NOPE9",
                   *starts) == "There is no service with the code NOPE9."
    assert "has passed" in refused(app, "surgery", "add", "--mp", str(ids["Max"]),
                                   "--service", "WILLOW1", "--starts", "2020-01-01 10:00",
                                   code=2)
    assert "--starts" in refused(app, "surgery", "add", "--mp", str(ids["Max"]), "--service",
                                 "WILLOW1", "--starts", "tomorrow", code=2)
    assert "end after it starts" in refused(app, "surgery", "add", "--mp", str(ids["Max"]),
                                            "--service", "WILLOW1", *starts,
                                            "--ends", "2099-12-01 09:00", code=2)
    with Session(database) as session:
        assert len(session.exec(select(Surgery)).all()) == 1


def test_surgeries_are_listed_shown_and_cancelled(
    app: typer.Typer, database: Engine, ids: dict[str, int]
) -> None:
    ok(app, "surgery", "add", "--mp", str(ids["Max"]), "--service", "WILLOW1",
       "--starts", "2099-12-01 10:00", "--ends", "2099-12-01 11:30")

    listed = ok(app, "surgery", "list").splitlines()
    upcoming = ok(app, "surgery", "list", "--upcoming").splitlines()
    past = ok(app, "surgery", "show", "1").splitlines()

    assert [line.split()[:2] for line in listed] == [["1", "held"], ["2", "scheduled"]]
    assert "Max" in listed[0]
    assert "Willow House" in listed[0]
    assert "1 idea" in listed[0]
    assert "2099-12-01 10:00" in listed[1]
    assert "0 ideas" in listed[1]
    assert [line.split()[0] for line in upcoming] == ["2"]
    assert past[1] == "Status: held."
    assert past[0].startswith("Surgery 1: Max at Willow House, ")
    assert "Ideas heard:" in past
    assert any("People want a garden" in line and "heard by Max" in line for line in past)
    assert "to 11:30" in ok(app, "surgery", "show", "2").splitlines()[0]

    out = ok(app, "surgery", "cancel", "2")

    assert out.startswith("Surgery 2 at Willow House is cancelled.")
    with Session(database) as session:
        assert session.get_one(Surgery, 2).status == SurgeryStatus.CANCELLED
    assert ok(app, "surgery", "list", "--upcoming") == "No surgeries are coming up.\n"
    assert "has not started" in refused(app, "surgery", "cancel", "2")
    assert "has not started" in refused(app, "surgery", "cancel", "1")
    assert refused(app, "surgery", "cancel", "9") == "There is no surgery 9."
    assert refused(app, "surgery", "show", "9") == "There is no surgery 9."


def test_cancelling_a_surgery_after_reminders_went_says_who_to_tell(
    app: typer.Typer, database: Engine, ids: dict[str, int]
) -> None:
    tomorrow = (datetime.now(LONDON) + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    booked = ok(app, "surgery", "add", "--mp", str(ids["Max"]), "--service", "WILLOW1",
                "--starts", tomorrow).splitlines()
    assert booked[2].startswith("  to Max: straight away and ")
    assert booked[3] == "  to the 2 people at Willow House: straight away"
    with transaction(database) as session:
        sent = send_surgery_messages(session=session, now=datetime.now(UTC), zone=LONDON)
    assert sent == 3

    out = ok(app, "surgery", "cancel", "2").splitlines()

    assert out == ["Surgery 2 at Willow House is cancelled. No more reminders will go about it.",
                   "3 reminders about it were already sent or queued; tell those people it "
                   "is off."]

"""Nudges to action owners and messages about MP surgeries, by the clock.

First ``due_nudge`` alone, a pure function of the due date and the time; then the tick
through a real database with the clock moved by hand: each message goes once, the latest
one after the scheduler was away, none once the action is done.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.actions.nudges import Nudge, due_nudge
from bot.actions.schedule import action_tick
from bot.actions.service import complete_action, create_action
from bot.actions.surgeries import cancel_surgery, schedule_surgery
from bot.clock import ManualClock
from storage import people
from storage.database import transaction
from storage.suggestions import record_suggestion
from storage.tables import OutboxMessage, Priority, Role

LONDON = ZoneInfo("Europe/London")


def _london(*args: int) -> datetime:
    """A London wall-clock time, as the UTC instant the scheduler is given."""
    return datetime(*args, tzinfo=LONDON).astimezone(UTC)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


BEFORE_7 = Nudge(key="before-7")
BEFORE_1 = Nudge(key="before-1")
DUE = Nudge(key="due")


def _late(weeks: int) -> Nudge:
    return Nudge(key=f"overdue-{weeks}", days_late=7 * weeks, tell_lead=weeks >= 2)


# Due on Monday 16 March 2026, well clear of the clock change (29 March).
MONDAY_16_MARCH = date(2026, 3, 16)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(_london(2026, 3, 2, 10, 30), None, id="two weeks before"),
        pytest.param(_london(2026, 3, 9, 8, 59), None, id="a minute before the 7-day nudge"),
        pytest.param(_london(2026, 3, 9, 9, 0), BEFORE_7, id="7 days before at 09:00"),
        pytest.param(_london(2026, 3, 14, 23, 59), BEFORE_7, id="still 7-day nudge"),
        pytest.param(_london(2026, 3, 15, 8, 59), BEFORE_7, id="the day before, 08:59"),
        pytest.param(_london(2026, 3, 15, 9, 0), BEFORE_1, id="the day before at 09:00"),
        pytest.param(_london(2026, 3, 16, 8, 59), BEFORE_1, id="on the day, 08:59"),
        pytest.param(_london(2026, 3, 16, 9, 0), DUE, id="on the day at 09:00"),
        pytest.param(_london(2026, 3, 22, 23, 0), DUE, id="six days late"),
        pytest.param(_london(2026, 3, 23, 8, 59), DUE, id="a week late, 08:59"),
        pytest.param(_london(2026, 3, 23, 9, 0), _late(1), id="a week late at 09:00"),
        pytest.param(_london(2026, 3, 30, 8, 59), _late(1), id="two weeks late, 08:59"),
        pytest.param(_london(2026, 3, 30, 9, 0), _late(2), id="two weeks late: the lead too"),
        pytest.param(_london(2026, 4, 6, 9, 0), _late(3), id="three weeks late"),
        pytest.param(_london(2026, 4, 20, 9, 0), _late(5), id="five weeks late"),
        pytest.param(_london(2026, 4, 27, 8, 59), _late(5), id="just under six weeks late"),
    ],
)
def test_the_nudge_due_at_each_moment(now: datetime, expected: Nudge | None) -> None:
    assert due_nudge(due_on=MONDAY_16_MARCH, now=now, zone=LONDON) == expected


def test_two_weeks_late_tells_the_lead_and_one_week_does_not() -> None:
    one = due_nudge(due_on=MONDAY_16_MARCH, now=_london(2026, 3, 23, 9, 0), zone=LONDON)
    two = due_nudge(due_on=MONDAY_16_MARCH, now=_london(2026, 3, 30, 9, 0), zone=LONDON)
    five = due_nudge(due_on=MONDAY_16_MARCH, now=_london(2026, 4, 20, 9, 0), zone=LONDON)

    assert one is not None
    assert (one.days_late, one.tell_lead) == (7, False)
    assert two is not None
    assert (two.days_late, two.tell_lead) == (14, True)
    assert five is not None
    assert (five.key, five.days_late, five.tell_lead) == (
        "overdue-5", 35, True)


@pytest.mark.parametrize(
    ("before", "now", "expected"),
    [
        pytest.param((3,), _london(2026, 3, 9, 9, 0), None, id="no 7-day nudge"),
        pytest.param((3,), _london(2026, 3, 13, 8, 59), None, id="3 days before, 08:59"),
        pytest.param((3,), _london(2026, 3, 13, 9, 0), Nudge("before-3"), id="3 days before"),
        pytest.param((3,), _london(2026, 3, 15, 9, 0), Nudge("before-3"), id="no 1-day nudge"),
        pytest.param((3,), _london(2026, 3, 16, 9, 0), DUE, id="on the day"),
        pytest.param((1, 7), _london(2026, 3, 15, 9, 0), BEFORE_1, id="order does not matter"),
        pytest.param((), _london(2026, 3, 15, 9, 0), None, id="no nudges before"),
        pytest.param((), _london(2026, 3, 16, 9, 0), DUE, id="no nudges before, then due"),
    ],
)
def test_custom_days_before(before: Sequence[int], now: datetime, expected: Nudge | None) -> None:
    assert due_nudge(due_on=MONDAY_16_MARCH, now=now, zone=LONDON, before=before) == expected


@pytest.mark.parametrize(
    ("due_on", "now", "expected"),
    [
        # The clocks go forward at 01:00 GMT on Sunday 29 March 2026: 09:00 is 08:00 UTC after.
        pytest.param(date(2026, 3, 30), _utc(2026, 3, 23, 8, 59), None, id="march 7 early"),
        pytest.param(date(2026, 3, 30), _utc(2026, 3, 23, 9, 0), BEFORE_7, id="march 7 GMT"),
        pytest.param(date(2026, 3, 30), _utc(2026, 3, 29, 7, 59), BEFORE_7, id="march 1 early"),
        pytest.param(date(2026, 3, 30), _utc(2026, 3, 29, 8, 0), BEFORE_1, id="march 1 BST"),
        pytest.param(date(2026, 3, 30), _utc(2026, 3, 30, 7, 59), BEFORE_1, id="march due early"),
        pytest.param(date(2026, 3, 30), _utc(2026, 3, 30, 8, 0), DUE, id="march due BST"),
        pytest.param(date(2026, 3, 30), _utc(2026, 4, 6, 7, 59), DUE, id="march late early"),
        pytest.param(date(2026, 3, 30), _utc(2026, 4, 6, 8, 0), _late(1), id="march late BST"),
        # The clocks go back at 02:00 BST on Sunday 25 October 2026: 09:00 is 09:00 UTC after.
        pytest.param(date(2026, 10, 26), _utc(2026, 10, 19, 7, 59), None, id="october 7 early"),
        pytest.param(date(2026, 10, 26), _utc(2026, 10, 19, 8, 0), BEFORE_7, id="october 7 BST"),
        pytest.param(date(2026, 10, 26), _utc(2026, 10, 25, 8, 59), BEFORE_7,
                     id="october 1 early"),
        pytest.param(date(2026, 10, 26), _utc(2026, 10, 25, 9, 0), BEFORE_1, id="october 1 GMT"),
        pytest.param(date(2026, 10, 26), _utc(2026, 10, 26, 8, 59), BEFORE_1,
                     id="october due early"),
        pytest.param(date(2026, 10, 26), _utc(2026, 10, 26, 9, 0), DUE, id="october due GMT"),
        # Due the Monday before the change (09:00 BST), a week late after it (09:00 GMT).
        pytest.param(date(2026, 10, 19), _utc(2026, 10, 19, 8, 0), DUE, id="due in BST"),
        pytest.param(date(2026, 10, 19), _utc(2026, 10, 26, 8, 59), DUE, id="late early GMT"),
        pytest.param(date(2026, 10, 19), _utc(2026, 10, 26, 9, 0), _late(1), id="late in GMT"),
    ],
)
def test_nine_in_the_morning_across_the_clock_changes(
    due_on: date, now: datetime, expected: Nudge | None
) -> None:
    assert due_nudge(due_on=due_on, now=now, zone=LONDON) == expected


def test_now_in_another_zone_is_the_same_instant() -> None:
    in_new_york = _london(2026, 3, 15, 9, 0).astimezone(ZoneInfo("America/New_York"))

    assert due_nudge(due_on=MONDAY_16_MARCH, now=in_new_york, zone=LONDON) == BEFORE_1
    assert due_nudge(due_on=MONDAY_16_MARCH, now=in_new_york - timedelta(minutes=1),
                     zone=LONDON) == BEFORE_7


# Through the database.

SAM = "tel:+447700900201"
LEE = "tel:+447700900202"
LIZ = "tel:+447700900203"
OLU = "tel:+447700900204"
MAYA = "tel:+447700900301"
ANN = "tel:+447700900101"
BOB = "tel:+447700900102"
HAL = "tel:+447700900103"
STAFF_AT_WILLOW = "tel:+447700900205"

PLANT = "Plant the new garden"


@pytest.fixture
def org(database: Engine, clock: ManualClock) -> dict[str, int]:
    """Willow House with an owner (staff), two leads (admins), a staff member who is not a
    lead, service users, and an MP; Hill House with one service user."""
    now = clock.now()
    with transaction(database) as session:
        riverside = people.add_constituency(session=session, name="Riverside")
        willow = people.add_service(session=session, name="Willow House",
                                    constituency_id=riverside.id or 0, join_code="WILLOW1")
        hill = people.add_service(session=session, name="Hill House",
                                  constituency_id=riverside.id or 0, join_code="HILL4")
        ids: dict[str, int] = {"willow": willow.id or 0, "hill": hill.id or 0}
        for key, urn, name, roles, service in [
            ("sam", SAM, "Sam", (Role.STAFF,), willow),
            ("lee", LEE, "Lee", (Role.ADMIN,), None),
            ("liz", LIZ, "Liz", (Role.ADMIN, Role.STAFF), None),
            ("olu", OLU, "Olu", (Role.STAFF,), None),
            ("maya", MAYA, "Maya Patel", (Role.MP,), hill),  # an MP for Riverside
            ("ann", ANN, "Ann", (Role.SERVICE_USER,), willow),
            ("bob", BOB, "Bob", (Role.SERVICE_USER,), willow),
            ("hal", HAL, "Hal", (Role.SERVICE_USER,), hill),
            ("willow_staff", STAFF_AT_WILLOW, "Wes", (Role.STAFF,), willow),
        ]:
            person = people.add_person(session=session, urns=[urn], now=now, name=name,
                                       roles=roles, service_id=service.id if service else None)
            ids[key] = person.id or 0
        bob = session.get_one(people.Person, ids["bob"])
        bob.opted_out_at = now
        session.add(bob)
    return ids


def _texts(database: Engine, address: str) -> list[str]:
    with Session(database) as session:
        return list(session.exec(select(OutboxMessage.text).where(
            OutboxMessage.address == address).order_by(col(OutboxMessage.id))))


def _rows(database: Engine, address: str) -> list[OutboxMessage]:
    with Session(database) as session:
        return list(session.exec(select(OutboxMessage).where(
            OutboxMessage.address == address).order_by(col(OutboxMessage.id))))


def _make_action(database: Engine, clock: ManualClock, org: dict[str, int],
                 due_on: date = MONDAY_16_MARCH) -> int:
    with transaction(database) as session:
        suggestion = record_suggestion(session=session, text="A garden we can sit in",
                                       topic="home", now=clock.now(), person_id=org["ann"],
                                       service_id=org["willow"])
        action = create_action(session=session, what=PLANT, owner_id=org["sam"],
                               due_on=due_on, now=clock.now(), actor="staff:test",
                               suggestion_ids=[suggestion.id or 0])
        return action.id or 0


def _tick(database: Engine, clock: ManualClock, moment: datetime | None = None) -> tuple[
        int, int, int]:
    if moment is not None:
        clock.set(moment)
    report = action_tick(database=database, now=clock.now(), zone=LONDON)
    return report.nudged, report.leads_told, report.surgery_messages


NEW_ACTION = ("New action 1 for you. 📌\nPlant the new garden\nPlease do it by Monday 16 March.\n"
              "Send DONE 1 when it is done.")
REMINDER = ("Reminder: action 1 is due on Monday 16 March. 📌\nPlant the new garden\n"
            "Send DONE 1 when it is done.")
TODAY = "Action 1 is due today. 📌\nPlant the new garden\nSend DONE 1 when it is done."
LATE = ("Action 1 is late. It was due on Monday 16 March. ⏰\nPlant the new garden\n"
        "Send DONE 1 when it is done.")
LEAD = "Action 1 is late. ⏰\nSam was to do it by Monday 16 March:\nPlant the new garden"


def test_the_owner_is_nudged_at_each_stage_once(
    database: Engine, clock: ManualClock, org: dict[str, int]
) -> None:
    _make_action(database, clock, org)
    assert _texts(database, SAM) == [NEW_ACTION]
    assert _tick(database, clock) == (0, 0, 0)

    stages = [
        (_london(2026, 3, 9, 9, 0), REMINDER),
        (_london(2026, 3, 15, 9, 0), REMINDER),
        (_london(2026, 3, 16, 9, 0), TODAY),
        (_london(2026, 3, 23, 9, 0), LATE),
        (_london(2026, 3, 30, 9, 0), LATE),
        (_london(2026, 4, 6, 9, 0), LATE),
    ]
    expected = [NEW_ACTION]
    for moment, text in stages:
        assert _tick(database, clock, moment - timedelta(minutes=1))[0] == 0, moment
        assert _tick(database, clock, moment)[0] == 1, moment
        assert _tick(database, clock)[0] == 0, "the same minute again"
        database.dispose()  # a restart: new connections, nothing remembered in memory
        clock.advance(timedelta(hours=5))
        assert _tick(database, clock)[0] == 0, "later that day, after a restart"
        expected.append(text)
        assert _texts(database, SAM) == expected

    rows = _rows(database, SAM)
    assert [row.dedupe_key for row in rows] == [
        "action:1:owner", "action:1:nudge:before-7", "action:1:nudge:before-1",
        "action:1:nudge:due", "action:1:nudge:overdue-1", "action:1:nudge:overdue-2",
        "action:1:nudge:overdue-3",
    ]
    assert {row.priority for row in rows} == {Priority.REPLY}


def test_after_days_away_only_the_latest_nudge_is_sent(
    database: Engine, clock: ManualClock, org: dict[str, int]
) -> None:
    _make_action(database, clock, org)

    assert _tick(database, clock, _london(2026, 3, 16, 15, 0))[0] == 1
    assert _texts(database, SAM) == [NEW_ACTION, TODAY], "not the two reminders as well"

    assert _tick(database, clock, _london(2026, 4, 8, 12, 0))[:2] == (1, 2)
    assert _texts(database, SAM) == [NEW_ACTION, TODAY, LATE]
    assert [row.dedupe_key for row in _rows(database, SAM)][-1] == "action:1:nudge:overdue-3"
    assert _texts(database, LEE) == [LEAD], "told of the third week, not of the second too"


def test_no_nudge_once_the_action_is_done(
    database: Engine, clock: ManualClock, org: dict[str, int]
) -> None:
    action_id = _make_action(database, clock, org)
    _tick(database, clock, _london(2026, 3, 9, 9, 0))
    with transaction(database) as session:
        sam = session.get_one(people.Person, org["sam"])
        assert complete_action(session=session, action_id=action_id, by=sam, note="planted",
                               now=_london(2026, 3, 10, 12, 0)).done

    for moment in (_london(2026, 3, 15, 9, 0), _london(2026, 3, 16, 9, 0),
                   _london(2026, 3, 30, 9, 0), _london(2026, 5, 4, 9, 0)):
        assert _tick(database, clock, moment) == (0, 0, 0)

    assert _texts(database, SAM) == [NEW_ACTION, REMINDER]
    assert _texts(database, LEE) == []


def test_the_lead_is_told_from_the_second_overdue_nudge_once_each(
    database: Engine, clock: ManualClock, org: dict[str, int]
) -> None:
    _make_action(database, clock, org)

    assert _tick(database, clock, _london(2026, 3, 23, 9, 0))[:2] == (1, 0)
    assert _texts(database, LEE) == []
    assert _texts(database, LIZ) == []

    assert _tick(database, clock, _london(2026, 3, 30, 9, 0))[:2] == (1, 2)
    assert _tick(database, clock)[:2] == (0, 0)
    database.dispose()
    assert _tick(database, clock, _london(2026, 4, 2, 9, 0))[:2] == (0, 0)
    assert _texts(database, LEE) == [LEAD]
    assert _texts(database, LIZ) == [LEAD]

    assert _tick(database, clock, _london(2026, 4, 6, 9, 0))[:2] == (1, 2)
    assert _tick(database, clock)[:2] == (0, 0)
    assert _texts(database, LEE) == [LEAD, LEAD]
    assert _texts(database, LIZ) == [LEAD, LEAD]
    assert _texts(database, OLU) == [], "staff who are not leads are not told"
    assert _texts(database, ANN) == []
    assert [row.dedupe_key for row in _rows(database, LEE)] == [
        f"action:1:lead:overdue-2:person:{org['lee']}",
        f"action:1:lead:overdue-3:person:{org['lee']}",
    ]


# Surgeries: Thursday 11 June 2026, 14:00 to 15:30 in London (13:00 to 14:30 UTC).
STARTS = _london(2026, 6, 11, 14, 0)
ENDS = _london(2026, 6, 11, 15, 30)
MP_REMINDER = "Reminder: your surgery is at Willow House. 🗓️\nIt is on Thursday 11 June at 14:00."
COMING = ("Your MP Maya Patel is coming to see you. 👋\nIt is on Thursday 11 June at 14:00.\n"
          "Come and tell them what you think.")
FOLLOW_UP = "How was your surgery at Willow House? 👂\nSend SURGERY to tell us what people said."


def _schedule(database: Engine, clock: ManualClock, org: dict[str, int]) -> int:
    with transaction(database) as session:
        surgery = schedule_surgery(session=session, mp_id=org["maya"], service_code="WILLOW1",
                                   starts_at=STARTS, ends_at=ENDS, now=clock.now(),
                                   actor="staff:test", place="The lounge")
        return surgery.id or 0


def _twice(database: Engine, clock: ManualClock, moment: datetime) -> int:
    """Surgery messages sent by the tick at ``moment``, run twice, the second after a
    restart; the second must send nothing."""
    sent = _tick(database, clock, moment)[2]
    database.dispose()
    assert _tick(database, clock)[2] == 0, f"the tick again at {moment}"
    return sent


def test_surgery_messages_go_to_the_right_people_once_each(
    database: Engine, clock: ManualClock, org: dict[str, int]
) -> None:
    _schedule(database, clock, org)
    assert _twice(database, clock, clock.now()) == 0

    two_days = STARTS - timedelta(days=2)
    assert _twice(database, clock, two_days - timedelta(seconds=1)) == 0
    assert _twice(database, clock, two_days) == 1
    assert _texts(database, ANN) == [COMING]
    assert _texts(database, BOB) == [], "Bob opted out"
    assert _texts(database, HAL) == [], "Hal lives at another service"
    assert _texts(database, STAFF_AT_WILLOW) == [], "staff are not invited"
    assert _texts(database, SAM) == []
    assert _texts(database, MAYA) == []

    assert _twice(database, clock, STARTS - timedelta(days=1, seconds=1)) == 0
    assert _twice(database, clock, STARTS - timedelta(days=1)) == 1
    assert _texts(database, MAYA) == [MP_REMINDER]

    assert _twice(database, clock, STARTS - timedelta(hours=1, seconds=1)) == 0
    assert _twice(database, clock, STARTS - timedelta(hours=1)) == 1
    assert _texts(database, MAYA) == [MP_REMINDER, MP_REMINDER]

    assert _twice(database, clock, STARTS) == 0
    assert _twice(database, clock, ENDS - timedelta(seconds=1)) == 0
    assert _twice(database, clock, ENDS) == 1
    assert _texts(database, MAYA) == [MP_REMINDER, MP_REMINDER, FOLLOW_UP]
    assert _twice(database, clock, ENDS + timedelta(days=1)) == 0

    assert _texts(database, ANN) == [COMING]
    maya = _rows(database, MAYA)
    assert [row.dedupe_key for row in maya] == [
        "surgery:1:mp:day", "surgery:1:mp:hour", "surgery:1:follow_up"]
    assert {row.priority for row in maya} == {Priority.REPLY}


def test_nothing_is_sent_for_a_cancelled_surgery(
    database: Engine, clock: ManualClock, org: dict[str, int]
) -> None:
    surgery_id = _schedule(database, clock, org)
    with transaction(database) as session:
        cancel_surgery(session=session, surgery_id=surgery_id, now=clock.now(),
                       actor="staff:test")

    for moment in (STARTS - timedelta(days=2), STARTS - timedelta(days=1),
                   STARTS - timedelta(hours=1), ENDS, ENDS + timedelta(hours=1)):
        assert _tick(database, clock, moment) == (0, 0, 0)

    for address in (ANN, MAYA, SAM, STAFF_AT_WILLOW, HAL):
        assert _texts(database, address) == []

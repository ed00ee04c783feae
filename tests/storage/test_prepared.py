"""Prepared statements: the same rows and values as SQLAlchemy's own execute, on the driver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, delete, event, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import CompileError, IntegrityError

from storage import people
from storage.database import transaction
from storage.prepared import Prepared, updating
from storage.tables import (
    Conversation,
    InboxMessage,
    InboxStatus,
    OutboxMessage,
    OutboxStatus,
)

WHEN = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
INBOX = InboxMessage.__table__  # type: ignore[attr-defined]
OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
CONVERSATION = Conversation.__table__  # type: ignore[attr-defined]

STORE = Prepared(insert(INBOX).returning(INBOX.c.id), given=[
    "channel", "provider_id", "address", "text", "media", "received_at", "provider_answered"])
WAITING = Prepared(select(INBOX).where(INBOX.c.address == bindparam("address"),
                                       INBOX.c.status.in_([InboxStatus.RECEIVED,
                                                           InboxStatus.FAILED]))
                   .order_by(INBOX.c.id))
HANDLED = Prepared(update(INBOX).where(INBOX.c.address == bindparam("from_address"))
                   .values(status=InboxStatus.HANDLED, handled_at=bindparam("now")))


def _arrived(number: int, **changes: Any) -> dict[str, Any]:
    return {"channel": "sms", "provider_id": f"SM{number}", "address": "tel:+447700900001",
            "text": f"answer {number}", "media": ["https://example.org/a.jpg"],
            "received_at": WHEN + timedelta(minutes=number), "provider_answered": False,
            **changes}


def test_rows_come_back_as_sqlalchemy_gives_them(database: Engine) -> None:
    with database.begin() as connection:
        ids = [STORE.rows(connection, _arrived(number))[0][0] for number in (1, 2)]
        connection.execute(insert(INBOX), _arrived(3, status=InboxStatus.HANDLED))

    with database.begin() as connection:
        prepared = WAITING.rows(connection, {"address": "tel:+447700900001"})
        executed = [tuple(row) for row in connection.execute(
            WAITING.statement, {"address": "tel:+447700900001"})]

    assert prepared == executed
    assert [row[0] for row in prepared] == ids, "the handled one is left out"
    first = dict(zip(INBOX.c.keys(), prepared[0], strict=True))
    assert first["received_at"] == WHEN + timedelta(minutes=1)
    assert first["received_at"].tzinfo is not None, "times come back aware, in UTC"
    assert first["media"] == ["https://example.org/a.jpg"], "JSON comes back as a list"
    assert first["provider_answered"] is False
    assert first["status"] == InboxStatus.RECEIVED, "the table's default was given"


def test_an_insert_gets_the_defaults_of_the_columns_it_leaves_out(database: Engine) -> None:
    queue = Prepared(insert(OUTBOX).returning(OUTBOX.c.id), given=[
        "address", "channel", "text", "options", "footer", "created_at", "next_attempt_at"])
    with database.begin() as connection:
        (outbox_id,) = queue.rows(connection, {
            "address": "tel:+447700900001", "channel": "sms", "text": "Question 2 of 5",
            "options": [{"number": 1, "label": "Good", "emoji": "😀"}], "footer": "",
            "created_at": WHEN, "next_attempt_at": WHEN})[0]

    with transaction(database) as session:
        row = session.get_one(OutboxMessage, outbox_id)
        assert (row.status, row.attempts, row.priority, row.audio) == (
            OutboxStatus.QUEUED, 0, 0, False)
        assert row.options == [{"number": 1, "label": "Good", "emoji": "😀"}]
        assert row.created_at == WHEN


def test_a_default_that_changes_is_worked_out_at_each_run(database: Engine) -> None:
    with transaction(database) as session:
        ann = people.add_person(session=session, urns=["tel:+447700900001"], now=WHEN)
        bob = people.add_person(session=session, urns=["tel:+447700900002"], now=WHEN)
    begin = Prepared(insert(CONVERSATION), given=["person_id", "flow", "step", "context"])
    marks = [datetime.now(UTC)]
    with database.begin() as connection:
        for person in (ann, bob):
            begin.write(connection, {"person_id": person.id, "flow": "menu", "step": "start",
                                     "context": {}})
            marks.append(datetime.now(UTC))

    with transaction(database) as session:
        rows = [session.get_one(Conversation, person.id) for person in (ann, bob)]
        assert [row.misses for row in rows] == [0, 0]
        assert marks[0] <= rows[0].updated_at <= marks[1] <= rows[1].updated_at <= marks[2]


def test_writes_are_part_of_the_connections_transaction(database: Engine) -> None:
    with database.begin() as connection:
        STORE.rows(connection, _arrived(1))
    with database.connect() as connection:
        assert HANDLED.write(connection, {"from_address": "tel:+447700900001", "now": WHEN}) == 1
        connection.rollback()
    with database.begin() as connection:
        assert [row[0] for row in WAITING.rows(
            connection, {"address": "tel:+447700900001"})] == [1], "rolled back: still waiting"


def test_a_broken_constraint_is_sqlalchemys_integrity_error(database: Engine) -> None:
    with database.begin() as connection:
        STORE.rows(connection, _arrived(1))
    with pytest.raises(IntegrityError), database.begin() as connection:
        STORE.rows(connection, _arrived(1))  # the same provider id again
    with database.begin() as connection:
        assert len(WAITING.rows(connection, {"address": "tel:+447700900001"})) == 1


def test_values_go_through_the_column_types(database: Engine) -> None:
    with pytest.raises(ValueError, match="naive datetime"), database.begin() as connection:
        STORE.rows(connection, _arrived(1, received_at=datetime(2026, 1, 1)))  # noqa: DTZ001


def test_a_missing_value_is_named(database: Engine) -> None:
    with pytest.raises(ValueError, match="no value given for address"), \
            database.begin() as connection:
        WAITING.rows(connection, {})


def test_cursor_listeners_see_prepared_statements(database: Engine) -> None:
    seen: list[str] = []

    def note(_connection: object, _cursor: object, statement: str, *_rest: object) -> None:
        seen.append(statement.split()[0])

    event.listen(database, "before_cursor_execute", note)
    try:
        with database.begin() as connection:
            STORE.rows(connection, _arrived(1))
            HANDLED.write(connection, {"from_address": "tel:+447700900001", "now": WHEN})
    finally:
        event.remove(database, "before_cursor_execute", note)

    assert [verb for verb in seen if verb != "BEGIN"] == ["INSERT", "UPDATE"]


def test_a_list_given_at_each_run_is_refused_when_the_statement_is_built(
    database: Engine
) -> None:
    anyone = Prepared(delete(INBOX).where(
        INBOX.c.address.in_(bindparam("addresses", expanding=True))))
    with pytest.raises(ValueError, match="IN lists"), database.begin() as connection:
        anyone.write(connection, {"addresses": ["tel:+447700900001"]})


def test_a_parameter_named_as_a_column_it_would_set_is_refused_as_sqlalchemy_refuses_it(
    database: Engine
) -> None:
    """Run through SQLAlchemy's execute, ``WHERE person_id = :person_id`` in an UPDATE would
    also set person_id; a prepared statement must mean what it would mean there."""
    muddled = Prepared(update(INBOX).where(INBOX.c.person_id == bindparam("person_id"))
                       .values(status=InboxStatus.FAILED))
    with pytest.raises(CompileError, match="reserved"), database.begin() as connection:
        muddled.write(connection, {"person_id": 1})


def test_updating_picks_the_row_by_key_and_sets_new_and_fixed_values(database: Engine) -> None:
    handled = Prepared(updating(INBOX, keys=["id"], columns=["handled_at"],
                                status=InboxStatus.HANDLED))
    with database.begin() as connection:
        first, second = (STORE.rows(connection, _arrived(number))[0][0] for number in (1, 2))
        assert handled.write(connection, {"key_id": second, "new_handled_at": WHEN}) == 1
        assert handled.statement.compile().params.keys() >= {"key_id", "new_handled_at"}

    with transaction(database) as session:
        rows = {row.id: row for row in (session.get_one(InboxMessage, first),
                                        session.get_one(InboxMessage, second))}
    assert (rows[first].status, rows[first].handled_at) == (InboxStatus.RECEIVED, None)
    assert (rows[second].status, rows[second].handled_at) == (InboxStatus.HANDLED, WHEN)

"""UTCDateTime: times go in aware, are stored in UTC and come back aware in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import StatementError
from sqlmodel import func, select

from storage.database import transaction
from storage.tables import AuditEntry, Person

LONDON = ZoneInfo("Europe/London")

# (time as written in London, the same instant in UTC, id)
LONDON_TIMES = [
    (datetime(2026, 7, 1, 12, 0, tzinfo=LONDON), datetime(2026, 7, 1, 11, 0, tzinfo=UTC), "BST"),
    (datetime(2026, 1, 15, 12, 0, tzinfo=LONDON), datetime(2026, 1, 15, 12, 0, tzinfo=UTC), "GMT"),
    (
        datetime(2026, 10, 25, 1, 30, tzinfo=LONDON),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        "first 01:30 on the October change",
    ),
    (
        datetime(2026, 10, 25, 1, 30, fold=1, tzinfo=LONDON),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        "second 01:30 on the October change",
    ),
    (
        datetime(2026, 3, 29, 2, 30, 15, 123456, tzinfo=UTC),
        datetime(2026, 3, 29, 2, 30, 15, 123456, tzinfo=UTC),
        "UTC with microseconds",
    ),
]


def _store_audit(database: Engine, at: datetime) -> int:
    with transaction(database) as session:
        entry = AuditEntry(actor="staff:ann", action="opt_out", at=at)
        session.add(entry)
        session.flush()
        assert entry.id is not None
        return entry.id


@pytest.mark.parametrize(
    ("written", "instant"),
    [pytest.param(written, instant, id=name) for written, instant, name in LONDON_TIMES],
)
def test_an_aware_time_comes_back_as_the_same_instant_in_utc(
    database: Engine, written: datetime, instant: datetime
) -> None:
    entry_id = _store_audit(database, written)

    with transaction(database) as session:
        stored = session.get_one(AuditEntry, entry_id)

    assert stored.at == instant
    assert stored.at.tzinfo == UTC
    assert stored.at.utcoffset() is not None
    assert stored.at.replace(tzinfo=None) == instant.replace(tzinfo=None)


def test_the_database_holds_the_utc_wall_time(database: Engine) -> None:
    entry_id = _store_audit(database, datetime(2026, 7, 1, 12, 0, tzinfo=LONDON))

    with database.connect() as connection:
        if database.dialect.name == "postgresql":
            raw = connection.execute(
                text("SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') "
                     "FROM audit_log WHERE id = :id"),
                {"id": entry_id},
            ).scalar_one()
        else:
            raw = connection.execute(
                text("SELECT substr(at, 1, 16) FROM audit_log WHERE id = :id"), {"id": entry_id}
            ).scalar_one()

    assert raw == "2026-07-01 11:00"


def test_a_query_with_a_london_time_finds_rows_by_instant(database: Engine) -> None:
    _store_audit(database, datetime(2026, 7, 1, 11, 0, tzinfo=UTC))
    _store_audit(database, datetime(2026, 7, 1, 13, 0, tzinfo=UTC))

    with transaction(database) as session:
        before_noon_in_london = session.exec(
            select(AuditEntry.at).where(AuditEntry.at < datetime(2026, 7, 1, 13, 0, tzinfo=LONDON))
        ).all()

    assert before_noon_in_london == [datetime(2026, 7, 1, 11, 0, tzinfo=UTC)]


def test_a_naive_time_is_refused_and_nothing_is_stored(database: Engine) -> None:
    naive = datetime(2026, 7, 1, 12, 0)  # noqa: DTZ001  (the mistake under test)

    with pytest.raises(StatementError) as refused, transaction(database) as session:
        session.add(AuditEntry(actor="staff:ann", action="opt_out", at=naive))

    assert isinstance(refused.value.orig, ValueError)
    assert "naive datetime" in str(refused.value.orig)
    with transaction(database) as session:
        assert session.exec(select(func.count()).select_from(AuditEntry)).one() == 0


def test_a_naive_time_in_a_query_is_refused(database: Engine) -> None:
    naive = datetime(2026, 7, 1, 12, 0)  # noqa: DTZ001  (the mistake under test)

    with pytest.raises(StatementError) as refused, transaction(database) as session:
        session.exec(select(AuditEntry).where(AuditEntry.at < naive)).all()

    assert isinstance(refused.value.orig, ValueError)


def test_no_time_stays_no_time(database: Engine) -> None:
    with transaction(database) as session:
        person = Person(name="Ann", created_at=datetime(2026, 7, 1, 12, 0, tzinfo=LONDON))
        session.add(person)
        session.flush()
        person_id = person.id

    with transaction(database) as session:
        assert session.get_one(Person, person_id).opted_out_at is None

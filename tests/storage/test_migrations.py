"""The migrations build exactly the schema the tables describe, on both databases."""

from __future__ import annotations

import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel, select

import storage.tables  # noqa: F401  (registers every table on SQLModel.metadata)
from storage.database import create_database_engine, transaction
from storage.migrate import current_revision, head_revision, upgrade_database
from storage.tables import Constituency


def test_the_migrated_schema_matches_the_tables(database: Engine) -> None:
    with database.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)

    assert differences == []


def test_every_table_is_created(database: Engine) -> None:
    created = set(inspect(database).get_table_names())

    assert set(SQLModel.metadata.tables) <= created
    assert "alembic_version" in created


def test_the_database_is_at_the_head_revision(database: Engine) -> None:
    assert head_revision() is not None
    assert current_revision(database) == head_revision()


def test_upgrading_again_changes_nothing_and_keeps_the_rows(database: Engine) -> None:
    with transaction(database) as session:
        session.add(Constituency(name="North"))

    upgrade_database(database)
    upgrade_database(database)

    assert current_revision(database) == head_revision()
    with transaction(database) as session:
        assert session.exec(select(Constituency.name)).all() == ["North"]
    with database.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []


def test_a_new_sqlite_file_starts_with_no_revision_and_upgrades_to_head(tmp_path: Path) -> None:
    database = create_database_engine(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        assert current_revision(database) is None

        upgrade_database(database)

        assert current_revision(database) == head_revision()
    finally:
        database.dispose()


def test_upgrading_gives_no_deprecation_warning(tmp_path: Path) -> None:
    database = create_database_engine(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            upgrade_database(database)
            head_revision()
    finally:
        database.dispose()


@pytest.mark.postgres
def test_processes_starting_at_once_on_a_new_postgres_database_upgrade_it_in_turn(
    postgres_url: str,
) -> None:
    server = create_database_engine(postgres_url)
    name = f"voicebank_fresh_{uuid.uuid4().hex[:10]}"
    with server.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    engines = [create_database_engine(url) for _ in range(4)]
    try:
        # Four workers of `voicebank run --workers 4` each migrate on start.
        with ThreadPoolExecutor(max_workers=len(engines)) as pool:
            list(pool.map(upgrade_database, engines))

        assert current_revision(engines[0]) == head_revision()
    finally:
        for engine in engines:
            engine.dispose()
        with server.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()

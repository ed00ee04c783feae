"""The REST API checked against its own OpenAPI schema with schemathesis: whatever a client
sends, the answer is one the schema describes, and never a server error."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from bot.clock import ManualClock
from storage import people
from storage.database import create_database_engine, transaction
from storage.migrate import upgrade_database
from storage.tables import Role
from tests.voicebank.browser_harness import serving
from voicebank import accounts
from voicebank.settings import ENV_PREFIX, load_settings
from voicebank.web.app import create_app

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    saved = {k: v for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX)}
    for name in saved:
        del os.environ[name]
    directory = tmp_path_factory.mktemp("api")
    url = f"sqlite:///{directory / 'v.db'}"
    engine = create_database_engine(url)
    upgrade_database(engine)
    with transaction(engine) as session:
        river = people.add_constituency(session=session, name="Riverside")
        willow = people.add_service(session=session, name="Willow House",
                                    constituency_id=river.id or 0, join_code="WILLOW1")
        people.add_person(session=session, urns=["tel:+447700900002"], now=NOW, name="Sam",
                          roles=[Role.STAFF], service_id=willow.id)
        accounts.add_user(session=session, email="lead@example.org", name="Lead", role="admin",
                          password="a long enough password", now=NOW, actor="test")  # noqa: S106
        token = accounts.create_token(session=session, email="lead@example.org", label="t",
                                      now=NOW)
    engine.dispose()
    app = create_app(load_settings(database_url=url, media_dir=str(Path(directory))),
                     clock=ManualClock(NOW))
    try:
        with serving(app) as base:
            yield base, token
    finally:
        os.environ.update(saved)


def test_every_api_route_answers_as_its_schema_says(running: tuple[str, str]) -> None:
    base, token = running
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    api_only = schema.include(path_regex=r"^/api/v1/")
    checked = 0
    for result in api_only.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"})

        check()
        checked += 1
    assert checked >= 6

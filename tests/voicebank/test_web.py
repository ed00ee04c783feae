"""The web app as a client sees it, started through its lifespan on a fresh SQLite file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import inspect
from starlette.testclient import TestClient

from storage.database import create_database_engine
from storage.migrate import current_revision, head_revision
from voicebank.settings import ENV_PREFIX, load_settings
from voicebank.web.app import create_app


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in [n for n in os.environ if n.upper().startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)  # nor the developer's own settings
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    return f"sqlite:///{tmp_path / 'v.db'}"


def test_health_and_the_database_is_migrated_on_start(database_url: str) -> None:
    app = create_app(load_settings(database_url=database_url))

    with TestClient(app) as client:
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    engine = create_database_engine(database_url)
    try:
        assert "alembic_version" in inspect(engine).get_table_names()
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_an_unknown_path_is_not_found(database_url: str) -> None:
    with TestClient(create_app(load_settings(database_url=database_url))) as client:
        response = client.get("/no-such-page")

    assert response.status_code == 404


def test_nothing_is_built_before_the_app_starts(database_url: str, tmp_path: Path) -> None:
    create_app(load_settings(database_url=database_url))

    assert not (tmp_path / "v.db").exists()

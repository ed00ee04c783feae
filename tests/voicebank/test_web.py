"""The web app as a client sees it, started through its lifespan on a fresh SQLite file."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import inspect
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from storage.database import create_database_engine
from storage.migrate import current_revision, head_revision
from voicebank.runtime import WebLoad
from voicebank.settings import ENV_PREFIX, load_settings
from voicebank.web.app import CountingRequests, create_app


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


def test_a_server_keeps_what_start_up_built_out_of_garbage_collections(
    database_url: str
) -> None:
    """``voicebank run`` builds its app long-running: once started, what start-up built is
    frozen, so no full collection walks it again; an app built for a test freezes nothing."""
    gc.unfreeze()
    try:
        with TestClient(create_app(load_settings(database_url=database_url))) as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_freeze_count() == 0
        with TestClient(create_app(load_settings(database_url=database_url),
                                   long_running=True)) as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_nothing_is_built_before_the_app_starts(database_url: str, tmp_path: Path) -> None:
    create_app(load_settings(database_url=database_url))

    assert not (tmp_path / "v.db").exists()


def test_the_app_counts_the_requests_in_hand_even_when_one_fails() -> None:
    load = WebLoad()
    seen: list[int] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(load.serving)
        if scope.get("path") == "/fails":
            raise RuntimeError("the endpoint failed")

    counting = CountingRequests(endpoint, load)

    async def nothing() -> dict[str, str]:
        return {"type": "http.disconnect"}

    async def ignore(message: object) -> None:
        return None

    asyncio.run(counting({"type": "http", "path": "/"}, nothing, ignore))
    with pytest.raises(RuntimeError):
        asyncio.run(counting({"type": "http", "path": "/fails"}, nothing, ignore))
    asyncio.run(counting({"type": "lifespan"}, nothing, ignore))  # not a request

    assert seen == [1, 1, 0]
    assert load.serving == 0


def test_handling_waits_for_a_lull_in_requests_but_not_for_ever() -> None:
    load = WebLoad()
    load.serving = 2
    waiting = threading.Thread(target=load.wait_for_lull, args=(60.0,))
    waiting.start()
    waiting.join(timeout=0.3)
    assert waiting.is_alive()  # two requests in hand: it waits

    load.serving = 0
    waiting.join(timeout=30)
    assert not waiting.is_alive()  # answered: it goes on

    load.serving = 1  # a request that never ends: it goes on after the most it may wait
    gives_up = threading.Thread(target=load.wait_for_lull, args=(0.05,))
    gives_up.start()
    gives_up.join(timeout=30)
    assert not gives_up.is_alive()

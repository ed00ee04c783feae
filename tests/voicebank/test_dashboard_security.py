"""Every page and API route, found from the app itself: none answers an anonymous request,
and the roles that may not use a route are refused."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from bot.clock import ManualClock
from storage.database import create_database_engine, transaction
from storage.migrate import upgrade_database
from voicebank import accounts
from voicebank.settings import ENV_PREFIX, load_settings
from voicebank.web.app import create_app

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PASSWORD = "a long enough password"  # noqa: S105  (the tests' own)
PUBLIC = {"/sign-in", "/healthz", "/sms/twilio", "/sms/twilio/status", "/telegram/webhook",
          "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
# Pages only an admin may open (staff and MPs are refused).
ADMIN_ONLY = {"/people", "/services", "/people/import", "/surveys/new"}
# Pages an MP may not open at all (staff may).
NOT_FOR_MPS = {"/messages", "/simulator", "/ideas", "/actions", "/plan"}


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    for name in [n for n in os.environ if n.upper().startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'v.db'}"
    engine = create_database_engine(url)
    upgrade_database(engine)
    with transaction(engine) as session:
        for role in ("admin", "staff", "mp"):
            accounts.add_user(session=session, email=f"{role}@example.org", name=role,
                              role=role, password=PASSWORD, now=NOW, actor="test")
    engine.dispose()
    app = create_app(load_settings(database_url=url, media_dir=str(tmp_path / "media")),
                     clock=ManualClock(NOW))
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def _flatten(routes: list[Any]) -> Iterator[APIRoute]:
    """The app's routes, also those inside routers included in it."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _flatten(route.original_router.routes)


def _routes(client: TestClient) -> list[tuple[str, str]]:
    found = []
    for route in _flatten(client.app.routes):  # type: ignore[attr-defined]
        if route.path in PUBLIC:
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        found.extend((method, path) for method in sorted(route.methods - {"HEAD"}))
    return found


def test_the_dashboard_has_the_pages_staff_need(client: TestClient) -> None:
    paths = {path for _, path in _routes(client)}

    assert {"/", "/people", "/services", "/people/import", "/surveys", "/surveys/new",
            "/elections", "/ideas", "/actions", "/plan", "/surgeries", "/messages",
            "/simulator", "/api/v1/people"} <= paths


def test_no_route_answers_an_anonymous_request(client: TestClient) -> None:
    answered = []
    for method, path in _routes(client):
        response = client.request(method, path)
        expected = 401 if path.startswith("/api/") else 303
        if response.status_code != expected or (
                expected == 303 and not response.headers["location"].startswith("/sign-in")):
            answered.append((method, path, response.status_code))
    assert answered == []


def _signed_in(client: TestClient, role: str) -> TestClient:
    client.cookies.clear()
    signed = client.post("/sign-in", data={"email": f"{role}@example.org",
                                           "password": PASSWORD, "next": "/"})
    assert signed.status_code == 303
    return client


@pytest.mark.parametrize("role", ["staff", "mp"])
def test_pages_a_role_may_not_see_are_refused(client: TestClient, role: str) -> None:
    _signed_in(client, role)
    forbidden = ADMIN_ONLY | (NOT_FOR_MPS if role == "mp" else set())

    seen = {path: client.get(path).status_code for path in sorted(forbidden)}

    assert seen == dict.fromkeys(sorted(forbidden), 403)


@pytest.mark.parametrize("role", ["admin", "staff", "mp"])
def test_every_form_refuses_a_post_without_its_csrf_token(client: TestClient,
                                                          role: str) -> None:
    _signed_in(client, role)
    accepted = []
    for method, path in _routes(client):
        if method != "POST" or path.startswith("/api/") or path == "/sign-in":
            continue
        response = client.post(path, data={"csrf": "forged"})
        if response.status_code not in (403, 404, 422):
            accepted.append((path, response.status_code))
    assert accepted == []


def test_the_pages_each_role_may_see_open(client: TestClient) -> None:
    for role, pages in (("admin", ["/", "/people", "/services", "/surveys", "/elections",
                                   "/ideas", "/actions", "/plan", "/surgeries", "/messages",
                                   "/simulator", "/people/import", "/surveys/new"]),
                        ("staff", ["/", "/surveys", "/elections", "/ideas", "/actions",
                                   "/plan", "/surgeries", "/messages", "/simulator"]),
                        ("mp", ["/", "/surveys", "/elections", "/surgeries"])):
        _signed_in(client, role)
        opened = {page: client.get(page).status_code for page in pages}
        assert opened == dict.fromkeys(pages, 200), role

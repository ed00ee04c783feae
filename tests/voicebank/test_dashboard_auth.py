"""Signing in to the dashboard: Argon2 passwords, session cookies, CSRF, roles, rate limits."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from bot.clock import ManualClock
from storage.database import create_database_engine, transaction
from storage.migrate import upgrade_database
from storage.tables import AuditEntry, StaffUser, WebSession
from voicebank import accounts
from voicebank.settings import ENV_PREFIX, load_settings
from voicebank.web.app import create_app

PASSWORD = "correct horse battery"  # noqa: S105  (the tests' own)
GUESS = "password1"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in [n for n in os.environ if n.upper().startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'v.db'}"
    engine = create_database_engine(url)
    upgrade_database(engine)
    with transaction(engine) as session:
        for email, role in (("lead@example.org", "admin"), ("mp@example.org", "mp")):
            accounts.add_user(session=session, email=email, name=email.split("@")[0],
                              role=role, password=PASSWORD, now=NOW, actor="test")
    engine.dispose()
    return url


def _client(url: str, public_url: str = "http://127.0.0.1:8000") -> TestClient:
    app = create_app(load_settings(database_url=url, public_url=public_url),
                     clock=ManualClock(NOW))
    return TestClient(app, follow_redirects=False)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with _client(database_url) as client:
        yield client


def _sign_in(client: TestClient, email: str = "lead@example.org", password: str = PASSWORD,
             next_page: str = "/") -> Any:
    return client.post("/sign-in", data={"email": email, "password": password,
                                         "next": next_page})


def test_an_anonymous_visitor_is_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/")

    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/"


def test_signing_in_sets_a_safe_cookie_and_shows_the_overview(client: TestClient) -> None:
    response = _sign_in(client)

    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie, "plain HTTP on 127.0.0.1 is local use"
    page = client.get("/")
    assert page.status_code == 200
    assert "<h1>Overview</h1>" in page.text
    assert "Messages in today" in page.text


def test_the_cookie_is_secure_on_a_public_address(database_url: str) -> None:
    with _client(database_url, public_url="https://voicebank.example.org") as client:
        response = _sign_in(client)

    assert "Secure" in response.headers["set-cookie"]


def test_a_wrong_password_is_refused_and_then_slowed_down(client: TestClient) -> None:
    wrong = _sign_in(client, password=GUESS)
    assert wrong.status_code == 401
    assert "do not match" in wrong.text
    for _ in range(4):
        _sign_in(client, password=GUESS)

    right_but_too_late = _sign_in(client)

    assert right_but_too_late.status_code == 401
    assert "too many wrong passwords" in right_but_too_late.text.lower()
    assert client.get("/").status_code == 303


def test_only_a_hash_of_the_password_and_the_session_is_stored(
    client: TestClient, database_url: str
) -> None:
    _sign_in(client)
    token = client.cookies.get("voicebank_session")
    engine = create_database_engine(database_url)
    try:
        with Session(engine) as session:
            user = session.exec(select(StaffUser).where(
                StaffUser.email == "lead@example.org")).one()
            stored = session.exec(select(WebSession)).one()
            audit = [entry.action for entry in session.exec(select(AuditEntry))]
    finally:
        engine.dispose()
    assert user.password_hash.startswith("$argon2")
    assert PASSWORD not in user.password_hash
    assert token is not None
    assert stored.token_hash != token
    assert "account.signed_in" in audit


def test_signing_out_needs_the_forms_csrf_token(client: TestClient) -> None:
    _sign_in(client)

    refused = client.post("/sign-out", data={"csrf": "forged"})
    assert refused.status_code == 403
    assert client.get("/").status_code == 200

    page = client.get("/").text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    signed_out = client.post("/sign-out", data={"csrf": csrf})
    assert signed_out.status_code == 303
    client.cookies.clear()
    assert client.get("/").status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "javascript:x"])
def test_after_signing_in_nobody_is_sent_off_the_site(client: TestClient, target: str) -> None:
    response = _sign_in(client, next_page=target)

    assert response.headers["location"] == "/"


def test_an_mp_can_sign_in_and_see_the_overview(client: TestClient) -> None:
    _sign_in(client, email="mp@example.org")

    assert client.get("/").status_code == 200


def test_accounts_need_a_real_email_role_and_a_long_password(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        with transaction(engine) as session:
            for email, role, password, says in (
                ("nobody", "staff", PASSWORD, "email"),
                ("a@example.org", "king", PASSWORD, "role"),
                ("b@example.org", "staff", "short", "10 characters"),
                ("lead@example.org", "staff", PASSWORD, "already"),
            ):
                with pytest.raises(accounts.AccountError, match=says):
                    accounts.add_user(session=session, email=email, name="x", role=role,
                                      password=password, now=NOW, actor="test")
    finally:
        engine.dispose()

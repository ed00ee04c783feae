"""A browser on the whole app for dashboard tests: start the app on the test's database and
clock, make accounts and sign in as them, post forms with the page's CSRF token, and read
rows back."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TypeVar

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from starlette.testclient import TestClient

from bot.clock import ManualClock
from storage.database import transaction
from storage.tables import AuditEntry
from tests.voicebank.app_harness import database_url_of
from voicebank import accounts
from voicebank.settings import ENV_PREFIX, Settings, load_settings
from voicebank.web.app import create_app

PASSWORD = "a long password for tests"  # noqa: S105  (the tests' own)
_Row = TypeVar("_Row")


@dataclass
class Dashboard:
    """A browser that does not follow redirects, so a test sees each 303 and where it goes."""

    client: TestClient
    database: Engine
    clock: ManualClock
    settings: Settings
    ids: dict[str, int] = field(default_factory=dict)

    @classmethod
    @contextmanager
    def opened(cls, database: Engine, clock: ManualClock, monkeypatch: pytest.MonkeyPatch,
               workdir: Path, *, ids: dict[str, int] | None = None, **settings: Any
               ) -> Iterator[Self]:
        """Start the app on ``database`` and ``clock``, in ``workdir`` and with none of the
        developer's own ``VOICEBANK_`` settings, and browse it until the block ends.
        ``settings`` change the app's settings; quiet hours are off unless given."""
        for name in [n for n in os.environ if n.upper().startswith(ENV_PREFIX)]:
            monkeypatch.delenv(name)
        monkeypatch.chdir(workdir)
        loaded = load_settings(**{"database_url": database_url_of(database),
                                  "public_url": "http://127.0.0.1:8000", "quiet_hours": "",
                                  **settings})
        app = create_app(loaded, clock=clock)
        with TestClient(app, follow_redirects=False) as client:
            yield cls(client=client, database=database, clock=clock, settings=loaded,
                      ids=ids if ids is not None else {})

    def add_account(self, who: str, role: str, *, person_id: int | None = None) -> int:
        """Make the account ``who``@example.org with ``role``; its id is returned and kept as
        ``ids["user:who"]``."""
        with transaction(self.database) as session:
            user = accounts.add_user(session=session, email=f"{who}@example.org",
                                     name=who.title(), role=role, password=PASSWORD,
                                     now=self.clock.now(), actor="test", person_id=person_id)
            assert user.id is not None
            self.ids[f"user:{who}"] = user.id
            return user.id

    def sign_in(self, who: str) -> None:
        """Sign this browser in as ``who``@example.org (the account the test made)."""
        self.client.cookies.clear()
        response = self.client.post("/sign-in", data={
            "email": f"{who}@example.org", "password": PASSWORD})
        assert response.status_code == 303

    def sign_in_as(self, role: str, *, person_id: int | None = None) -> int:
        """Sign in as the account named after ``role`` (``admin``@example.org and so on),
        made the first time it is asked for; returns the account's id. For tests about what
        a role may do, where who holds it does not matter."""
        if f"user:{role}" not in self.ids:
            self.add_account(role, role, person_id=person_id)
        self.sign_in(role)
        return self.ids[f"user:{role}"]

    def csrf(self) -> str:
        """The signed-in browser's CSRF token, read from the overview page as a person's
        browser would have it."""
        found = re.search(r'name="csrf" value="([^"]+)"', self.client.get("/").text)
        assert found is not None
        return found.group(1)

    def post(self, path: str, data: dict[str, Any] | None = None, *, files: Any = None) -> Any:
        """Post a form as the page would, with its CSRF token."""
        return self.client.post(path, data={"csrf": self.csrf(), **(data or {})}, files=files)

    def rows(self, model: type[Any], *where: Any) -> list[Any]:
        with transaction(self.database) as session:
            return list(session.exec(select(model).where(*where)))

    def row(self, model: type[_Row], key: Any) -> _Row:
        """The row of ``model`` with primary key ``key``, which must be there."""
        with transaction(self.database) as session:
            return session.get_one(model, key)

    def audit(self, action: str) -> list[AuditEntry]:
        """The audit log's entries for ``action``, oldest first."""
        with transaction(self.database) as session:
            return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)
                                     .order_by(col(AuditEntry.id))))

"""A signed-in browser for dashboard tests: sign in as an account, post forms with the
page's CSRF token, and read rows back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select
from starlette.testclient import TestClient

from storage.database import transaction

PASSWORD = "a long password for tests"  # noqa: S105  (the tests' own)


@dataclass
class Dashboard:
    client: TestClient
    database: Engine
    ids: dict[str, int]

    def sign_in(self, who: str) -> None:
        """Sign this browser in as ``who``@example.org (the account the test made)."""
        self.client.cookies.clear()
        response = self.client.post("/sign-in", data={
            "email": f"{who}@example.org", "password": PASSWORD})
        assert response.status_code == 303

    def csrf(self) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.client.get("/").text)
        assert found is not None
        return found.group(1)

    def post(self, path: str, data: dict[str, Any] | None = None) -> Any:
        return self.client.post(path, data={"csrf": self.csrf(), **(data or {})})

    def rows(self, model: type[Any], *where: Any) -> list[Any]:
        with transaction(self.database) as session:
            return list(session.exec(select(model).where(*where)))

"""What the REST API's tests share: staff accounts with tokens, and a clean environment."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from voicebank import accounts
from voicebank.settings import ENV_PREFIX

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PASSWORD = "a long enough password"  # noqa: S105  (the tests' own)


def add_accounts(session: Session, staff: Iterable[tuple[str, str, int | None]]
                 ) -> dict[str, str]:
    """An account and a token for each (name, role, person id): ``name@example.org``; the
    tokens as ``{"name_token": token}``."""
    tokens = {}
    for name, role, person in staff:
        accounts.add_user(session=session, email=f"{name}@example.org", name=name, role=role,
                          password=PASSWORD, now=NOW, actor="test", person_id=person)
        tokens[f"{name}_token"] = accounts.create_token(
            session=session, email=f"{name}@example.org", label="test", now=NOW)
    return tokens


def clear_settings_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``VOICEBANK_`` variable of the machine's reaches the app under test."""
    for name in [n for n in os.environ if n.upper().startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

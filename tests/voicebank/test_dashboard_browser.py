"""The dashboard in a real headless Chromium: the journeys staff take."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from storage.database import create_database_engine, transaction
from storage.migrate import upgrade_database
from tests.voicebank.browser_harness import browser_page, serving
from voicebank import accounts
from voicebank.settings import ENV_PREFIX, load_settings
from voicebank.web.app import create_app

PASSWORD = "a long demo password"  # noqa: S105  (the tests' own)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in [n for n in os.environ if n.upper().startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'v.db'}"
    engine = create_database_engine(url)
    upgrade_database(engine)
    now = datetime.now(UTC)
    with transaction(engine) as session:
        accounts.add_user(session=session, email="lead@example.org", name="Helen Lewis",
                          role="admin", password=PASSWORD, now=now, actor="test")
    engine.dispose()
    app = create_app(load_settings(database_url=url, quiet_hours=""), clock=ManualClock(now))
    with serving(app) as base:
        yield base


def test_signing_in_with_the_keyboard(site: str) -> None:
    with browser_page() as page:
        browser: Any = page
        browser.goto(f"{site}/")
        assert browser.url.endswith("/sign-in?next=/")
        browser.get_by_label("Email address").fill("lead@example.org")
        browser.get_by_label("Password").fill("not it")
        browser.keyboard.press("Enter")
        assert "do not match" in browser.get_by_role("alert").inner_text()

        browser.get_by_label("Password").fill(PASSWORD)
        browser.get_by_role("button", name="Sign in").click()

        browser.get_by_role("heading", name="Overview").wait_for()
        assert "Helen Lewis (admin)" in browser.inner_text("header")
        browser.keyboard.press("Tab")
        focused = browser.evaluate("document.activeElement.textContent")
        assert focused == "Skip to the content"

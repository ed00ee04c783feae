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


@pytest.fixture
def organised_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A site with a service, two people who use it, a member of staff and two ideas."""
    from storage import people
    from storage.suggestions import record_suggestion
    from storage.tables import Role

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
        river = people.add_constituency(session=session, name="Riverside")
        willow = people.add_service(session=session, name="Willow House",
                                    constituency_id=river.id or 0, join_code="WILLOW1")
        ann = people.add_person(session=session, urns=["tel:+447700900001"], now=now,
                                name="Ann", service_id=willow.id)
        people.add_person(session=session, urns=["tel:+447700900002"], now=now, name="Bob",
                          service_id=willow.id)
        people.add_person(session=session, urns=["tel:+447700900003"], now=now,
                          name="Sam Staff", roles=[Role.STAFF], service_id=willow.id)
        for text in ("A vegetable garden", "Fresh fruit at lunch"):
            record_suggestion(session=session, text=text, topic="food", now=now,
                              person_id=ann.id, service_id=willow.id)
    engine.dispose()
    app = create_app(load_settings(database_url=url, quiet_hours="",
                                   media_dir=str(tmp_path / "media")), clock=ManualClock(now))
    with serving(app) as base:
        yield base


def _sign_in(page: Any, site: str) -> None:
    page.goto(f"{site}/sign-in")
    page.get_by_label("Email address").fill("lead@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview").wait_for()


def test_build_and_send_a_survey_answer_it_in_the_simulator_and_see_the_chart_change(
    organised_site: str,
) -> None:
    site = organised_site
    with browser_page() as page:
        browser: Any = page
        _sign_in(browser, site)
        browser.goto(f"{site}/surveys/new")
        browser.get_by_label("Title").fill("Lunch")
        browser.get_by_label("Who it is for").select_option("service:WILLOW1")
        browser.locator("#q1_kind").select_option("choice")
        browser.locator("#q1_text").fill("Did you like lunch?")
        browser.locator("#q1_options").fill("1 😀 Yes\n2 🙁 No")
        browser.get_by_role("button", name="Save the survey").click()
        browser.goto(f"{site}/surveys")
        browser.get_by_text("Change survey 1").click()
        browser.get_by_role("button", name="Open survey 1 now and invite people").click()
        browser.get_by_text("invited", exact=False).first.wait_for()
        browser.goto(f"{site}/surveys/1/results")
        before = browser.locator("img").first.get_attribute("alt")

        browser.goto(f"{site}/simulator")
        browser.get_by_label("Person").select_option("tel:+447700900001")
        browser.get_by_role("button", name="Chat as this person").click()
        browser.get_by_label("Type a message").fill("yes")
        browser.get_by_role("button", name="Send").click()
        browser.get_by_text("You finished the survey").wait_for()

        browser.goto(f"{site}/surveys/1/results")
        after = browser.locator("img").first.get_attribute("alt")

    assert "Nobody has answered yet" in before
    assert "Yes 1 (100" in after


def test_triage_two_ideas_into_an_action(organised_site: str) -> None:
    site = organised_site
    with browser_page() as page:
        browser: Any = page
        _sign_in(browser, site)
        browser.goto(f"{site}/ideas")
        browser.get_by_label("Choose idea 1", exact=True).check()
        browser.get_by_label("Choose idea 2", exact=True).check()
        browser.get_by_label("What's happening next").fill("Plant a garden and grow fruit")
        browser.get_by_label("Who's responsible").select_option(label="Sam Staff")
        browser.get_by_label("When by").fill("2030-06-01")
        browser.get_by_role("button", name="Make the action").click()

        browser.goto(f"{site}/actions?show=all")
        listed = browser.inner_text("main")

    assert "Plant a garden and grow fruit" in listed
    assert "Sam Staff" in listed


def test_import_people_from_a_csv_with_one_bad_row(organised_site: str, tmp_path: Path) -> None:
    site = organised_site
    people_csv = tmp_path / "people.csv"
    people_csv.write_text("name,phone,service,role\n"
                          "Cath,07700 900011,WILLOW1,service_user\n"
                          "Dev,not a number,WILLOW1,service_user\n"
                          "Eve,+447700900012,WILLOW1,\n", encoding="utf-8")
    with browser_page() as page:
        browser: Any = page
        _sign_in(browser, site)
        browser.goto(f"{site}/people/import")
        browser.get_by_label("CSV file", exact=False).set_input_files(str(people_csv))
        browser.get_by_role("button", name="Check the file").click()
        preview = browser.inner_text("main")
        browser.get_by_role("button", name="Add 2 people").click()
        done = browser.inner_text("main")
        browser.goto(f"{site}/people")
        listed = browser.inner_text("main")

    assert "not a number" in preview
    assert "2 people were added. 1 row" in done
    assert "Cath" in listed
    assert "Eve" in listed
    assert "Dev" not in listed

"""The dashboard's survey pages, through the whole app: building, running, and results."""

from __future__ import annotations

import csv
import html
import io
import re
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.surveys.loading import load_survey_yaml
from bot.surveys.store import load_survey, save_survey
from storage import people, survey_progress
from storage.database import transaction
from storage.tables import (
    OutboxMessage,
    ParticipantStatus,
    Person,
    Role,
    StaffRole,
    Survey,
    SurveyParticipant,
    SurveyStatus,
)
from tests.voicebank.dashboard_harness import Dashboard as BaseDashboard
from voicebank.web.survey_form import option_lines

SUMMER = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)  # 10:00 in London
RIVERSIDE_PHONES = ("tel:+447700900101", "tel:+447700900102", "tel:+447700900103")
HILLSIDE_PHONE = "tel:+447700900201"


def small_png() -> bytes:
    """A real 1 by 1 pixel PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


class Dashboard(BaseDashboard):
    @property
    def media(self) -> Path:
        """Where the app keeps uploaded pictures."""
        return Path(self.settings.media_dir)

    def add_survey(self, text: str) -> int:
        with transaction(self.database) as session:
            survey = load_survey_yaml(text, source="test", zone=self.settings.zone)
            return save_survey(session=session, survey=survey, now=self.clock.now())


@pytest.fixture
def dashboard(database: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[Dashboard]:
    """Riverside House (three people and Mo, Riverside's MP) and Hillside House (one)."""
    ids: dict[str, int] = {}
    with transaction(database) as session:
        for name, code, phones in (("Riverside", "WILLOW1", RIVERSIDE_PHONES),
                                   ("Hillside", "OAK1", (HILLSIDE_PHONE,))):
            area = people.add_constituency(session=session, name=name)
            assert area.id is not None
            service = people.add_service(session=session, name=f"{name} House",
                                         constituency_id=area.id, join_code=code)
            for phone in phones:
                people.add_person(session=session, urns=[phone], now=SUMMER,
                                  name=phone[-3:], service_id=service.id)
            if name == "Riverside":
                mp = people.add_person(session=session, urns=["tel:+447700900109"], now=SUMMER,
                                       name="Mo", service_id=service.id,
                                       roles=(Role.SERVICE_USER, Role.MP))
                assert mp.id is not None
                ids["Mo"] = mp.id
    with Dashboard.opened(database, ManualClock(SUMMER), monkeypatch, tmp_path, ids=ids,
                          media_dir=str(tmp_path / "media")) as dashboard:
        yield dashboard


SURVEY = """\
title: How is the garden?
audience: {constituency: %s}
questions:
  - kind: choice
    text: 🌻 How is the garden?
    options:
      - {number: 1, emoji: "😀", label: Good}
      - {number: 2, emoji: "🙁", label: Bad}
  - kind: text
    text: What would make it better?
"""


def form(**changes: str) -> dict[str, str]:
    """The build form filled in with one choice question, as a person would."""
    filled = {"title": "How is the garden?", "intro": "Two quick questions.",
              "audience": "constituency:Riverside", "dont_know": "yes",
              "reminders": "2 days, 2 hours", "slots": "2", "action": "save",
              "q1_kind": "choice", "q1_text": "🌻 How is the garden?",
              "q1_simpler": "Do you like the garden?", "q1_standard": "2.1",
              "q1_options": "1 😀 Good\n2 🙁 Bad", "q2_kind": "text",
              "q2_text": "What would make it better?"}
    filled.update(changes)
    return filled


def test_someone_not_signed_in_is_sent_to_sign_in(dashboard: Dashboard) -> None:
    survey_id = dashboard.add_survey(SURVEY % "Riverside")
    for path in ("/surveys", "/surveys/new", f"/surveys/{survey_id}/results",
                 f"/surveys/{survey_id}/results.csv"):
        response = dashboard.client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/sign-in?next=/surveys")
    for path in ("/surveys/new", f"/surveys/{survey_id}/open", f"/surveys/{survey_id}/close"):
        assert dashboard.client.post(path, data={"csrf": "x"}).status_code == 303
    assert dashboard.row(Survey, survey_id).status == SurveyStatus.DRAFT


def test_staff_see_results_but_cannot_build_or_run_surveys(dashboard: Dashboard) -> None:
    survey_id = dashboard.add_survey(SURVEY % "Riverside")
    dashboard.sign_in_as(StaffRole.STAFF)

    listed = dashboard.client.get("/surveys")
    assert listed.status_code == 200
    assert "How is the garden?" in listed.text
    assert "/surveys/new" not in listed.text
    assert dashboard.client.get(f"/surveys/{survey_id}/results").status_code == 200
    assert dashboard.client.get("/surveys/new").status_code == 403
    assert dashboard.post("/surveys/new", form()).status_code == 403
    for action in ("open", "close", "schedule"):
        refused = dashboard.post(f"/surveys/{survey_id}/{action}")
        assert refused.status_code == 403, action
    assert dashboard.row(Survey, survey_id).status == SurveyStatus.DRAFT
    assert len(dashboard.rows(Survey)) == 1
    assert len(dashboard.rows(OutboxMessage)) == 0


def test_an_mp_sees_only_their_constituencys_surveys(dashboard: Dashboard) -> None:
    theirs = dashboard.add_survey(SURVEY % "Riverside")
    other = dashboard.add_survey(SURVEY.replace("garden", "kitchen") % "Hillside")
    dashboard.sign_in_as(StaffRole.MP, person_id=dashboard.ids["Mo"])

    listed = dashboard.client.get("/surveys")
    assert listed.status_code == 200
    assert "How is the garden?" in listed.text
    assert "kitchen" not in listed.text
    assert dashboard.client.get(f"/surveys/{theirs}/results").status_code == 200
    assert dashboard.client.get(f"/surveys/{theirs}/results.csv").status_code == 200
    assert dashboard.client.get(f"/surveys/{other}/results").status_code == 404
    assert dashboard.client.get(f"/surveys/{other}/results.csv").status_code == 404
    assert dashboard.client.get("/surveys/new").status_code == 403
    assert dashboard.post(f"/surveys/{theirs}/open").status_code == 403


@pytest.mark.parametrize("csrf", [None, "forged"])
def test_every_change_needs_the_forms_csrf_token(dashboard: Dashboard, csrf: str | None) -> None:
    survey_id = dashboard.add_survey(SURVEY % "Riverside")
    dashboard.sign_in_as(StaffRole.ADMIN)
    token = {} if csrf is None else {"csrf": csrf}
    posts = [
        ("/surveys/new", form()),
        ("/surveys/new", {"action": "template", "template": "smiley"}),
        (f"/surveys/{survey_id}/schedule", {"opens": "2026-07-02T09:00",
                                            "closes": "2026-07-09T17:00"}),
        (f"/surveys/{survey_id}/open", {}),
        (f"/surveys/{survey_id}/close", {}),
    ]
    for path, data in posts:
        response = dashboard.client.post(path, data={**data, **token},
                                         files={"q1_picture1": ("a.png", small_png())})
        assert response.status_code == 403, path

    row = dashboard.row(Survey, survey_id)
    assert (row.status, row.opens_at) == (SurveyStatus.DRAFT, None)
    assert len(dashboard.rows(Survey)) == 1
    assert len(dashboard.rows(OutboxMessage)) == 0
    assert not dashboard.media.exists() or not list(dashboard.media.iterdir())


def test_an_admin_builds_a_survey_with_a_picture(dashboard: Dashboard) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)
    page = dashboard.client.get("/surveys/new")
    assert page.status_code == 200
    assert 'value="constituency:Riverside"' in page.text
    assert 'value="service:OAK1"' in page.text
    picture = small_png()

    response = dashboard.post(
        "/surveys/new", form(),
        files={"q1_picture2": ("sad face.png", picture, "image/png")})

    assert response.status_code == 303
    survey_id = int(response.headers["location"].split("created=")[1])
    with transaction(dashboard.database) as session:
        survey = load_survey(session=session, survey_id=survey_id)
    assert survey is not None
    assert (survey.title, survey.status, survey.audience.describe()) == (
        "How is the garden?", "draft", "constituency Riverside")
    assert [(q.kind, q.standard, q.simpler) for q in survey.questions] == [
        ("choice", "2.1", "Do you like the garden?"), ("text", None, None)]
    good, bad = survey.questions[0].options
    assert (good.number, good.emoji, good.label, good.picture) == (1, "😀", "Good", None)
    assert (bad.number, bad.emoji, bad.label) == (2, "🙁", "Bad")
    assert bad.picture is not None
    assert re.fullmatch(r"[0-9a-f]{32}\.png", bad.picture)
    assert (dashboard.media / bad.picture).read_bytes() == picture
    assert [r.total_seconds() for r in survey.reminders] == [2 * 86400, 2 * 3600]
    assert [entry.subject for entry in dashboard.audit("survey.created")] == [
        f"survey:{survey_id}"]
    listed = dashboard.client.get(response.headers["location"])
    assert f"Survey {survey_id} is saved as a draft" in listed.text


def test_a_file_pretending_to_be_a_picture_is_refused(dashboard: Dashboard) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)

    response = dashboard.post(
        "/surveys/new", form(),
        files={"q1_picture1": ("good.png", b"just some words, not a picture", "image/png")})

    assert response.status_code == 422
    assert "The picture for option 1 is not a PNG, JPEG or GIF picture." in response.text
    assert 'role="alert"' in response.text
    assert "How is the garden?" in response.text, "what was typed is kept"
    assert len(dashboard.rows(Survey)) == 0
    assert not dashboard.media.exists() or not list(dashboard.media.iterdir())


def test_mistakes_are_shown_beside_the_question_with_the_survey_file_rules(
    dashboard: Dashboard
) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)

    response = dashboard.post(
        "/surveys/new", form(q1_options="1 😀 Good", reminders="soon", title=""))

    assert response.status_code == 422
    text = html.unescape(response.text)
    question = text.split("<legend>Question 1</legend>")[1].split("</fieldset>")[0]
    assert "Options: needs at least two options." in question
    assert "Title: must not be empty." in text
    assert "Reminder 1: write it like 2 days, 3 hours or 90 minutes." in text
    assert "What would make it better?" in text
    assert len(dashboard.rows(Survey)) == 0


def test_asking_for_another_question_keeps_what_was_typed(dashboard: Dashboard) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)

    response = dashboard.post("/surveys/new", form(action="more"))

    assert response.status_code == 200
    assert "<legend>Question 3</legend>" in response.text
    assert "1 😀 Good" in response.text
    assert len(dashboard.rows(Survey)) == 0


def test_a_template_fills_the_form_or_is_saved_as_a_draft(dashboard: Dashboard) -> None:
    dashboard.sign_in_as(StaffRole.ADMIN)

    filled = dashboard.client.get("/surveys/new?template=smiley")
    assert filled.status_code == 200
    assert 'value="How are things?"' in filled.text
    assert '<option value="smiley" selected>' in filled.text
    assert 'value="2 days, 2 hours"' in filled.text

    saved = dashboard.post("/surveys/new", {"action": "template", "template": "standards"})
    assert saved.status_code == 303
    survey_id = int(saved.headers["location"].split("created=")[1])
    row = dashboard.row(Survey, survey_id)
    assert (row.title, row.status) == ("Being heard. How are we doing?", SurveyStatus.DRAFT)
    assert dashboard.audit("survey.created")[0].detail["template"] == "standards"
    assert dashboard.client.get("/surveys/new?template=nope").status_code == 422


def test_scheduling_a_survey_sets_its_local_times(dashboard: Dashboard) -> None:
    survey_id = dashboard.add_survey(SURVEY % "Riverside")
    dashboard.sign_in_as(StaffRole.ADMIN)

    backwards = dashboard.post(f"/surveys/{survey_id}/schedule", {
        "opens": "2026-07-09T09:00", "closes": "2026-07-02T17:00"})
    nonsense = dashboard.post(f"/surveys/{survey_id}/schedule", {"opens": "next week"})
    assert (backwards.status_code, nonsense.status_code) == (422, 422)
    assert "must close after it opens" in backwards.text
    assert "write the date and time like 2026-12-01 09:00" in nonsense.text
    assert dashboard.row(Survey, survey_id).status == SurveyStatus.DRAFT

    response = dashboard.post(f"/surveys/{survey_id}/schedule", {
        "opens": "2026-07-02T09:00", "closes": "2026-07-09T17:00"})

    assert response.status_code == 303
    row = dashboard.row(Survey, survey_id)
    assert row.status == SurveyStatus.SCHEDULED
    assert row.opens_at == datetime(2026, 7, 2, 8, 0, tzinfo=UTC)  # British Summer Time
    assert row.closes_at == datetime(2026, 7, 9, 16, 0, tzinfo=UTC)
    assert len(dashboard.audit("survey.scheduled")) == 1
    assert dashboard.post("/surveys/999/schedule").status_code == 404


def _answer(dashboard: Dashboard, survey_id: int, picks: list[tuple[str, int, str]]) -> None:
    """Store answers as the engine does: (phone, option number, written answer)."""
    with transaction(dashboard.database) as session:
        survey = session.get_one(Survey, survey_id)
        definition = load_survey(session=session, survey_id=survey_id)
        assert definition is not None
        choice, text = definition.questions
        assert choice.id is not None
        assert text.id is not None
        for phone, number, words in picks:
            person, _ = people.find_by_address(session=session, urn=phone) or (None, None)
            assert person is not None
            option = choice.option(number)
            assert option is not None
            for question_id, option_number, value, written in (
                    (choice.id, number, option.value, None), (text.id, None, words, words)):
                assert person.id is not None
                survey_progress.record_answer(
                    session=session, survey_id=survey_id, anonymous=survey.anonymous,
                    question_id=question_id, person_id=person.id,
                    service_id=person.service_id, constituency_id=None,
                    option_number=option_number, value=value, text=written,
                    now=dashboard.clock.now())
            progress = session.get_one(SurveyParticipant, (survey_id, person.id))
            progress.status = ParticipantStatus.FINISHED
            session.add(progress)


def test_opening_invites_the_audience_and_answers_show_in_the_results(
    dashboard: Dashboard
) -> None:
    survey_id = dashboard.add_survey(SURVEY % "Riverside")
    dashboard.sign_in_as(StaffRole.ADMIN)

    opened = dashboard.post(f"/surveys/{survey_id}/open")

    assert opened.status_code == 303
    assert "invited=4" in opened.headers["location"]
    assert "4 people were invited" in dashboard.client.get(opened.headers["location"]).text
    assert dashboard.row(Survey, survey_id).status == SurveyStatus.OPEN
    with transaction(dashboard.database) as session:
        invited = set(session.exec(select(OutboxMessage.address).where(
            col(OutboxMessage.text).contains("How is the garden?"))))
        riverside = {p.id for p in session.exec(select(Person).where(
            col(Person.name).in_([phone[-3:] for phone in RIVERSIDE_PHONES])))}
    assert invited == {*RIVERSIDE_PHONES, "tel:+447700900109"}
    assert HILLSIDE_PHONE not in invited
    assert len(riverside) == 3
    assert dashboard.audit("survey.opened")[0].actor.startswith("staff_user:")

    _answer(dashboard, survey_id, [(RIVERSIDE_PHONES[0], 1, "More flowers"),
                                   (RIVERSIDE_PHONES[1], 1, "A bench"),
                                   (RIVERSIDE_PHONES[2], 2, "Less mud")])
    page = dashboard.client.get(f"/surveys/{survey_id}/results")

    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "3 started and 3 finished: a response rate of 75.0%" in text
    assert "<td>2</td><td>66.7%</td>" in text
    assert "<td>1</td><td>33.3%</td>" in text
    assert "fewer than 5" in text, "three people in Riverside are too few to show apart"
    assert all(words in text for words in ("More flowers", "A bench", "Less mud"))
    image = re.search(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', page.text)
    assert image is not None
    alt = html.unescape(image.group(2))
    assert alt.startswith("Bar chart: How is the garden?")
    assert "Good 2 (66.7%)" in alt
    assert "Bad 1 (33.3%)" in alt
    assert f"The chart in words: {alt}" in text
    assert f'href="/surveys/{survey_id}/results.csv"' in page.text

    download = dashboard.client.get(f"/surveys/{survey_id}/results.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    everyone = {row["option"]: row["count"] for row in rows
                if row["group_type"] == "all" and row["option_number"]}
    assert everyone == {"Good": "2", "Bad": "1"}
    assert {row["option"] for row in rows if row["group_type"] == "text"} == {
        "More flowers", "A bench", "Less mud"}


def test_closing_a_survey_stops_it(dashboard: Dashboard) -> None:
    survey_id = dashboard.add_survey(SURVEY % "Riverside")
    dashboard.sign_in_as(StaffRole.ADMIN)

    closed = dashboard.post(f"/surveys/{survey_id}/close")
    reopened = dashboard.post(f"/surveys/{survey_id}/open")

    assert closed.status_code == 303
    assert dashboard.row(Survey, survey_id).status == SurveyStatus.CLOSED
    assert reopened.status_code == 422
    assert "cannot open again" in reopened.text
    assert len(dashboard.rows(OutboxMessage)) == 0
    assert len(dashboard.audit("survey.closed")) == 1


@pytest.mark.parametrize(("typed", "read"), [
    ("1 😀 Good", [(1, "😀", "Good")]),
    ("1. Good\n\n2) Not good", [(1, "", "Good"), (2, "", "Not good")]),
    ("Yes please\nNo thanks", [(1, "", "Yes please"), (2, "", "No thanks")]),
    ("1.5 👍 Half", [("1.5", "👍", "Half")]),
])
def test_option_lines_read_as_people_write_them(
    typed: str, read: list[tuple[int | str, str, str]]
) -> None:
    assert option_lines(typed) == read

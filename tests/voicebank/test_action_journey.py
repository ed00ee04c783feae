"""The README's "you said, we did" journey by console: an idea sent in the terminal becomes
an action, its owner is nudged on the day and signs it off with DONE, the person who sent
the idea is told, and the map and plan and the Board report are written as web pages."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from tests.voicebank.test_cli import assert_in_order, run_voicebank
from tests.voicebank.test_survey_journey import make_demo

AMIR = "tel:+447700900001"
HELEN = "tel:+447700900028"  # the demo's participation lead, on the staff


def _ok(*args: str, cwd: Path, stdin: str = "") -> str:
    result = run_voicebank(*args, cwd=cwd, stdin=stdin)
    assert result.returncode == 0, f"{args}: {result.stderr}"
    return result.stdout


def test_an_idea_becomes_an_action_and_the_person_hears_what_changed(tmp_path: Path) -> None:
    make_demo(tmp_path)
    chat = _ok("chat", "--as", AMIR, cwd=tmp_path,
               stdin="IDEA\nA vegetable garden\n1\nyes\nskip\n")
    assert "Your idea number is 1." in chat
    assert "A vegetable garden" in _ok("action", "ideas", "--new", cwd=tmp_path)
    helen_id = re.search(r"^\s*(\d+)\s+Helen Lewis", _ok("person", "list", cwd=tmp_path),
                         re.MULTILINE)
    assert helen_id is not None

    added = _ok("action", "add", "--what", "Plant a vegetable garden at Willow House",
                "--owner", helen_id.group(1), "--due", date.today().isoformat(),  # noqa: DTZ011
                "--idea", "1", "--standard", "1.1", cwd=tmp_path)
    assert "Action 1" in added
    _ok("tick", cwd=tmp_path)
    owner = _ok("chat", "--as", HELEN, cwd=tmp_path, stdin="DONE 1 we planted it today\n")

    # The tick's nudge is the day before's or the day's own, by the hour the test runs at.
    assert_in_order(owner, ["New action 1 for you", "Plant a vegetable garden", "Send DONE 1",
                            "ction 1 is due", "Plant a vegetable garden", "Send DONE 1",
                            "Thank you! ✅ Action 1 is done.",
                            "People we told what changed: 1."])
    told = _ok("chat", "--as", AMIR, cwd=tmp_path, stdin="")
    assert_in_order(told, ['You said: "A vegetable garden"',
                           "We did: Plant a vegetable garden at Willow House"])
    assert "done" in _ok("action", "show", "1", cwd=tmp_path)

    _ok("report", "plan", "--html", "plan.html", "--csv", "plan.csv", cwd=tmp_path)
    today = date.today().isoformat()  # noqa: DTZ011
    _ok("report", "board", "--from", today, "--to", today, "--html", "board.html",
        "--csv", "board", cwd=tmp_path)
    plan = (tmp_path / "plan.html").read_text(encoding="utf-8")
    board = (tmp_path / "board.html").read_text(encoding="utf-8")
    assert plan.lstrip().lower().startswith("<!doctype html>")
    assert "happening next" in plan
    assert "Plant a vegetable garden at Willow House" in plan
    assert "Plant a vegetable garden at Willow House" in board
    assert (tmp_path / "board" / "ideas.csv").exists()

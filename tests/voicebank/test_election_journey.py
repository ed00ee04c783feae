"""The README's election and poll, as staff and people run them: the installed script,
by console, start to finish, with the results shown."""

from __future__ import annotations

from pathlib import Path

from tests.voicebank.test_cli import assert_in_order, run_voicebank
from tests.voicebank.test_survey_journey import make_demo

STANDING = {"tel:+447700900001": ("More trips to the seaside", "I listen to everyone"),
            "tel:+447700900002": ("A bigger garden", "I get things done")}
VOTERS = {"tel:+447700900007": "2", "tel:+447700900008": "2", "tel:+447700900013": "2",
          "tel:+447700900014": "Amir"}
MPS = {"tel:+447700900026": "🌊", "tel:+447700900027": "2"}


def _ok(*args: str, cwd: Path, stdin: str = "") -> str:
    result = run_voicebank(*args, cwd=cwd, stdin=stdin)
    assert result.returncode == 0, f"{args}: {result.stderr}"
    return result.stdout


def test_a_constituency_election_by_console(tmp_path: Path) -> None:
    make_demo(tmp_path)
    _ok("election", "create", "--constituency", "Riverside", "--seats", "1", cwd=tmp_path)
    _ok("election", "nominations", "1", cwd=tmp_path)
    for urn, (change, why) in STANDING.items():
        chat = _ok("chat", "--as", urn, cwd=tmp_path,
                   stdin=f"STAND\n{change}\n{why}\nSKIP\n")
        assert_in_order(chat, ["What do you want to change?", "Why should people vote",
                               "send a photo", "Staff will look at what you wrote"])
    shown = _ok("election", "show", "1", cwd=tmp_path)
    assert "More trips to the seaside" in shown
    _ok("election", "approve", "1", "1", cwd=tmp_path)
    _ok("election", "approve", "1", "2", cwd=tmp_path)
    opened = _ok("election", "open", "1", cwd=tmp_path)
    assert "10" in opened, "Riverside's ten service users are on the roll"

    receipts = []
    for urn, choice in VOTERS.items():
        chat = _ok("chat", "--as", urn, cwd=tmp_path, stdin=f"{choice}\nyes\n")
        assert_in_order(chat, ["Voting is open", "1 Amir", "2 Beth", "You chose",
                               "Your vote is counted"])
        receipts.append(chat.split("receipt code is ")[1][:9])
    again = _ok("chat", "--as", "tel:+447700900007", cwd=tmp_path, stdin="VOTE\n")
    assert "You have already voted" in again
    assert "There is nothing more for you to vote in right now" in again

    _ok("election", "close", "1", cwd=tmp_path)
    counted = _ok("election", "count", "1", "--seed", "readme", cwd=tmp_path)
    assert "Beth" in counted
    assert _ok("election", "recount", "1", cwd=tmp_path).strip() == (
        "The recount matches the result.")
    _ok("election", "announce", "1", cwd=tmp_path)
    results = _ok("election", "results", "1", "--chart", "result.png", cwd=tmp_path)
    assert_in_order(results, ["Beth", "3", "elected", "Amir", "1", "Turnout: 4 of 10"])
    assert (tmp_path / "result.png").read_bytes().startswith(b"\x89PNG")
    listed = _ok("election", "receipts", "1", cwd=tmp_path)
    assert all(code in listed for code in receipts)
    told = _ok("chat", "--as", "tel:+447700900019", cwd=tmp_path, stdin="")
    assert "Elected: Beth" in told


def test_a_poll_among_the_mps_by_console(tmp_path: Path) -> None:
    make_demo(tmp_path)
    _ok("election", "poll", "--title", "Name the new service", "--question",
        "Which name is best?", "--option", "🌳 Oak House", "--option", "🌊 River View",
        "--electorate", "mp", cwd=tmp_path)
    assert "2" in _ok("election", "open", "1", cwd=tmp_path)
    for urn, choice in MPS.items():
        chat = _ok("chat", "--as", urn, cwd=tmp_path, stdin=f"{choice}\n1\n")
        assert_in_order(chat, ["Which name is best?", "1  🌳 Oak House", "2  🌊 River View",
                               "You chose 2", "Your vote is counted"])
    _ok("election", "close", "1", cwd=tmp_path)
    _ok("election", "count", "1", cwd=tmp_path)
    _ok("election", "announce", "1", cwd=tmp_path)

    results = _ok("election", "results", "1", cwd=tmp_path)

    assert_in_order(results, ["River View", "2", "Oak House", "0", "Turnout: 2 of 2"])

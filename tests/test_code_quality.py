"""The linters the project holds itself to, run with the tests so CI and laptops agree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed; install the test extra: pip install -e '.[test]'")
    return found


def test_ruff_finds_nothing():
    result = subprocess.run(  # noqa: S603
        [tool("ruff"), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True,
        check=False, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing():
    result = subprocess.run(  # noqa: S603
        [tool("mypy"), "--no-incremental"], cwd=ROOT, capture_output=True, text=True,
        check=False, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# Imports point one way (DESIGN.md): bot → storage; channels → bot; scheduler → bot,
# storage, channels; voicebank → all. Nothing in bot/ imports a network or web framework.
NOT_IMPORTED_BY = {
    "bot": {"channels", "scheduler", "voicebank", "telegram", "twilio", "fastapi",
            "starlette", "apscheduler", "httpx", "aiohttp"},
    "storage": {"bot", "channels", "scheduler", "voicebank", "telegram", "twilio", "fastapi"},
    "channels": {"storage", "scheduler", "voicebank", "fastapi", "apscheduler"},
    "scheduler": {"voicebank", "fastapi"},
}


def _imported_packages(path: Path) -> set[str]:
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(NOT_IMPORTED_BY))
def test_imports_point_one_way(package: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in _imported_packages(path) & NOT_IMPORTED_BY[package]
    }
    assert wrong == set()

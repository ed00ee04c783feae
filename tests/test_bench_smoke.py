"""``python -m bench --quick`` runs every benchmark end to end and writes what it measured.

The targets are judged by the benchmark's own output (``met``), never here: this checks
that each benchmark ran, measured something and wrote a figure beside its baseline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.__main__ import BENCHMARKS

ROOT = Path(__file__).resolve().parent.parent


def test_the_quick_benchmarks_run_and_write_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "figures.json"
    command = [sys.executable, "-m", "bench", "--quick", "--json", str(output)]
    postgres = os.environ.get("VOICEBANK_TEST_POSTGRES_URL")
    if postgres:
        command += ["--postgres", postgres]
    result = subprocess.run(  # noqa: S603  (our own module, fixed arguments)
        command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=1800,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    report = json.loads(output.read_text(encoding="utf-8"))
    assert report["mode"] == "quick"
    assert report["machine"]["cpus"] >= 1
    assert report["machine"]["packages"]["sqlalchemy"]
    figures = report["figures"]
    measured = {figure["bench"] for figure in figures}
    skipped = {entry["bench"] for entry in report["skipped"]}
    assert measured | skipped == set(BENCHMARKS), (measured, skipped)
    if postgres:
        assert not skipped, report["skipped"]
    for figure in figures:
        assert figure["value"] > 0, figure
        if figure["baseline"] is not None:
            assert figure["baseline"] > 0, figure
            assert figure["ratio"] is not None, figure
        assert figure["met"] in (True, False, None), figure
    # The table a person reads names every figure that was measured.
    for figure in figures:
        assert figure["name"] in result.stdout

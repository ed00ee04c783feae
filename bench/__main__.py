"""``python -m bench``: run Voicebank's benchmarks, print a table, write the figures as JSON."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import platform
import sqlite3
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import Figure, Run, Skipped, postgres_from_environment, working_directory

BENCHMARKS = {
    "P1": "bench.p1_engine",
    "P2": "bench.p2_webhook",
    "P3": "bench.p3_pacing",
    "P4": "bench.p4_scheduler",
    "P5": "bench.p5_workers",
    "P6": "bench.p6_ballots",
    "P7": "bench.p7_footprint",
}
PACKAGES = ("sqlalchemy", "sqlmodel", "psycopg", "fastapi", "starlette", "uvicorn",
            "python-telegram-bot", "twilio", "apscheduler", "httpx")


def machine(postgres_url: str | None) -> dict[str, Any]:
    """What the figures were measured on."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    try:
        voicebank_version = metadata.version("voicebank")
    except metadata.PackageNotFoundError:
        voicebank_version = None
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _postgres_version(postgres_url),
        "voicebank": voicebank_version,
        "packages": versions,
    }


def _postgres_version(url: str | None) -> str | None:
    if url is None:
        return None
    from sqlalchemy import text

    from storage.database import create_database_engine

    try:
        engine = create_database_engine(url)
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one()
        engine.dispose()
        return str(version)
    except Exception as error:  # the table still prints; PostgreSQL figures will say skipped
        return f"unreachable: {error}"


def table(results: list[Figure | Skipped]) -> str:
    """The figures as a plain-text table, one line each."""
    header = ("bench", "figure", "value", "baseline", "ratio", "target", "")
    rows = [header]
    for result in results:
        if isinstance(result, Skipped):
            rows.append((result.bench, "skipped: " + result.reason, "", "", "", "", ""))
            continue
        ratio = result.ratio
        rows.append((
            result.bench,
            result.name,
            f"{result.value:,.6g} {result.unit}",
            f"{result.baseline:,.6g} ({result.baseline_name})" if result.baseline is not None
            else "",
            f"{ratio:.2f}" if ratio is not None else "",
            result.target,
            {True: "met", False: "MISSED", None: ""}[result.met],
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Voicebank's benchmarks, each against a baseline measured in the same run.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", default=True,
                      help="small sizes, for a smoke run (the default)")
    mode.add_argument("--full", action="store_true",
                      help="the sizes the targets are set at (takes several minutes)")
    parser.add_argument("--only", default="",
                        help="a comma-separated list of benchmarks to run, e.g. P1,P3")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"),
                        help="where to write the figures (default: bench-results.json)")
    parser.add_argument("--postgres", default=postgres_from_environment(),
                        help="a PostgreSQL server URL for the PostgreSQL figures (default: "
                             "VOICEBANK_BENCH_POSTGRES_URL or VOICEBANK_TEST_POSTGRES_URL)")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("PTB_TIMEDELTA", "true")

    chosen = [name.strip().upper() for name in arguments.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"no benchmark called {', '.join(unknown)}; "
                     f"choose from {', '.join(BENCHMARKS)}")
    names = chosen or list(BENCHMARKS)
    quick = not arguments.full
    results: list[Figure | Skipped] = []
    started = time.perf_counter()
    with working_directory() as workdir:
        run = Run(quick=quick, workdir=workdir, postgres_url=arguments.postgres)
        for name in names:
            module = importlib.import_module(BENCHMARKS[name])
            print(f"{name}: {module.TITLE} …", file=sys.stderr, flush=True)
            begun = time.perf_counter()
            figures = module.run(run)
            print(f"{name}: done in {time.perf_counter() - begun:.1f} s", file=sys.stderr,
                  flush=True)
            results.extend(figures)
    print(table(results))
    report = {
        "mode": "quick" if quick else "full",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine(arguments.postgres),
        "figures": [result.as_json() for result in results if isinstance(result, Figure)],
        "skipped": [{"bench": result.bench, "reason": result.reason}
                    for result in results if isinstance(result, Skipped)],
    }
    arguments.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nfigures written to {arguments.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

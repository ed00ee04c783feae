"""What every benchmark shares: the run's settings, fresh databases, timing, and figures."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from storage.database import create_database_engine
from storage.migrate import upgrade_database

POSTGRES_ENV = ("VOICEBANK_BENCH_POSTGRES_URL", "VOICEBANK_TEST_POSTGRES_URL")


@dataclass
class Figure:
    """One measured figure, beside the baseline it is judged against.

    ``ratio`` is value / baseline when higher is better (throughput) and baseline / value
    when lower is better (time), so a ratio of 1.0 always means "as good as the baseline".
    ``target`` is the bar in words; ``met`` says whether this run cleared it (None: no bar).
    """

    bench: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    higher_is_better: bool = True
    target: str = ""
    met: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0 or self.value == 0:
            return None
        if self.higher_is_better:
            return self.value / self.baseline
        return self.baseline / self.value

    def as_json(self) -> dict[str, Any]:
        return {
            "bench": self.bench, "name": self.name, "value": self.value, "unit": self.unit,
            "baseline": self.baseline, "baseline_name": self.baseline_name,
            "ratio": self.ratio, "higher_is_better": self.higher_is_better,
            "target": self.target, "met": self.met, "detail": self.detail,
        }


@dataclass
class Skipped:
    """A benchmark that could not run here, and why (no PostgreSQL server, say)."""

    bench: str
    reason: str


@dataclass
class Run:
    """The settings of one benchmark run, handed to every benchmark."""

    quick: bool
    workdir: Path
    postgres_url: str | None
    _made: list[Callable[[], None]] = field(default_factory=list)

    def size(self, quick: int, full: int) -> int:
        return quick if self.quick else full

    def backends(self) -> list[str]:
        """The databases to measure on: SQLite always, PostgreSQL when a server is given."""
        return ["sqlite", "postgresql"] if self.postgres_url else ["sqlite"]

    def sqlite_path(self, name: str) -> Path:
        path = self.workdir / f"{name}-{uuid.uuid4().hex[:8]}.db"
        return path

    @contextlib.contextmanager
    def database(self, backend: str, name: str) -> Iterator[tuple[str, Engine]]:
        """A new, migrated, empty database: its URL and an engine (disposed afterwards)."""
        if backend == "sqlite":
            url = f"sqlite:///{self.sqlite_path(name)}"
            engine = create_database_engine(url)
            upgrade_database(engine)
            try:
                yield url, engine
            finally:
                engine.dispose()
            return
        if self.postgres_url is None:
            raise RuntimeError("no PostgreSQL server was given")
        server = create_database_engine(self.postgres_url)
        database = f"voicebank_bench_{name}_{uuid.uuid4().hex[:8]}".lower()
        with server.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'CREATE DATABASE "{database}"'))
        url = make_url(self.postgres_url).set(database=database).render_as_string(
            hide_password=False)
        engine = create_database_engine(url)
        try:
            upgrade_database(engine)
            yield url, engine
        finally:
            engine.dispose()
            with server.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            server.dispose()


def postgres_from_environment() -> str | None:
    for name in POSTGRES_ENV:
        if os.environ.get(name):
            return os.environ[name]
    return None


@contextlib.contextmanager
def working_directory() -> Iterator[Path]:
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="voicebank-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Stopwatch:
    """``with Stopwatch() as watch: …`` then ``watch.seconds``."""

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


def best_of(repeats: int, measure: Callable[[], float]) -> float:
    """The best (lowest) of ``repeats`` timings: the run least disturbed by the machine."""
    return min(measure() for _ in range(repeats))


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` fall (nearest rank)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]

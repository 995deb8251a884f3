"""Resident memory of an engine process against the number of stored instances: it must not grow with them.

A child process per size opens a database holding N instances, fires events at instances spread over
all of them, lists a page and reads histories; its peak RSS is reported. Seeding uses the engine
itself (synchronous=OFF only to make seeding quick; the measured process uses FULL).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from definitions import Role, definition_files
from store import SqlStore, migrate, open_engine
from workflow import Actor, Engine, SimulatedClock

SHIPPED = Path(__file__).parents[1] / "definitions" / "shipped"
SUPERSEDED = Path(__file__).parents[1] / "definitions" / "superseded"
DEFINITIONS = [SHIPPED, SUPERSEDED / "agency_feedback.yaml", SUPERSEDED / "catalogue_draft.yaml"]
ADMIN = Actor("bench", Role.ADMIN)


def _open(path: Path, synchronous: str) -> tuple[Engine, SqlStore]:
    sql = open_engine(f"sqlite:///{path}", synchronous=synchronous)  # type: ignore[arg-type]
    migrate(sql)
    clock = SimulatedClock(dt.datetime(2023, 1, 1, tzinfo=dt.UTC))
    store = SqlStore(sql, clock)
    engine = Engine(store, clock)
    for file in definition_files(DEFINITIONS):
        engine.load_definition_text(file.read_text(encoding="utf-8"), str(file))
    return engine, store


def seed(path: Path, count: int) -> None:
    engine, _ = _open(path, "OFF")
    for i in range(count):
        engine.start("agency_feedback", f"mem/{i}", "SYT", ADMIN, data={"tên": "Sở Y tế"})


def measure(path: Path, count: int) -> dict[str, Any]:
    engine, store = _open(path, "FULL")
    rng = random.Random(7)
    for n in range(500):
        instance_id = rng.randrange(1, count + 1)
        instance = store.get_instance(instance_id)
        if instance.state == "sent":
            engine.fire(instance_id, "record_receipt", ADMIN, payload={"received_on": "2023-01-01"},
                        idempotency_key=f"m{n}")
        store.history(instance_id)
    store.list_instances(limit=100, after_id=count // 2)
    return {"instances": count, "max_rss_mib": _peak_rss_mib()}


def _peak_rss_mib() -> float:
    """VmHWM, this process's own peak. (``ru_maxrss`` survives fork and exec on Linux: a child of a big parent
    would report the parent's peak; seen here after the 1,000,000-instance run.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def run(sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            path = Path(folder) / f"mem-{size}.db"
            seed(path, size)
            done = subprocess.run([sys.executable, "-m", "benchmarks.memory", str(path), str(size)],
                                  capture_output=True, text=True, check=True)
            results.append(json.loads(done.stdout))
    return results


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), int(sys.argv[2]))))

"""The size of a country: N stored instances, each with its history row, then the two reads that must stay fast.

Seeding writes rows in bulk (synchronous=OFF, SQLAlchemy Core executemany with the store's own tables and
types) instead of through the engine, which would take about ten minutes for 1,000,000 instances; every
history row carries a real hash chain computed by ``workflow.audit`` so verification does the full work.
Instances are spread over the registry's 28 agencies; a third are overdue, the rest due in the coming year.

Measured on the seeded file (synchronous=FULL, as served):
- the overdue tasks of one agency (``SqlStore.list_instances(assignee=..., overdue_at=now)``, the query behind
  ``GET /api/v1/instances?assignee=..&overdue=true``), 1,000 calls over random agencies: p50 / p99 / max;
- ``workflow audit verify`` (``service.verification.verify_database``): seconds with one process and with two;
  then, after a checkpoint and 1% more instances, ``--checkpoint --incremental`` with one process.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from service.verification import verify_database
from store import SqlStore, migrate, open_engine
from store.tables import history, instances
from workflow import Engine, SimulatedClock
from workflow.audit import GENESIS, record_hash
from workflow.ports import HistoryRecord

DEFINITION = Path(__file__).parents[1] / "definitions" / "superseded" / "agency_feedback.yaml"
AGENCIES = [f"A{i:02d}" for i in range(28)]
NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
CHUNK = 20_000


def _rows(first: int, count: int, rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    inst, hist = [], []
    for i in range(first, first + count):
        agency = AGENCIES[i % len(AGENCIES)]
        created = NOW - dt.timedelta(days=rng.randrange(30, 400), seconds=rng.randrange(86_400))
        overdue = rng.random() < 1 / 3
        due = NOW + dt.timedelta(days=-rng.randrange(1, 200) if overdue else rng.randrange(1, 365))
        data = {"received_on": created.date().isoformat()}
        record = HistoryRecord(
            instance_id=i, seq=1, event="@start", from_state=None, to_state="received", actor_id="bench",
            actor_role="admin", actor_agency=None, at=created, payload=data, reason=None,
            definition_id="agency_feedback", definition_version=1, request_id=None, prev_hash=GENESIS, hash="")
        digest = record_hash(record)
        payload = json.dumps(data, ensure_ascii=False)
        inst.append({"id": i, "definition_id": "agency_feedback", "definition_version": 1,
                     "business_key": f"scale/{i}", "state": "received", "version": 1, "assignee": agency,
                     "data": payload, "parent_id": None, "created_at": created, "updated_at": created,
                     "head_hash": digest, "entry_seq": 1, "suspended_at": None, "due_at": due})
        hist.append({"instance_id": i, "seq": 1, "event": "@start", "from_state": None, "to_state": "received",
                     "actor_id": "bench", "actor_role": "admin", "actor_agency": None, "at": created,
                     "payload": payload, "reason": None, "definition_id": "agency_feedback",
                     "definition_version": 1, "request_id": None, "prev_hash": GENESIS, "hash": digest})
    return inst, hist


def seed(path: Path, count: int) -> float:
    started = time.perf_counter()
    sql = open_engine(f"sqlite:///{path}", synchronous="OFF")
    migrate(sql)
    clock = SimulatedClock(NOW)
    Engine(SqlStore(sql, clock), clock).load_definition_text(DEFINITION.read_text(encoding="utf-8"), str(DEFINITION))
    rng = random.Random(11)
    with sql.begin() as connection:
        for first in range(1, count + 1, CHUNK):
            inst, hist = _rows(first, min(CHUNK, count + 1 - first), rng)
            connection.execute(insert(instances), inst)
            connection.execute(insert(history), hist)
    sql.dispose()
    return time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(path: Path, count: int, queries: int) -> dict[str, Any]:
    sql = open_engine(f"sqlite:///{path}", synchronous="FULL")
    store = SqlStore(sql, SimulatedClock(NOW))
    rng = random.Random(5)
    times, found = [], 0
    for _ in range(queries):
        agency = rng.choice(AGENCIES)
        started = time.perf_counter()
        page = store.list_instances(assignee=agency, overdue_at=NOW, limit=100)
        times.append(time.perf_counter() - started)
        found += len(page)
        if any(r.due_at is None or r.due_at >= NOW or r.assignee != agency for r in page):
            raise RuntimeError("overdue query returned a row that is not overdue for that agency")
    if found == 0:
        raise RuntimeError("overdue query found nothing; the seed is wrong")
    verify_s = {}
    for jobs in (1, 2):
        started = time.perf_counter()
        result = verify_database(store, f"sqlite:///{path}", jobs=jobs)
        verify_s[jobs] = time.perf_counter() - started
        if not result.ok or result.instances != count:
            raise RuntimeError(f"verify saw {result.instances} instances and {len(result.problems)} problems "
                               f"(expected {count} and none)")
    incremental_s, reread = _since_checkpoint(store, path, count)
    sql.dispose()
    return {"instances": count, "overdue_p50_ms": _percentile(times, 0.5) * 1e3,
            "overdue_p99_ms": _percentile(times, 0.99) * 1e3, "overdue_max_ms": max(times) * 1e3,
            "history_rows": count, "verify_1_process_s": verify_s[1], "verify_2_processes_s": verify_s[2],
            "verify_incremental_s": incremental_s, "verify_incremental_rows": reread}


def _since_checkpoint(store: SqlStore, path: Path, count: int) -> tuple[float, int]:
    """A checkpoint, then 1% more instances; ``audit verify --checkpoint --incremental``: seconds, rows re-read."""
    checkpoint = store.chain_heads()
    added = max(1, count // 100)
    with store.engine.begin() as connection:
        inst, hist = _rows(count + 1, added, random.Random(12))
        connection.execute(insert(instances), inst)
        connection.execute(insert(history), hist)
    started = time.perf_counter()
    result = verify_database(store, f"sqlite:///{path}", checkpoint, jobs=1, incremental=True)
    seconds = time.perf_counter() - started
    if not result.ok or result.instances != count + added or result.rows != added:
        raise RuntimeError(f"incremental verify saw {result.instances} instances, re-read {result.rows} rows and "
                           f"found {len(result.problems) + len(result.database)} problems (expected "
                           f"{count + added}, {added} and none)")
    return seconds, result.rows


def run(count: int, queries: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scale.db"
        seed_s = seed(path, count)
        result = measure(path, count, queries)
        result["seed_s"] = seed_s
        result["file_mib"] = path.stat().st_size / 2**20
    return result


if __name__ == "__main__":
    import sys

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000, 1000), indent=1))

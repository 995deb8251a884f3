"""Durable transitions per second: the engine's public API against raw ``sqlite3`` doing the same writes.

Per transition both sides do, in one ``BEGIN IMMEDIATE`` transaction on a file with the same schema
and pragmas: read the instance row, a version-checked UPDATE, a history INSERT (same columns, same
payload size, a 64-hex hash) and an idempotency INSERT, plus the timer rows the engine writes for that
transition (leaving ``drafting`` cancels its timer, re-entering it arms one), then COMMIT. The raw side
computes no hash, no deadline and checks nothing: it is the floor that SQLite and the disk set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from definitions import Role, definition_files
from store import SqlStore, migrate, open_engine
from workflow import Actor, Engine, SimulatedClock

SHIPPED = Path(__file__).parents[1] / "definitions" / "shipped"
SUPERSEDED = Path(__file__).parents[1] / "definitions" / "superseded"
DEFINITIONS = [SHIPPED, SUPERSEDED / "agency_feedback.yaml", SUPERSEDED / "catalogue_draft.yaml"]
ADMIN = Actor("bench", Role.ADMIN)
CYCLE: list[tuple[str, dict[str, Any], str | None]] = [
    ("send_for_consultation", {"document": "1/SKHCN-QLKH", "task_count": 8}, None),
    ("consolidate", {}, None),
    ("submit", {"document": "2/TTr-SKHCN"}, None),
    ("return_for_revision", {}, "chưa đủ kinh phí"),
]
POOL = 50  # instances fired at round-robin


def _engine(path: Path, synchronous: str) -> tuple[Engine, list[int], Any]:
    sql = open_engine(f"sqlite:///{path}", synchronous=synchronous)  # type: ignore[arg-type]
    migrate(sql)
    clock = SimulatedClock(dt.datetime(2023, 1, 1, tzinfo=dt.UTC))
    engine = Engine(SqlStore(sql, clock), clock)
    for file in definition_files(DEFINITIONS):
        engine.load_definition_text(file.read_text(encoding="utf-8"), str(file))
    ids = [engine.start("catalogue_draft", f"bench/{i}", "SKHCN", ADMIN).id for i in range(POOL)]
    return engine, ids, sql


def engine_rate(folder: Path, synchronous: str, count: int) -> float:
    engine, ids, sql = _engine(folder / f"engine-{synchronous}.db", synchronous)
    step = [0] * POOL
    started = time.perf_counter()
    for n in range(count):
        slot = n % POOL
        event, payload, reason = CYCLE[step[slot] % 4]
        engine.fire(ids[slot], event, ADMIN, payload=payload, reason=reason, idempotency_key=f"k{n}")
        step[slot] += 1
    elapsed = time.perf_counter() - started
    sql.dispose()
    return count / elapsed


def raw_rate(folder: Path, synchronous: str, count: int) -> float:
    path = folder / f"raw-{synchronous}.db"
    _, ids, sql = _engine(path, synchronous)  # same schema and starting rows
    sql.dispose()
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000", f"synchronous={synchronous}"):
        db.execute(f"PRAGMA {pragma}")
    now = "2023-01-01 00:00:00.000000"
    started = time.perf_counter()
    for n in range(count):
        instance_id = ids[n % POOL]
        event, payload, reason = CYCLE[(n // POOL) % 4]
        db.execute("BEGIN IMMEDIATE")
        state, version, data = db.execute(
            "SELECT state, version, data FROM instances WHERE id = ?", (instance_id,)).fetchone()
        digest = hashlib.sha256(str(n).encode()).hexdigest()
        db.execute("UPDATE instances SET state = ?, version = ?, data = ?, updated_at = ?, head_hash = ? "
                   "WHERE id = ? AND version = ?", (event, version + 1, data, now, digest, instance_id, version))
        db.execute("INSERT INTO history (instance_id, seq, event, from_state, to_state, actor_id, actor_role, "
                   "actor_agency, at, payload, reason, definition_id, definition_version, request_id, prev_hash, "
                   "hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (instance_id, version + 1, event, state, event, "bench", "admin", None, now,
                    json.dumps(payload, ensure_ascii=False), reason, "catalogue_draft", 1, None, digest, digest))
        db.execute("INSERT INTO idempotency (key, fingerprint, instance_id, seq) VALUES (?,?,?,?)",
                   (f"k{n}", digest, instance_id, version + 1))
        if event == "send_for_consultation":  # leaves drafting: its escalation timer is cancelled
            db.execute("UPDATE timers SET status = 'cancelled', fired_at = ?, outcome = 'state left' "
                       "WHERE instance_id = ? AND (status = 'pending' OR status = 'suspended')", (now, instance_id))
        elif event == "return_for_revision":  # re-enters drafting: its timer is armed again
            db.execute("INSERT INTO timers (instance_id, name, kind, offset_days, event, fence, status, deadline, "
                       "anchor, extension, base_due, due_at, remaining, created_at, fired_at, outcome, claimed_by, "
                       "lease_until) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (instance_id, "draft_due", "escalation", 0, None, version + 1, "pending",
                        '{"end_of_month":"2022-12"}', "2023-01-01T00:00:00+00:00", None, now, now, None, now,
                        None, None, None, None))
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return count / elapsed


def run(count: int, repeats: int) -> dict[str, Any]:
    """Interleaved repeats (engine, raw, engine, raw, ...) so drift hits both sides alike."""
    out: dict[str, Any] = {}
    for synchronous in ("FULL", "NORMAL"):
        engine_runs, raw_runs, ratios = [], [], []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as folder:
                e = engine_rate(Path(folder), synchronous, count)
                r = raw_rate(Path(folder), synchronous, count)
            engine_runs.append(e)
            raw_runs.append(r)
            ratios.append(e / r)
        out[synchronous] = {"engine_tps": engine_runs, "raw_sqlite_tps": raw_runs, "ratio": ratios}
    return out

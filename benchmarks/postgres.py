"""Durable transitions per second on PostgreSQL: the engine against psycopg doing the same statements.

Both sides, per transition, in one transaction on a fresh database of the same throwaway server (started
with initdb/pg_ctl, as in the tests): read the instance, a version-checked UPDATE, a history INSERT and an
idempotency INSERT, then COMMIT; with 1 and with 8 clients (threads, each on its own instances and its
own connection). The raw side computes no hash and checks nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
from typing import Any

import psycopg

from definitions import Role
from store import SqlStore, migrate, open_engine
from tests.pg import PgServer
from workflow import Actor, Engine, SimulatedClock

from .http import BENCH_CYCLE

ADMIN = Actor("bench", Role.ADMIN)
STEPS = [("answer", {"document": "1/SYT", "note": "đã trả lời"}, None), ("reopen", {}, "bổ sung ý kiến")]


def _prepare(server: PgServer, instances: int) -> tuple[str, Engine, list[int]]:
    url = server.new_database()
    sql = open_engine(url)
    migrate(sql)
    clock = SimulatedClock(dt.datetime(2023, 1, 1, tzinfo=dt.UTC))
    engine = Engine(SqlStore(sql, clock), clock)
    engine.load_definition_text(BENCH_CYCLE, "bench_http.yaml")
    ids = [engine.start("bench_http", f"pg/{n}", "SKHCN", ADMIN).id for n in range(instances)]
    return url, engine, ids


def _threads(clients: int, target: Any, ids: list[int], count: int) -> float:
    per = count // clients
    workers = [threading.Thread(target=target, args=(ids[n::clients], per, n)) for n in range(clients)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return clients * per / (time.perf_counter() - started)


def engine_rate(server: PgServer, clients: int, count: int) -> float:
    _, engine, ids = _prepare(server, 64)

    def work(mine: list[int], n: int, who: int) -> None:
        for k in range(n):
            event, payload, reason = STEPS[(k // len(mine)) % 2]
            engine.fire(mine[k % len(mine)], event, ADMIN, payload=payload, reason=reason,
                        idempotency_key=f"{who}-{k}")

    rate = _threads(clients, work, ids, count)
    engine.store.engine.dispose()  # type: ignore[attr-defined]
    return rate


def raw_rate(server: PgServer, clients: int, count: int) -> float:
    url, engine, ids = _prepare(server, 64)
    engine.store.engine.dispose()  # type: ignore[attr-defined]
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    now = dt.datetime(2023, 1, 1)

    def work(mine: list[int], n: int, who: int) -> None:
        with psycopg.connect(conninfo) as c:
            for k in range(n):
                instance_id = mine[k % len(mine)]
                event, payload, reason = STEPS[(k // len(mine)) % 2]
                digest = hashlib.sha256(f"{who}-{k}".encode()).hexdigest()
                with c.transaction():
                    state, version, data = c.execute("SELECT state, version, data FROM instances WHERE id = %s",
                                                     (instance_id,)).fetchone()  # type: ignore[misc]
                    c.execute("UPDATE instances SET state = %s, version = %s, data = %s, updated_at = %s, "
                              "head_hash = %s WHERE id = %s AND version = %s",
                              (event, version + 1, data, now, digest, instance_id, version))
                    c.execute("INSERT INTO history (instance_id, seq, event, from_state, to_state, actor_id, "
                              "actor_role, actor_agency, at, payload, reason, definition_id, definition_version, "
                              "request_id, prev_hash, hash) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                              (instance_id, version + 1, event, state, event, "bench", "admin", None, now,
                               json.dumps(payload, ensure_ascii=False), reason, "bench_http", 1, None, digest,
                               digest))
                    c.execute("INSERT INTO idempotency (key, fingerprint, instance_id, seq) VALUES (%s,%s,%s,%s)",
                              (f"{who}-{k}", digest, instance_id, version + 1))

    return _threads(clients, work, ids, count)


def run(count: int, repeats: int) -> dict[str, Any]:
    """Interleaved repeats per client count; ratios pair by pair."""
    server = PgServer.start()
    try:
        out: dict[str, Any] = {}
        for clients in (1, 8):
            engine_runs, raw_runs = [], []
            for _ in range(repeats):
                engine_runs.append(engine_rate(server, clients, count))
                raw_runs.append(raw_rate(server, clients, count))
            out[f"{clients}_clients"] = {"engine_tps": engine_runs, "raw_psycopg_tps": raw_runs,
                                         "ratio": [e / r for e, r in zip(engine_runs, raw_runs, strict=True)]}
        return out
    finally:
        server.stop()

"""Verifying every hash chain, split over processes for large databases.

Chains are per instance and independent, so the instance-id space is cut into ``jobs`` ranges and each
range is verified by its own process reading heads and rows in one snapshot of its own
(``SqlStore.audit_snapshot``): a transition committed while verification runs is either wholly in a
range's snapshot or wholly out of it, never reported as tampering. One process verifies 1,000,000 rows in
about 20 s on these machines (hashing is the cost, see README, performance); two make it about 10.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

from store import SqlStore, open_engine
from store.sql_store import ID_END
from workflow.audit import ChainProblem, verify
from workflow.ports import HistoryRecord, Store

Tick = Callable[[int], None]  # told how many more rows were re-hashed (a progress bar's advance)
TICK_ROWS = 1024
PARALLEL_FROM = 50_000  # instances; below this, starting processes costs more than it saves


@dataclass(frozen=True)
class Verification:
    instances: int
    problems: list[ChainProblem]
    database: list[str] = field(default_factory=list)  # outside the chains: definitions, the history's guards
    rows: int = 0  # history rows read and re-hashed

    @property
    def ok(self) -> bool:
        return not self.problems and not self.database

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "instances": self.instances, "rows": self.rows,
                "problems": [p.as_dict() for p in self.problems], "database": self.database}


def verify_range(store: Store, first_id: int = 0, end_id: int = ID_END,
                 checkpoint: Mapping[int, tuple[int, str]] | None = None,
                 taken_at: dt.datetime | None = None, incremental: bool = False,
                 tick: Tick | None = None) -> Verification:
    """Verify the instances ``first_id <= id < end_id`` in this process, from one snapshot (chains, the state each
    instance row records, and against the checkpoint taken at ``taken_at``, if given). ``incremental``: re-hash
    only the histories that moved since the checkpoint, from its row on (``workflow.audit.verify``)."""
    read = [0]

    def counted(rows: Iterator[HistoryRecord]) -> Iterator[HistoryRecord]:
        for row in rows:
            read[0] += 1
            if tick is not None and read[0] % TICK_ROWS == 0:
                tick(TICK_ROWS)
            yield row

    if incremental and checkpoint is not None:
        with store.audit_since(checkpoint, first_id, end_id) as (heads, rows, states, shape):
            found = list(verify(counted(rows), heads, checkpoint, taken_at, states, shape))
    else:
        with store.audit_snapshot(first_id, end_id) as (heads, rows, states, derived):
            found = list(verify(counted(rows), heads, checkpoint, taken_at, states, derived=derived))
    if tick is not None:
        tick(read[0] % TICK_ROWS)
    return Verification(len(heads), found, rows=read[0])


def verify_all(store: SqlStore) -> Verification:
    """One process, one snapshot, and the checks outside the chains (what the API and the dashboard run)."""
    chains = verify_range(store)
    return Verification(chains.instances, chains.problems, store.integrity_problems(), chains.rows)


def _worker(url: str, first_id: int, end_id: int, checkpoint: dict[int, tuple[int, str]] | None,
            taken_at: dt.datetime | None, incremental: bool) -> Verification:
    engine = open_engine(url)
    try:
        return verify_range(SqlStore(engine), first_id, end_id, checkpoint, taken_at, incremental)
    finally:
        engine.dispose()


def split(low: int, high: int, jobs: int) -> list[tuple[int, int]]:
    """``jobs`` consecutive id ranges covering every id, cut evenly between ``low`` and ``high``."""
    cuts = [low + (high - low + 1) * k // jobs for k in range(1, jobs)]
    bounds = [0, *cuts, ID_END]
    return [(bounds[i], bounds[i + 1]) for i in range(jobs)]


def verify_database(store: SqlStore, url: str, checkpoint: Mapping[int, tuple[int, str]] | None = None,
                    jobs: int | None = None, taken_at: dt.datetime | None = None,
                    incremental: bool = False, tick: Tick | None = None) -> Verification:
    """Every chain (and the checkpoint taken at ``taken_at``, if given), and the checks outside the chains.
    ``jobs``: processes; default one per CPU for large databases. ``incremental`` (with a checkpoint): re-hash
    only what was written since the checkpoint, plus the rows it pinned. ``tick(n)``: n more rows re-hashed."""
    database = store.integrity_problems()
    low, high = store.id_range()
    if jobs is None:
        jobs = (os.cpu_count() or 1) if high - low >= PARALLEL_FROM else 1
    if jobs <= 1 or url in ("sqlite://", "sqlite:///:memory:"):  # an in-memory database is not shared
        result = verify_range(store, checkpoint=checkpoint, taken_at=taken_at, incremental=incremental, tick=tick)
        return Verification(result.instances, result.problems, database, result.rows)
    ranges = split(low, high, jobs * 4)  # four pieces per process: progress shows as each one ends
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_worker, url, first, end,
                               None if checkpoint is None
                               else {i: v for i, v in checkpoint.items() if first <= i < end}, taken_at, incremental)
                   for first, end in ranges]
        parts = []
        for future in as_completed(futures):
            parts.append(future.result())
            if tick is not None:
                tick(parts[-1].rows)
    problems = sorted((p for part in parts for p in part.problems), key=lambda p: p.instance_id)
    return Verification(sum(part.instances for part in parts), problems, database, sum(part.rows for part in parts))

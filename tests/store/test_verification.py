"""Verifying the whole database: one snapshot per range, and the same answer from one process or several."""

from __future__ import annotations

import itertools
import sqlite3

import pytest

from service.verification import split, verify_database, verify_range
from store import SqlStore
from store.sql_store import ID_END
from tests.conftest import ADMIN
from workflow import Engine

CONSULT = {"document": "1/SKHCN", "task_count": 3}


def started(engine: Engine, count: int) -> list[int]:
    ids = []
    for n in range(count):
        instance = engine.start("catalogue_draft", f"verify/{n}", "SYT", ADMIN)
        engine.fire(instance.id, "send_for_consultation", ADMIN, payload=CONSULT)
        ids.append(instance.id)
    return ids


def test_a_write_during_verification_is_not_reported_as_tampering(engine: Engine, store: SqlStore) -> None:
    """Heads and rows come from one snapshot: a transition committed between reading the heads and
    reading the rows is invisible to both (reading them separately reported it as a broken chain)."""
    (instance_id,) = started(engine, 1)
    with store.audit_snapshot() as (heads, rows, _, _):
        engine.fire(instance_id, "consolidate", ADMIN)  # commits while the snapshot is open
        result = list(rows)
    assert heads[instance_id][0] == 2
    assert [r.seq for r in result] == [1, 2]
    assert verify_range(store).ok
    assert store.chain_heads()[instance_id][0] == 3


def test_ranges_cover_every_id_once() -> None:
    ranges = split(5, 104, 3)
    assert ranges[0][0] == 0
    assert ranges[-1][1] == ID_END
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert [r for r in ranges if r[0] <= 55 < r[1]] == [ranges[1]]


@pytest.mark.parametrize("jobs", [1, 3])
def test_one_process_or_several_give_the_same_answer(engine: Engine, store: SqlStore, db_url: str,
                                                     jobs: int) -> None:
    ids = started(engine, 9)
    checkpoint = dict(store.chain_heads())
    clean = verify_database(store, db_url, checkpoint, jobs=jobs)
    assert clean.ok
    assert clean.instances == 9
    if not db_url.startswith("sqlite"):
        return  # tampering with PostgreSQL rows is tested in test_postgres_history; here: the split itself
    path = store.engine.url.database
    assert path is not None
    attacker = sqlite3.connect(path, isolation_level=None)
    attacker.execute("DROP TRIGGER history_no_update")
    attacker.execute("DROP TRIGGER history_no_delete")
    attacker.execute("UPDATE history SET reason = 'sửa' WHERE instance_id = ? AND seq = 2", (ids[1],))
    attacker.execute("DELETE FROM history WHERE instance_id = ? AND seq = 2", (ids[7],))
    attacker.close()
    found = verify_database(store, db_url, checkpoint, jobs=jobs)
    assert [(p.instance_id, p.seq) for p in found.problems] == [(ids[1], 2), (ids[7], 2)]
    assert found.instances == 9


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_incremental_verify_gives_the_answer_of_a_full_one_on_both_databases(
        engine: Engine, store: SqlStore, db_url: str, jobs: int) -> None:
    """The temporary table that drives an incremental scan exists on both dialects, per connection, and a second
    run on the same pooled connection starts from an empty one."""
    ids = started(engine, 6)
    checkpoint = dict(store.chain_heads())
    engine.fire(ids[0], "consolidate", ADMIN)
    engine.start("catalogue_draft", "verify/new", "SYT", ADMIN)
    for _ in range(2):
        fast = verify_database(store, db_url, checkpoint, jobs=jobs, incremental=True)
        assert fast.ok, fast.as_dict()
        assert (fast.instances, fast.rows) == (7, 2 + 1)  # the moved chain from its checkpoint row on; the new chain
    assert verify_database(store, db_url, checkpoint, jobs=jobs).rows == 6 * 2 + 1 + 1

"""Eight threads firing at one instance on a real SQLite file: one winner per version, no lost update,
and no "database is locked" reaching a caller."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from store import SqlStore
from tests.conftest import ADMIN
from workflow import Engine, EventNotAllowed, VersionConflict

# catalogue_draft has a cycle (returned for revision), so events can go on for ever.
NEXT: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "drafting": ("send_for_consultation", {"document": "1/SKHCN-QLKH", "task_count": 8}, None),
    "consulting": ("consolidate", {}, None),
    "consolidating": ("submit", {"document": "2/TTr-SKHCN"}, None),
    "submitted": ("return_for_revision", {}, "chưa đủ kinh phí"),
}
THREADS = 8
ATTEMPTS = 40


def test_one_winner_per_version_and_no_lock_errors(engine: Engine, store: SqlStore) -> None:
    instance = engine.start("catalogue_draft", "catalogue/2022", "SKHCN", ADMIN)
    wins: list[int] = []
    conflicts = Counter[str]()
    failures: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def worker() -> None:
        barrier.wait()
        for _ in range(ATTEMPTS):
            current = store.get_instance(instance.id)
            event, payload, reason = NEXT[current.state]
            try:
                result = engine.fire(instance.id, event, ADMIN, payload=payload, reason=reason,
                                     expected_version=current.version)
            except VersionConflict:
                conflicts["version"] += 1
            except EventNotAllowed:  # read a state that was already left: also a lost race
                conflicts["state"] += 1
            except BaseException as err:  # anything else (a lock error above all) fails the test
                failures.append(err)
            else:
                wins.append(result.record.seq - 1)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert sorted(wins) == list(range(1, len(wins) + 1)), "each version has exactly one winner"
    final = store.get_instance(instance.id)
    history = store.history(instance.id)
    assert final.version == len(history) == 1 + len(wins)
    assert len(wins) + sum(conflicts.values()) == THREADS * ATTEMPTS
    assert final.head_hash == history[-1].hash


def test_concurrent_fires_without_expected_version_serialise(engine: Engine, store: SqlStore) -> None:
    """Without an expected version nothing is lost either: each fire sees the state the last one left."""
    instance = engine.start("catalogue_draft", "catalogue/2023", "SKHCN", ADMIN)
    lock = threading.Lock()
    done: list[int] = []
    failures: list[BaseException] = []

    def worker() -> None:
        for _ in range(10):
            with lock:  # pick the event for the state we will fire in: serialise choice and fire
                current = store.get_instance(instance.id)
                event, payload, reason = NEXT[current.state]
                try:
                    done.append(engine.fire(instance.id, event, ADMIN, payload=payload, reason=reason)
                                .instance.version)
                except BaseException as err:
                    failures.append(err)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(done) == list(range(2, 42))

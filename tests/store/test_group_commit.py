"""Group commit (store/group_commit.py): writers waiting for their turn join the open batch, share its commit,
and a writer that fails rolls back only itself. The interleavings are forced with the group's own condition
(a writer holds its block until the next one is queued), not with timing."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import text

from store import SqlStore


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: PostgreSQL commits each transaction on its own."""
    return sqlite_url


def events(store: SqlStore) -> list[str]:
    with store.engine.connect() as c:
        return [r[0] for r in c.execute(text("SELECT event FROM system_history ORDER BY seq"))]


def write(store: SqlStore, name: str, then: Callable[[], None] = lambda: None) -> None:
    with store.transaction() as uow:
        uow.append_system_event(name, "test", store.now(), {})
        then()


def second_writer_queued(store: SqlStore, second: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    """Start ``second`` in a thread and return once it waits for its turn (the first writer's block runs)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            second()
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    group = store._group
    assert group is not None
    with group._cond:
        group._cond.wait_for(lambda: group._joiners == 1, timeout=60)
    return thread, errors


def test_a_writer_queued_behind_another_shares_its_commit(store: SqlStore) -> None:
    group = store._group
    assert group is not None
    before = (group.batches, group.blocks)
    holder: list[threading.Thread] = []
    write(store, "first", lambda: holder.append(second_writer_queued(store, lambda: write(store, "second"))[0]))
    holder[0].join(timeout=60)
    assert events(store)[-2:] == ["first", "second"]
    assert (group.batches - before[0], group.blocks - before[1]) == (1, 2)  # two writes, one commit


def test_a_writer_that_fails_rolls_back_only_itself(store: SqlStore) -> None:
    def failing() -> None:
        raise ValueError("refused")

    queued: list[tuple[threading.Thread, list[BaseException]]] = []
    write(store, "kept", lambda: queued.append(second_writer_queued(store, lambda: write(store, "lost", failing))))
    thread, errors = queued[0]
    thread.join(timeout=60)
    assert [type(e) for e in errors] == [ValueError]
    assert "kept" in events(store)
    assert "lost" not in events(store)


def test_a_first_writer_that_fails_leaves_the_next_its_own_batch(store: SqlStore) -> None:
    queued: list[tuple[threading.Thread, list[BaseException]]] = []

    def fail_after_queueing() -> None:
        queued.append(second_writer_queued(store, lambda: write(store, "next")))
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        write(store, "lost", fail_after_queueing)
    thread, errors = queued[0]
    thread.join(timeout=60)
    assert errors == []
    assert "next" in events(store)
    assert "lost" not in events(store)


def test_a_write_inside_a_write_of_the_same_thread_is_refused_not_deadlocked(store: SqlStore) -> None:
    with pytest.raises(RuntimeError, match="would wait for itself"):
        write(store, "outer", lambda: write(store, "inner"))
    assert "outer" not in events(store)

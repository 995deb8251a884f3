"""The process's writer thread (service/writer.py): commands waiting for it share one transaction and one commit;
a refused command rolls back only itself; a failed commit fails every command of its batch and writes nothing;
subscribers hear of a command's rows only once its batch has committed; each command runs in its caller's
context. Batches are formed by holding the writer inside a first command until the others are queued (an event,
not timing)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from service.writer import Writer
from store import SqlStore
from tests.conftest import ADMIN
from workflow import Engine
from workflow.errors import Refused


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite: the writer groups commands in one transaction there (on PostgreSQL it hands them to the pool)."""
    return sqlite_url


def committed_keys(store: SqlStore) -> list[str]:
    """What another connection sees: committed rows only."""
    with store.engine.connect() as c:
        return [r[0] for r in c.execute(text("SELECT business_key FROM instances ORDER BY id"))]


def start(engine: Engine, key: str) -> Callable[[], str]:
    return lambda: engine.start("agency_feedback", key, "SYT", ADMIN, data={"tên": "Sở Y tế"}).business_key


async def in_one_batch(writer: Writer, commands: list[Callable[[], Any]]) -> list[Any]:
    """Run the commands so that all but the first wait while the first runs: they form the next batch."""
    running, release = threading.Event(), threading.Event()

    def first() -> str:
        running.set()
        release.wait(timeout=60)
        return "first"

    loop = asyncio.get_running_loop()
    head = asyncio.ensure_future(writer.run(first))
    await loop.run_in_executor(None, running.wait, 60)
    rest = [asyncio.ensure_future(writer.run(c)) for c in commands]
    await asyncio.sleep(0)  # let each future put its command on the queue
    while writer._queue.qsize() < len(commands):
        await asyncio.sleep(0)
    release.set()
    await head
    return await asyncio.gather(*rest, return_exceptions=True)


@pytest.mark.parametrize("position", [0, 1, 2])
def test_waiting_commands_share_one_commit_and_a_refused_one_rolls_back_alone(engine: Engine, store: SqlStore,
                                                                              position: int) -> None:
    """Refused first (its writes are the transaction's own: rolled back and begun again), in the middle or last
    (a savepoint of it)."""
    writer = Writer(store)

    def refused() -> str:
        with store.transaction():
            start(engine, "rolled back")()  # written, then refused in the same transaction: undone with it
            raise Refused("refused after writing")

    commands = [start(engine, "a"), start(engine, "b")]
    commands.insert(position, refused)
    try:
        answers = asyncio.run(in_one_batch(writer, commands))
    finally:
        writer.close()
    assert isinstance(answers.pop(position), Refused)
    assert answers == ["a", "b"]
    assert committed_keys(store) == ["a", "b"]
    assert (writer.batches, writer.commands) == (2, 3)  # the first alone, then the three waiting in one


def test_a_failed_commit_fails_every_command_of_its_batch_and_writes_nothing(engine: Engine, store: SqlStore) -> None:
    writer = Writer(store)

    def dangling() -> str:  # a foreign key checked only at COMMIT (deferred): the commit itself fails
        with store.transaction() as uow:
            uow.dbapi.execute("PRAGMA defer_foreign_keys=ON")
            uow.dbapi.execute("UPDATE instances SET parent_id = 999999 WHERE business_key = 'a'")
        return "dangling"

    try:
        answers = asyncio.run(in_one_batch(writer, [start(engine, "a"), dangling]))
        assert all(isinstance(a, Exception) and "FOREIGN KEY" in str(a) for a in answers), answers
        assert committed_keys(store) == []
        after = asyncio.run(writer.run(start(engine, "c")))  # the writer goes on with the next batch
    finally:
        writer.close()
    assert after == "c"
    assert committed_keys(store) == ["c"]


def test_subscribers_hear_of_a_command_only_once_its_batch_has_committed(engine: Engine, store: SqlStore) -> None:
    writer = Writer(store)
    seen: list[tuple[str, list[str]]] = []
    keys: dict[int, str] = {}

    def heard(rows: Any) -> None:
        for row in rows:
            seen.append((keys.get(row.instance_id, "?"), committed_keys(store)))

    store.subscribe(heard)

    def starting(key: str) -> Callable[[], str]:
        def run() -> str:
            instance = engine.start("agency_feedback", key, "SYT", ADMIN, data={"tên": "Sở Y tế"})
            keys[instance.id] = key
            return key
        return run

    try:
        asyncio.run(in_one_batch(writer, [starting("a"), starting("b")]))
    finally:
        writer.close()
    assert seen == [("a", ["a", "b"]), ("b", ["a", "b"])]  # both committed before either was heard of


def test_a_command_runs_in_the_context_of_its_caller(store: SqlStore) -> None:
    who: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")
    writer = Writer(store)

    async def as_caller(name: str) -> str:
        who.set(name)
        return await writer.run(who.get)

    async def both() -> list[str]:
        return list(await asyncio.gather(as_caller("SYT"), as_caller("STC")))

    try:
        assert asyncio.run(both()) == ["SYT", "STC"]
    finally:
        writer.close()


def test_an_idle_writer_ends_its_thread_and_the_next_command_starts_another(store: SqlStore) -> None:
    writer = Writer(store, idle=0.01)
    assert asyncio.run(writer.run(lambda: 1)) == 1
    thread = writer._thread
    assert thread is not None
    thread.join(timeout=60)  # it ends on its own once idle
    assert not thread.is_alive()
    assert asyncio.run(writer.run(lambda: 2)) == 2
    writer.close()

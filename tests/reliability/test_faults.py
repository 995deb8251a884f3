"""Faults: each gives a clear error or a retry, loses nothing, and the service recovers by itself when the fault
clears. Over real HTTP (uvicorn on loopback) and real files; the small and the read-only disks are real tmpfs
mounts (root only: skipped with a message elsewhere). The SMTP server being down is in
tests/scheduler/test_outbox.py (retry with backoff, then delivery; dead letter; crash before/after sending)."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from definitions import StoreUnavailable
from service.context import App
from service.settings import Settings
from tests.api.conftest import prepared, served
from tests.conftest import ADMIN
from workflow import Deadlines, Engine, SimulatedClock
from workflow.audit import verify

START = {"definition": "catalogue_draft", "assignee": "SKHCN"}


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@contextlib.contextmanager
def serving(url: str, **settings: object) -> Iterator[tuple[App, httpx.Client]]:
    app = prepared(Settings(database_url=url, **settings))  # type: ignore[arg-type]
    _, key = app.store.create_key("faults", "admin", None, app.clock.now())
    with served(app) as (base, _), httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                                                 timeout=60) as client:
        yield app, client


def count(app: App) -> int:
    return sum(app.store.count_instances().values())


def intact(path: Path) -> None:
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    raw.close()


def test_disk_full_refuses_writes_with_503_keeps_reads_and_recovers(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "6m") as disk, serving(f"sqlite:///{disk / 'w.db'}") as (app, client):
        filler = disk / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as f:  # closing it flushes again: ENOSPC too
            while True:  # take every free byte
                f.write(b"\0" * 65536)
                f.flush()
        created, refused = 0, None
        for n in range(2000):  # until the database needs a page it cannot have
            r = client.post("/api/v1/instances", json={**START, "business_key": f"full/{n}"})
            if r.status_code != 201:
                refused = r
                break
            created += 1
        assert refused is not None, "the disk never filled"
        assert refused.status_code == 503
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.headers["retry-after"] == "5"
        assert "full" in refused.json()["detail"]
        read = client.get("/api/v1/instances")
        assert read.status_code == 200, read.text  # reads go on
        assert count(app) == created  # nothing half-written
        filler.unlink()  # the fault clears
        r = client.post("/api/v1/instances", json={**START, "business_key": "after"})
        assert r.status_code == 201
        assert count(app) == created + 1
        assert list(verify(app.store.iter_history(), app.store.chain_heads())) == []
        intact(disk / "w.db")


def test_read_only_filesystem_refuses_writes_with_503_and_recovers(tmp_path: Path) -> None:
    """The file system turns read-only (a remount, a failing disk). Linux refuses to remount while files are open
    for writing, so the service's pooled connections are closed first: the next request opens the file again."""
    with tmpfs(tmp_path / "disk", "32m") as disk, serving(f"sqlite:///{disk / 'w.db'}") as (app, client):
        assert client.post("/api/v1/instances", json={**START, "business_key": "before"}).status_code == 201
        app.sql_engine.dispose()
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True, capture_output=True)
        try:
            r = client.post("/api/v1/instances", json={**START, "business_key": "during"})
            assert r.status_code == 503
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "readonly" in r.json()["detail"] or "read-only" in r.json()["detail"]
        finally:
            app.sql_engine.dispose()
            subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True, capture_output=True)
        r = client.post("/api/v1/instances", json={**START, "business_key": "after"})
        assert r.status_code == 201
        keys = sorted(i.business_key for i in app.store.list_instances())
        assert keys == ["after", "before"]
        intact(disk / "w.db")


def test_a_database_locked_past_the_busy_timeout_gives_503_then_works(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    with serving(f"sqlite:///{path}", busy_timeout_ms=300) as (app, client):
        holder = sqlite3.connect(path, isolation_level=None, timeout=0)
        holder.execute("BEGIN EXCLUSIVE")  # another process's long write
        try:
            r = client.post("/api/v1/instances", json={**START, "business_key": "blocked"})
            assert r.status_code == 503
            assert "locked" in r.json()["detail"]
            assert r.headers["retry-after"] == "5"
        finally:
            holder.execute("COMMIT")
            holder.close()
        assert client.post("/api/v1/instances", json={**START, "business_key": "blocked"}).status_code == 201
        assert [i.business_key for i in app.store.list_instances()] == ["blocked"]


def test_postgres_connection_dropped_mid_transaction_writes_nothing_and_the_next_call_works(
        pg_server: object, engine: Engine, db_url: str) -> None:
    store = engine.store
    instance = engine.start("catalogue_draft", "drop/1", "SKHCN", ADMIN)
    killer = store.engine.connect()  # type: ignore[attr-defined]

    def dropped_mid_transaction() -> None:
        with store.transaction() as uow:
            (pid,) = uow.dbapi.execute("SELECT pg_backend_pid()").fetchone()  # type: ignore[attr-defined]
            current = uow.get_instance(instance.id)
            assert current is not None
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})  # the network drops it
            killer.commit()
            engine.apply(uow, current, "send_for_consultation", ADMIN,
                         payload={"document": "1/SKHCN", "task_count": 3}, reason=None)

    with pytest.raises(StoreUnavailable, match="nothing was written"):
        dropped_mid_transaction()
    killer.close()
    assert store.get_instance(instance.id).version == 1  # nothing of it was written
    after = engine.fire(instance.id, "send_for_consultation", ADMIN, payload={"document": "1/SKHCN", "task_count": 3})
    assert after.instance.version == 2  # the pool replaced the dead connection by itself
    assert list(verify(store.iter_history(), store.chain_heads())) == []


@pytest.fixture
def db_url(pg_server: object) -> str:
    """PostgreSQL for the engine-level tests of this module (SQLite's faults are the files above)."""
    return pg_server.new_database()  # type: ignore[attr-defined,no-any-return]


def test_postgres_server_restart_under_the_service_recovers_without_a_restart_of_ours(
        pg_server: object, tmp_path: Path) -> None:
    url = pg_server.new_database()  # type: ignore[attr-defined]
    with serving(url) as (app, client):
        assert client.post("/api/v1/instances", json={**START, "business_key": "before"}).status_code == 201
        pg_server.restart()  # type: ignore[attr-defined]
        statuses = [client.post("/api/v1/instances", json={**START, "business_key": f"after/{n}"}).status_code
                    for n in range(3)]
        assert statuses == [201, 201, 201]  # pool_pre_ping: dead connections are replaced before use
        assert count(app) == 4


def test_the_clock_jumping_back_and_forth_fires_each_timer_once(engine: Engine, clock: SimulatedClock) -> None:
    deadlines = Deadlines(engine)
    clock.set(dt.datetime(2023, 3, 1, 2, tzinfo=dt.UTC))
    instance = engine.start("agency_feedback", "clock/1", "SYT", ADMIN)
    engine.fire(instance.id, "record_receipt", ADMIN, payload={"received_on": "2023-03-01"})
    pending = [t for t in engine.store.list_timers(instance.id) if t.status.value == "pending"]  # type: ignore[attr-defined]
    assert pending
    clock.set(dt.datetime(2023, 6, 1, tzinfo=dt.UTC))  # forwards past every deadline
    first = deadlines.fire_due()
    assert len(first) == len(pending)
    clock.set(dt.datetime(2023, 2, 1, tzinfo=dt.UTC))  # backwards, before they were even armed
    assert deadlines.fire_due() == []
    clock.set(dt.datetime(2023, 6, 1, tzinfo=dt.UTC))  # forwards again
    assert deadlines.fire_due() == []
    escalations = engine.store.list_escalations()  # type: ignore[attr-defined]
    assert len([e for e in escalations if e.instance_id == instance.id]) == 1
    history = engine.store.history(instance.id)
    assert [h.seq for h in history] == list(range(1, len(history) + 1))
    assert list(verify(engine.store.iter_history(), engine.store.chain_heads())) == []

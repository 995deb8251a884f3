"""A backup taken while clients write restores to a database that verifies."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from service.context import App
from service.settings import Settings
from store.backup import backup_sqlite
from tests.api.conftest import Api
from tests.service.test_serve_http import load
from workflow import verify


def test_a_backup_taken_under_load_restores_and_verifies(api: Api, tmp_path: Path) -> None:
    if not api.app.settings.database_url.startswith("sqlite"):
        pytest.skip("workflow backup copies SQLite files; PostgreSQL is backed up with pg_dump")
    with api.client() as c:
        ids = [c.post("/api/v1/instances", json={"definition": "catalogue_draft", "business_key": f"b/{n}",
                                                 "assignee": "SKHCN"}).json()["id"] for n in range(8)]
    acknowledged: list[tuple[int, int, str]] = []
    stop = threading.Event()
    threads = [threading.Thread(target=load, args=(api.url, api.keys["admin"], ids[n::2], acknowledged, stop))
               for n in range(2)]
    for t in threads:
        t.start()
    while len(acknowledged) < 40:
        threads[0].join(timeout=0.05)
    target = tmp_path / "backups" / "under-load.db"
    backup_sqlite(api.app.sql_engine, target)
    stop.set()
    for t in threads:
        t.join()
    restored_file = tmp_path / "restored.db"
    shutil.copy(target, restored_file)
    restored = App(Settings(database_url=f"sqlite:///{restored_file}"))
    assert list(verify(restored.store.iter_history(), restored.store.chain_heads())) == []
    assert len(restored.store.list_instances(limit=100)) == 8
    with sqlite3.connect(restored_file) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    restored.sql_engine.dispose()

"""The service process under load: SIGTERM loses no acknowledged transition."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from definitions import definition_files
from service.context import App
from service.settings import Settings
from tests.conftest import ADMIN, DEFINITIONS
from tests.servers import ServeLog
from workflow import verify

CYCLE = {"drafting": ("send_for_consultation", {"document": "1/SKHCN", "task_count": 8}, None),
         "consulting": ("consolidate", {}, None), "consolidating": ("submit", {"document": "2/TTr-SKHCN"}, None),
         "submitted": ("return_for_revision", {}, "bổ sung")}


def load(url: str, key: str, instance_ids: list[int], acknowledged: list[tuple[int, int, str]],
         stop: threading.Event) -> None:
    """Fire events round the cycle until told to stop or the server goes away; record every 2xx."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
        state = dict.fromkeys(instance_ids, "drafting")
        while not stop.is_set():
            for iid in instance_ids:
                event, payload, reason = CYCLE[state[iid]]
                try:
                    r = c.post(f"/api/v1/instances/{iid}/events", json={"event": event, "payload": payload,
                                                                        "reason": reason})
                except httpx.TransportError:
                    return
                if r.status_code == 200:
                    acknowledged.append((iid, r.json()["seq"], event))
                    state[iid] = r.json()["state"]
                elif r.status_code == 503 or r.status_code >= 500:
                    return


def test_sigterm_under_load_loses_no_acknowledged_transition(tmp_path: Path) -> None:
    url_db = f"sqlite:///{tmp_path / 'serve.db'}"
    app = App(Settings(database_url=url_db))
    app.init()
    for path in definition_files(DEFINITIONS):
        app.engine.load_definition_text(path.read_text(encoding="utf-8"), str(path))
    _, key = app.store.create_key("load", "admin", None, app.clock.now())
    ids = [app.engine.start("catalogue_draft", f"load/{n}", "SKHCN", ADMIN).id for n in range(12)]
    app.sql_engine.dispose()
    env = {**os.environ, "WORKFLOW_DATABASE_URL": url_db}
    server = subprocess.Popen([str(Path(sys.executable).parent / "workflow"), "serve", "--port", "0"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert server.stderr is not None
    log = ServeLog(server.stderr)
    try:
        url = str(log.wait("ready")["url"])
        acknowledged: list[tuple[int, int, str]] = []
        stop = threading.Event()
        threads = [threading.Thread(target=load, args=(url, key, ids[n::4], acknowledged, stop)) for n in range(4)]
        for t in threads:
            t.start()
        while len(acknowledged) < 150:  # progress of the load itself, not a clock
            if not any(t.is_alive() for t in threads):
                break
            threads[0].join(timeout=0.05)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
        stop.set()
        for t in threads:
            t.join()
        log.wait("stopped")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.wait_closed()
    assert len(acknowledged) >= 150
    app = App(Settings(database_url=url_db))
    for iid, seq, event in acknowledged:
        rows = {r.seq: r for r in app.store.history(iid)}
        assert seq in rows, (iid, seq, event)
        assert rows[seq].event == event, (iid, seq, event)
    assert list(verify(app.store.iter_history(), app.store.chain_heads())) == []
    with sqlite3.connect(tmp_path / "serve.db") as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

"""The physical limit of a durable start over HTTP on this machine: a bare ASGI app, under the same uvicorn as
``workflow serve``, that does what a start must do and nothing else.

``POST /api/v1/instances`` with a JSON body (definition, business_key, assignee) inserts an instance row and a
history row in one SQLite transaction (WAL, ``synchronous=FULL``, as shipped) and answers 201 with the id. No
authentication, no validation beyond the JSON, no engine: the figure ``workflow serve`` is compared with in
``benchmarks/wrk.py``. Run: ``python -m benchmarks.minimal_app DB PORT``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (id INTEGER PRIMARY KEY, definition_id TEXT NOT NULL, business_key TEXT NOT NULL,
  state TEXT NOT NULL, version INTEGER NOT NULL, assignee TEXT NOT NULL, data TEXT NOT NULL, created_at TEXT NOT NULL,
  UNIQUE (definition_id, business_key));
CREATE TABLE IF NOT EXISTS history (instance_id INTEGER NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL,
  to_state TEXT NOT NULL, actor_id TEXT NOT NULL, at TEXT NOT NULL, payload TEXT NOT NULL, hash TEXT NOT NULL,
  PRIMARY KEY (instance_id, seq));
"""


class Minimal:
    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        self.lock = threading.Lock()

    def start(self, body: dict[str, Any]) -> int:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self.db.execute(
                    "INSERT INTO instances (definition_id, business_key, state, version, assignee, data, created_at) "
                    "VALUES (?, ?, 'open', 1, ?, '{}', datetime('now'))",
                    (body["definition"], body["business_key"], body["assignee"]))
                instance_id = int(cursor.lastrowid or 0)
                self.db.execute("INSERT INTO history VALUES (?, 1, '@start', 'open', 'bench', datetime('now'), ?, ?)",
                                (instance_id, json.dumps({"assignee": body["assignee"]}), "0" * 64))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return instance_id

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = json.loads(b"".join(chunks) or b"{}")
        # the same shape as the API: the blocking write runs in a worker thread
        instance_id = await asyncio.to_thread(self.start, body)
        payload = json.dumps({"id": instance_id, "state": "open"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(Minimal(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)

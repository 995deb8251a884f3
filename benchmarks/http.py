"""The API from a separate load process on loopback: transitions per second, and latency at a steady rate.

``run`` prepares a database (definitions, an admin key, instances of a cycling workflow), starts
``workflow serve`` (synchronous=FULL, as shipped), then starts this module as a second process that either
fires as fast as N client threads can (closed loop: throughput) or at a fixed rate (open loop: latency,
measured from each request's scheduled send time, so a slow server cannot hide behind the schedule).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from service.logs import records

CYCLE = {"open": ("answer", {"document": "1/SYT", "note": "đã trả lời"}, None),
         "answered": ("reopen", {}, "bổ sung ý kiến")}
# A two-state cycle with a payload, a reason and no timers: the figure is transitions over HTTP, not
# background escalations (a definition whose deadline has passed would add those to every entry).
BENCH_CYCLE = """\
id: bench_http
version: 1
title: {vi: "Đo API", en: "API benchmark"}
seed_section: "bench"
states:
  - {id: open, label: "Mở", kind: initial}
  - {id: answered, label: "Đã trả lời"}
  - {id: closed, label: "Đóng", kind: final}
transitions:
  - event: answer
    label: "Trả lời"
    source: open
    dest: answered
    roles: [admin]
    payload:
      document: {type: document, required: true}
      note: {type: text}
  - {event: reopen, label: "Mở lại", source: answered, dest: open, roles: [admin], reason_required: true}
  - {event: close, label: "Đóng", source: "*", dest: closed, roles: [admin], reason_required: true}
"""
WORKFLOW = str(Path(sys.executable).parent / "workflow")


def _fire_loop(url: str, key: str, ids: list[int], until: float, interval: float | None,
               latencies: list[float], errors: list[int]) -> None:
    import httpx

    state = dict.fromkeys(ids, "open")
    next_at = time.perf_counter()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
        while time.perf_counter() < until:
            for iid in ids:
                if interval is not None:
                    next_at += interval
                    wait = next_at - time.perf_counter()
                    if wait > 0:
                        time.sleep(wait)
                    scheduled = next_at
                else:
                    scheduled = time.perf_counter()
                event, payload, reason = CYCLE[state[iid]]
                r = c.post(f"/api/v1/instances/{iid}/events", json={"event": event, "payload": payload,
                                                                    "reason": reason})
                latencies.append(time.perf_counter() - scheduled)
                if r.status_code == 200:
                    state[iid] = r.json()["state"]
                else:
                    errors.append(r.status_code)
                if time.perf_counter() >= until:
                    return


def load(url: str, key: str, ids: list[int], threads: int, seconds: float, rate: float | None) -> dict[str, Any]:
    """In the load process: N threads, each on its own instances; ``rate`` requests/s in all, or as fast as can."""
    latencies: list[float] = []
    errors: list[int] = []
    until = time.perf_counter() + seconds
    interval = None if rate is None else threads / rate
    workers = [threading.Thread(target=_fire_loop, args=(url, key, ids[n::threads], until, interval, latencies,
                                                          errors)) for n in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"requests": len(latencies), "errors": len(errors), "per_s": (len(latencies) - len(errors)) / elapsed,
            "p50_ms": statistics.median(ordered) * 1e3, "p99_ms": ordered[int(0.99 * (len(ordered) - 1))] * 1e3,
            "max_ms": ordered[-1] * 1e3}


def run(seconds: float, rate: float) -> dict[str, Any]:
    from definitions import Role
    from service.context import App
    from service.settings import Settings
    from workflow import Actor

    with tempfile.TemporaryDirectory() as folder:
        url_db = f"sqlite:///{folder}/http.db"
        app = App(Settings(database_url=url_db))
        app.init()
        app.engine.load_definition_text(BENCH_CYCLE, "bench_http.yaml")
        _, key = app.store.create_key("bench", "admin", None, app.clock.now())
        ids = [app.engine.start("bench_http", f"http/{n}", "SKHCN", Actor("bench", Role.ADMIN)).id
               for n in range(64)]
        app.sql_engine.dispose()
        env = {**os.environ, "WORKFLOW_DATABASE_URL": url_db, "WORKFLOW_LOG_FORMAT": "json"}
        server = subprocess.Popen([WORKFLOW, "serve", "--port", "0"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        try:
            assert server.stderr is not None
            url = next(str(r["url"]) for r in records(server.stderr) if r.get("event") == "ready")
            # keep reading what serve logs, as a journal would: a full pipe would block it
            threading.Thread(target=server.stderr.read, daemon=True).start()
            results = {}
            for name, threads, pace, mine in (("throughput", 8, None, ids[:32]), ("steady", 4, rate, ids[32:])):
                args = [sys.executable, "-m", "benchmarks.http", url, key, json.dumps(mine), str(threads),
                        str(seconds), json.dumps(pace)]
                done = subprocess.run(args, capture_output=True, text=True, check=True)
                results[name] = json.loads(done.stdout)
            return results
        finally:
            server.terminate()
            server.wait(timeout=60)
            if server.stderr is not None:
                server.stderr.close()


if __name__ == "__main__":
    url_, key_, ids_, threads_, seconds_, pace_ = sys.argv[1:]
    print(json.dumps(load(url_, key_, json.loads(ids_), int(threads_), float(seconds_), json.loads(pace_))))

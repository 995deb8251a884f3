"""Durable starts over HTTP with concurrent writers, against the physical limit, measured by an external C load
generator (``wrk``, Debian's package) so that the client costs the server nothing.

For each connection count (1 and 8): ``workflow serve`` (synchronous=FULL, as shipped, the shipped definitions and
registry loaded) and ``minimal_app`` (two durable inserts under the same uvicorn, nothing else) each get
``seconds`` of ``POST /api/v1/instances`` from ``wrk/requests.lua``, back to back; the figure is successful starts
per second, p50/p99 latency, and the ratio serve / minimal. The duty started is the shipped ``catalogue_feedback``
(``benchmarks/duty.py``): each start writes the instance, its history row, its obligation and three timers.
``wrk`` missing: the result says so and nothing is measured.

Each server is warmed by a second of the same requests before it is measured (``_warm``). wrk corrects its
latencies for coordinated omission: a request slower than the run's mean interval is counted again at every
interval it held up; the process's first start (~0.4 s: its definitions read and compiled, modules loaded) alone
became a p99 of ~250 ms at one connection (the "unexplained p99" of the last round).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from service.logs import records

from .duty import ADMIN, DUTY, _worktree, ready
from .http import WORKFLOW

SCRIPT = Path(__file__).parent / "wrk" / "requests.lua"
PREVIOUS = "f13637e"  # the HTTP write path before the writer thread (issue 30's second round)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wrk(url: str, connections: int, seconds: float, token: str, mode: str = "start") -> dict[str, Any]:
    env = {**os.environ, "WRK_TOKEN": token, "WRK_NONCE": uuid.uuid4().hex[:8], "WRK_MODE": mode}
    done = subprocess.run(["wrk", f"-t{min(connections, 2)}", f"-c{connections}", f"-d{seconds:g}s", "-s",
                           str(SCRIPT), url], capture_output=True, text=True, env=env, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    raw = json.loads(line.removeprefix("RESULT "))
    ok = raw["requests"] - raw["non_2xx"] - raw["socket_errors"]
    return {"per_s": ok / (raw["duration_us"] / 1e6), "p50_ms": raw["p50_us"] / 1e3, "p99_ms": raw["p99_us"] / 1e3,
            "errors": raw["non_2xx"] + raw["socket_errors"], "requests": raw["requests"]}


def _serve(folder: str, workers: int = 1, tree: Path | None = None) -> tuple[subprocess.Popen[str], str, str]:
    """``workflow serve`` on a new database; ``tree``: the code of another checkout (a worktree) serves instead."""
    from service.context import App
    from service.settings import Settings

    url_db = f"sqlite:///{folder}/serve.db"
    app = App(Settings(database_url=url_db))
    app.init()
    ready(app.engine)
    _, key = app.store.create_key("bench", "admin", None, app.clock.now())
    app.sql_engine.dispose()
    code = {"PYTHONPATH": str(tree)} if tree is not None else {}
    server = subprocess.Popen([WORKFLOW, "serve", "--port", "0", "--workers", str(workers)],
                              env={**os.environ, "WORKFLOW_DATABASE_URL": url_db, "WORKFLOW_LOG_FORMAT": "json",
                                   **code},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert server.stderr is not None
    url = next(str(r["url"]) for r in records(server.stderr) if r.get("event") == "ready")
    threading.Thread(target=server.stderr.read, daemon=True).start()  # as a journal would read it
    return server, url, key


def _minimal(folder: str) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "benchmarks.minimal_app", f"{folder}/minimal.db", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    while True:  # ready when the port accepts a connection
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, url
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"minimal_app exited: {server.stderr.read() if server.stderr else ''}") from None
            threading.Event().wait(0.05)


def _warm(url: str, key: str) -> None:
    """A second of starts, not measured: the first requests of a process load what later ones find ready."""
    _wrk(url, 2, 1, key)  # two connections: with --workers 2, each process gets one


def _stop(server: subprocess.Popen[str]) -> None:
    server.terminate()
    server.wait(timeout=60)
    for stream in (server.stdout, server.stderr):
        if stream is not None:
            stream.close()


def _engine_start_ms(folder: str, count: int) -> float:
    """One durable start in process (``Instances.start``, FULL, the same duty): no HTTP at all."""
    from service.context import App
    from service.settings import Settings

    app = App(Settings(database_url=f"sqlite:///{folder}/engine.db"))
    app.init()
    ready(app.engine)
    times = []
    for n in range(count):
        started = time.perf_counter()
        app.uses.instances.start(ADMIN, DUTY, f"in-process/{n}/SYT", "SYT")
        times.append(time.perf_counter() - started)
    app.sql_engine.dispose()
    return statistics.median(times) * 1e3


def breakdown(seconds: float) -> dict[str, float]:
    """Where one start's time goes at 1 connection (p50, ms): uvicorn, FastAPI and our middleware for a request
    that touches nothing (``/healthz``); authentication and one empty authenticated read
    (``GET /api/v1/escalations``); the start itself in process; and the whole POST."""
    with tempfile.TemporaryDirectory() as folder:
        server, url, key = _serve(folder)
        try:
            _warm(url, key)
            health = _wrk(url + "/healthz", 1, seconds, key, "get")
            read = _wrk(url + "/api/v1/escalations", 1, seconds, key, "get")
            start = _wrk(url, 1, seconds, key)
        finally:
            _stop(server)
        engine = _engine_start_ms(folder, 300)
    out = {"healthz_ms": health["p50_ms"], "authenticated_read_ms": read["p50_ms"], "engine_start_ms": engine,
           "post_start_ms": start["p50_ms"]}
    out["rest_ms"] = out["post_start_ms"] - out["authenticated_read_ms"] - out["engine_start_ms"]
    return out


def run(seconds: float, repeats: int) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    out: dict[str, Any] = {}
    for connections in (1, 8):
        runs: dict[str, list[float]] = {k: [] for k in ("serve_per_s", "minimal_per_s", "ratio", "serve_p50_ms",
                                                         "serve_p99_ms", "minimal_p50_ms", "minimal_p99_ms")}
        errors = 0
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as folder:
                server, url, key = _serve(folder)
                try:
                    _warm(url, key)
                    ours = _wrk(url, connections, seconds, key)
                finally:
                    _stop(server)
                minimal, url = _minimal(folder)
                try:
                    _warm(url, "")
                    limit = _wrk(url, connections, seconds, "")
                finally:
                    _stop(minimal)
            errors += ours["errors"] + limit["errors"]
            runs["serve_per_s"].append(ours["per_s"])
            runs["minimal_per_s"].append(limit["per_s"])
            runs["ratio"].append(ours["per_s"] / limit["per_s"])
            runs["serve_p50_ms"].append(ours["p50_ms"])
            runs["serve_p99_ms"].append(ours["p99_ms"])
            runs["minimal_p50_ms"].append(limit["p50_ms"])
            runs["minimal_p99_ms"].append(limit["p99_ms"])
        out[f"c{connections}"] = {"runs": runs, "errors": errors}
    out["workers"] = workers(seconds, repeats)
    out["before_after"] = before_after(seconds, repeats)
    out["breakdown_c1"] = breakdown(seconds)
    return out


def workers(seconds: float, repeats: int) -> dict[str, list[float]]:
    """``serve --workers 1`` and ``--workers 2`` at 8 connections, interleaved: starts per second of each."""
    runs: dict[str, list[float]] = {"w1_per_s": [], "w2_per_s": [], "ratio": []}
    for _ in range(repeats):
        rates = []
        for count in (1, 2):
            with tempfile.TemporaryDirectory() as folder:
                server, url, key = _serve(folder, count)
                try:
                    _warm(url, key)
                    rates.append(_wrk(url, 8, seconds, key)["per_s"])
                finally:
                    _stop(server)
        runs["w1_per_s"].append(rates[0])
        runs["w2_per_s"].append(rates[1])
        runs["ratio"].append(rates[1] / rates[0])
    return runs


def before_after(seconds: float, repeats: int, revision: str = PREVIOUS) -> dict[str, Any]:
    """Durable starts/s of ``serve`` as it was at ``revision`` (a git worktree, its own code) and as it is now, at 1
    and 8 connections, interleaved; the ratio now / then per repeat (both warmed alike)."""
    with _worktree(revision) as tree:
        if tree is None:
            return {"skipped": f"revision {revision} is not in this clone"}
        out: dict[str, Any] = {"revision": revision}
        for connections in (1, 8):
            runs: dict[str, list[float]] = {"before": [], "after": [], "ratio": []}
            for _ in range(repeats):
                rates = []
                for code in (tree, None):
                    with tempfile.TemporaryDirectory() as folder:
                        server, url, key = _serve(folder, 1, code)
                        try:
                            _warm(url, key)
                            rates.append(_wrk(url, connections, seconds, key)["per_s"])
                        finally:
                            _stop(server)
                runs["before"].append(rates[0])
                runs["after"].append(rates[1])
                runs["ratio"].append(rates[1] / rates[0])
            out[f"c{connections}"] = runs
    return out


if __name__ == "__main__":
    print(json.dumps(run(float(sys.argv[1]) if len(sys.argv) > 1 else 10, 1), indent=1))

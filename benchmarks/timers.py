"""Timers against the clock: lateness under load, catch-up after a restart, memory with many pending.

* lateness: timers due at a steady rate (1,000 a second for 60 s in the full run) under the real alarm
  (APScheduler + the ticker, system clock); lateness = commit of the fired transition − due time.
* restart: a ``workflow serve`` process started on a database with pending timers of which half are
  overdue; time from spawn until the last overdue timer is committed (its "caught up" line).
* memory: RSS of a ready ``workflow serve`` with N pending timers against one with none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from definitions import Role, definition_files
from scheduler.alarm import Alarm
from scheduler.ticker import Ticker
from service.logs import records
from store import SqlStore, migrate, open_engine
from workflow import Actor, Engine, SimulatedClock, SystemClock, TimerOutcome
from workflow.timers import TimerStatus

SHIPPED = Path(__file__).parents[1] / "definitions" / "shipped"
SUPERSEDED = Path(__file__).parents[1] / "definitions" / "superseded"
DEFINITIONS = [SHIPPED, SUPERSEDED / "agency_feedback.yaml", SUPERSEDED / "catalogue_draft.yaml"]
ADMIN = Actor("bench", Role.ADMIN)
TICK = """\
id: bench_tick
version: 1
title: {vi: "Đo đồng hồ", en: "Timer benchmark"}
seed_section: "bench"
states:
  - id: waiting
    label: "Chờ"
    kind: initial
    timers:
      - {name: due, kind: timeout, deadline: {hours: 1}, event: expire}
  - {id: expired, label: "Hết hạn", kind: final}
  - {id: done, label: "Xong", kind: final}
transitions:
  - {event: expire, label: "Hết hạn", source: waiting, dest: expired, roles: [system], reason_required: true}
  - {event: finish, label: "Xong", source: waiting, dest: done, roles: [admin]}
"""
WORKFLOW = str(Path(sys.executable).parent / "workflow")


def _seed(path: Path, dues: list[dt.datetime]) -> None:
    """One instance per due time, each with one timeout timer due then (seeded quickly: synchronous=OFF)."""
    sql = open_engine(f"sqlite:///{path}", synchronous="OFF")
    migrate(sql)
    clock = SimulatedClock(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    engine = Engine(SqlStore(sql, clock), clock)
    for file in definition_files(DEFINITIONS):
        engine.load_definition_text(file.read_text(encoding="utf-8"), str(file))
    engine.load_definition_text(TICK, "bench_tick.yaml")
    definition = engine.definition("bench_tick")
    store = SqlStore(sql, clock)
    chunk = 500
    for start in range(0, len(dues), chunk):
        with store.transaction() as uow:
            for n, due in enumerate(dues[start:start + chunk], start):
                clock.set(due - dt.timedelta(hours=1))
                engine.start_in(uow, definition, f"t/{n}", "SKHCN", ADMIN)
    sql.dispose()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def lateness(rate: int, seconds: float) -> dict[str, Any]:
    """Instances are seeded first; their timer rows are written (one transaction) with due times counted from
    just before the alarm starts, so seeding time never shows up as lateness."""
    count = int(rate * seconds)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lateness.db"
        far = dt.datetime.now(dt.UTC) + dt.timedelta(days=365)
        _seed(path, [far] * count)
        sql = open_engine(f"sqlite:///{path}")
        store = SqlStore(sql, SystemClock())
        with store.transaction() as uow:
            armed = [dataclasses.replace(t, status=TimerStatus.CANCELLED) for t in uow.open_timers()]
            for timer in armed:
                uow.update_timer(timer)
            begin = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2 + count / 20_000)
            uow.insert_timers([dataclasses.replace(t, id=0, status=TimerStatus.PENDING,
                                                   due_at=begin + dt.timedelta(seconds=i / rate))
                               for i, t in enumerate(armed)])
        engine = Engine(store, SystemClock())
        late: list[float] = []
        done = threading.Event()

        def on_batch(batch: list[TimerOutcome]) -> None:
            committed = dt.datetime.now(dt.UTC)
            late.extend((committed - o.due_at).total_seconds() for o in batch)
            if len(late) >= count:
                done.set()

        alarm = Alarm(Ticker(engine, store, deliver=False), poll=dt.timedelta(seconds=1), on_batch=on_batch)
        alarm.start()
        if dt.datetime.now(dt.UTC) >= begin:
            raise RuntimeError("set-up overran the first due time; the figures would include catch-up")
        done.wait(timeout=seconds + 120)
        alarm.stop()
        sql.dispose()
    return {"timers": count, "fired": len(late), "rate_per_s": rate, "p50_ms": _percentile(late, 0.5) * 1e3,
            "p99_ms": _percentile(late, 0.99) * 1e3, "max_ms": max(late) * 1e3}


def _spawn(path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "WORKFLOW_DATABASE_URL": f"sqlite:///{path}", "WORKFLOW_POLL_S": "3600",
           "WORKFLOW_LOG_FORMAT": "json"}
    return subprocess.Popen([WORKFLOW, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def _until(process: subprocess.Popen[str], event: str) -> None:
    """Read serve's log until its record of ``event`` (``caught_up``, ``ready``)."""
    assert process.stderr is not None
    for record in records(process.stderr):
        if record.get("event") == event:
            return
    raise RuntimeError(f"serve ended before logging {event!r}")


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    assert process.stderr is not None
    process.stderr.read()
    process.wait(timeout=60)


def restart(pending: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "restart.db"
        now = dt.datetime.now(dt.UTC)
        half = pending // 2
        _seed(path, [now - dt.timedelta(days=1, seconds=i) for i in range(half)]
              + [now + dt.timedelta(days=30, seconds=i) for i in range(pending - half)])
        started = time.perf_counter()
        process = _spawn(path)
        _until(process, "caught_up")
        caught_up = time.perf_counter() - started
        _until(process, "ready")
        _stop(process)
    return {"pending": pending, "overdue": half, "spawn_to_caught_up_s": caught_up}


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def memory(pending: int) -> dict[str, Any]:
    out: dict[str, Any] = {"pending": pending}
    with tempfile.TemporaryDirectory() as folder:
        for label, count in (("none", 0), ("pending", pending)):
            path = Path(folder) / f"memory-{label}.db"
            _seed(path, [dt.datetime.now(dt.UTC) + dt.timedelta(days=30, seconds=i) for i in range(count)])
            started = time.perf_counter()
            process = _spawn(path)
            _until(process, "ready")
            out[f"ready_s_{label}"] = time.perf_counter() - started
            out[f"rss_mib_{label}"] = _rss_mib(process.pid)
            _stop(process)
    out["growth_mib"] = out["rss_mib_pending"] - out["rss_mib_none"]
    return out

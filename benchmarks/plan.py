"""The plan at scale: one consultation fanned out to 1,000 agencies, and the whole-plan simulation.

* fan-out: ``send_for_consultation`` on a consultation whose ``consulted`` list holds N agency codes: one
  transaction starts N child instances (each with its history row and nothing else to arm yet);
  children per second.
* simulation: ``workflow simulate --from 2022-11-01 --to 2026-12-31 --seed 1`` as a user runs it (a new
  process, a fresh database); wall-clock seconds, start-up included.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from definitions import Role, definition_files
from store import SqlStore, migrate, open_engine
from workflow import Actor, Engine, SimulatedClock

SHIPPED = Path(__file__).parents[1] / "definitions" / "shipped"
SUPERSEDED = Path(__file__).parents[1] / "definitions" / "superseded"
DEFINITIONS = [SHIPPED, SUPERSEDED / "agency_feedback.yaml", SUPERSEDED / "catalogue_draft.yaml"]
ADMIN = Actor("bench", Role.ADMIN)
SKHCN = Actor("bench@skhcn", Role.OFFICER, "SKHCN")  # the draft is the standing body's own act


def fan_out(agencies: int, repeats: int) -> list[float]:
    rates = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            sql = open_engine(f"sqlite:///{folder}/fanout.db")
            migrate(sql)
            clock = SimulatedClock(dt.datetime(2022, 12, 1, 2, tzinfo=dt.UTC))
            engine = Engine(SqlStore(sql, clock), clock)
            for path in definition_files(DEFINITIONS):
                engine.load_definition_text(path.read_text(encoding="utf-8"), str(path))
            codes = [f"A{n:04d}" for n in range(agencies)]
            parent = engine.start("catalogue_consultation", "bench", "SKHCN", ADMIN,
                                  data={"consulted": codes, "due": {"end_of_month": "2022-12"}})
            started = time.perf_counter()
            engine.fire(parent.id, "send_for_consultation", SKHCN, payload={"document": "1/SKHCN", "task_count": 8})
            rates.append(agencies / (time.perf_counter() - started))
            sql.dispose()
    return rates


def simulation(seed: int = 1) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "WORKFLOW_DATABASE_URL": f"sqlite:///{folder}/simulate.db"}
        started = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "workflow"), "--json", "simulate", "--from", "2022-11-01",
                        "--to", "2026-12-31", "--seed", str(seed)], env=env, check=True, capture_output=True)
        return {"seconds": time.perf_counter() - started}

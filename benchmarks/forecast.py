"""The forecast back-tested honestly (issue 29): the whole plan simulated from 01/11/2022 to 31/12/2026, once with
each agency its own seeded pace and once with equal paces; as of the first day of every quarter from 2023 on,
every obligation still within its time is forecast (``service.record``), then compared with what happened by the
end: finished after its last day, or still open past it, is late.

Three forecasters, scored on the same obligations (those the forecast had enough history for):
- ours: the bootstrap over the agency's own finished obligations;
- the overall late rate: of all obligations whose last day had passed by that day, the share finished late or not
  at all;
- the agency's own late rate: the same share for the owing agency (the overall rate when it has none).

Brier score (mean squared error of the probability; lower is better) for each, and calibration: of the
obligations ours put at 70–80 % (and at each tenth), how many were late. Obligations already past their last day
are left out: their lateness is known, and any forecaster that says 1.0 would look skilled on them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from service.context import App
from service.record import track_record
from service.settings import Settings

END = dt.date(2026, 12, 31)
DAYS = [dt.date(year, month, 1) for year in (2023, 2024, 2025, 2026) for month in (1, 4, 7, 10)]


def _simulate(db: Path, seed: int, equal: bool) -> None:
    env = {**os.environ, "WORKFLOW_DATABASE_URL": f"sqlite:///{db}"}
    command = [str(Path(sys.executable).parent / "workflow"), "--json", "simulate", "--from", "2022-11-01",
               "--to", END.isoformat(), "--seed", str(seed), *(["--equal-paces"] if equal else [])]
    subprocess.run(command, env=env, capture_output=True, text=True, check=True)


def backtest(db: Path, seed: int = 0) -> dict[str, Any]:
    app = App(Settings(database_url=f"sqlite:///{db}"))
    try:
        return track_record(app.engine, app.store, END, DAYS, seed)
    finally:
        app.sql_engine.dispose()


def run(seeds: tuple[int, ...] = (5, 6, 7)) -> dict[str, Any]:
    """Each simulation seed with its own paces and with equal paces; the Brier scores summed over the seeds."""
    out: dict[str, Any] = {"seeds": {}}
    with tempfile.TemporaryDirectory() as folder:
        for seed in seeds:
            for name, equal in (("paces", False), ("equal_paces", True)):
                db = Path(folder) / f"{name}-{seed}.db"
                _simulate(db, seed, equal)
                out["seeds"].setdefault(seed, {})[name] = backtest(db)
    for name in ("paces", "equal_paces"):
        runs = [s[name] for s in out["seeds"].values()]
        n = sum(r["scored"] for r in runs)
        out[name] = {"scored": n, **{k: round(sum(r[k] * r["scored"] for r in runs) / n, 4) if n else None
                                     for k in ("brier_ours", "brier_overall_rate", "brier_agency_rate")}}
    return out


if __name__ == "__main__":
    print(json.dumps(run(tuple(int(a) for a in sys.argv[1:]) or (5, 6, 7)), indent=2))

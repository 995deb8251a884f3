"""``benchmarks/run --quick`` runs every benchmark briefly: this proves they execute, not how fast."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_every_benchmark_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "quick.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOW_")}
    done = subprocess.run([str(ROOT / "benchmarks" / "run"), "--quick", "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["quick"] is True
    for section in ("transitions", "peer", "scale", "memory", "timer_lateness", "timer_restart", "timer_memory",
                    "fan_out", "simulation", "http", "postgres", "wrk_starts"):
        assert report[section], section
    assert set(report["transitions"]) == {"FULL", "NORMAL"}
    assert report["scale"]["history_rows"] == report["scale"]["instances"] == 20_000
    assert report["peer"]["FULL"]["spiff_steps_per_s"][0] > 0
    assert "peer FULL ratio" in done.stdout
    assert "audit verify 20,000 rows" in done.stdout
    assert report["wrk_starts"]["c8"]["errors"] == 0  # wrk drove serve and the minimal app without an error
    assert report["scale"]["verify_incremental_rows"] == 200  # 1% more instances after the checkpoint

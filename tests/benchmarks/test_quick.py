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
                    "fan_out", "simulation", "http", "postgres", "wrk_starts", "breakdown", "plan_import"):
        assert report[section], section
    assert set(report["transitions"]) == {"FULL", "NORMAL"}
    assert report["scale"]["history_rows"] == report["scale"]["instances"] == 20_000
    assert report["peer"]["FULL"]["spiff_steps_per_s"][0] > 0
    assert "feedback_review peer, FULL ratio" in done.stdout  # the old peer, kept as a labelled extra line
    duty = report["duty"]  # issue 30's headline: the shipped duty against raw sqlite3 and SpiffWorkflow
    assert duty["duty"] == "catalogue_feedback"
    assert all(duty[s]["ratio_raw"][0] > 0 and duty[s]["ratio_spiff"][0] > 0 for s in ("FULL", "NORMAL"))
    assert "duty FULL: ours / raw sqlite3" in done.stdout
    assert "skipped" in report["duty_before_after"] or report["duty_before_after"]["ratio"][0] > 0
    assert report["wrk_starts"]["workers"]["w2_per_s"][0] > 0  # serve --workers 2 answered
    assert "audit verify 20,000 rows" in done.stdout
    assert report["wrk_starts"]["c8"]["errors"] == 0  # wrk drove serve and the minimal app without an error
    parts = report["breakdown"]  # where an event's time goes: every part measured, the parts add up
    assert all(v >= 0 for v in parts["engine_off_parts_us"].values())
    assert abs(sum(parts["engine_off_parts_us"].values()) - parts["engine_off_us"]) < 1
    assert parts["engine_off_parts_us"]["sqlite statements and commit (driver)"] > 0
    assert set(report["wrk_starts"]["breakdown_c1"]) == {"healthz_ms", "authenticated_read_ms", "engine_start_ms",
                                                         "post_start_ms", "rest_ms"}
    assert "our Python" in done.stdout
    assert report["scale"]["verify_incremental_rows"] == 200  # 1% more instances after the checkpoint

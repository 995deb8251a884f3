"""``benchmarks/run``: every benchmark, one table, and ``benchmarks/results/latest.json``.

Figures are min / median / max over repeated runs; each ratio is computed pair by pair inside one
repeat (engine and limit measured back to back), then summarised. ``--quick`` runs each benchmark
briefly to prove it executes; its figures are not for quoting.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sqlite3
import statistics
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from . import (
    breakdown,
    duty,
    forecast,
    http,
    memory,
    peer,
    plan,
    plan_import,
    postgres,
    scale,
    timers,
    transitions,
    wrk,
)

RESULTS = Path(__file__).parent / "results"
TARGETS = {"FULL": 0.65, "NORMAL": 0.2}  # issue 14: FULL 0.65 (was 0.5); issue 30: on the shipped duty
PEER_TARGET = {"FULL": 3.0, "NORMAL": None}


def _duty(report: dict[str, Any], count: int, repeats: int) -> None:
    """Issue 30's headline: the shipped duty with its obligations (``benchmarks/duty.py``)."""
    with tempfile.TemporaryDirectory() as folder:
        runs = report["duty"] = duty.run(Path(folder), count, repeats)
    for synchronous in ("FULL", "NORMAL"):
        r = runs[synchronous]
        for key, label, target in (
                ("engine", "events/s, ours", ""), ("raw_sqlite", "events/s, raw sqlite3 same rows", ""),
                ("spiff", "events/s, SpiffWorkflow same duty", ""),
                ("ratio_raw", "ours / raw sqlite3", f">= {TARGETS[synchronous]}"),
                ("ratio_spiff", "ours / SpiffWorkflow", f">= {PEER_TARGET[synchronous]}"
                 if PEER_TARGET[synchronous] else "")):
            v = spread(r[key])
            met = "" if not target else (" ✓" if v["median"] >= float(target.split()[-1]) else " ✗")
            print(f"{'duty ' + synchronous + ': ' + label:<44} {v['min']:>10.2f} {v['median']:>10.2f} "
                  f"{v['max']:>10.2f}  {target}{met}")
    changed = report["duty_before_after"] = duty.before_after(count, repeats)
    if "skipped" in changed:
        print(f"{'duty FULL: before / after issue 30':<44} {changed['skipped']}")
        return
    for key, label in (("before", f"events/s at {changed['revision']} (before)"), ("after", "events/s now"),
                       ("ratio", "now / before")):
        v = spread(changed[key])
        print(f"{'duty FULL: ' + label:<44} {v['min']:>10.2f} {v['median']:>10.2f} {v['max']:>10.2f}")


def spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def machine() -> dict[str, Any]:
    versions = {name: metadata.version(name)
                for name in ("SQLAlchemy", "transitions", "pydantic", "APScheduler", "SpiffWorkflow", "psycopg")}
    return {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count(),
            "platform": platform.platform(), "packages": versions}


def _backtest(quick: bool) -> dict[str, Any]:
    tested = forecast.run((5,) if quick else (5, 6, 7))
    for name, what in (("paces", "own paces"), ("equal_paces", "equal paces")):
        b = tested[name]
        print(f"{'forecast Brier, ' + what + ', n=' + str(b['scored']) + ' (ours/overall/agency)':<44} "
              f"{b['brier_ours']:>10.3f} {b['brier_overall_rate']:>10.3f} {b['brier_agency_rate']:>10.3f}  lower wins")
    return tested


def _print_wrk(starts: dict[str, Any]) -> None:
    """The HTTP starts measured with wrk: each connection count against the minimal app, 1 and 2 workers, and
    where one start's time goes."""
    if "skipped" in starts:
        print(f"{'HTTP starts with wrk':<44} {starts['skipped']}")
    for connections, target in (("c1", 0.35), ("c8", 0.5)):
        if connections not in starts:
            continue
        runs = starts[connections]["runs"]
        ours, limit, r = spread(runs["serve_per_s"]), spread(runs["minimal_per_s"]), spread(runs["ratio"])
        print(f"{'HTTP durable starts/s, wrk ' + connections + ': serve / limit':<44} {ours['median']:>10.0f} "
              f"{limit['median']:>10.0f} {'':>10}")
        print(f"{'  ratio serve / limit (min, median, max)':<44} {r['min']:>10.2f} {r['median']:>10.2f} "
              f"{r['max']:>10.2f}  >= {target}")
        p50, p99 = spread(runs["serve_p50_ms"]), spread(runs["serve_p99_ms"])
        lp50, lp99 = spread(runs["minimal_p50_ms"]), spread(runs["minimal_p99_ms"])
        print(f"{'  p50 / p99 ms: serve, limit':<44} {p50['median']:>10.1f} {p99['median']:>10.1f} "
              f"{lp50['median']:>10.1f} {lp99['median']:>7.1f}")
    if "workers" in starts:
        w = starts["workers"]
        w1, w2, r = spread(w["w1_per_s"]), spread(w["w2_per_s"]), spread(w["ratio"])
        print(f"{'HTTP starts/s c8: serve --workers 1 / 2':<44} {w1['median']:>10.0f} {w2['median']:>10.0f}")
        print(f"{'  ratio workers 2 / 1 (min, median, max)':<44} {r['min']:>10.2f} {r['median']:>10.2f} "
              f"{r['max']:>10.2f}")
    changed = starts.get("before_after", {})
    if "skipped" in changed:
        print(f"{'HTTP starts: this round / before':<44} {changed['skipped']}")
    for connections in ("c1", "c8"):
        if connections in changed:
            runs = changed[connections]
            then, now, r = spread(runs["before"]), spread(runs["after"]), spread(runs["ratio"])
            print(f"{'HTTP starts/s ' + connections + ': at ' + changed['revision'] + ' / now':<44} "
                  f"{then['median']:>10.0f} {now['median']:>10.0f}")
            print(f"{'  ratio now / before (min, median, max)':<44} {r['min']:>10.2f} {r['median']:>10.2f} "
                  f"{r['max']:>10.2f}")
    if "breakdown_c1" in starts:
        b = starts["breakdown_c1"]
        print(f"{'  one start at c1, p50 ms: /healthz':<44} {b['healthz_ms']:>10.2f}")
        print(f"{'  + auth and an empty read (GET escalations)':<44} {b['authenticated_read_ms']:>10.2f}")
        print(f"{'  the start in process (no HTTP)':<44} {b['engine_start_ms']:>10.2f}")
        print(f"{'  the whole POST; rest (body, view, JSON)':<44} {b['post_start_ms']:>10.2f} {b['rest_ms']:>10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="benchmarks/run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="about a second each: checks that they run")
    parser.add_argument("--out", type=Path, help="where to write the JSON (default benchmarks/results/"
                                                 "latest.json, or quick.json with --quick)")
    parser.add_argument("--instances", type=int, default=1_000_000, help="stored instances for the scale runs")
    args = parser.parse_args()
    count, repeats = (200, 1) if args.quick else (3000, 5)
    sizes = (200, 2000) if args.quick else (1_000, 100_000)

    report: dict[str, Any] = {"taken_at": dt.datetime.now(dt.UTC).isoformat(), "quick": args.quick,
                              "machine": machine(), "transitions": {}, "memory": []}
    print(f"{'benchmark':<44} {'min':>10} {'median':>10} {'max':>10}  target")
    _duty(report, count // 3 if not args.quick else 60, repeats)
    # the retired catalogue_draft v1 (no obligations): kept as an extra line, comparable with earlier rounds
    for synchronous, runs in transitions.run(count, repeats).items():
        summary = {key: spread(values) for key, values in runs.items()}
        report["transitions"][synchronous] = {"runs": runs, **summary}
        for key, unit in (("engine_tps", "/s"), ("raw_sqlite_tps", "/s"), ("ratio", "")):
            s = summary[key]
            print(f"{'retired v1, ' + synchronous + ' ' + key + unit:<44} {s['min']:>10.2f} {s['median']:>10.2f} "
                  f"{s['max']:>10.2f}")
    parts = report["breakdown"] = breakdown.sequential(count)
    print(f"{'one duty event, FULL: engine / raw (us)':<44} {parts['engine_full_us']:>10.0f} "
          f"{parts['raw_full_us']:>10.0f}")
    print(f"{'  disk: raw FULL - raw OFF (the fsync)':<44} {parts['fsync_us']:>10.0f}")
    print(f"{'  SQLite: raw OFF':<44} {parts['raw_off_us']:>10.0f}")
    print(f"{'  engine OFF - raw OFF (our Python)':<44} {parts['engine_python_us']:>10.0f}  "
          f"<= {parts['python_budget_for_0_65_us']:.0f} for 0.65")
    for label, us in parts["engine_off_parts_us"].items():
        print(f"{'    of engine OFF: ' + label:<44.44} {us:>10.0f}")
    with tempfile.TemporaryDirectory() as folder:
        report["peer"] = peer.run(Path(folder), 100 if args.quick else 1000, 1 if args.quick else 3)
    for synchronous in ("FULL", "NORMAL"):
        runs = report["peer"][synchronous]
        for key, unit in (("engine_steps_per_s", "/s"), ("spiff_steps_per_s", "/s"), ("ratio", "")):
            s = spread(runs[key])
            print(f"{'feedback_review peer, ' + synchronous + ' ' + key + unit:<44.44} {s['min']:>10.2f} "
                  f"{s['median']:>10.2f} {s['max']:>10.2f}")
    s = spread(report["peer"]["transitions_in_memory_steps_per_s"])
    print(f"{'plain transitions in memory, steps/s':<44} {s['min']:>10.0f} {s['median']:>10.0f} {s['max']:>10.0f}")
    big = report["scale"] = scale.run(20_000 if args.quick else args.instances, 100 if args.quick else 1000)
    print(f"{'overdue of one agency, ' + format(big['instances'], ',') + ' stored: p50/p99/max ms':<44} "
          f"{big['overdue_p50_ms']:>10.1f} {big['overdue_p99_ms']:>10.1f} {big['overdue_max_ms']:>10.1f}  p99 <= 50")
    print(f"{'audit verify ' + format(big['history_rows'], ',') + ' rows, s (1 / 2 processes)':<44} "
          f"{big['verify_1_process_s']:>10.2f} {big['verify_2_processes_s']:>10.2f} {'':>10}  <= 10")
    report["memory"] = memory.run(sizes)
    for row in report["memory"]:
        print(f"{'peak RSS MiB with ' + format(row['instances'], ',') + ' instances':<44} "
              f"{row['max_rss_mib']:>10.1f}")
    rate, seconds = (200, 1.0) if args.quick else (1000, 60.0)
    late = report["timer_lateness"] = timers.lateness(rate, seconds)
    print(f"{f'timer lateness ms ({rate}/s for {seconds:.0f} s) p50/p99/max':<44} {late['p50_ms']:>10.1f} "
          f"{late['p99_ms']:>10.1f} {late['max_ms']:>10.1f}  p99 <= 50, max <= 1000")
    restart = report["timer_restart"] = timers.restart(400 if args.quick else 10_000)
    print(f"{'restart: ' + format(restart['overdue'], ',') + ' overdue caught up, s from spawn':<44} "
          f"{restart['spawn_to_caught_up_s']:>10.2f}  <= 2")
    mem = report["timer_memory"] = timers.memory(500 if args.quick else 100_000)
    print(f"{'serve RSS growth MiB, ' + format(mem['pending'], ',') + ' pending timers':<44} "
          f"{mem['growth_mib']:>10.1f}  <= 50")
    print(f"{'serve start-up to ready, s, ' + format(mem['pending'], ',') + ' pending timers':<44} "
          f"{mem['ready_s_pending']:>10.2f} {'':>10} {'':>10}  (none pending: {mem['ready_s_none']:.2f})")
    fan = report["fan_out"] = {"agencies": 200 if args.quick else 1000,
                               "children_per_s": plan.fan_out(200 if args.quick else 1000, 1 if args.quick else 5)}
    s = spread(fan["children_per_s"])
    print(f"{'fan-out: children started/s (' + str(fan['agencies']) + ' agencies)':<44} {s['min']:>10.0f} "
          f"{s['median']:>10.0f} {s['max']:>10.0f}")
    imported = report["plan_import"] = plan_import.run(1 if args.quick else 5)
    s = spread(imported["import_s"])
    print(f"{'plan import, ' + str(imported['pages']) + ' pages, ' + str(imported['duties']) + ' duties, s':<44} "
          f"{s['min']:>10.2f} {s['median']:>10.2f} {s['max']:>10.2f}  <= 5")
    r = spread(imported["ratio"])
    print(f"{'  importer / docx2python alone':<44} {r['min']:>10.2f} {r['median']:>10.2f} {r['max']:>10.2f}")
    report["forecast_backtest"] = _backtest(args.quick)
    sim = report["simulation"] = plan.simulation()
    print(f"{'whole-plan simulation 2022-11..2026-12, s':<44} {sim['seconds']:>10.2f}  <= 10")
    api = report["http"] = http.run(2.0 if args.quick else 20.0, 200.0)
    t = api["throughput"]
    print(f"{'HTTP: transitions/s, 8 clients (p50/p99 ms)':<44} {t['per_s']:>10.0f} {t['p50_ms']:>10.1f} "
          f"{t['p99_ms']:>10.1f}  >= 1000/s")
    st = api["steady"]
    print(f"{'HTTP: latency ms at a steady 200/s p50/p99/max':<44} {st['p50_ms']:>10.1f} {st['p99_ms']:>10.1f} "
          f"{st['max_ms']:>10.1f}  p99 <= 20")
    starts = report["wrk_starts"] = wrk.run(2.0 if args.quick else 10.0, 1 if args.quick else 3)
    _print_wrk(starts)
    pg = report["postgres"] = postgres.run(200 if args.quick else 1500, 1 if args.quick else 3)
    for clients, runs in pg.items():
        r = spread(runs["ratio"])
        e = spread(runs["engine_tps"])
        print(f"{'PostgreSQL ' + clients.replace('_', ' ') + ': engine tx/s, ratio to psycopg':<44} "
              f"{e['median']:>10.0f} {r['median']:>10.2f} {r['min']:>10.2f}  ratio >= 0.5")
    out = args.out or RESULTS / ("quick.json" if args.quick else "latest.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"written to {out}")


if __name__ == "__main__":
    main()

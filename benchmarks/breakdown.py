"""Where one durable event's time goes, figure by figure, measured in the same run as the ratios.

``sequential``: the engine running the shipped duty (``benchmarks/duty.py``: start, record the receipt, answer)
against raw ``sqlite3`` doing the same rows, both under ``synchronous=FULL`` and ``OFF``. FULL − OFF on the raw side
is what the disk costs a commit (the fsync); OFF on the raw side is SQLite's own work; the engine's OFF time minus
the raw OFF time is the engine's Python. That Python is then split by a profile of the engine under OFF (cProfile,
its overhead removed by scaling each part to the unprofiled time): the driver's statements and commit, the
``transitions`` trigger, the canonical JSON and hashing, the store's plumbing (hot-statement parameters, row
conversion, the pool, group commit), and the rest of the engine (checks, obligations, deadlines, timers).
"""

from __future__ import annotations

import cProfile
import pstats
import tempfile
from pathlib import Path
from typing import Any

from . import duty

# (label, a function's file ending and name) whose cumulative time makes a part; first match wins per frame.
PARTS: list[tuple[str, list[tuple[str, str]]]] = [
    ("sqlite statements and commit (driver)", [("~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
                                                ("~", "<method 'executemany' of 'sqlite3.Cursor' objects>"),
                                                ("~", "<method 'commit' of 'sqlite3.Connection' objects>"),
                                                ("~", "<method 'fetchone' of 'sqlite3.Cursor' objects>"),
                                                ("~", "<method 'fetchall' of 'sqlite3.Cursor' objects>")]),
    ("transitions trigger", [("transitions/core.py", "trigger")]),
    ("canonical JSON and SHA-256", [("workflow/audit.py", "canonical"),
                                    ("~", "<built-in method _hashlib.openssl_sha256>")]),
    ("store plumbing (parameters, rows, pool)", [("store/hot.py", "_params"), ("store/hot.py", "_row"),
                                                 ("store/rows.py", "instance_from_row"),
                                                 ("store/rows.py", "history_from_row"),
                                                 ("sqlalchemy/pool/base.py", "close"),
                                                 ("sqlalchemy/engine/base.py", "raw_connection")]),
]


def _engine_us(folder: Path, synchronous: str, count: int, profile: bool = False
               ) -> tuple[float, dict[str, float]]:
    duty.engine_rate(folder, synchronous, min(count, 100))  # warm: the copy cached, imports done
    per_event = 1e6 / duty.engine_rate(folder, synchronous, count)
    parts: dict[str, float] = {}
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        duty.engine_rate(folder, synchronous, count)
        profiler.disable()
        stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
        total = sum(tt for (_, _, _), (_, _, tt, _, _) in stats.items())
        for label, functions in PARTS:
            spent = sum(ct for (file, _, name), (_, _, _, ct, _) in stats.items()
                        if any((f == "~" or file.endswith(f)) and name == n for f, n in functions))
            parts[label] = spent / total * per_event
    return per_event, parts


def sequential(count: int) -> dict[str, Any]:
    """Microseconds per event: the engine and raw sqlite3 under FULL and OFF, and the engine's parts."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        engine_full, _ = _engine_us(folder, "FULL", count)
        engine_off, parts = _engine_us(folder, "OFF", count, profile=True)
        raw_full = 1e6 / duty.raw_rate(folder, "FULL", count)
        raw_off = 1e6 / duty.raw_rate(folder, "OFF", count)
    fsync = max(0.0, raw_full - raw_off)
    python = max(0.0, engine_off - raw_off)
    parts["rest of the engine (checks, obligations, deadlines, timers)"] = max(
        0.0, engine_off - sum(parts.values()))
    return {"engine_full_us": engine_full, "engine_off_us": engine_off, "raw_full_us": raw_full,
            "raw_off_us": raw_off, "fsync_us": fsync, "engine_python_us": python,
            "engine_off_parts_us": parts,
            # what the engine's Python would have to cost for 0.65 × raw under FULL
            "python_budget_for_0_65_us": max(0.0, raw_full / 0.65 - raw_off - fsync)}


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(sequential(int(sys.argv[1]) if len(sys.argv) > 1 else 3000), indent=1))

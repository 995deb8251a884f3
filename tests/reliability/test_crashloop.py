"""The crash loop (tests/reliability/crashloop.py) with K = 5 in CI; K = 50 by hand (README, reliability)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from tests.reliability.crashloop import check, run, seed
from tests.servers import smtp_sink

ROUNDS = int(os.environ.get("WORKFLOW_CRASHLOOP_ROUNDS", "5"))


def test_serve_killed_k_times_loses_nothing_and_does_nothing_twice(tmp_path: Path) -> None:
    report = run(ROUNDS, 7, tmp_path)
    assert report.failures == []
    assert len(report.rounds) == ROUNDS
    assert report.acknowledged >= ROUNDS * 20
    assert report.timers_fired > 0
    assert report.escalations > 0
    assert report.mail_delivered > 0


def test_the_checks_catch_a_lost_acknowledgement_and_a_double_escalation(tmp_path: Path) -> None:
    """The loop's checks can fail: an acknowledged transition missing from history, a timer escalated twice."""
    path = tmp_path / "c.db"
    seed(path)
    with smtp_sink() as smtp:
        assert check(path, [], smtp, 0)["instances"] == 0
        with pytest.raises(AssertionError, match="acknowledged submit"):
            check(path, [(1, 2, "submit")], smtp, 0)
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys=OFF")
    for _ in range(2):
        raw.execute("INSERT INTO escalations (instance_id, timer_id, due_at, created_at, status) "
                    "VALUES (1, 1, '2024-01-01', '2024-01-01', 'open')")
    raw.commit()
    raw.close()
    with smtp_sink() as smtp, pytest.raises(AssertionError, match="escalated twice"):
        check(path, [], smtp, 0)

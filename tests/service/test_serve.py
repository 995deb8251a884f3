"""A real ``workflow serve`` process: SIGKILL during catch-up, restart, every overdue timer fired exactly once;
SIGTERM stops it cleanly. No sleeps: the test blocks on the lines the process prints."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from definitions import definition_files
from store import SqlStore, migrate, open_engine
from tests.conftest import ADMIN, DEFINITIONS
from workflow import Engine, SimulatedClock
from workflow.calendar import PROVINCE_TZ

OVERDUE = 300  # instances whose 20-day window closed long ago (2 overdue timers each)
FUTURE = 100  # instances whose window closes in the future


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: this module is about SQLite files themselves."""
    return sqlite_url


def seed(db_url: str) -> None:
    engine = open_engine(db_url, synchronous="OFF")
    migrate(engine)
    clock = SimulatedClock(dt.datetime(2022, 12, 26, 9, tzinfo=PROVINCE_TZ))
    store = SqlStore(engine, clock)
    wf = Engine(store, clock)
    for path in definition_files(DEFINITIONS):
        wf.load_definition_text(path.read_text(encoding="utf-8"), str(path))
    now = dt.datetime.now(dt.UTC)  # the serve process runs on real time: the future timers are received today
    for n in range(OVERDUE + FUTURE):
        if n == OVERDUE:
            clock.set(now)
        received = "2022-12-26" if n < OVERDUE else now.astimezone(PROVINCE_TZ).date().isoformat()
        instance = wf.start("agency_feedback", f"cat/{n}", "SYT", ADMIN)
        wf.fire(instance.id, "record_receipt", ADMIN, payload={"received_on": received})
    engine.dispose()


@contextmanager
def serve(db_url: str) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "WORKFLOW_DATABASE_URL": db_url, "WORKFLOW_TIMER_BATCH": "2",
           "WORKFLOW_POLL_S": "3600"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "workflow"), "serve"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()
        process.stderr.close()


def read_until(process: subprocess.Popen[str], prefix: str) -> list[str]:
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"the process ended before printing {prefix!r}: {''.join(lines)[-2000:]}")


def test_sigkill_during_catch_up_then_restart_fires_each_timer_once(db_url: str) -> None:
    seed(db_url)
    with serve(db_url) as first:
        read_until(first, "timer ")  # the first batch is committed
        first.send_signal(signal.SIGKILL)
        first.wait()
    engine = open_engine(db_url)
    with engine.connect() as c:
        left = c.execute(text("SELECT count(*) FROM timers WHERE status = 'pending' AND due_at < '2024-01-01'")
                         ).scalar()
    assert (left or 0) > 0, "the kill should land mid-catch-up for this test to mean something"

    with serve(db_url) as second:
        lines = read_until(second, "ready")
        assert any(line.startswith("caught up:") for line in lines)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
        assert second.stdout is not None
        assert "stopped" in second.stdout.read()

    with engine.connect() as c:
        statuses = Counter(dict(c.execute(text(
            "SELECT status, count(*) FROM timers WHERE name != 'remind' GROUP BY status")).all()))
        events = Counter(dict(c.execute(text(
            "SELECT event, count(*) FROM history GROUP BY event")).all()))
        per_instance = c.execute(text(
            "SELECT instance_id, sum(event = 'close_window'), sum(event = '@escalated') FROM history "
            "GROUP BY instance_id")).all()
    engine.dispose()
    assert statuses["fired"] == 2 * OVERDUE  # each overdue escalation and timeout, once
    assert statuses["pending"] == 2 * FUTURE
    assert events["close_window"] == OVERDUE
    assert events["@escalated"] == OVERDUE
    assert {(closes, escalated) for _, closes, escalated in per_instance} == {(1, 1), (0, 0)}


def test_one_serve_per_file_a_taken_port_said_at_once_and_the_first_key_kept_off_the_output(
        db_url: str, tmp_path: Path) -> None:
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    for url in (db_url, other_url):
        engine = open_engine(url)
        migrate(engine)
        engine.dispose()
    workflow = str(Path(sys.executable).parent / "workflow")
    env = {**os.environ, "WORKFLOW_DATABASE_URL": db_url, "WORKFLOW_POLL_S": "3600"}
    env.pop("WORKFLOW_FIRST_KEY_FILE", None)
    first = subprocess.Popen([workflow, "serve", "--port", "0"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        lines = read_until(first, "ready ")
        said = next(line for line in lines if line.startswith("first admin key written to "))
        key_file = Path(db_url.removeprefix("sqlite:///")).parent / "first-admin-key"
        assert str(key_file) in said
        assert key_file.stat().st_mode & 0o777 == 0o600
        token = key_file.read_text(encoding="utf-8").strip()
        assert len(token) > 40
        assert not any(token in line for line in lines)  # under systemd the output is the journal
        port = lines[-1].split()[1].rsplit(":", 1)[1]

        second = subprocess.run([workflow, "serve", "--port", "0"], env=env, capture_output=True, text=True,
                                timeout=120, check=False)
        assert second.returncode == 4, second.stdout + second.stderr
        assert f"another `workflow serve` (process {first.pid}) is running" in second.stderr

        taken = subprocess.run([workflow, "serve", "--port", port], env={**env, "WORKFLOW_DATABASE_URL": other_url},
                               capture_output=True, text=True, timeout=120, check=False)
        assert taken.returncode == 4, taken.stdout + taken.stderr
        assert f"cannot listen on 127.0.0.1:{port}" in taken.stderr
        assert "catching up" not in taken.stdout  # refused before any work
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=120)

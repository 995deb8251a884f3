"""A real ``workflow serve`` process: SIGKILL during catch-up, restart, every overdue timer fired exactly once;
SIGTERM stops it cleanly. No sleeps: the test blocks on the records the process logs (``tests.servers.ServeLog``)."""

from __future__ import annotations

import datetime as dt
import json
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
from tests.servers import ServeLog
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
def serve(db_url: str) -> Iterator[tuple[subprocess.Popen[str], ServeLog]]:
    env = {**os.environ, "WORKFLOW_DATABASE_URL": db_url, "WORKFLOW_TIMER_BATCH": "2",
           "WORKFLOW_POLL_S": "3600", "WORKFLOW_LOG_FORMAT": "json"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "workflow"), "serve", "--port", "0"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    log = ServeLog(process.stderr)
    try:
        yield process, log
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        log.wait_closed()
        assert process.stdout is not None
        assert process.stdout.read() == ""  # serve says everything through its log, nothing on standard output
        process.stdout.close()


def test_sigkill_during_catch_up_then_restart_fires_each_timer_once(db_url: str) -> None:
    seed(db_url)
    with serve(db_url) as (first, first_log):
        first_log.wait("timer")  # the first batch is committed
        first.send_signal(signal.SIGKILL)
        first.wait()
    engine = open_engine(db_url)
    with engine.connect() as c:
        left = c.execute(text("SELECT count(*) FROM timers WHERE status = 'pending' AND due_at < '2024-01-01'")
                         ).scalar()
    assert (left or 0) > 0, "the kill should land mid-catch-up for this test to mean something"

    with serve(db_url) as (second, second_log):
        second_log.wait("ready")
        caught_up = second_log.wait("caught_up")
        assert caught_up["timers"] > 0
        assert caught_up["level"] == "INFO"
        assert caught_up["time"].endswith("Z")
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
        second_log.wait("stopped")
        assert second_log.events().index("caught_up") < second_log.events().index("ready")

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
    assert first.stderr is not None
    log = ServeLog(first.stderr)
    try:
        url = log.wait("ready")["url"]
        key_file = Path(db_url.removeprefix("sqlite:///")).parent / "first-admin-key"
        assert log.wait("first_key")["file"] == str(key_file)
        assert key_file.stat().st_mode & 0o777 == 0o600
        token = key_file.read_text(encoding="utf-8").strip()
        assert len(token) > 40
        with log.changed:  # under systemd the log is the journal
            assert not any(token in json.dumps(r) for r in log.records)
            assert not any(token in o for o in log.other)
        port = url.rsplit(":", 1)[1]

        second = subprocess.run([workflow, "serve", "--port", "0"], env=env, capture_output=True, text=True,
                                timeout=120, check=False)
        assert second.returncode == 4, second.stdout + second.stderr
        assert f"another `workflow serve` (process {first.pid}) is running" in second.stderr

        taken = subprocess.run([workflow, "serve", "--port", port], env={**env, "WORKFLOW_DATABASE_URL": other_url},
                               capture_output=True, text=True, timeout=120, check=False)
        assert taken.returncode == 4, taken.stdout + taken.stderr
        assert f"cannot listen on 127.0.0.1:{port}" in taken.stderr
        assert "catching_up" not in taken.stderr  # refused before any work
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=120)
        log.wait_closed()
        assert first.stdout is not None
        first.stdout.close()


def test_serve_takes_its_port_and_address_from_the_environment(tmp_path: Path) -> None:
    """Issue 27: `./run start --port 18400` was ignored; WORKFLOW_PORT and WORKFLOW_HOST work as --port and --host.
    Port 0 (any free one) from the environment, so nothing here depends on what else listens on the machine."""
    from service.settings import Settings
    from tests.api.conftest import prepared

    url = f"sqlite:///{tmp_path / 'env.db'}"
    prepared(Settings(database_url=url)).sql_engine.dispose()
    env = {**os.environ, "WORKFLOW_DATABASE_URL": url, "WORKFLOW_PORT": "0", "WORKFLOW_HOST": "127.0.0.1",
           "WORKFLOW_LOG_FORMAT": "json", "WORKFLOW_POLL_S": "3600"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "workflow"), "serve"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    log = ServeLog(process.stderr)
    try:
        ready = log.wait("ready")
        assert ready["url"].startswith("http://127.0.0.1:")
        assert not ready["url"].endswith(":8000")
        assert "/openapi.json" in ready["message"]  # what exists: /docs is off unless WORKFLOW_API_DOCS=1
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        log.wait_closed()
        assert process.stdout is not None
        process.stdout.close()


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc: no psutil)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_serve_with_two_workers_answers_from_either_and_stops_both(tmp_path: Path) -> None:
    """Issue 30: `serve --workers 2` runs a second process on the same socket; with the first one stopped
    (SIGSTOP) the second alone answers reads and durable writes; SIGTERM ends both, nothing left running."""
    import httpx

    from service.settings import Settings
    from tests.api.conftest import prepared

    url = f"sqlite:///{tmp_path / 'workers.db'}"
    app = prepared(Settings(database_url=url))
    _, token = app.store.create_key("test", "admin", None, app.clock.now())
    app.sql_engine.dispose()
    env = {**os.environ, "WORKFLOW_DATABASE_URL": url, "WORKFLOW_LOG_FORMAT": "json", "WORKFLOW_POLL_S": "3600"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "workflow"), "serve", "--port", "0", "--workers",
                                "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    log = ServeLog(process.stderr)
    try:
        ready = log.wait("ready")
        assert ready["workers"] == 2
        (helper,) = _children(process.pid)
        os.kill(process.pid, signal.SIGSTOP)  # only the helper can accept now
        try:
            with httpx.Client(base_url=ready["url"], timeout=60,
                              headers={"Authorization": f"Bearer {token}"}) as c:
                assert c.get("/healthz").status_code == 200
                r = c.post("/api/v1/instances", json={"definition": "catalogue_feedback",
                                                      "business_key": "workers/1", "assignee": "SYT"})
                assert r.status_code == 201, r.text
        finally:
            os.kill(process.pid, signal.SIGCONT)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        with pytest.raises(ProcessLookupError):
            os.kill(helper, 0)  # stopped and reaped by serve before it exited
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.wait_closed()
        assert process.stdout is not None
        process.stdout.close()
    again = prepared(Settings(database_url=url))
    assert [i.business_key for i in again.store.list_instances()] == ["workers/1"]
    again.sql_engine.dispose()

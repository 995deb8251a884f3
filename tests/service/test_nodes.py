"""Several ``workflow serve`` processes on one PostgreSQL: each timer fired once, even when a node is
SIGKILLed mid-run; every notification reaches a real SMTP server; concurrent fires through different nodes
have one winner per version."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from service.context import App
from service.settings import Settings
from tests.conftest import ADMIN
from tests.pg import PgServer
from tests.servers import ServeLog, smtp_sink
from workflow import SimulatedClock
from workflow.notify import Contact

TIMERS = int(os.environ.get("WORKFLOW_TEST_NODE_TIMERS", "20000"))
ALARM = """\
id: node_alarm
version: 1
title: {vi: "Thử nhiều nút", en: "Multi-node test"}
seed_section: "test"
states:
  - id: waiting
    label: "Chờ"
    kind: initial
    timers:
      - {name: due, kind: escalation, deadline: {hours: 0}}
  - {id: done, label: "Xong", kind: final}
transitions:
  - {event: finish, label: "Xong", source: waiting, dest: done, roles: [admin]}
"""
CYCLE = """\
id: node_cycle
version: 1
title: {vi: "Vòng", en: "Cycle"}
seed_section: "test"
states:
  - {id: a, label: "A", kind: initial}
  - {id: b, label: "B"}
  - {id: z, label: "Z", kind: final}
transitions:
  - {event: go, label: "Đi", source: a, dest: b, roles: [admin]}
  - {event: back, label: "Về", source: b, dest: a, roles: [admin]}
  - {event: stop, label: "Dừng", source: "*", dest: z, roles: [admin], reason_required: true}
"""


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    return pg_server.new_database()


class Node:
    def __init__(self, url: str, env: dict[str, str], name: str, folder: Path) -> None:
        self.name = name
        self.process = subprocess.Popen([str(Path(sys.executable).parent / "workflow"), "serve", "--port", "0"],
                                        env={**env, "WORKFLOW_NODE_NAME": name, "WORKFLOW_LOG_FORMAT": "json"},
                                        cwd=folder,  # PostgreSQL: the first admin's file, the files folder
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert self.process.stderr is not None
        self.reader = ServeLog(self.process.stderr)

    @property
    def fired(self) -> list[int]:
        """The timers this node fired, as its log says."""
        with self.reader.changed:
            return [int(r["timer"]) for r in self.reader.records if r["event"] == "timer" and r["status"] == "fired"]

    @property
    def url(self) -> str:
        ready = self.reader.find("ready")
        return str(ready["url"]) if ready else ""

    def is_ready(self) -> bool:
        return self.reader.find("ready") is not None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=120)
        self.reader.wait_closed(timeout=30)


@contextmanager
def nodes(url: str, count: int, **settings: str) -> Iterator[list[Node]]:
    """Started nodes (not waited for: they may be catching up, which is when one should be killed)."""
    env = {**os.environ, "WORKFLOW_DATABASE_URL": url, "WORKFLOW_POLL_S": "1", **settings}
    folder = Path(tempfile.mkdtemp(prefix="nodes-"))  # the working folder the nodes share, not the checkout
    started = [Node(url, env, f"node-{n}", folder) for n in range(count)]
    try:
        yield started
    finally:
        for node in started:
            node.stop()
        shutil.rmtree(folder, ignore_errors=True)


def seed(url: str, count: int, smtp_port: int) -> App:
    app = App(Settings(database_url=url))
    app.init()
    app.engine.load_definition_text(ALARM, "node_alarm.yaml")
    app.store.create_key("first-admin", "admin", None, app.clock.now())  # no key printed by the nodes
    app.store.set_contact(Contact("BCD", "Ban Chỉ đạo", "bcd@example.vn", None), app.clock.now())
    definition = app.engine.definition("node_alarm")
    first = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=10 + count / 1000)  # about when seeding ends
    clock = SimulatedClock(first)
    seeding = App(app.settings, clock=clock)
    for start in range(0, count, 1000):
        with seeding.store.transaction() as uow:
            for n in range(start, min(count, start + 1000)):
                clock.set(first + dt.timedelta(seconds=60 * n / count))  # due within a minute of each other
                seeding.engine.start_in(uow, definition, f"alarm/{n}", "SKHCN", ADMIN)
    seeding.sql_engine.dispose()
    return app


def test_three_nodes_fire_each_timer_once_and_deliver_each_notification(pg_url: str) -> None:
    with ExitStack() as stack:
        smtp = stack.enter_context(smtp_sink())
        smtp.expect = TIMERS
        app = seed(pg_url, TIMERS, smtp.port)
        running = stack.enter_context(nodes(pg_url, 3, WORKFLOW_SMTP_HOST="127.0.0.1",
                                            WORKFLOW_SMTP_PORT=str(smtp.port), WORKFLOW_NOTIFY_LEASE_S="5",
                                            WORKFLOW_NOTIFY_BACKOFF_S="1"))
        victim = running[0]
        while sum(len(n.fired) for n in running) < TIMERS // 10:  # mid-run: the nodes are busy firing
            victim.reader.join(timeout=0.05)
            assert victim.process.poll() is None
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        assert smtp.all_received.wait(timeout=600), f"{len(smtp.distinct)} of {TIMERS} notifications arrived"
        for node in running[1:]:
            assert node.is_ready(), f"{node.name} never became ready"

    with app.sql_engine.connect() as c:
        timers = Counter(dict(c.execute(text("SELECT status, count(*) FROM timers GROUP BY status")).all()))
        per_instance = Counter(n for (n,) in c.execute(text(
            "SELECT count(*) FROM history WHERE event = '@escalated' GROUP BY instance_id")))
        escalations = c.execute(text("SELECT count(*) FROM escalations")).scalar()
        outbox = Counter(dict(c.execute(text("SELECT status, count(*) FROM outbox GROUP BY status")).all()))
        message_ids = {m for (m,) in c.execute(text("SELECT message_id FROM outbox"))}
    app.sql_engine.dispose()
    assert timers == Counter({"fired": TIMERS}), timers
    assert per_instance == Counter({1: TIMERS})  # one @escalated row per instance: timer rows and history agree
    assert escalations == TIMERS
    assert outbox == Counter({"sent": TIMERS}), outbox
    counted = Counter(smtp.message_ids())
    assert set(counted) == message_ids  # every notification arrived, recognisable by its Message-ID
    repeats = sum(n - 1 for n in counted.values())
    assert repeats <= 50, repeats  # at most the messages the killed node had leased and sent, unmarked
    assert sum(len(n.fired) for n in running[1:]) > 0  # the survivors took over


def test_concurrent_fires_through_different_nodes_have_one_winner_per_version(pg_url: str) -> None:
    app = App(Settings(database_url=pg_url))
    app.init()
    app.engine.load_definition_text(CYCLE, "node_cycle.yaml")
    _, key = app.store.create_key("load", "admin", None, app.clock.now())
    instance = app.engine.start("node_cycle", "cycle", "SKHCN", ADMIN)
    wins: list[int] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    with nodes(pg_url, 3) as running:
        for node in running:
            node.reader.wait("ready", timeout=120)

        def worker(url: str) -> None:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
                for _ in range(20):
                    current = c.get(f"/api/v1/instances/{instance.id}")
                    event = "go" if current.json()["state"] == "a" else "back"
                    r = c.post(f"/api/v1/instances/{instance.id}/events", json={"event": event},
                               headers={"If-Match": current.headers["ETag"]})
                    with lock:
                        statuses[r.status_code] += 1
                        if r.status_code == 200:
                            wins.append(r.json()["version"])

        threads = [threading.Thread(target=worker, args=(node.url,)) for node in running for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert set(statuses) <= {200, 409}
    assert sorted(wins) == list(range(2, 2 + len(wins)))
    assert app.store.get_instance(instance.id).version == 1 + len(wins)
    app.sql_engine.dispose()

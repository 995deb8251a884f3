"""The crash loop: ``workflow serve`` on a SQLite file (synchronous=FULL) under concurrent HTTP load, killed
with SIGKILL at seeded random moments and restarted, K times; after every kill the database is checked.

Load (4 client threads): start instances, fire events, answer; every start creates an escalation timer due
at once (a mail to the Steering Committee through a real SMTP server), and ``submit`` enters a state whose
timeout is due at once, racing the clients' ``revise``: timers fire all the time, in real time, while the
process is killed. After each kill, with the process gone:

1. ``PRAGMA integrity_check`` is ``ok``;
2. ``audit verify`` finds every hash chain intact;
3. every instance's row equals the replay of its history (state, version = last seq, head hash);
4. every transition acknowledged with a 2xx before the kill is in the history, with the same event;
5. no timer fired twice: at most one escalation per timer row, and no two timer-driven history rows of an
   instance for the same event in the same entry of a state;
6. notifications: every Message-ID the outbox marked delivered reached the SMTP server; a Message-ID seen
   twice is counted (possible only for mail sent in the instant between the server's "250 OK" and the
   commit that marks it, see SECURITY.md) and bounded by the kills times the delivery batch.

Run K = 50 by hand: ``.venv/bin/python -m tests.reliability.crashloop --rounds 50 --seed 1``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from service.context import App
from service.settings import Settings
from service.verification import verify_range
from tests.servers import ServeLog, SmtpSink, smtp_sink
from workflow.notify import Contact

DUTY = """\
id: crash_duty
version: 1
title: {vi: "Thử nghiệm sập nguồn", en: "Crash-loop duty"}
seed_section: "test"
states:
  - id: drafting
    label: "Đang soạn"
    kind: initial
    timers:
      - {name: late, kind: escalation, deadline: {hours: 0}}
  - id: review
    label: "Đang xem xét"
    timers:
      - {name: auto, kind: timeout, deadline: {hours: 0}, event: auto_approve}
  - {id: approved, label: "Đã duyệt", kind: final}
  - {id: answered, label: "Đã trả lời", kind: final}
transitions:
  - {event: submit, label: "Trình", source: drafting, dest: review, roles: [admin]}
  - {event: revise, label: "Sửa lại", source: review, dest: drafting, roles: [admin]}
  - {event: auto_approve, label: "Tự duyệt", source: review, dest: approved, roles: [system, admin],
     reason_required: true}
  - event: answer
    label: "Trả lời"
    source: drafting
    dest: answered
    roles: [admin]
    payload:
      document: {type: document, required: true, label: "Số văn bản"}
"""
WORKFLOW = str(Path(sys.executable).parent / "workflow")
BATCH = 50  # WORKFLOW_TIMER_BATCH in the harness; also bounds mail in flight per kill


@dataclass
class Round:
    number: int
    acknowledged: int
    killed_after: int
    checks: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    seed: int
    rounds: list[Round] = field(default_factory=list)
    acknowledged: int = 0
    instances: int = 0
    timers_fired: int = 0
    escalations: int = 0
    mail_delivered: int = 0
    mail_distinct: int = 0
    mail_duplicates: int = 0
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "rounds"}
        out["rounds"] = len(self.rounds)
        out["killed_after"] = [r.killed_after for r in self.rounds]
        return out


class Client(threading.Thread):
    """One load thread: acknowledges only what the server answered 2xx."""

    def __init__(self, url: str, key: str, rng: random.Random, name: str, log: list[tuple[int, int, str]],
                 lock: threading.Lock) -> None:
        super().__init__(daemon=True)
        self.url, self.key, self.rng, self.tag = url, key, rng, name
        self.log, self.lock = log, lock
        self.mine: dict[int, str] = {}  # instance → state as last acknowledged

    def _ack(self, body: dict[str, Any], event: str, seq: int) -> None:
        with self.lock:
            self.log.append((int(body["id"]), seq, event))
        self.mine[int(body["id"])] = str(body["state"])

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30) as c:
            n = 0
            while True:
                n += 1
                try:
                    if not self.mine or self.rng.random() < 0.35:
                        r = c.post("/api/v1/instances", json={"definition": "crash_duty",
                                                              "business_key": f"{self.tag}/{n}", "assignee": "SKHCN"})
                        if r.status_code == 201:
                            self._ack(r.json(), "@start", 1)
                        continue
                    iid = self.rng.choice(list(self.mine))
                    state = self.mine[iid]
                    if state == "drafting":
                        event, payload = (("answer", {"document": f"{n}/SKHCN"}) if self.rng.random() < 0.3
                                          else ("submit", {}))
                    elif state == "review":
                        event, payload = "revise", {}
                    else:
                        del self.mine[iid]
                        continue
                    r = c.post(f"/api/v1/instances/{iid}/events", json={"event": event, "payload": payload})
                    if r.status_code == 200:
                        self._ack(r.json(), event, int(r.json()["seq"]))
                    elif r.status_code == 409:  # the timer got there first: learn the state
                        got = c.get(f"/api/v1/instances/{iid}")
                        if got.status_code == 200:
                            self.mine[iid] = got.json()["state"]
                    elif r.status_code >= 500:
                        return
                except httpx.TransportError:
                    return  # the server was killed


def seed(path: Path) -> str:
    app = App(Settings(database_url=f"sqlite:///{path}"))
    app.init()
    app.engine.load_definition_text(DUTY, "crash_duty.yaml")
    _, key = app.store.create_key("crash-loop", "admin", None, app.clock.now())
    app.store.set_contact(Contact("BCD", "Ban Chỉ đạo", "bcd@example.vn", None), app.clock.now())
    app.sql_engine.dispose()
    return key


def serve_env(path: Path, smtp: SmtpSink) -> dict[str, str]:
    """The environment of the harness's ``workflow serve``: the file, the SMTP sink, timers polled each second."""
    return {**os.environ, "WORKFLOW_DATABASE_URL": f"sqlite:///{path}", "WORKFLOW_SMTP_HOST": "127.0.0.1",
            "WORKFLOW_SMTP_PORT": str(smtp.port), "WORKFLOW_POLL_S": "1", "WORKFLOW_NOTIFY_BACKOFF_S": "1",
            "WORKFLOW_TIMER_BATCH": str(BATCH), "WORKFLOW_SQLITE_SYNCHRONOUS": "FULL", "WORKFLOW_LOG_FORMAT": "json"}


def spawn(path: Path, smtp: SmtpSink) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([WORKFLOW, "serve", "--port", "0"], env=serve_env(path, smtp),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    log = ServeLog(process.stderr)  # read to the end by its thread, so the pipe never blocks the server
    try:
        return process, str(log.wait("ready")["url"])
    except AssertionError as err:
        raise RuntimeError(f"serve exited with {process.wait()} before it was ready: {err}") from None


def check(path: Path, acknowledged: list[tuple[int, int, str]], smtp: SmtpSink, kills: int) -> dict[str, Any]:
    """Every property of the module docstring; raises AssertionError naming the first that fails."""
    raw = sqlite3.connect(path)
    try:
        (integrity,) = raw.execute("PRAGMA integrity_check").fetchone()
        assert integrity == "ok", f"integrity_check: {integrity}"
        escalations_per_timer = raw.execute(
            "SELECT timer_id, count(*) FROM escalations GROUP BY timer_id HAVING count(*) > 1").fetchall()
        assert not escalations_per_timer, f"a timer escalated twice: {escalations_per_timer}"
        delivered = [r[0] for r in raw.execute("SELECT message_id FROM outbox WHERE status = 'sent'")]
        (fired,) = raw.execute("SELECT count(*) FROM timers WHERE status = 'fired'").fetchone()
        (escalations,) = raw.execute("SELECT count(*) FROM escalations").fetchone()
    finally:
        raw.close()
    app = App(Settings(database_url=f"sqlite:///{path}"))
    try:
        store = app.store
        result = verify_range(store)
        assert result.ok, f"audit verify: {[str(p) for p in result.problems[:5]]}"
        histories: dict[int, list[Any]] = {}
        for row in store.iter_history():
            histories.setdefault(row.instance_id, []).append(row)
        for instance_id, (version, head) in store.chain_heads().items():
            rows = histories.get(instance_id, [])
            instance = store.get_instance(instance_id)
            assert rows, f"instance {instance_id} has no history"
            assert (instance.state, version, head) == (rows[-1].to_state, rows[-1].seq, rows[-1].hash), \
                f"instance {instance_id}: row says {instance.state} v{version}, history replays to " \
                f"{rows[-1].to_state} v{rows[-1].seq}"
            entry, seen = 1, set()
            for row in rows:
                if row.actor_id.startswith("system:timer"):
                    key = (row.event, entry)
                    assert key not in seen, f"instance {instance_id}: timer event {row.event} twice in entry {entry}"
                    seen.add(key)
                if row.from_state != row.to_state:
                    entry = row.seq
        for instance_id, seq, event in acknowledged:
            rows = histories.get(instance_id, [])
            found = rows[seq - 1].event if len(rows) >= seq else None
            assert found == event, f"acknowledged {event} (instance {instance_id}, row {seq}) is not in the history"
        received = Counter(smtp.message_ids())
        missing = [m for m in delivered if f"<{m}>" not in received and m not in received]
        assert not missing, f"{len(missing)} notifications marked delivered never reached the SMTP server"
        duplicates = sum(n - 1 for n in received.values() if n > 1)
        assert duplicates <= kills * BATCH, f"{duplicates} repeated Message-IDs after {kills} kills"
        return {"instances": len(histories), "timers_fired": fired, "escalations": escalations,
                "mail_delivered": len(delivered), "mail_distinct": len(received), "mail_duplicates": duplicates}
    finally:
        app.sql_engine.dispose()


def run(rounds: int, seed_value: int, folder: Path) -> Report:
    rng = random.Random(seed_value)
    path = folder / "crashloop.db"
    key = seed(path)
    report = Report(seed_value)
    acknowledged: list[tuple[int, int, str]] = []
    lock = threading.Lock()
    with smtp_sink() as smtp:
        for number in range(1, rounds + 1):
            process, url = spawn(path, smtp)
            clients = [Client(url, key, random.Random(rng.random()), f"r{number}c{c}", acknowledged, lock)
                       for c in range(4)]
            target = len(acknowledged) + rng.randrange(20, 200)  # the kill comes after this many acknowledgements
            for client in clients:
                client.start()
            while len(acknowledged) < target and any(c.is_alive() for c in clients):
                clients[0].join(timeout=0.01)  # waiting on the load's progress, not on a clock
            process.send_signal(signal.SIGKILL)
            process.wait()  # its log's reader closes the pipe at its end
            for client in clients:
                client.join(timeout=60)
            with lock:
                snapshot = list(acknowledged)
            this = Round(number, len(snapshot), target)
            try:
                this.checks = check(path, snapshot, smtp, number)
            except AssertionError as err:
                report.failures.append(f"round {number}: {err}")
                report.rounds.append(this)
                break
            report.rounds.append(this)
        last = report.rounds[-1].checks if report.rounds else {}
        report.acknowledged = len(acknowledged)
        for name in ("instances", "timers_fired", "escalations", "mail_delivered", "mail_distinct", "mail_duplicates"):
            setattr(report, name, int(last.get(name, 0)))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50, help="K: how many times serve is killed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="folder to keep the database in (default: a temporary one)")
    args = parser.parse_args()
    import tempfile

    started = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        report = run(args.rounds, args.seed, folder)
    body = report.as_dict() | {"seconds": (dt.datetime.now(dt.UTC) - started).total_seconds()}
    print(json.dumps(body, indent=1))
    sys.exit(1 if report.failures else 0)


if __name__ == "__main__":
    main()

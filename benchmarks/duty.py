"""Sequential durable events of a shipped duty with its obligations (issue 30's honest benchmark).

The duty is ``catalogue_feedback`` at its current version (II.4b: an agency records the day it received the draft
catalogue, then answers in writing within 20 days of it). One instance is three durable events, each one
transaction on a SQLite file (WAL, the given ``synchronous``), each with an idempotency key as an API client sends:

- **start** (by the administrator): the instance row, its history row (hash-chained), the ``answer`` obligation
  (receipt presumed 3 working days after sending) and its timers (two reminders, the escalation);
- **record_receipt** (by the agency's officer, the day received): the incoming register's entry, the instance and
  its history row, the obligation restarted from the day received, its old timers cancelled and three armed;
- **answer** (by the officer, with the answering document's number and date and the opinion): the outgoing
  register's entry, the instance and its history row, the obligation satisfied, its timers cancelled.

Against it, in the same run:

- **raw sqlite3, the same rows** (the floor SQLite and the disk set): the same schema and pragmas, and per event
  the reads that decide it (the idempotency key, the instance, its obligation, the register's last number) and
  every row the engine writes, with bound parameters, one ``BEGIN IMMEDIATE`` … ``COMMIT`` each. It checks nothing,
  counts no deadline and hashes nothing but one SHA-256 per history row;
- **SpiffWorkflow 3.2, the same duty** (``peer/catalogue_feedback.bpmn``: two user tasks, a 20-day interrupting
  boundary timer on the answer), the event's data set on its task, the workflow serialised to its row after each
  step as its documentation shows. It keeps no history, obligation, timer or register rows.

Events per second for each; the ratios are computed within each repeat. ``before_after`` runs the same benchmark of
the engine as it was at ``BASELINE`` (a git worktree of that commit, its own code in its own process) interleaved
with today's, so the effect of issue 30's changes is measured in the same run on the same machine state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from definitions import Role, definition_files, load_data
from definitions.agencies import Registry
from definitions.shipped_files import REGISTRY, WORKFLOWS, shipped
from store import SqlStore, migrate, open_engine
from workflow import Actor, Engine, SimulatedClock
from workflow.agencies import Agencies

from .peer import run_spiff

DUTY = "catalogue_feedback"
ADMIN = Actor("bench:admin", Role.ADMIN)
OFFICER = Actor("bench:syt", Role.OFFICER, "SYT")
NOW = dt.datetime(2023, 1, 2, 2, tzinfo=dt.UTC)  # 09:00 in the province, a Monday
DAY = "2023-01-02"
RECEIPT = {"received_on": DAY}
ANSWER = {"document": {"number": "45/SYT-KHTC", "issued_on": DAY}, "position": "agree_with_changes",
          "additions": "Ứng dụng trí tuệ nhân tạo trong khám chữa bệnh"}
PEER = Path(__file__).parent / "peer" / "catalogue_feedback.bpmn"
ROOT = Path(__file__).resolve().parents[1]
BASELINE = "21407a7"  # the honest benchmark alone, before issue 30's changes to the engine


def ready(engine: Engine) -> None:
    """Every shipped definition and the agency registry, as ``workflow plan load`` leaves a new installation."""
    for file in definition_files([shipped(*WORKFLOWS)]):
        engine.load_definition_text(file.read_text(encoding="utf-8"), str(file))
    Agencies(engine).load(load_data(shipped(*REGISTRY), Registry), ADMIN)


def prepared(folder: Path) -> Path:
    """A database with the schema, every shipped definition and the agency registry (copied for each side)."""
    path = folder / "prepared.db"
    if not path.exists():
        sql = open_engine(f"sqlite:///{path}")
        migrate(sql)
        clock = SimulatedClock(NOW)
        ready(Engine(SqlStore(sql, clock), clock, standing_body="SKHCN"))
        sql.dispose()
    return path


def _copy(folder: Path, name: str) -> Path:
    target = folder / name
    shutil.copyfile(prepared(folder), target)
    return target


def engine_rate(folder: Path, synchronous: str, count: int) -> float:
    """Events per second through ``Engine.start_request`` / ``Engine.fire``, as the API calls them."""
    sql = open_engine(f"sqlite:///{_copy(folder, f'engine-{synchronous}.db')}",
                      synchronous=synchronous)  # type: ignore[arg-type]
    clock = SimulatedClock(NOW)
    engine = Engine(SqlStore(sql, clock), clock, standing_body="SKHCN")
    engine.definition(DUTY)  # parsed once before timing, as in a running service
    started = time.perf_counter()
    for n in range(count):
        task = engine.start_request(DUTY, f"bench/{n}/SYT", "SYT", ADMIN, idempotency_key=f"s{n}").instance
        engine.fire(task.id, "record_receipt", OFFICER, payload=RECEIPT, idempotency_key=f"r{n}")
        engine.fire(task.id, "answer", OFFICER, payload=ANSWER, idempotency_key=f"a{n}")
    elapsed = time.perf_counter() - started
    if engine.store.get_instance(task.id).state != "answered":
        raise RuntimeError("the engine did not finish the duty")
    sql.dispose()
    return 3 * count / elapsed


_TIMER = ("INSERT INTO timers (instance_id, name, kind, offset_days, event, fence, status, deadline, anchor, "
          "extension, base_due, due_at, remaining, created_at, fired_at, outcome, claimed_by, lease_until, "
          "obligation) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
_HISTORY = ("INSERT INTO history (instance_id, seq, event, from_state, to_state, actor_id, actor_role, actor_agency, "
            "at, payload, reason, definition_id, definition_version, request_id, prev_hash, hash, effective_on, "
            "obligations) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
_REGISTER = ("INSERT INTO registers (agency, direction, year, number, registered_on, counterpart, reference, "
             "issued_on, summary, signer, instance_id, seq, source, external_id, fingerprint, actor_id, created_at) "
             "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")


def raw_rate(folder: Path, synchronous: str, count: int) -> float:
    """The same rows through ``sqlite3`` with bound parameters: the floor."""
    db = sqlite3.connect(_copy(folder, f"raw-{synchronous}.db"), isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000", f"synchronous={synchronous}"):
        db.execute(f"PRAGMA {pragma}")
    version = db.execute("SELECT max(version) FROM definitions WHERE id = ?", (DUTY,)).fetchone()[0]
    now = "2023-01-02 02:00:00.000000"
    due = "2023-01-27 17:00:00.000000"

    def history(instance_id: int, seq: int, event: str, before: str | None, after: str, actor: Actor,
                payload: dict[str, Any], prev: str, obligations: list[dict[str, Any]]) -> str:
        digest = hashlib.sha256(f"{instance_id}/{seq}/{prev}".encode()).hexdigest()
        db.execute(_HISTORY, (instance_id, seq, event, before, after, actor.id, actor.role.value, actor.agency, now,
                              json.dumps(payload, ensure_ascii=False), None, DUTY, version, None, prev, digest, DAY,
                              json.dumps(obligations)))
        return digest

    def timers(instance_id: int, fence: int) -> None:
        for kind, offset in (("reminder", 5), ("reminder", 1), ("escalation", 0)):
            db.execute(_TIMER, (instance_id, "answer", kind, offset, None, fence, "pending", '{"days": 20}',
                                DAY, None, due, due, None, now, None, None, None, None, "answer"))

    def idempotent(key: str, instance_id: int, seq: int) -> None:
        db.execute("INSERT INTO idempotency (key, fingerprint, instance_id, seq) VALUES (?,?,?,?)",
                   (key, hashlib.sha256(key.encode()).hexdigest(), instance_id, seq))

    def register(direction: str, instance_id: int, seq: int, reference: str | None) -> None:
        (last,) = db.execute("SELECT max(number) FROM registers WHERE agency = ? AND direction = ? AND year = ?",
                             ("SYT", direction, 2023)).fetchone()
        db.execute(_REGISTER, ("SYT", direction, 2023, (last or 0) + 1, DAY, "SKHCN", reference, DAY, None, None,
                               instance_id, seq, "act", None, None, OFFICER.id, now))

    def event(instance_id: int, key: str, name: str, payload: dict[str, Any], direction: str,
              reference: str | None, satisfied: bool) -> None:
        db.execute("BEGIN IMMEDIATE")
        db.execute("SELECT key FROM idempotency WHERE key = ?", (key,)).fetchone()
        state, seq, data, head = db.execute("SELECT state, version, data, head_hash FROM instances WHERE id = ?",
                                            (instance_id,)).fetchone()
        db.execute("SELECT * FROM obligations WHERE instance_id = ?", (instance_id,)).fetchall()
        register(direction, instance_id, seq + 1, reference)
        after = "answered" if satisfied else "received"
        digest = hashlib.sha256(f"{instance_id}/{seq + 1}/{head}".encode()).hexdigest()
        db.execute("UPDATE instances SET state = ?, version = ?, data = ?, updated_at = ?, head_hash = ?, "
                   "due_at = ? WHERE id = ? AND version = ?",
                   (after, seq + 1, json.dumps({**json.loads(data), **payload}, ensure_ascii=False), now, digest,
                    None if satisfied else due, instance_id, seq))
        history(instance_id, seq + 1, name, state, after, OFFICER, payload, head,
                [{"op": "satisfy" if satisfied else "restart", "name": "answer"}])
        db.execute("UPDATE timers SET status = 'cancelled', fired_at = ?, outcome = ? WHERE instance_id = ? AND "
                   "(status = 'pending' OR status = 'suspended') AND obligation = ?",
                   (now, "obligation closed or restarted", instance_id, "answer"))
        db.execute("UPDATE obligations SET opened_seq = ?, started_on = ?, presumed = 0, last_day = ?, due_at = ?, "
                   "status = ?, closed_on = ?, closed_seq = ? WHERE instance_id = ? AND name = ?",
                   (seq + 1, DAY, "2023-01-27", due, "satisfied" if satisfied else "open", DAY if satisfied else None,
                    seq + 1 if satisfied else None, instance_id, "answer"))
        if not satisfied:
            timers(instance_id, seq + 1)
        idempotent(key, instance_id, seq + 1)
        db.execute("COMMIT")

    started = time.perf_counter()
    for n in range(count):
        db.execute("BEGIN IMMEDIATE")
        db.execute("SELECT key FROM idempotency WHERE key = ?", (f"s{n}",)).fetchone()
        digest = hashlib.sha256(f"start/{n}".encode()).hexdigest()
        instance_id = db.execute(
            "INSERT INTO instances (definition_id, definition_version, business_key, state, version, assignee, data, "
            "parent_id, created_at, updated_at, head_hash, entry_seq, suspended_at, due_at, effective_on) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (DUTY, version, f"bench/{n}/SYT", "sent", 1, "SYT", "{}", None, now, now, digest, 1, None, due,
             DAY)).lastrowid
        assert instance_id is not None
        history(instance_id, 1, "@start", None, "sent", ADMIN, {}, "", [{"op": "open", "name": "answer"}])
        db.execute("INSERT INTO obligations (instance_id, name, agency, cooperating, opened_seq, opened_on, "
                   "started_on, presumed, last_day, due_at, status, closed_on, closed_seq) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (instance_id, "answer", "SYT", "[]", 1, DAY, "2023-01-05", 1, "2023-01-30", due, "open", None, None))
        timers(instance_id, 1)
        idempotent(f"s{n}", instance_id, 1)
        db.execute("COMMIT")
        event(instance_id, f"r{n}", "record_receipt", RECEIPT, "in", None, False)
        event(instance_id, f"a{n}", "answer", ANSWER, "out", "45/SYT-KHTC", True)
    elapsed = time.perf_counter() - started
    db.close()
    return 3 * count / elapsed


def spiff_rate(folder: Path, synchronous: str, count: int) -> float:
    return run_spiff(PEER, DUTY, [("record_receipt", RECEIPT), ("answer", ANSWER)],
                     folder / f"spiff-{synchronous}.db", synchronous, count)


def run(folder: Path, count: int, repeats: int) -> dict[str, Any]:
    """Interleaved repeats (engine, raw, SpiffWorkflow, engine, ...) so drift hits every side alike."""
    out: dict[str, Any] = {"duty": DUTY, "events_per_instance": 3}
    for synchronous in ("FULL", "NORMAL"):
        runs: dict[str, list[float]] = {"engine": [], "raw_sqlite": [], "spiff": [], "ratio_raw": [],
                                        "ratio_spiff": []}
        for r in range(repeats):
            here = folder / f"{synchronous}-{r}"
            here.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(prepared(folder), here / "prepared.db")
            ours = engine_rate(here, synchronous, count)
            raw = raw_rate(here, synchronous, count)
            peer = spiff_rate(here, synchronous, count)
            runs["engine"].append(ours)
            runs["raw_sqlite"].append(raw)
            runs["spiff"].append(peer)
            runs["ratio_raw"].append(ours / raw)
            runs["ratio_spiff"].append(ours / peer)
            shutil.rmtree(here)
        out[synchronous] = runs
    return out


@contextmanager
def _worktree(revision: str) -> Iterator[Path | None]:
    """The repository at ``revision`` in a temporary folder (None when this checkout lacks it: a shallow clone)."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        added = subprocess.run(["git", "worktree", "add", "--detach", str(tree), revision], cwd=ROOT,
                               capture_output=True, text=True, check=False)
        try:
            yield tree if added.returncode == 0 else None
        finally:
            if added.returncode == 0:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True,
                               check=False)


def _engine_at(tree: Path, count: int) -> float:
    """FULL events/s of the engine as it is in ``tree``, in a process of its own."""
    code = ("import json, sys, tempfile\nfrom pathlib import Path\nfrom benchmarks import duty\n"
            "with tempfile.TemporaryDirectory() as tmp:\n"
            "    duty.prepared(Path(tmp))\n"
            "    print(json.dumps(duty.engine_rate(Path(tmp), 'FULL', int(sys.argv[1]))))\n")
    done = subprocess.run([sys.executable, "-c", code, str(count)], cwd=tree, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tree)}, check=True)
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def before_after(count: int, repeats: int, revision: str = BASELINE) -> dict[str, Any]:
    """FULL events/s of the engine at ``revision`` and now, interleaved; the ratio now / then per repeat."""
    with _worktree(revision) as tree:
        if tree is None:
            return {"skipped": f"revision {revision} is not in this clone"}
        runs: dict[str, Any] = {"revision": revision, "before": [], "after": [], "ratio": []}
        for _ in range(repeats):
            then = _engine_at(tree, count)
            now = _engine_at(ROOT, count)  # a fresh process too, so neither side carries the other's heap
            runs["before"].append(then)
            runs["after"].append(now)
            runs["ratio"].append(now / then)
    return runs


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(Path(tmp), int(sys.argv[1]) if len(sys.argv) > 1 else 300, 1), indent=1))

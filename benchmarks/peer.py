"""The peer: SpiffWorkflow 3.2 running the same duty as BPMN, against the engine, both durable in SQLite.

The duty (``benchmarks/peer/feedback_review.{bpmn,yaml}``): an agency answers within 20 days (an interrupting
boundary timer, in our definition a timeout timer), then DOST reviews the answer. One instance is three
steps: start, answer, review. Each step is one transaction on a SQLite file in WAL mode with the given
``synchronous`` setting:

- ours: ``Engine.start`` / ``Engine.fire`` (the history row with its hash, the timer row armed and
  cancelled, the instance row, the idempotency row);
- SpiffWorkflow: read the workflow's JSON, ``deserialize_json``, run the ready user task,
  ``do_engine_steps``, ``serialize_json`` and write it back, as its documentation's serialisation
  section shows (``BpmnWorkflowSerializer``; the spec is serialised with the workflow, its default).
  The peer keeps no history, no timer rows and no audit chain: it does less durable work than we do.
- plain ``transitions`` in memory (no storage at all): the ceiling of the state-machine logic.

Steps per second for each; the ratio ours / SpiffWorkflow is computed within each repeat.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from transitions import Machine

from definitions import Role
from store import SqlStore, migrate, open_engine
from workflow import Actor, Engine, SimulatedClock

HERE = Path(__file__).parent / "peer"
ADMIN = Actor("bench", Role.ADMIN)


def ours(path: Path, synchronous: str, count: int) -> float:
    sql = open_engine(f"sqlite:///{path}", synchronous=synchronous)  # type: ignore[arg-type]
    migrate(sql)
    clock = SimulatedClock(dt.datetime(2023, 1, 2, 2, tzinfo=dt.UTC))
    engine = Engine(SqlStore(sql, clock), clock)
    yaml = HERE / "feedback_review.yaml"
    engine.load_definition_text(yaml.read_text(encoding="utf-8"), str(yaml))
    started = time.perf_counter()
    for n in range(count):
        instance = engine.start("feedback_review", f"peer/{n}", "SYT", ADMIN)
        engine.fire(instance.id, "answer", ADMIN)
        engine.fire(instance.id, "review", ADMIN)
    elapsed = time.perf_counter() - started
    sql.dispose()
    return 3 * count / elapsed


def _spiff_step(db: sqlite3.Connection, serializer: BpmnWorkflowSerializer, workflow_id: int, expected: str,
                data: dict[str, Any]) -> None:
    db.execute("BEGIN IMMEDIATE")
    (state,) = db.execute("SELECT state FROM workflows WHERE id = ?", (workflow_id,)).fetchone()
    workflow = serializer.deserialize_json(state)
    task = workflow.get_next_task(state=TaskState.READY, manual=True)
    if task is None or task.task_spec.name != expected:
        raise RuntimeError(f"SpiffWorkflow: expected the user task {expected!r}, found {task}")
    if data:
        task.set_data(**data)
    task.run()
    workflow.do_engine_steps()
    db.execute("UPDATE workflows SET state = ? WHERE id = ?", (serializer.serialize_json(workflow), workflow_id))
    db.execute("COMMIT")


def run_spiff(bpmn: Path, process: str, steps: list[tuple[str, dict[str, Any]]], path: Path, synchronous: str,
              count: int) -> float:
    """Steps per second of SpiffWorkflow: ``count`` workflows of ``process``, each started (one transaction) then
    taken through its user tasks ``steps`` (name, the data set on it), one transaction each, the workflow's JSON
    read, run and written back each time."""
    parser = BpmnParser()
    parser.add_bpmn_file(str(bpmn))
    spec = parser.get_spec(process)
    serializer = BpmnWorkflowSerializer()
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", f"synchronous={synchronous}"):
        db.execute(f"PRAGMA {pragma}")
    db.execute("CREATE TABLE IF NOT EXISTS workflows (id INTEGER PRIMARY KEY, business_key TEXT UNIQUE, "
               "state TEXT NOT NULL)")
    db.execute("DELETE FROM workflows")
    started = time.perf_counter()
    for n in range(count):
        workflow = BpmnWorkflow(spec)
        workflow.do_engine_steps()
        db.execute("BEGIN IMMEDIATE")
        cursor = db.execute("INSERT INTO workflows (business_key, state) VALUES (?, ?)",
                            (f"peer/{n}", serializer.serialize_json(workflow)))
        db.execute("COMMIT")
        workflow_id = cursor.lastrowid
        assert workflow_id is not None
        for task, data in steps:
            _spiff_step(db, serializer, workflow_id, task, data)
    elapsed = time.perf_counter() - started
    completed = db.execute("SELECT state FROM workflows ORDER BY id DESC LIMIT 1").fetchone()[0]
    db.close()
    if not serializer.deserialize_json(completed).is_completed():
        raise RuntimeError("SpiffWorkflow: the last workflow did not complete")
    return (1 + len(steps)) * count / elapsed


def spiff(path: Path, synchronous: str, count: int) -> float:
    return run_spiff(HERE / "feedback_review.bpmn", "feedback_review", [("answer", {}), ("review", {})], path,
                     synchronous, count)


class _Model:
    state: str


def plain_transitions(count: int) -> float:
    machine = Machine(model=None, states=["answering", "reviewing", "done", "no_response"], initial="answering",
                      transitions=[["answer", "answering", "reviewing"], ["review", "reviewing", "done"],
                                   ["close_window", "answering", "no_response"]], auto_transitions=False)
    started = time.perf_counter()
    for _ in range(count):
        model = _Model()
        machine.add_model(model)
        model.answer()  # type: ignore[attr-defined]
        model.review()  # type: ignore[attr-defined]
        machine.remove_model(model)
    elapsed = time.perf_counter() - started
    if model.state != "done":
        raise RuntimeError("transitions: the model did not reach done")
    return 3 * count / elapsed


def run(folder: Path, count: int, repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for synchronous in ("FULL", "NORMAL"):
        runs: dict[str, list[float]] = {"engine_steps_per_s": [], "spiff_steps_per_s": [], "ratio": []}
        for r in range(repeats):
            engine = ours(folder / f"peer-ours-{synchronous}-{r}.db", synchronous, count)
            peer = spiff(folder / f"peer-spiff-{synchronous}-{r}.db", synchronous, count)
            runs["engine_steps_per_s"].append(engine)
            runs["spiff_steps_per_s"].append(peer)
            runs["ratio"].append(engine / peer)
        out[synchronous] = runs
    out["transitions_in_memory_steps_per_s"] = [plain_transitions(count * 20) for _ in range(repeats)]
    return out


if __name__ == "__main__":
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(run(Path(folder), 300, 1), indent=1))

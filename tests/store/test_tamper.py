"""The history is append-only, and any change made behind the engine's back is found and named."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import text

from store import SqlStore
from tests.conftest import ADMIN
from workflow import ChainProblem, Engine, HistoryRecord, SimulatedClock, make_checkpoint, read_checkpoint, verify
from workflow.audit import record_hash


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: this module is about SQLite files themselves."""
    return sqlite_url


def raw(sql_engine: SqlEngine) -> sqlite3.Connection:
    path = sql_engine.url.database
    assert path is not None
    connection = sqlite3.connect(path, isolation_level=None)
    return connection


@contextmanager
def attacker(sql_engine: SqlEngine) -> Iterator[sqlite3.Connection]:
    """Someone with the database file: drops the triggers, then edits."""
    connection = raw(sql_engine)
    connection.execute("DROP TRIGGER history_no_update")
    connection.execute("DROP TRIGGER history_no_delete")
    try:
        yield connection
    finally:
        connection.close()


def problems(store: SqlStore, checkpoint: dict[int, tuple[int, str]] | None = None) -> list[ChainProblem]:
    return list(verify(store.iter_history(), store.chain_heads(), checkpoint))


@pytest.fixture
def histories(engine: Engine) -> list[int]:
    """Three instances with 2, 4 and 3 history rows."""
    ids = []
    for agency, steps in (("SYT", 1), ("SNV", 3), ("SCT", 2)):
        instance = engine.start("catalogue_draft", f"catalogue/{agency}", agency, ADMIN)
        ids.append(instance.id)
        events = [("send_for_consultation", {"document": "1/SKHCN", "task_count": 3}, None),
                  ("consolidate", {}, None), ("submit", {"document": "2/TTr-SKHCN"}, None)]
        for event, payload, reason in events[:steps]:
            engine.fire(instance.id, event, ADMIN, payload=payload, reason=reason)
    return ids


def test_untouched_history_verifies(store: SqlStore, histories: list[int]) -> None:
    assert problems(store) == []


def test_triggers_refuse_update_and_delete(sql_engine: SqlEngine, histories: list[int]) -> None:
    connection = raw(sql_engine)
    with pytest.raises(sqlite3.IntegrityError, match="append-only: UPDATE refused"):
        connection.execute("UPDATE history SET reason = 'x' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only: DELETE refused"):
        connection.execute("DELETE FROM history")
    connection.close()


def test_edited_payload_is_found(sql_engine: SqlEngine, store: SqlStore, histories: list[int]) -> None:
    target = histories[1]
    with attacker(sql_engine) as db:
        db.execute("UPDATE history SET payload = ? WHERE instance_id = ? AND seq = 2",
                   (json.dumps({"document": "1/SKHCN", "task_count": 300}), target))
    [problem] = problems(store)
    assert (problem.instance_id, problem.seq) == (target, 2)
    assert "content does not match its hash" in problem.message


def test_deleted_row_is_found(sql_engine: SqlEngine, store: SqlStore, histories: list[int]) -> None:
    target = histories[1]
    with attacker(sql_engine) as db:
        db.execute("DELETE FROM history WHERE instance_id = ? AND seq = 3", (target,))
    [problem] = problems(store)
    assert (problem.instance_id, problem.seq) == (target, 3)
    assert "row 3 is missing" in problem.message


def test_swapped_rows_are_found(sql_engine: SqlEngine, store: SqlStore, histories: list[int]) -> None:
    target = histories[1]
    with attacker(sql_engine) as db:
        db.execute("UPDATE history SET seq = -2 WHERE instance_id = ? AND seq = 2", (target,))
        db.execute("UPDATE history SET seq = 2 WHERE instance_id = ? AND seq = 3", (target,))
        db.execute("UPDATE history SET seq = 3 WHERE instance_id = ? AND seq = -2", (target,))
    [problem] = problems(store)
    assert (problem.instance_id, problem.seq) == (target, 2)


def test_rewritten_row_with_a_recomputed_hash_breaks_the_next_link(
        sql_engine: SqlEngine, store: SqlStore, histories: list[int]) -> None:
    target = histories[1]
    row = store.history(target)[1]  # seq 2
    from dataclasses import replace

    forged = replace(row, payload={"document": "1/SKHCN", "task_count": 999})
    forged = replace(forged, hash=record_hash(forged))
    with attacker(sql_engine) as db:
        db.execute("UPDATE history SET payload = ?, hash = ? WHERE instance_id = ? AND seq = 2",
                   (json.dumps(dict(forged.payload)), forged.hash, target))
    [problem] = problems(store)
    assert (problem.instance_id, problem.seq) == (target, 3)
    assert "previous-hash link" in problem.message


def _cut_tail(sql_engine: SqlEngine, store: SqlStore, target: int) -> None:
    rows = store.history(target)
    with attacker(sql_engine) as db:
        db.execute("DELETE FROM history WHERE instance_id = ? AND seq = ?", (target, rows[-1].seq))
        db.execute("UPDATE instances SET version = ?, head_hash = ?, state = ? WHERE id = ?",
                   (rows[-2].seq, rows[-2].hash, rows[-2].to_state, target))


def test_a_cut_tail_is_found_with_a_checkpoint_taken_before(
        sql_engine: SqlEngine, store: SqlStore, histories: list[int], tmp_path: Path) -> None:
    document = make_checkpoint(store.chain_heads(), store.now())
    saved = tmp_path / "checkpoint.json"
    saved.write_text(json.dumps(document))
    target = histories[1]
    _cut_tail(sql_engine, store, target)
    assert problems(store) == []  # the limit of a bare chain: a consistent cut is invisible ...
    checkpoint = read_checkpoint(json.loads(saved.read_text()))
    [problem] = problems(store, checkpoint)  # ... until a checkpoint kept elsewhere is shown
    assert (problem.instance_id, problem.seq) == (target, 4)
    assert "tail cut" in problem.message


def test_a_rewritten_last_row_is_found_with_a_checkpoint(
        sql_engine: SqlEngine, store: SqlStore, histories: list[int]) -> None:
    checkpoint = dict(store.chain_heads())
    target = histories[0]
    from dataclasses import replace

    last = store.history(target)[-1]
    forged = replace(last, reason="sửa lại")
    forged = replace(forged, hash=record_hash(forged))
    with attacker(sql_engine) as db:
        db.execute("UPDATE history SET reason = ?, hash = ? WHERE instance_id = ? AND seq = ?",
                   (forged.reason, forged.hash, target, last.seq))
        db.execute("UPDATE instances SET head_hash = ? WHERE id = ?", (forged.hash, target))
    assert problems(store) == []
    [problem] = problems(store, checkpoint)
    assert (problem.instance_id, problem.seq) == (target, last.seq)
    assert "differs from the one the checkpoint saw" in problem.message


def test_history_that_grew_after_the_checkpoint_still_verifies(
        engine: Engine, store: SqlStore, histories: list[int]) -> None:
    checkpoint = dict(store.chain_heads())
    engine.fire(histories[2], "submit", ADMIN, payload={"document": "3/TTr-SKHCN"})
    assert problems(store, checkpoint) == []


def test_an_altered_checkpoint_file_is_refused(store: SqlStore, histories: list[int]) -> None:
    document = make_checkpoint(store.chain_heads(), store.now())
    document["heads"][0]["seq"] = 1
    with pytest.raises(ValueError, match="checkpoint file was altered"):
        read_checkpoint(document)


def test_instance_head_that_disagrees_with_its_history_is_found(
        sql_engine: SqlEngine, store: SqlStore, histories: list[int], engine: Engine) -> None:
    target = histories[0]
    engine.fire(target, "consolidate", ADMIN)
    with attacker(sql_engine) as db:
        db.execute("UPDATE instances SET state = 'drafting', version = 2 WHERE id = ?", (target,))
    [problem] = problems(store)
    assert problem.instance_id == target
    assert "instance row says version 2" in problem.message


# -- the findings of the hostile review (issue 15): each passed `verify` before ------------------------------


def full(store: SqlStore, checkpoint: dict[str, object] | None = None, incremental: bool = False) -> list[str]:
    """What `workflow audit verify [--checkpoint [--incremental]]` reports, as text: chains, instance rows, the
    database."""
    from service.verification import verify_database
    from workflow.audit import checkpoint_time

    heads = read_checkpoint(checkpoint) if checkpoint else None
    taken = checkpoint_time(checkpoint) if checkpoint else None
    result = verify_database(store, str(store.engine.url), heads, 1, taken, incremental)
    return [str(p) for p in result.problems] + result.database


def test_a_checkpointed_instance_whose_whole_history_was_deleted_is_found(
        sql_engine: SqlEngine, store: SqlStore, histories: list[int]) -> None:
    checkpoint = make_checkpoint(store.chain_heads(), store.now())
    victim = histories[1]
    with attacker(sql_engine) as db:
        db.execute("DELETE FROM history WHERE instance_id = ?", (victim,))
        db.execute("UPDATE instances SET version = 0, head_hash = '' WHERE id = ?", (victim,))
    found = full(store, checkpoint)
    assert any(f"instance {victim} row 1: the checkpoint saw its history up to row 4" in p for p in found)
    assert any("history_no_update is missing" in p for p in found)  # and the dropped guards are named
    without = full(store)  # even without a checkpoint, version 0 is impossible
    assert any(f"instance {victim}: instance row says version 0" in p for p in without)


def test_an_instance_row_changed_behind_the_engines_back_is_found(sql_engine: SqlEngine, store: SqlStore,
                                                                  histories: list[int]) -> None:
    with attacker(sql_engine) as db:
        db.execute("UPDATE instances SET state = 'approved' WHERE id = ?", (histories[0],))
    assert any("instance row says state 'approved'; its history leaves it in 'consulting'" in p
               for p in full(store))


def test_an_edited_stored_definition_is_found_and_never_run(sql_engine: SqlEngine, store: SqlStore,
                                                            engine: Engine, histories: list[int]) -> None:
    from definitions import DefinitionTampered

    with attacker(sql_engine) as db:
        db.execute("UPDATE definitions SET content = replace(content, '\"roles\":[\"admin\"]', "
                   "'\"roles\":[\"admin\",\"officer\"]') WHERE id = 'catalogue_draft'")
    assert any("stored definition 'catalogue_draft' version 1 does not match its content hash" in p
               for p in full(store))
    fresh = Engine(store, engine.clock)  # a process started after the edit
    with pytest.raises(DefinitionTampered):
        fresh.fire(histories[0], "consolidate", ADMIN)


def test_rows_added_after_a_checkpoint_with_back_dated_instants_are_found(
        sql_engine: SqlEngine, store: SqlStore, engine: Engine, histories: list[int]) -> None:
    engine.clock.advance(dt.timedelta(hours=1))  # type: ignore[attr-defined]
    checkpoint = make_checkpoint(store.chain_heads(), store.now())
    engine.clock.advance(dt.timedelta(days=1))  # type: ignore[attr-defined]
    engine.fire(histories[0], "consolidate", ADMIN)  # an honest row after the checkpoint
    assert full(store, checkpoint) == []
    forged = store.history(histories[2])[-1]
    with attacker(sql_engine) as db:  # a row forged well, with its hash, but dated before the checkpoint
        row = HistoryRecord(**{**forged.__dict__, "seq": forged.seq + 1, "event": "approve", "prev_hash": forged.hash,
                               "at": forged.at, "from_state": "submitted", "to_state": "approved", "hash": ""})
        row = HistoryRecord(**{**row.__dict__, "hash": record_hash(row)})
        db.execute("INSERT INTO history (instance_id, seq, event, from_state, to_state, actor_id, actor_role, "
                   "actor_agency, at, payload, reason, definition_id, definition_version, request_id, prev_hash, hash, "
                   "effective_on, obligations) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (row.instance_id, row.seq, row.event, row.from_state, row.to_state, row.actor_id, row.actor_role,
                    row.actor_agency, row.at.replace(tzinfo=None).isoformat(sep=" "), json.dumps(dict(row.payload)),
                    row.reason, row.definition_id, row.definition_version, row.request_id, row.prev_hash, row.hash,
                    row.effective_on, None))
        db.execute("UPDATE instances SET version = ?, head_hash = ?, state = 'approved' WHERE id = ?",
                   (row.seq, row.hash, row.instance_id))
    found = full(store, checkpoint)
    assert any(f"instance {histories[2]} row {row.seq}: recorded at" in p and "back-dated" in p for p in found), found


def test_an_instance_row_given_to_another_agency_or_suspended_behind_the_engines_back_is_found(
        sql_engine: SqlEngine, store: SqlStore, histories: list[int]) -> None:
    with attacker(sql_engine) as db:
        db.execute("UPDATE instances SET assignee = 'SKHCN' WHERE id = ?", (histories[0],))
        db.execute("UPDATE instances SET suspended_at = '2023-01-01 00:00:00' WHERE id = ?", (histories[1],))
    found = full(store)
    assert any(f"instance {histories[0]}: instance row says it is assigned to SKHCN; its history says SYT" in p
               for p in found), found
    assert any(f"instance {histories[1]}: instance row says its legal clock is suspended" in p for p in found)


def test_a_planted_admin_key_or_an_edited_override_or_contact_is_found(sql_engine: SqlEngine, store: SqlStore,
                                                                        engine: Engine) -> None:
    from workflow import Deadlines, OverrideKind
    from workflow.notify import Contact

    store.create_key("admin-1", "admin", None, store.now(), "cli:setup")
    store.set_contact(Contact("SYT", "Văn thư", "vt@syt.example", None), store.now(), "cli:setup")
    Deadlines(engine).add_override(dt.date(2099, 2, 2), OverrideKind.DAY_OFF, "bão", ADMIN)
    assert full(store) == []
    with attacker(sql_engine) as db:
        db.execute("INSERT INTO api_keys (name, role, agency, key_hash, created_at) VALUES "
                   "('x', 'admin', NULL, 'ab', '2023-01-01 00:00:00')")
        db.execute("UPDATE contacts SET email = 'attacker@example.com'")
        db.execute("UPDATE calendar_overrides SET kind = 'working_day'")
    found = full(store)
    assert "API key 2 is not in the system history (planted)" in found
    assert "contact of SYT is not as the system history says" in found
    assert "calendar override of 2099-02-02 is not as the system history says" in found
    db = raw(sql_engine)
    db.execute("DROP TRIGGER system_history_no_delete")
    db.execute("DELETE FROM system_history WHERE seq = 1")
    db.close()
    assert any("system history row 2: does not match its chain" in p for p in full(store))


# -- verifying from a trusted checkpoint: only what changed since ---------------------------------------------


def test_an_incremental_verify_reads_only_the_histories_that_moved(
        engine: Engine, store: SqlStore, histories: list[int]) -> None:
    from service.verification import verify_database
    from workflow.audit import checkpoint_time

    document = make_checkpoint(store.chain_heads(), store.now())
    engine.clock.advance(dt.timedelta(hours=1))  # type: ignore[attr-defined]
    engine.fire(histories[0], "consolidate", ADMIN)  # 1 new row on a checkpointed chain
    fresh = engine.start("catalogue_draft", "catalogue/SXD", "SXD", ADMIN)  # a new chain of 1 row
    assert fresh.id not in read_checkpoint(document)
    result = verify_database(store, str(store.engine.url), read_checkpoint(document), 1, checkpoint_time(document),
                             incremental=True)
    assert result.ok, result.as_dict()
    assert result.rows == 1 + 1 + 1  # the moved chain's checkpoint row and its new row, and the new chain
    everything = verify_database(store, str(store.engine.url), read_checkpoint(document), 1,
                                 checkpoint_time(document))
    assert everything.ok
    assert everything.rows == 2 + 4 + 3 + 1 + 1


def test_an_incremental_verify_finds_what_was_done_since_and_rows_deleted_or_added_anywhere(
        sql_engine: SqlEngine, engine: Engine, store: SqlStore, histories: list[int]) -> None:
    document = make_checkpoint(store.chain_heads(), store.now())
    engine.clock.advance(dt.timedelta(hours=1))  # type: ignore[attr-defined]
    engine.fire(histories[0], "consolidate", ADMIN)
    engine.fire(histories[2], "submit", ADMIN, payload={"document": "3/TTr-SKHCN"})
    first, second, third = histories
    with attacker(sql_engine) as db:
        db.execute("UPDATE history SET reason = 'sửa' WHERE instance_id = ? AND seq = 2", (first,))  # pinned row
        db.execute("UPDATE history SET reason = 'sửa' WHERE instance_id = ? AND seq = 4", (third,))  # a new row
        db.execute("DELETE FROM history WHERE instance_id = ? AND seq = 2", (second,))  # unmoved, not re-read
    found = full(store, document, incremental=True)
    assert any(f"instance {first} row 2: content does not match its hash" in p for p in found), found
    assert any(f"instance {third} row 4: content does not match its hash" in p for p in found), found
    assert any(f"instance {second}: 1 of its history rows 1..4 are gone (deleted)" in p for p in found), found


def test_an_incremental_verify_finds_a_deleted_history_a_dangling_row_and_a_cut_tail(
        sql_engine: SqlEngine, store: SqlStore, histories: list[int]) -> None:
    document = make_checkpoint(store.chain_heads(), store.now())
    first, second, third = histories
    _cut_tail(sql_engine, store, second)  # (drops the guards)
    with closing(raw(sql_engine)) as db:
        db.execute("DELETE FROM history WHERE instance_id = ?", (first,))
        db.execute("INSERT INTO history SELECT instance_id, seq + 1, event, from_state, to_state, actor_id, "
                   "actor_role, actor_agency, at, payload, reason, definition_id, definition_version, request_id, "
                   "hash, hash, effective_on, obligations FROM history WHERE instance_id = ? AND seq = 3", (third,))
    found = full(store, document, incremental=True)
    assert any(f"instance {first} row 1: the checkpoint saw its history up to row 2" in p for p in found), found
    assert any(f"instance {second} row 4: the checkpoint saw row 4; history now ends at row 3 (tail cut)" in p
               for p in found), found
    assert any(f"instance {third}: its history holds rows up to 4; the instance row and the checkpoint say 3" in p
               for p in found), found


def test_an_incremental_verify_trusts_rows_it_does_not_reread_a_full_one_does_not(
        sql_engine: SqlEngine, store: SqlStore, histories: list[int]) -> None:
    """The price of the fast path, pinned so that the docs stay true: an old row edited in place (hash column
    kept), or the state of an instance that did not move, is found only by the full verification."""
    document = make_checkpoint(store.chain_heads(), store.now())
    with attacker(sql_engine) as db:
        db.execute("UPDATE history SET reason = 'sửa' WHERE instance_id = ? AND seq = 2", (histories[1],))
    assert [p for p in full(store, document, incremental=True) if p.startswith("instance")] == []
    assert any(f"instance {histories[1]} row 2: content does not match its hash" in p for p in full(store, document))


# -- the tables derived from the histories: obligations, escalations, their timers ---------------------------


def test_obligations_escalations_and_timers_changed_behind_the_engines_back_are_found(
        sql_engine: SqlEngine, store: SqlStore, engine: Engine, clock: SimulatedClock) -> None:
    from workflow import Deadlines

    late = engine.start("catalogue_feedback", "feedback/SYT", "SYT", ADMIN)
    clock.advance(dt.timedelta(days=40))
    [escalated] = [o for o in Deadlines(engine).fire_due() if o.kind == "escalation"]
    with sql_engine.connect() as c:
        (escalation_id,) = c.execute(text("SELECT id FROM escalations WHERE instance_id = :i"), {"i": late.id}).one()
    Deadlines(engine).acknowledge(escalation_id, ADMIN, "đã nhắc")
    waiting = engine.start("catalogue_feedback", "feedback/SNV", "SNV", ADMIN)
    moved = engine.start("catalogue_feedback", "feedback/SCT", "SCT", ADMIN)
    assert full(store) == []  # the honest database verifies, obligations, escalations and timers included
    assert escalated.instance_id == late.id
    with attacker(sql_engine) as db:
        db.execute("UPDATE escalations SET status = 'open' WHERE id = ?", (escalation_id,))  # re-opened
        db.execute("UPDATE timers SET status = 'cancelled' WHERE instance_id = ? AND kind = 'escalation'",
                   (waiting.id,))  # the Committee would never hear of it
        db.execute("UPDATE obligations SET last_day = '2030-01-01' WHERE instance_id = ?", (moved.id,))
        db.execute("INSERT INTO escalations (instance_id, timer_id, due_at, created_at, status) "
                   "VALUES (?, NULL, '2024-01-01', '2024-01-01', 'open')", (moved.id,))
    found = full(store)
    assert any(f"instance {late.id}: escalation {escalation_id} is open in the table; its history says "
               "acknowledged" in p for p in found), found
    assert any(f"instance {waiting.id}: obligation 'answer' is open but its escalation timer is cancelled" in p
               for p in found), found
    assert any(f"instance {moved.id}: obligation 'answer': the table says last day 2030-01-01" in p
               for p in found), found
    assert any(f"instance {moved.id}: escalation" in p and "its history says it never happened" in p
               for p in found), found


def test_a_deleted_obligation_row_is_found(sql_engine: SqlEngine, store: SqlStore, engine: Engine) -> None:
    instance = engine.start("catalogue_feedback", "feedback/SYT", "SYT", ADMIN)
    with attacker(sql_engine) as db:
        db.execute("DELETE FROM obligations WHERE instance_id = ?", (instance.id,))
    assert any(f"instance {instance.id}: obligation 'answer' is in its history but not in the obligations table"
               in p for p in full(store))


def test_a_suspended_clock_verifies_and_an_escalation_moved_or_marked_fired_is_found(
        sql_engine: SqlEngine, store: SqlStore, engine: Engine, clock: SimulatedClock) -> None:
    """A suspension is not tampering (its timers are suspended, not cancelled); an open obligation's escalation
    moved to 2099, or marked fired without any escalation raised, is: the Committee would silently never hear."""
    from tests.conftest import COMMITTEE
    from workflow import Deadlines

    paused = engine.start("catalogue_feedback", "feedback/SYT", "SYT", ADMIN)
    Deadlines(engine).suspend(paused.id, COMMITTEE, reason="chờ ý kiến của Bộ")
    assert full(store) == []
    moved = engine.start("catalogue_feedback", "feedback/SNV", "SNV", ADMIN)
    silenced = engine.start("catalogue_feedback", "feedback/SCT", "SCT", ADMIN)
    assert full(store) == []
    with attacker(sql_engine) as db:
        db.execute("UPDATE timers SET base_due = '2099-01-01 00:00:00.000000', due_at = '2099-01-01 00:00:00.000000' "
                   "WHERE instance_id = ? AND kind = 'escalation'", (moved.id,))
        db.execute("UPDATE timers SET status = 'fired' WHERE instance_id = ? AND kind = 'escalation'", (silenced.id,))
    found = full(store)
    assert any(f"instance {moved.id}: obligation 'answer': its escalation is armed for 2099-01-01" in p
               for p in found), found
    assert any(f"instance {silenced.id}: obligation 'answer': its escalation timer" in p
               and "marked fired but no escalation was raised" in p for p in found), found
    assert not any(f"instance {paused.id}:" in p for p in found)

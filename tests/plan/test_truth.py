"""What the Steering Committee is told must be true: lateness judged per obligation by the law, each agency's own
20 days, yearly duties in their own year and to bodies that exist, "as of" answered from history, dates typed
by people bounded. The simulated plan (seeds 1 to 3) is checked as a whole, and "as of" is checked against a
replay written here independently of ``workflow.obligations``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from definitions import Role, definition_files, load_data
from definitions.agencies import Certainty, Change, ChangeKind, Reorganisation
from definitions.plan import Plan
from scheduler.ticker import Ticker
from service.context import App
from service.plan import load_plan
from service.report import status_report
from service.settings import Settings
from service.verification import verify_all
from store import SqlStore
from tests.conftest import ADMIN, DEFINITIONS, SHIPPED, SUPERSEDED
from tests.plan.conftest import PLAN, REGISTRY, REORG
from workflow import Actor, Deadlines, Engine, PayloadInvalid, Refused, SimulatedClock, verify
from workflow.agencies import Agencies
from workflow.audit import canonical, record_fields, reference_canonical
from workflow.calendar import PROVINCE_TZ, end_of_day
from workflow.obligations import end_of

WORKFLOW = str(Path(sys.executable).parent / "workflow")
TODAY = dt.datetime(2026, 11, 28, 9, tzinfo=PROVINCE_TZ)


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), PROVINCE_TZ)


def officer(code: str) -> Actor:
    return Actor(f"officer@{code.lower()}", Role.OFFICER, code)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The whole plan simulated from 01/11/2022 to 31/12/2026 with three seeds (reorganisation included)."""
    folder = tmp_path_factory.mktemp("truth")
    out = {}
    for seed in (1, 2, 3):
        db = folder / f"sim-{seed}.db"
        done = subprocess.run([WORKFLOW, "--db", f"sqlite:///{db}", "--json", "simulate", "--from", "2022-11-01",
                               "--to", "2026-12-31", "--seed", str(seed)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        out[seed] = db
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_simulated_plan_tells_the_truth(simulated: dict[int, Path], seed: int) -> None:
    db = sqlite3.connect(simulated[seed])
    # no escalation before its own due date, and every one comes from an obligation's clock
    for created, due, obligation in db.execute(
            "SELECT e.created_at, e.due_at, t.obligation FROM escalations e JOIN timers t ON t.id = e.timer_id"):
        assert created >= due
        assert obligation is not None
    assert db.execute("SELECT count(*) FROM escalations WHERE timer_id IS NULL").fetchone() == (0,)
    # an obligation escalated (so overdue) and satisfied later is done late, whatever states it went through
    # (unless its clock restarted: a recorded receipt replaces the presumed one, and its 20 days count from it)
    # (unless a decision restated it afterwards: a receipt claim accepted, a receipt date corrected)
    late_after_escalation = db.execute(
        "SELECT o.instance_id, o.name, o.last_day, o.closed_on FROM obligations o JOIN timers t ON "
        "t.instance_id = o.instance_id AND t.obligation = o.name AND t.kind = 'escalation' AND t.status = 'fired' "
        "AND t.fence = o.opened_seq WHERE o.status = 'satisfied' AND NOT EXISTS (SELECT 1 FROM history h WHERE "
        "h.instance_id = o.instance_id AND h.obligations LIKE '%\"op\":\"correct\"%')").fetchall()
    assert late_after_escalation, "the simulation has late answers"
    assert all(closed > last for _, _, last, closed in late_after_escalation)
    # every satisfied obligation's date is the effective date of the history row that satisfied it
    for instance_id, closed_seq, closed_on in db.execute(
            "SELECT instance_id, closed_seq, closed_on FROM obligations WHERE status = 'satisfied'"):
        assert db.execute("SELECT effective_on FROM history WHERE instance_id = ? AND seq = ?",
                          (instance_id, closed_seq)).fetchone() == (closed_on,)
    # every yearly duty is due in its own year (unless the body with authority granted more time)
    yearly = db.execute(
        "SELECT json_extract(i.data, '$.occurrence'), o.last_day FROM obligations o JOIN instances i ON "
        "i.id = o.instance_id WHERE json_extract(i.data, '$.occurrence') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
        "history h WHERE h.instance_id = i.id AND h.event = '@deadline_extended')").fetchall()
    assert len(yearly) > 30
    # (a period ending on 31 December moves into the first working day of January under art. 148)
    assert all(occurrence[:4] == last_day[:4] or dt.date.fromisoformat(last_day) <= dt.date(int(occurrence[:4]) + 1,
                                                                                             1, 10)
               for occurrence, last_day in yearly)
    # no occurrence went to a body that did not exist on its date; the skipped ones say why
    for occurrence, assignee in db.execute("SELECT occurrence, assignee FROM occurrences WHERE outcome = 'started'"):
        alive = db.execute("SELECT count(*) FROM agency_names WHERE code = ? AND valid_from <= ? AND "
                           "(valid_to IS NULL OR ? < valid_to)", (assignee, occurrence, occurrence)).fetchone()
        assert alive == (1,), (occurrence, assignee)
    skipped = db.execute("SELECT agency, note FROM occurrences WHERE outcome = 'skipped' AND occurrence >= "
                         "'2025-07-01'").fetchall()
    assert {a for a, _ in skipped} >= {"PRTC", "BACAI", "THUANNAM"}
    assert all("no longer existed" in note for _, note in skipped)
    # no obligation's clock restarted by its own agency once its presumed deadline had passed
    dues: dict[tuple[int, str], str] = {}
    for instance_id, recorded, actor_agency, changes in db.execute(
            "SELECT instance_id, at, actor_agency, obligations FROM history WHERE obligations IS NOT NULL "
            "ORDER BY instance_id, seq"):
        for change in json.loads(changes):
            key = (instance_id, change["name"])
            if change["op"] == "restart" and actor_agency == change["agency"]:
                assert recorded < dues[key].replace("T", " ").rstrip("Z"), (key, recorded, dues[key])
            if change["op"] in ("open", "restart", "reschedule", "correct"):
                dues[key] = change["due_at"]
    db.close()
    # and the whole database verifies: chains, instance rows, obligations, escalations and their timers
    app = App(Settings(database_url=f"sqlite:///{simulated[seed]}"))
    try:
        result = verify_all(app.store)
        assert result.ok, (result.problems[:5], result.database)
    finally:
        app.sql_engine.dispose()


def test_every_history_row_hashes_over_the_reference_bytes(simulated: dict[int, Path]) -> None:
    """The fast canonical form (orjson where its bytes are the same) is the standard library's, byte for byte, over
    every row of the three simulated plans, and every stored hash is over the reference's bytes."""
    rows = 0
    for db_path in simulated.values():
        app = App(Settings(database_url=f"sqlite:///{db_path}"))
        try:
            for record in app.store.iter_history():
                fields = record_fields(record)
                reference = reference_canonical(fields)
                assert canonical(fields) == reference, (record.instance_id, record.seq)
                assert hashlib.sha256(b"\x00" + reference).hexdigest() == record.hash
                for part in (dict(record.payload), list(record.obligations or ())):
                    assert canonical(part) == reference_canonical(part)
                rows += 1
        finally:
            app.sql_engine.dispose()
    assert rows > 1000


def test_the_simulated_plan_holds_decisions_of_every_kind(simulated: dict[int, Path]) -> None:
    """Requests for more time, grants (some after the deadline), refusals, receipt claims and corrections all
    happen across the three seeds, each by the body entitled to it."""
    made: Counter[str] = Counter()
    for db_path in simulated.values():
        db = sqlite3.connect(db_path)
        for event, role, agency, count in db.execute(
                "SELECT event, actor_role, actor_agency, count(*) FROM history WHERE event IN ('@extension_requested', "
                "'@deadline_extended', '@extension_refused', '@receipt_claim_accepted', '@receipt_claim_rejected', "
                "'@corrected') GROUP BY event, actor_role, actor_agency"):
            made[event] += count
            if event == "@extension_requested":
                assert role == "officer"
            elif event in ("@deadline_extended", "@extension_refused"):
                assert role == "committee"
            else:
                assert (role, agency) == ("officer", "SKHCN")
        made["claim"] += db.execute("SELECT count(*) FROM history WHERE obligations LIKE '%\"op\":\"claim\"%'"
                                    ).fetchone()[0]
        db.close()
    assert min(made[k] for k in ("@extension_requested", "@deadline_extended", "@extension_refused", "@corrected",
                                 "claim")) > 0, made


def _apply(state: dict[tuple[int, str], dict[str, str]], key: tuple[int, str], change: dict[str, Any]) -> None:
    if change["op"] in ("open", "restart"):
        state[key] = {"agency": change["agency"], "last_day": change["last_day"], "due": change["due_at"]}
    elif key not in state:
        return
    elif change["op"] in ("satisfy", "waive"):
        state[key]["closed"] = change["on"]
        state[key]["waived"] = "yes" if change["op"] == "waive" else ""
    elif change["op"] == "transfer":
        state[key]["agency"] = change["to"]
    elif change["op"] == "reschedule":
        state[key].update(last_day=change["last_day"], due=change["due_at"])
    elif change["op"] == "correct":  # restated by a decision
        state[key].update(agency=change["agency"], last_day=change["last_day"], due=change["due_at"])
        state[key].pop("closed", None)
        if change["closed_on"]:
            state[key]["closed"] = change["closed_on"]


def independent_replay(db: Path, day: dt.date, known_at: dt.datetime | None) -> Counter[tuple[str, str]]:
    """(agency, category) counts read straight from the history table's rows."""
    judged = end_of(day)
    connection = sqlite3.connect(db)
    state: dict[tuple[int, str], dict[str, str]] = {}
    for instance_id, effective, recorded, changes in connection.execute(
            "SELECT instance_id, effective_on, at, obligations FROM history WHERE obligations IS NOT NULL "
            "ORDER BY instance_id, seq"):
        if effective > day.isoformat():
            continue
        if known_at is not None and dt.datetime.fromisoformat(recorded).replace(tzinfo=dt.UTC) > known_at:
            continue
        for change in json.loads(changes):
            _apply(state, (instance_id, change["name"]), change)
    connection.close()
    counts: Counter[tuple[str, str]] = Counter()
    for found in state.values():
        if found.get("closed", "") > day.isoformat():  # closed after the day (a corrected date): open then
            del found["closed"]
        if found.get("waived"):
            continue
        if "closed" in found:
            category = "done_on_time" if found["closed"] <= found["last_day"] else "done_late"
        else:
            due = dt.datetime.fromisoformat(found["due"].replace("Z", "+00:00"))
            category = "overdue" if due <= judged else "within_deadline"
        counts[(found["agency"], category)] += 1
    return counts


def test_as_of_equals_an_independent_replay(simulated: dict[int, Path]) -> None:
    db = simulated[2]
    app = App(Settings(database_url=f"sqlite:///{db}"))
    try:
        now = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
        known_at = at("2025-01-15")  # what the system had been told by then
        for day, known in ((dt.date(2023, 1, 15), None), (dt.date(2024, 6, 1), None), (dt.date(2024, 12, 31), None),
                           (dt.date(2026, 6, 30), None), (dt.date(2024, 12, 31), known_at)):
            report = status_report(app.engine, app.store, now, day, known)
            got: Counter[tuple[str, str]] = Counter()
            for row in report.rows:
                for category in ("done_on_time", "done_late", "within_deadline", "overdue"):
                    if getattr(row, category):
                        got[(row.agency, category)] += getattr(row, category)
            assert got == independent_replay(db, day, known), (day, known)
            assert sum(got.values()) > 0
        names = {r.agency: r.agency_name for r in status_report(app.engine, app.store, now, dt.date(2024, 12, 31)).rows}
        assert names["SNNPTNT"] == "Sở Nông nghiệp và Phát triển nông thôn"  # the name it had then
        assert app.store.agency_names_on(dt.date(2024, 12, 31))["UBND"] == "Ủy ban nhân dân tỉnh"  # Ninh Thuận's
        later = {r.agency: r.agency_name for r in status_report(app.engine, app.store, now, dt.date(2026, 6, 30)).rows}
        assert later["SNNPTNT"] == "Sở Nông nghiệp và Môi trường tỉnh Khánh Hòa"  # from 01/07/2025
        assert app.store.agency_names_on(dt.date(2026, 6, 30))["UBND"] == "Ủy ban nhân dân tỉnh Khánh Hòa"
        # the catalogue's draft is done on the day it was sent, and not the day before
        [catalogue] = app.store.list_instances(definition_id="catalogue_consultation")
        sent = next(r for r in app.store.history(catalogue.id) if r.event == "send_for_consultation")
        assert sent.effective_on is not None
        day = dt.date.fromisoformat(sent.effective_on)
        for when, done in ((day - dt.timedelta(days=1), 0), (day, 1)):
            rows = status_report(app.engine, app.store, now, when).rows
            assert sum(r.done_on_time + r.done_late for r in rows if r.section == "II.4a, II.4b") == done
    finally:
        app.sql_engine.dispose()


def fresh_app(tmp_path: Path, clock: SimulatedClock) -> App:
    app = App(Settings(database_url=f"sqlite:///{tmp_path / 'fresh.db'}", sqlite_synchronous="NORMAL"), clock)
    app.init()
    for path in definition_files(DEFINITIONS):
        app.engine.load_definition_text(path.read_text(encoding="utf-8"), str(path))
    from definitions.agencies import Registry

    Agencies(app.engine).load(load_data(REGISTRY, Registry), ADMIN)
    load_plan(app.engine, app.store, load_data(PLAN, Plan), ADMIN)
    return app


def test_a_fresh_start_today_counts_every_year_in_its_own_year(tmp_path: Path) -> None:
    """`./run start` on 28/11/2026: the plan's 2022 deadlines and every missed yearly report are overdue on their
    own dates, not due next year."""
    clock = SimulatedClock(TODAY)
    app = fresh_app(tmp_path, clock)
    try:
        app.ticker().run_once(deliver=False)
        annual = {i.business_key: i for i in app.store.list_instances(definition_id="annual_report", limit=1000)}
        syt = annual["annual-report/2023/SYT"]
        assert syt.due_at == end_of_day(dt.date(2023, 11, 4))
        consolidated = {i.business_key: i.due_at for i in
                        app.store.list_instances(definition_id="consolidated_report", limit=100)}
        # "đến hết tháng 11": the end of November, moved to the next working day when it is a day off
        assert consolidated == {f"consolidated-report/{y}/SKHCN": end_of_day(day) for y, day in (
            (2022, dt.date(2022, 11, 30)), (2023, dt.date(2023, 11, 30)), (2024, dt.date(2024, 12, 2)),
            (2025, dt.date(2025, 12, 1)), (2026, dt.date(2026, 11, 30)))}
        report = status_report(app.engine, app.store, clock.now())
        row = next(r for r in report.rows if r.agency == "SYT" and r.section == "III.1")
        assert (row.overdue, row.within_deadline) == (4, 0)  # 2023 to 2026: each due before 05/11 of its year
        founding = next(r for r in report.rows if r.agency == "SKHCN" and r.section == "II.4a")
        assert founding.within_deadline == 0
        # the founding duty done today, in two steps, is done late: lateness does not depend on the state
        [instance] = [i for i in app.store.list_instances(definition_id="founding", limit=10)
                      if i.data.get("body") == "BCD"]
        app.engine.fire(instance.id, "propose", officer("SKHCN"), payload={"document": "12/TTr-SKHCN"})
        app.engine.fire(instance.id, "found", officer("SKHCN"), payload={"document": "99/QĐ-UBND"})
        report = status_report(app.engine, app.store, clock.now())
        founding = [r for r in report.rows if r.agency == "SKHCN" and r.duty.startswith("Tham mưu thành lập Ban")]
        assert (founding[0].done_late, founding[0].done_on_time) == (1, 0)
    finally:
        app.sql_engine.dispose()


def test_a_future_date_by_an_officer_is_refused_and_changes_nothing(registered: Engine, store: SqlStore,
                                                                   clock: SimulatedClock) -> None:
    engine = registered
    clock.set(at("2023-01-10"))
    child = engine.start("catalogue_feedback", "cat/SYT", "SYT", ADMIN, effective_on=dt.date(2023, 1, 5))
    before = (store.get_instance(child.id), store.history(child.id), store.list_timers(child.id))
    for payload, effective, field in (({"received_on": "2199-06-01"}, None, "received_on"),
                                      ({"received_on": "2023-01-11"}, None, "received_on"),
                                      ({"received_on": "2023-01-04"}, None, "received_on"),  # before it was sent
                                      ({"received_on": "2023-01-06"}, dt.date(2023, 1, 11), "effective_on")):
        with pytest.raises(PayloadInvalid) as refused:
            engine.fire(child.id, "record_receipt", officer("SYT"), payload=payload, effective_on=effective)
        assert [f for f, _ in refused.value.errors] == [field]
        assert (store.get_instance(child.id), store.history(child.id), store.list_timers(child.id)) == before
    # back-entry of real paperwork is normal: effective on the register's date, recorded now, by whom
    result = engine.fire(child.id, "record_receipt", officer("SYT"), payload={"received_on": "2023-01-06"},
                         effective_on=dt.date(2023, 1, 6))
    assert (result.record.effective_on, result.record.at, result.record.actor_id) == (
        "2023-01-06", clock.now(), "officer@syt")
    # 20 days from the 6th (not from today): day 20 is 26/01, inside the Tết holiday, so the period runs to Friday 27/01
    assert result.instance.due_at == end_of_day(dt.date(2023, 1, 27))


def test_unknown_or_ended_assignees_and_non_finite_numbers_are_refused(registered: Engine, store: SqlStore,
                                                                       clock: SimulatedClock) -> None:
    engine = registered
    with pytest.raises(PayloadInvalid, match="unknown agency 'SYTT'; known codes: SYT"):
        engine.start("implementation_plan", "k/1", "SYTT", ADMIN, data={"due": {"end_of_month": "2022-12"}})
    with pytest.raises(PayloadInvalid, match=r"data\.x: must be a finite number"):
        engine.start("implementation_plan", "k/2", "SYT", ADMIN, data={"x": float("nan")})
    clock.set(at("2025-03-02"))
    change = Change(op=ChangeKind.MERGE, code="SKHDT", into="STC", effective=dt.date(2025, 3, 1),
                    certainty=Certainty.FACT, note="hợp nhất", document="45/2025/NĐ-CP")
    Agencies(engine).apply(change, ADMIN)
    with pytest.raises(PayloadInvalid, match="did not exist on 02/03/2025"):
        engine.start("implementation_plan", "k/3", "SKHDT", ADMIN, data={"due": {"end_of_month": "2025-12"}})
    engine.start("implementation_plan", "k/4", "SKHDT", ADMIN, data={"due": {"end_of_month": "2024-12"}},
                 effective_on=dt.date(2024, 12, 1))  # it existed then: back-entry of a duty assigned then
    assert [i.business_key for i in store.list_instances()] == ["k/4"]


def test_registry_changes_take_effect_on_their_date_with_their_document(registered: Engine, store: SqlStore,
                                                                        clock: SimulatedClock) -> None:
    engine = registered
    clock.set(at("2024-12-01"))
    due = {"due": {"end_of_month": "2025-12"}}
    awareness = engine.start("awareness_programme", "tt/STTTT", "STTTT", ADMIN, data={**due, "section": "II.1a"})
    plan = engine.start("implementation_plan", "kh/STTTT", "STTTT", ADMIN, data={**due, "section": "II.4b"})
    district = engine.start("implementation_plan", "kh/PRTC", "PRTC", ADMIN, data=due)
    agencies = Agencies(engine)
    changes = {(c.op, c.code, c.effective): c for c in load_data(REORG, Reorganisation).changes}
    with pytest.raises(PayloadInvalid, match="document: required"):
        agencies.apply(changes[(ChangeKind.SPLIT, "STTTT", dt.date(2025, 3, 1))].model_copy(update={"document": None}),
                       ADMIN)
    for change in changes.values():  # typed in December 2024: all in the future, scheduled, facts only
        result = agencies.apply(change, ADMIN, facts_only=True)
        assert result.scheduled is (change.certainty is Certainty.FACT)
    assert store.get_instance(awareness.id).assignee == "STTTT"
    ticker = Ticker(engine, store, deliver=False)  # serve's own pass applies them on their dates
    assert ticker.next_wake() == at("2025-03-01", 0).astimezone(dt.UTC)
    clock.set(at("2025-03-01", 0) + dt.timedelta(minutes=1))
    applied = ticker.run_once().changes
    assert {(r.change.op, r.change.code) for r in applied} == {
        (ChangeKind.SPLIT, "STTTT"), (ChangeKind.MERGE, "SKHDT"), (ChangeKind.MERGE, "STNMT"),
        (ChangeKind.RENAME, "SNNPTNT")}
    assert store.get_instance(awareness.id).assignee == "SVHTTDL"  # press and information: culture
    assert store.get_instance(plan.id).assignee == "SKHCN"  # the rest: science and technology
    assert store.history(awareness.id)[-1].payload["document"] == "45/2025/NĐ-CP"
    assert store.history(awareness.id)[-1].effective_on == "2025-03-01"
    clock.set(at("2025-07-01", 0) + dt.timedelta(minutes=1))
    ticker.run_once()
    # the districts ended on 1/7/2025 (a fact); their open tasks wait for a confirmed successor (an assumption)
    assert Agencies(engine).get("PRTC").status == "retired"
    assert store.get_instance(district.id).assignee == "PRTC"
    assert Agencies(engine).get("UBND").current.name == "Ủy ban nhân dân tỉnh Khánh Hòa"


def test_facts_only_ends_the_districts_and_leaves_their_tasks_awaiting_a_successor(
        registered: Engine, store: SqlStore, clock: SimulatedClock) -> None:
    engine = registered
    clock.set(at("2024-12-01"))
    district = engine.start("implementation_plan", "kh/PRTC", "PRTC", ADMIN, data={"due": {"end_of_month": "2025-12"}})
    clock.set(at("2025-07-02"))
    retire = next(c for c in load_data(REORG, Reorganisation).changes if c.code == "PRTC")
    first = Agencies(engine).apply(retire, ADMIN, facts_only=True)
    assert (first.applied, first.moved, first.awaiting_successor) == (True, (), (district.id,))
    assert Agencies(engine).get("PRTC").status == "retired"
    assert store.get_instance(district.id).assignee == "PRTC"
    second = Agencies(engine).apply(retire, ADMIN)  # the hand-over confirmed later
    assert second.moved == (district.id,)
    assert store.get_instance(district.id).assignee == "UBND"
    assert Deadlines(engine).fire_due() == []


def test_instances_migrate_to_a_new_version_with_obligations_recomputed(registered: Engine, store: SqlStore,
                                                                       clock: SimulatedClock) -> None:
    """A running instance of a version without obligations (as every instance was before they existed) moves
    to the new version: its lateness is judged from its own history, as if the new version had applied."""
    engine = registered
    engine.standing_body = "SKHCN"
    text = (SHIPPED / "founding.yaml").read_text(encoding="utf-8").split("obligations:")[0]
    text = re.sub(r"(?m)^version: .*$", "version: 1", text).replace("[standing_body]", "[admin]")
    engine.load_definition_text(text.replace("proposed", "old_proposed"), "v1")
    clock.set(at("2022-11-01"))
    instance = engine.start("founding", "2022/bcd/SKHCN", "SKHCN", ADMIN, version=1,
                            data={"due": {"end_of_month": "2022-11"}})
    clock.set(at("2022-12-10"))
    engine.fire(instance.id, "propose", officer("SKHCN"), payload={"document": "12/TTr-SKHCN"})
    clock.set(at("2023-02-01"))
    from workflow.migration import migrate

    with pytest.raises(PayloadInvalid, match="nowhere is not a state"):
        migrate(engine, "founding", 3, {"old_proposed": "nowhere"}, ADMIN, "kế hoạch sửa đổi")
    with pytest.raises(Refused, match="no mapping for state"):
        migrate(engine, "founding", 3, {}, ADMIN, "kế hoạch sửa đổi")
    assert store.get_instance(instance.id).definition_version == 1  # refused: nothing written
    assert migrate(engine, "founding", 3, {"old_proposed": "proposed"}, ADMIN, "kế hoạch sửa đổi") == [instance.id]
    moved = store.get_instance(instance.id)
    assert (moved.definition_version, moved.state) == (3, "proposed")
    assert store.history(instance.id)[-1].event == "@migrated"
    with store.transaction() as uow:
        [propose] = uow.obligations_of(instance.id)
    assert (propose.status.value, propose.closed_on, propose.last_day) == (
        "satisfied", dt.date(2022, 12, 10), dt.date(2022, 11, 30))
    now = clock.now()
    assert status_report(engine, store, now).totals["done_late"] == 1
    assert status_report(engine, store, now, dt.date(2022, 12, 5)).totals["overdue"] == 1  # before it was done
    assert status_report(engine, store, now, dt.date(2022, 11, 15)).totals["within_deadline"] == 1
    assert list(verify(store.iter_history(), store.chain_heads())) == []
    assert verify_all(store).ok  # the migrated obligations are what the history says
    engine.fire(instance.id, "found", officer("SKHCN"), payload={"document": "99/QĐ-UBND"})  # the new version runs on


def test_a_consultation_after_the_reorganisation_goes_to_bodies_that_exist(registered: Engine, store: SqlStore,
                                                                           clock: SimulatedClock) -> None:
    engine = registered
    clock.set(at("2025-07-02"))
    for change in sorted(load_data(REORG, Reorganisation).changes, key=lambda c: c.effective):
        Agencies(engine).apply(change, ADMIN)
    consulted = ["STTTT", "SKHDT", "SYT", "PRTC", "BACAI"]
    clock.set(at("2026-03-02"))
    parent = engine.start("catalogue_consultation", "2026/danh-muc", "SKHCN", ADMIN,
                          data={"consulted": consulted, "due": {"end_of_month": "2026-03"}})
    engine.fire(parent.id, "send_for_consultation", officer("SKHCN"),
                payload={"document": "5/SKHCN-QLKH", "task_count": 12})
    children = sorted(c.assignee for c in store.list_instances(parent_id=parent.id))
    assert children == ["SKHCN", "STC", "SYT"]  # merged: their successors; the districts ended: nobody
    other = engine.start("catalogue_consultation", "2026/b", "SKHCN", ADMIN,
                         data={"consulted": ["SYTT"], "due": {"end_of_month": "2026-03"}})
    with pytest.raises(PayloadInvalid, match="unknown agency 'SYTT'"):
        engine.fire(other.id, "send_for_consultation", officer("SKHCN"),
                    payload={"document": "6/SKHCN", "task_count": 1})


def test_superseded_definitions_are_retired_for_new_instances_and_run_on_for_old(registered: Engine,
                                                                                store: SqlStore) -> None:
    engine = registered  # the tests load version 1 of agency_feedback as a generic workflow
    running = engine.start("agency_feedback", "cat/SYT", "SYT", ADMIN)
    for path in definition_files([SUPERSEDED]):
        engine.load_definition_text(path.read_text(encoding="utf-8"), str(path))
    with pytest.raises(Refused, match="agency_feedback v2 is retired"):
        engine.start("agency_feedback", "cat/SNV", "SNV", ADMIN)
    engine.fire(running.id, "record_receipt", officer("SYT"), payload={"received_on": "2022-12-15"})
    assert store.get_instance(running.id).definition_version == 1
    assert {p.stem for p in definition_files([SHIPPED])}.isdisjoint({"agency_feedback", "catalogue_draft"})

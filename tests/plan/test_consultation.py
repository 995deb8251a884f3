"""The catalogue consultation (II.4a, II.4b) end to end: 20 agencies, each with 20 days from its own receipt."""

from __future__ import annotations

import datetime as dt

from store import SqlStore
from tests.conftest import ADMIN, COMMITTEE
from workflow import Actor, Deadlines, Engine, InstanceRecord, SimulatedClock
from workflow.calendar import PROVINCE_TZ, end_of_day
from workflow.fanout import PARENT_ENTRY
from workflow.ports import ObligationRecord

CONSULTED = ["SKHDT", "STC", "SNV", "SGDDT", "SNNPTNT", "SCT", "SVHTTDL", "SYT", "STNMT", "STTTT", "DPTTH", "BODA",
             "LHH", "PRTC", "BACAI", "NINHHAI", "NINHPHUOC", "NINHSON", "THUANBAC", "THUANNAM"]


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), PROVINCE_TZ)


def officer(code: str) -> Actor:
    from definitions import Role

    return Actor(f"officer@{code.lower()}", Role.OFFICER, code)


def children(store: SqlStore, parent: int, entry: int) -> dict[str, InstanceRecord]:
    return {c.assignee: c for c in store.list_instances(definition_id="catalogue_feedback", limit=1000)
            if c.parent_id == parent and c.data.get(PARENT_ENTRY) == entry}


def send(engine: Engine, parent: int, clock: SimulatedClock, day: str) -> int:
    clock.set(at(day))
    return engine.fire(parent, "send_for_consultation", officer("SKHCN"),
                       payload={"document": "1234/SKHCN-QLKH", "task_count": 64}).instance.entry_seq


def obligations_of(store: SqlStore, instance_id: int) -> list[ObligationRecord]:
    with store.transaction() as uow:
        return uow.obligations_of(instance_id)


def answer(engine: Engine, child: InstanceRecord, position: str = "agree", **extra: str) -> InstanceRecord:
    return engine.fire(child.id, "answer", officer(child.assignee),
                       payload={"document": f"45/{child.assignee}-KHTC", "position": position, **extra}).instance


def test_the_consultation_end_to_end(registered: Engine, store: SqlStore, clock: SimulatedClock) -> None:
    engine, deadlines = registered, Deadlines(registered)
    clock.set(at("2022-11-20"))
    parent = engine.start("catalogue_consultation", "2022/danh-muc", "SKHCN", ADMIN,
                          data={"consulted": CONSULTED, "due": {"end_of_month": "2022-12"}})
    entry = send(engine, parent.id, clock, "2022-12-15")
    round1 = children(store, parent.id, entry)
    assert sorted(round1) == sorted(CONSULTED)
    assert {c.state for c in round1.values()} == {"sent"}

    # receipts on different days: 20 days from each agency's own receipt
    receipts = {"SYT": "2022-12-16", "SNV": "2022-12-19", "SCT": "2023-01-05"}
    for code, day in receipts.items():
        clock.set(at(day))
        engine.fire(round1[code].id, "record_receipt", officer(code), payload={"received_on": day})
    due = {code: store.get_instance(round1[code].id).due_at for code in receipts}
    assert due["SYT"] == end_of_day(dt.date(2023, 1, 5))
    assert due["SNV"] == end_of_day(dt.date(2023, 1, 9))  # day 20 is Sunday 08/01
    assert due["SCT"] == end_of_day(dt.date(2023, 1, 27))  # 25/01 falls in Tết: rolls to Friday 27/01

    # agencies that never record receipt still received the draft: presumed 3 working days after sending
    # (Tuesday 20/12), so their 20 days end on Monday 09/01 (day 20 is Sunday 08/01)
    presumed = {code: c for code, c in round1.items() if code not in receipts}
    assert {store.get_instance(c.id).due_at for c in presumed.values()} == {end_of_day(dt.date(2023, 1, 9))}
    assert {o.presumed for c in presumed.values() for o in obligations_of(store, c.id)} == {True}

    # on time, with proposals; and late (accepted, flagged)
    clock.set(at("2023-01-04"))
    on_time = answer(engine, store.get_instance(round1["SYT"].id), "agree_with_changes",
                     additions="Bổ sung nhiệm vụ ứng dụng AI trong khám chữa bệnh", removals="Bỏ nhiệm vụ số 12")
    assert on_time.state == "answered"
    assert on_time.data["@late"] is False
    clock.set(at("2023-01-10"))
    escalated = {o.instance_id for o in deadlines.fire_due() if o.kind == "escalation"}
    assert escalated == {round1["SNV"].id} | {c.id for c in presumed.values()}  # SCT has days left: not escalated
    late = answer(engine, store.get_instance(round1["SNV"].id))
    assert late.data["@late"] is True
    assert store.history(late.id)[-1].payload["@late"] is True

    # the window closes 30 days after sending (14/01 is a Saturday: 24:00 on Monday 16/01). It closes only the
    # agencies whose own period has ended; SCT, received 05/01, keeps its 20 days to 27/01 and is not late yet
    assert [t.due_at for t in store.list_timers(parent.id) if t.name == "window"] == [end_of_day(dt.date(2023, 1, 16))]
    clock.set(at("2023-01-17", 1))
    assert not [o for o in deadlines.fire_due() if o.kind == "escalation"]
    parent_now = store.get_instance(parent.id)
    assert parent_now.state == "consolidating"
    closed = children(store, parent.id, entry)
    assert closed["SYT"].state == closed["SNV"].state == "answered"
    assert closed["SCT"].state == "received"
    missing = [c for c in closed.values() if c.state == "no_response"]
    assert sorted(c.assignee for c in missing) == sorted(presumed)
    open_escalations = {e.instance_id for e in store.list_escalations("open")}
    assert {c.id for c in missing} <= open_escalations
    assert closed["SCT"].id not in open_escalations
    assert [r.event for r in store.history(missing[0].id)][-2:] == ["@escalated", "close_window"]
    # SCT is escalated at the end of its own last day, and may still answer (late, flagged)
    clock.set(at("2023-01-28", 1))
    assert {o.instance_id for o in deadlines.fire_due() if o.kind == "escalation"} == {closed["SCT"].id}
    assert answer(engine, store.get_instance(closed["SCT"].id)).data["@late"] is True
    closed = children(store, parent.id, entry)

    # the consolidated catalogue shows every agency's answer
    answers = {c.assignee: (c.state, c.data.get("position"), c.data.get("additions"))
               for c in closed.values()}
    assert answers["SYT"] == ("answered", "agree_with_changes", "Bổ sung nhiệm vụ ứng dụng AI trong khám chữa bệnh")

    # submitted, returned for revision, and round again with its own children
    engine.fire(parent.id, "submit", officer("SKHCN"), payload={"document": "15/TTr-SKHCN"})
    engine.fire(parent.id, "return_for_revision", COMMITTEE, reason="bổ sung dự kiến kinh phí")
    entry2 = send(engine, parent.id, clock, "2023-02-20")
    round2 = children(store, parent.id, entry2)
    assert len(round2) == 20
    assert not set(c.id for c in round2.values()) & set(c.id for c in closed.values())
    clock.set(at("2023-02-21"))
    for child in round2.values():
        engine.fire(child.id, "record_receipt", officer(child.assignee), payload={"received_on": "2023-02-21"})
        answer(engine, store.get_instance(child.id))
    assert store.get_instance(parent.id).state == "consolidating"  # the join fired with the last answer
    assert store.history(parent.id)[-1].event == "all_answered"
    engine.fire(parent.id, "submit", officer("SKHCN"), payload={"document": "20/TTr-SKHCN"})
    clock.set(at("2023-03-10"))
    engine.fire(parent.id, "approve", COMMITTEE, payload={"document": "300/QĐ-UBND", "approved_on": "2023-03-10"})
    assert store.get_instance(parent.id).state == "implementing"

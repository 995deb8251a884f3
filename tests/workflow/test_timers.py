"""Timers under the simulated clock: reminders, timeout, escalation, extension, suspension, overrides."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from store import SqlStore
from tests.conftest import ADMIN, COMMITTEE, OFFICER_SYT
from workflow import (
    Deadlines,
    Engine,
    InstanceRecord,
    OverrideKind,
    PayloadInvalid,
    Refused,
    RoleNotAllowed,
    SimulatedClock,
)
from workflow.calendar import PROVINCE_TZ, end_of_day

ANSWER = {"document": "12/SYT-KHTC", "position": "agree"}


def at(day: str, hour: int = 0) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), PROVINCE_TZ)


def received(engine: Engine, clock: SimulatedClock, received_on: str = "2022-12-26",
             key: str = "cat/SYT") -> InstanceRecord:
    clock.set(at(received_on, 9))
    instance = engine.start("agency_feedback", key, "SYT", ADMIN)
    return engine.fire(instance.id, "record_receipt", OFFICER_SYT, payload={"received_on": received_on}).instance


def timers(store: SqlStore, instance_id: int) -> list[tuple[str, int, str, dt.datetime]]:
    with store.engine.connect() as c:
        rows = c.execute(text("SELECT name, offset_days, status, due_at FROM timers WHERE instance_id = :i "
                              "ORDER BY due_at, id"), {"i": instance_id})
        return [(n, o, s, dt.datetime.fromisoformat(str(d)).replace(tzinfo=dt.UTC)) for n, o, s, d in rows]


def events(store: SqlStore, instance_id: int) -> list[str]:
    return [r.event for r in store.history(instance_id)]


@pytest.fixture
def deadlines(engine: Engine) -> Deadlines:
    return Deadlines(engine)


def test_entering_a_state_arms_its_timers_from_the_receipt_date(engine: Engine, store: SqlStore,
                                                                clock: SimulatedClock) -> None:
    instance = received(engine, clock)
    due = end_of_day(dt.date(2023, 1, 16))  # 20 days from 26/12/2022; 15/01 is a Sunday
    assert timers(store, instance.id) == [
        ("remind", 5, "pending", at("2023-01-11", 8).astimezone(dt.UTC)),
        ("remind", 1, "pending", at("2023-01-15", 8).astimezone(dt.UTC)),
        ("window_closes", 0, "pending", due),  # stored in definition order; fired escalation first
        ("escalate", 0, "pending", due),
    ]


def test_reminders_then_escalation_then_timeout_each_exactly_once(engine: Engine, store: SqlStore,
                                                                  clock: SimulatedClock, deadlines: Deadlines) -> None:
    instance = received(engine, clock)
    assert deadlines.fire_due() == []
    clock.set(at("2023-01-11", 8))
    [first] = deadlines.fire_due()
    assert (first.name, first.status, first.outcome) == ("remind", "fired", "assignee reminded")
    assert deadlines.fire_due() == []
    clock.set(at("2023-01-20", 10))  # days after the deadline: catch-up fires the rest in due order
    fired = deadlines.fire_due()
    assert [(o.name, o.status) for o in fired] == [("remind", "fired"), ("escalate", "fired"),
                                                   ("window_closes", "fired")]
    assert deadlines.fire_due() == []
    assert store.get_instance(instance.id).state == "no_response"
    assert events(store, instance.id) == ["@start", "record_receipt", "@escalated", "close_window"]
    close = store.history(instance.id)[-1]
    assert (close.actor_id, close.actor_role) == ("system:timer", "system")
    assert close.reason == "Hết thời hạn: 24 giờ 00 ngày 16/01/2023"  # said as people read it, not by the timer's id


def test_answering_in_time_cancels_the_timers(engine: Engine, store: SqlStore, clock: SimulatedClock,
                                              deadlines: Deadlines) -> None:
    instance = received(engine, clock)
    clock.set(at("2023-01-16", 23))
    engine.fire(instance.id, "answer", OFFICER_SYT, payload=ANSWER)
    clock.set(at("2023-02-01"))
    assert deadlines.fire_due() == []
    assert {status for _, _, status, _ in timers(store, instance.id)} == {"cancelled"}


def test_a_timer_whose_state_entry_ended_is_stale_and_changes_nothing(
        engine: Engine, store: SqlStore, clock: SimulatedClock, deadlines: Deadlines) -> None:
    instance = received(engine, clock)
    with store.engine.begin() as c:  # as if a timer from an earlier state entry were still pending
        c.execute(text("UPDATE timers SET fence = 1 WHERE instance_id = :i AND name = 'window_closes'"),
                  {"i": instance.id})
        c.execute(text("UPDATE timers SET status = 'cancelled' WHERE instance_id = :i AND name != 'window_closes'"),
                  {"i": instance.id})
    clock.set(at("2023-02-01"))
    [outcome] = deadlines.fire_due()
    assert outcome.status == "stale"
    assert store.get_instance(instance.id).state == "received"


def test_extension_moves_every_timer_and_is_recorded(engine: Engine, store: SqlStore, clock: SimulatedClock,
                                                     deadlines: Deadlines) -> None:
    instance = received(engine, clock)
    clock.set(at("2023-01-10", 9))
    deadlines.extend(instance.id, COMMITTEE, days=10, reason="chờ ý kiến Sở Tài chính",
                     document="15/BCĐ-KHCN")
    new_due = end_of_day(dt.date(2023, 1, 27))  # 16/01 + 10 = 26/01 (mùng năm Tết) -> 27/01
    assert next(t for t in timers(store, instance.id) if t[0] == "window_closes")[3] == new_due
    row = store.history(instance.id)[-1]
    assert (row.event, row.payload["new_last_day"], row.payload["document"]) == (
        "@deadline_extended", "2023-01-27", "15/BCĐ-KHCN")
    clock.set(at("2023-01-20"))
    assert deadlines.fire_due() == []  # the first reminder moved from 11/01 to 08:00 on 22/01
    clock.set(at("2023-01-23"))
    assert [o.name for o in deadlines.fire_due()] == ["remind"]
    clock.set(at("2023-01-28"))
    assert [o.name for o in deadlines.fire_due()] == ["remind", "escalate", "window_closes"]


def test_extension_rules(engine: Engine, clock: SimulatedClock, deadlines: Deadlines) -> None:
    instance = received(engine, clock)
    with pytest.raises(RoleNotAllowed):
        deadlines.extend(instance.id, OFFICER_SYT, days=5, reason="x", document="1/SYT")
    with pytest.raises(PayloadInvalid) as caught:
        deadlines.extend(instance.id, ADMIN, days=5, working_days=2, reason="", document="không số")
    assert {f for f, _ in caught.value.errors} == {"reason", "document", "extension"}
    with pytest.raises(PayloadInvalid, match="is not after the current deadline"):
        deadlines.extend(instance.id, ADMIN, to_date=dt.date(2023, 1, 2), reason="x", document="1/SKHCN")


def test_suspension_keeps_the_remaining_time(engine: Engine, store: SqlStore, clock: SimulatedClock,
                                             deadlines: Deadlines) -> None:
    instance = received(engine, clock)  # due 24:00 16/01/2023
    clock.set(at("2023-01-06"))  # 11 days before the end
    deadlines.suspend(instance.id, ADMIN, reason="tạm dừng theo chỉ đạo")
    clock.set(at("2023-03-01"))
    assert deadlines.fire_due() == []
    with pytest.raises(Refused, match="already suspended"):
        deadlines.suspend(instance.id, ADMIN, reason="again")
    deadlines.resume(instance.id, ADMIN, reason="tiếp tục")
    window = next(t for t in timers(store, instance.id) if t[0] == "window_closes")
    assert window[2:] == ("pending", at("2023-03-12").astimezone(dt.UTC))  # 11 days from 01/03 00:00
    assert events(store, instance.id)[-2:] == ["@suspended", "@resumed"]
    assert store.get_instance(instance.id).suspended_at is None


WORKING_DAYS_DEF = """\
id: quick_reply
version: 1
title: {vi: "Trả lời trong 5 ngày làm việc", en: "Reply within 5 working days"}
seed_section: "III.3"
states:
  - id: asked
    label: "Đã hỏi"
    kind: initial
    timers:
      - {name: late, kind: timeout, deadline: {working_days: 5}, event: expire}
  - {id: replied, label: "Đã trả lời", kind: final}
  - {id: expired, label: "Quá hạn", kind: final}
transitions:
  - {event: reply, label: "Trả lời", source: asked, dest: replied, roles: [admin]}
  - {event: expire, label: "Hết hạn", source: asked, dest: expired, roles: [system], reason_required: true}
"""


def test_suspension_of_a_working_day_period_keeps_working_days(engine: Engine, store: SqlStore,
                                                               clock: SimulatedClock, deadlines: Deadlines) -> None:
    engine.load_definition_text(WORKING_DAYS_DEF, "quick_reply.yaml")
    clock.set(at("2023-01-16", 9))  # Monday; working days 17, 18, 19, then Tết (20-26/01), 27, 30
    instance = engine.start("quick_reply", "q1", "SYT", ADMIN)
    assert timers(store, instance.id)[0][3] == end_of_day(dt.date(2023, 1, 30))
    clock.set(at("2023-01-18", 9))  # after today three working days remain: 19, 27, 30
    deadlines.suspend(instance.id, ADMIN, reason="chờ hồ sơ")
    clock.set(at("2023-02-03", 9))  # Friday
    deadlines.resume(instance.id, ADMIN, reason="đủ hồ sơ")
    assert timers(store, instance.id)[0][3] == end_of_day(dt.date(2023, 2, 8))  # Mon 6, Tue 7, Wed 8


def test_a_calendar_override_recomputes_pending_deadlines_into_history(
        engine: Engine, store: SqlStore, clock: SimulatedClock, deadlines: Deadlines) -> None:
    instance = received(engine, clock, received_on="2022-12-15")  # due 24:00 04/01/2023
    other = received(engine, clock, received_on="2022-12-01", key="cat/SNV")  # due 21/12/2022: unaffected
    clock.set(at("2022-12-20", 9))
    changes = deadlines.add_override(dt.date(2023, 1, 4), OverrideKind.DAY_OFF, "nghỉ do bão", ADMIN)
    assert list(changes) == [instance.id]
    window = next(t for t in timers(store, instance.id) if t[0] == "window_closes")
    assert window[3] == end_of_day(dt.date(2023, 1, 5))
    row = store.history(instance.id)[-1]
    assert (row.event, row.reason, row.payload["day"]) == ("@deadline_changed", "nghỉ do bão", "2023-01-04")
    assert events(store, other.id)[-1] == "record_receipt"
    assert store.calendar_overrides()[0].reason == "nghỉ do bão"
    with pytest.raises(Exception, match="already has a calendar override"):
        deadlines.add_override(dt.date(2023, 1, 4), OverrideKind.WORKING_DAY, "x", ADMIN)
    assert engine.calendar.is_working_day(dt.date(2023, 1, 4)) is False


def test_escalations_are_acknowledged_by_the_committee(engine: Engine, store: SqlStore, clock: SimulatedClock,
                                                       deadlines: Deadlines) -> None:
    instance = received(engine, clock)
    clock.set(at("2023-02-01"))
    deadlines.fire_due()
    with store.engine.connect() as c:
        [(escalation_id, status)] = c.execute(text("SELECT id, status FROM escalations")).all()
    assert status == "open"
    with pytest.raises(RoleNotAllowed):
        deadlines.acknowledge(escalation_id, OFFICER_SYT)
    assert deadlines.acknowledge(escalation_id, COMMITTEE, "đã nhắc Sở Y tế") == instance.id
    with pytest.raises(Refused, match="not open"):
        deadlines.acknowledge(escalation_id, COMMITTEE)
    assert events(store, instance.id)[-1] == "@escalation_acknowledged"


def test_notifications_without_contacts_are_recorded_not_raised(engine: Engine, store: SqlStore,
                                                                clock: SimulatedClock, deadlines: Deadlines) -> None:
    received(engine, clock)
    clock.set(at("2023-02-01"))
    deadlines.fire_due()
    with store.engine.connect() as c:
        rows = c.execute(text("SELECT kind, channel, status, message_id FROM outbox ORDER BY id")).all()
    assert [(k, ch, s) for k, ch, s, _ in rows] == [("reminder", "none", "no_contact"),
                                                    ("reminder", "none", "no_contact"),
                                                    ("escalation", "none", "no_contact")]
    assert len({m for *_, m in rows}) == 3

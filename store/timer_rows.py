"""Rows of the legal clock: timers, escalations and calendar overrides.

``TimerRows`` is the part of the unit of work (``SqlUnitOfWork``) that reads and writes them, with
statements compiled once per dialect (``store.hot``). Claiming due timers locks them with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLAlchemy leaves the clause out on SQLite, where the
``BEGIN IMMEDIATE`` write lock already serialises claimers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Dialect, and_, bindparam, case, insert, or_, select, update

from definitions import WorkflowError
from workflow.calendar import DayOverride
from workflow.timers import TimerRecord, TimerStatus, to_json

from .connections import SystemStatements
from .hot import HotStatement
from .rows import timer_from_row
from .system_log import append_system
from .tables import calendar_overrides, escalations, timers

_KIND_ORDER = case({"reminder": 0, "escalation": 1}, value=timers.c.kind, else_=2)
_OPEN = or_(timers.c.status == TimerStatus.PENDING.value, timers.c.status == TimerStatus.SUSPENDED.value)


class OverrideExists(WorkflowError):
    def __init__(self, day: dt.date) -> None:
        self.day = day
        super().__init__(f"{day.isoformat()} already has a calendar override")


class TimerStatements:
    """The legal clock's statements, compiled once for a dialect."""

    def __init__(self, dialect: Dialect) -> None:
        types = [c.type for c in timers.c]
        self.insert_timer = HotStatement(insert(timers).values(
            {c.name: bindparam(c.name) for c in timers.c if c.name != "id"}), dialect)
        self.timers_of = HotStatement(select(timers).where(and_(
            timers.c.instance_id == bindparam("b_instance"),
            or_(timers.c.status == bindparam("b_s1"), timers.c.status == bindparam("b_s2"))))
            .order_by(timers.c.due_at, _KIND_ORDER, timers.c.id), dialect, types)
        self.open_timers = HotStatement(select(timers).where(_OPEN).order_by(timers.c.id), dialect, types)
        self.cancel = HotStatement(update(timers).where(and_(timers.c.instance_id == bindparam("b_instance"), _OPEN,
                                                             timers.c.obligation.is_(None)))
                                   .values(status=TimerStatus.CANCELLED.value, fired_at=bindparam("b_now"),
                                           outcome="state left"), dialect)
        self.cancel_obligation = HotStatement(
            update(timers).where(and_(timers.c.instance_id == bindparam("b_instance"), _OPEN,
                                      timers.c.obligation == bindparam("b_obligation")))
            .values(status=TimerStatus.CANCELLED.value, fired_at=bindparam("b_now"),
                    outcome="obligation closed or restarted"), dialect)
        self.update_timer = HotStatement(update(timers).where(timers.c.id == bindparam("b_id")).values(
            {c: bindparam(c) for c in ("status", "base_due", "due_at", "extension", "remaining", "fired_at",
                                       "outcome")}), dialect)
        self.claim = HotStatement(
            select(timers).where(and_(timers.c.status == TimerStatus.PENDING.value,
                                      timers.c.due_at <= bindparam("b_now")))
            .order_by(timers.c.due_at, _KIND_ORDER, timers.c.id).limit(bindparam("b_limit"))
            .with_for_update(skip_locked=True), dialect, types)
        self.insert_escalation = HotStatement(insert(escalations).values(
            {c.name: bindparam(c.name) for c in escalations.c if c.name != "id"}).returning(escalations.c.id), dialect)
        self.find_open_escalation = HotStatement(select(escalations.c.instance_id).where(and_(
            escalations.c.id == bindparam("b_id"), escalations.c.status == "open")), dialect)
        self.open_escalations_of = HotStatement(
            select(escalations.c.id, timers.c.obligation).select_from(
                escalations.outerjoin(timers, timers.c.id == escalations.c.timer_id))
            .where(and_(escalations.c.instance_id == bindparam("b_instance"), escalations.c.status == "open"))
            .order_by(escalations.c.id), dialect)
        self.ack_escalation = HotStatement(update(escalations).where(escalations.c.id == bindparam("b_id")).values(
            status="acknowledged", acknowledged_at=bindparam("b_now"), acknowledged_by=bindparam("b_actor"),
            note=bindparam("b_note")), dialect)
        self.find_override = HotStatement(select(calendar_overrides.c.day).where(
            calendar_overrides.c.day == bindparam("b_day")), dialect)
        self.insert_override = HotStatement(insert(calendar_overrides).values(
            {c.name: bindparam(c.name) for c in calendar_overrides.c}), dialect)


class TimerRows:
    """Unit-of-work methods for the legal clock (mixed into ``SqlUnitOfWork``)."""

    dbapi: Any
    timer_sql: TimerStatements
    system_sql: SystemStatements

    def insert_timers(self, records: Sequence[TimerRecord]) -> None:
        for t in records:
            self.timer_sql.insert_timer.run(self.dbapi, {
                "instance_id": t.instance_id, "name": t.name, "kind": t.kind.value, "offset_days": t.offset_days,
                "event": t.event, "fence": t.fence, "status": t.status.value,
                "deadline": t.deadline.model_dump_json(exclude_defaults=True), "anchor": t.anchor,
                "extension": to_json(t.extension), "base_due": t.base_due, "due_at": t.due_at,
                "remaining": to_json(t.remaining), "created_at": t.created_at, "fired_at": t.fired_at,
                "outcome": t.outcome, "claimed_by": None, "lease_until": None, "obligation": t.obligation})

    def timers_of(self, instance_id: int, statuses: Sequence[TimerStatus]) -> list[TimerRecord]:
        wanted = [s.value for s in statuses] + [statuses[0].value] * (2 - len(statuses))
        rows = self.timer_sql.timers_of.all(self.dbapi, {"b_instance": instance_id, "b_s1": wanted[0],
                                                         "b_s2": wanted[1]})
        return [timer_from_row(r) for r in rows]

    def open_timers(self) -> list[TimerRecord]:
        return [timer_from_row(r) for r in self.timer_sql.open_timers.all(self.dbapi, {})]

    def cancel_timers(self, instance_id: int, now: dt.datetime) -> int:
        return self.timer_sql.cancel.run(self.dbapi, {"b_instance": instance_id, "b_now": now})

    def cancel_obligation_timers(self, instance_id: int, names: Sequence[str], now: dt.datetime) -> int:
        return sum(self.timer_sql.cancel_obligation.run(self.dbapi, {"b_instance": instance_id, "b_obligation": name,
                                                                     "b_now": now}) for name in set(names))

    def update_timer(self, t: TimerRecord) -> None:
        self.timer_sql.update_timer.run(self.dbapi, {
            "b_id": t.id, "status": t.status.value, "base_due": t.base_due, "due_at": t.due_at,
            "extension": to_json(t.extension), "remaining": to_json(t.remaining), "fired_at": t.fired_at,
            "outcome": t.outcome})

    def claim_due_timers(self, now: dt.datetime, limit: int, claimer: str) -> list[TimerRecord]:
        rows = self.timer_sql.claim.all(self.dbapi, {"b_now": now, "b_limit": limit})
        return [timer_from_row(r) for r in rows]

    def insert_escalation(self, instance_id: int, timer_id: int | None, due_at: dt.datetime,
                          now: dt.datetime) -> int:
        row = self.timer_sql.insert_escalation.first(self.dbapi, {
            "instance_id": instance_id, "timer_id": timer_id, "due_at": due_at, "created_at": now,
            "status": "open", "acknowledged_at": None, "acknowledged_by": None, "note": None})
        assert row is not None
        return int(row[0])

    def open_escalations_of(self, instance_id: int) -> list[tuple[int, str | None]]:
        return [(int(i), o) for i, o in self.timer_sql.open_escalations_of.all(self.dbapi, {"b_instance": instance_id})]

    def acknowledge_escalation(self, escalation_id: int, actor_id: str, note: str | None,
                               now: dt.datetime) -> int | None:
        row = self.timer_sql.find_open_escalation.first(self.dbapi, {"b_id": escalation_id})
        if row is None:
            return None
        self.timer_sql.ack_escalation.run(self.dbapi, {"b_id": escalation_id, "b_now": now, "b_actor": actor_id,
                                                       "b_note": note})
        return int(row[0])

    def insert_calendar_override(self, override: DayOverride, actor_id: str, now: dt.datetime) -> None:
        day = override.day.isoformat()
        if self.timer_sql.find_override.first(self.dbapi, {"b_day": day}) is not None:
            raise OverrideExists(override.day)
        self.timer_sql.insert_override.run(self.dbapi, {
            "day": day, "kind": override.kind.value, "reason": override.reason, "actor_id": actor_id,
            "created_at": now})
        append_system(self.dbapi, self.system_sql, "calendar_override", actor_id, now,
                      {"day": day, "kind": override.kind.value, "reason": override.reason})

"""Unit-of-work rows of the agency registry (mixed into ``SqlUnitOfWork``), compiled once per dialect."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Dialect, and_, bindparam, insert, select, update

from workflow.ports import AgencyName, AgencyRecord, InstanceRecord

from .connections import SystemStatements
from .hot import HotStatement
from .rows import instance_from_row
from .system_log import append_system
from .tables import agencies, agency_changes, agency_names, instances, scheduled_changes


class AgencyStatements:
    def __init__(self, dialect: Dialect) -> None:
        self.get = HotStatement(select(agencies.c.code, agencies.c.kind, agencies.c.status, agencies.c.successor)
                                .where(agencies.c.code == bindparam("b_code")), dialect)
        self.insert = HotStatement(insert(agencies).values({c.name: bindparam(c.name) for c in agencies.c}), dialect)
        self.set_status = HotStatement(update(agencies).where(agencies.c.code == bindparam("b_code")).values(
            status=bindparam("status"), successor=bindparam("successor")), dialect)
        self.names = HotStatement(
            select(agency_names.c.name, agency_names.c.short_name, agency_names.c.valid_from, agency_names.c.valid_to,
                   agency_names.c.document).where(agency_names.c.code == bindparam("b_code"))
            .order_by(agency_names.c.valid_from, agency_names.c.id), dialect)
        self.insert_name = HotStatement(insert(agency_names).values(
            {c.name: bindparam(c.name) for c in agency_names.c if c.name != "id"}), dialect)
        self.close_name = HotStatement(update(agency_names).where(and_(
            agency_names.c.code == bindparam("b_code"), agency_names.c.valid_to.is_(None))).values(
            valid_to=bindparam("valid_to")), dialect)
        self.change_exists = HotStatement(select(agency_changes.c.id).where(and_(
            agency_changes.c.op == bindparam("b_op"), agency_changes.c.code == bindparam("b_code"),
            agency_changes.c.effective == bindparam("b_effective"))), dialect)
        self.insert_change = HotStatement(insert(agency_changes).values(
            {c.name: bindparam(c.name) for c in agency_changes.c if c.name != "id"}), dialect)
        self.assigned = HotStatement(select(instances).where(instances.c.assignee == bindparam("b_code"))
                                     .order_by(instances.c.id), dialect, [c.type for c in instances.c])
        self.children = HotStatement(select(instances).where(instances.c.parent_id == bindparam("b_parent"))
                                     .order_by(instances.c.id), dialect, [c.type for c in instances.c])
        self.schedule = HotStatement(insert(scheduled_changes).values(
            {c.name: bindparam(c.name) for c in scheduled_changes.c if c.name != "id"}), dialect)
        self.find_scheduled = HotStatement(select(scheduled_changes.c.id).where(and_(
            scheduled_changes.c.change == bindparam("b_change"), scheduled_changes.c.effective == bindparam("b_day"),
            scheduled_changes.c.applied_at.is_(None))), dialect)
        self.due_scheduled = HotStatement(select(
            scheduled_changes.c.id, scheduled_changes.c.change, scheduled_changes.c.document,
            scheduled_changes.c.actor_id).where(and_(scheduled_changes.c.applied_at.is_(None),
                                                     scheduled_changes.c.effective <= bindparam("b_day")))
            .order_by(scheduled_changes.c.effective, scheduled_changes.c.id), dialect)
        self.mark_applied = HotStatement(update(scheduled_changes).where(scheduled_changes.c.id == bindparam("b_id"))
                                         .values(applied_at=bindparam("b_now"), outcome=bindparam("b_outcome")),
                                         dialect, [])
        self.codes = HotStatement(select(agencies.c.code).order_by(agencies.c.code), dialect)
        self.active = HotStatement(select(agencies.c.code, agencies.c.kind).where(agencies.c.status == "active")
                                   .order_by(agencies.c.code), dialect)


class AgencyRows:
    dbapi: Any
    agency_sql: AgencyStatements
    system_sql: SystemStatements

    def agency(self, code: str) -> AgencyRecord | None:
        row = self.agency_sql.get.first(self.dbapi, {"b_code": code})
        if row is None:
            return None
        names = [AgencyName(*r) for r in self.agency_sql.names.all(self.dbapi, {"b_code": code})]
        return AgencyRecord(row[0], row[1], row[2], row[3], tuple(names))

    def insert_agency(self, code: str, kind: str, name: str, short_name: str, valid_from: dt.date,
                      now: dt.datetime) -> None:
        self.agency_sql.insert.run(self.dbapi, {"code": code, "kind": kind, "status": "active", "successor": None,
                                                "created_at": now})
        self.agency_sql.insert_name.run(self.dbapi, {"code": code, "name": name, "short_name": short_name,
                                                     "valid_from": valid_from.isoformat(), "valid_to": None,
                                                     "document": None})
        append_system(self.dbapi, self.system_sql, "agency_registered", "system:registry", now, {
            "code": code, "kind": kind, "name": name, "short_name": short_name, "valid_from": valid_from.isoformat()})

    def rename_agency(self, code: str, name: str, short_name: str, effective: dt.date, document: str | None) -> None:
        self.agency_sql.close_name.run(self.dbapi, {"b_code": code, "valid_to": effective.isoformat()})
        self.agency_sql.insert_name.run(self.dbapi, {"code": code, "name": name, "short_name": short_name,
                                                     "valid_from": effective.isoformat(), "valid_to": None,
                                                     "document": document})

    def end_agency(self, code: str, status: str, successor: str, effective: dt.date) -> None:
        self.agency_sql.close_name.run(self.dbapi, {"b_code": code, "valid_to": effective.isoformat()})
        self.agency_sql.set_status.run(self.dbapi, {"b_code": code, "status": status, "successor": successor})

    def agency_change_applied(self, op: str, code: str, effective: dt.date) -> bool:
        return self.agency_sql.change_exists.first(self.dbapi, {
            "b_op": op, "b_code": code, "b_effective": effective.isoformat()}) is not None

    def log_agency_change(self, values: dict[str, Any]) -> None:
        self.agency_sql.insert_change.run(self.dbapi, values)
        append_system(self.dbapi, self.system_sql, "agency_change", str(values["actor_id"]), values["applied_at"],
                      {k: v for k, v in values.items() if k not in ("actor_id", "applied_at")})

    def instances_assigned_to(self, code: str) -> Sequence[InstanceRecord]:
        return [instance_from_row(r)
                for r in self.agency_sql.assigned.all(self.dbapi, {"b_code": code})]

    def children_of(self, parent_id: int) -> Sequence[InstanceRecord]:
        return [instance_from_row(r)
                for r in self.agency_sql.children.all(self.dbapi, {"b_parent": parent_id})]

    def schedule_change(self, values: dict[str, Any]) -> None:
        self.agency_sql.schedule.run(self.dbapi, values)
        append_system(self.dbapi, self.system_sql, "agency_change_scheduled", str(values["actor_id"]),
                      values["created_at"], {"change": values["change"], "document": values["document"]})

    def change_scheduled(self, change: str, effective: dt.date) -> bool:
        return self.agency_sql.find_scheduled.first(self.dbapi, {"b_change": change,
                                                                  "b_day": effective.isoformat()}) is not None

    def due_scheduled_changes(self, day: dt.date) -> list[tuple[int, str, str, str]]:
        return [(int(i), c, d, a) for i, c, d, a in self.agency_sql.due_scheduled.all(self.dbapi,
                                                                                       {"b_day": day.isoformat()})]

    def mark_change_applied(self, change_id: int, now: dt.datetime, outcome: str) -> None:
        self.agency_sql.mark_applied.run(self.dbapi, {"b_id": change_id, "b_now": now, "b_outcome": outcome})

    def agency_codes(self) -> list[str]:
        return [r[0] for r in self.agency_sql.codes.all(self.dbapi, {})]

    def active_agencies(self, kinds: Sequence[str]) -> list[str]:
        return [code for code, kind in self.agency_sql.active.all(self.dbapi, {}) if kind in kinds]

"""Recurring obligations: the schedules and the occurrences each pass started (``ScheduleRows`` in the unit of
work, ``ScheduleQueries`` mixed into ``SqlStore``)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Dialect, and_, bindparam, func, insert, select, update

from definitions import NotFound, WorkflowError
from workflow.ports import Schedule

from .connections import Connections
from .hot import HotStatement
from .rows import schedule_from_row
from .system_log import append_system
from .tables import occurrences, schedules


class ScheduleStatements:
    """The schedules' unit-of-work statements, compiled once for a dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.insert_occurrence = HotStatement(insert(occurrences).values(
            {c.name: bindparam(c.name) for c in occurrences.c if c.name != "id"}), dialect)
        self.advance_schedule = HotStatement(update(schedules).where(and_(
            schedules.c.id == bindparam("b_id"), schedules.c.next_run_at == bindparam("b_old"))).values(
            next_run_at=bindparam("b_new"), last_run_at=bindparam("b_now")), dialect)


class ScheduleRows:
    """Unit-of-work methods of the schedules (mixed into ``SqlUnitOfWork``)."""

    dbapi: Any
    schedule_sql: ScheduleStatements

    def advance_schedule(self, schedule_id: int, old: dt.datetime, new: dt.datetime, now: dt.datetime) -> bool:
        """Move a schedule's next run from ``old`` to ``new``; False if another process already did."""
        return self.schedule_sql.advance_schedule.run(self.dbapi, {
            "b_id": schedule_id, "b_old": old, "b_new": new, "b_now": now}) == 1


    def record_occurrence(self, values: dict[str, Any]) -> None:
        self.schedule_sql.insert_occurrence.run(self.dbapi, values)


class ScheduleQueries(Connections):

    def add_schedule(self, name: str, definition_id: str, cron: str, assignees: Sequence[str], key_template: str,
                     data: dict[str, Any], next_run_at: dt.datetime, now: dt.datetime) -> int:
        with self._begin() as c:
            if c.execute(select(schedules.c.id).where(schedules.c.name == name)).first() is not None:
                raise WorkflowError(f"a schedule named {name!r} exists already")
            result = c.execute(insert(schedules).values(
                name=name, definition_id=definition_id, cron=cron, assignees=json.dumps(list(assignees)),
                key_template=key_template, data=json.dumps(data, ensure_ascii=False), next_run_at=next_run_at,
                last_run_at=None, created_at=now))
            key = result.inserted_primary_key
            assert key is not None
            append_system(c.connection.driver_connection, self._system_sql, "schedule_added", "system:plan", now, {
                "id": int(key[0]), "name": name, "definition_id": definition_id, "cron": cron,
                "assignees": list(assignees), "key_template": key_template})
            return int(key[0])

    def list_schedules(self, ended: bool = False) -> list[Schedule]:
        """The running schedules (with ``ended``, also those a revised plan ended)."""
        query = select(schedules).order_by(schedules.c.name)
        with self._read() as c:
            return [schedule_from_row(r._mapping) for r in c.execute(
                query if ended else query.where(schedules.c.ended_at.is_(None)))]

    def change_schedule(self, name: str, *, assignees: Sequence[str], data: dict[str, Any], cron: str,
                        key_template: str, actor_id: str, now: dt.datetime, reason: str) -> None:
        """A revised plan changes a recurring duty: who owes it, its deadline, when it opens (next runs only)."""
        with self._begin() as c:
            row = c.execute(select(schedules).where(schedules.c.name == name)).first()
            if row is None:
                raise NotFound("schedule", name)
            before = schedule_from_row(row._mapping)
            c.execute(update(schedules).where(schedules.c.id == before.id).values(
                assignees=json.dumps(list(assignees)), data=json.dumps(data, ensure_ascii=False), cron=cron,
                key_template=key_template))
            append_system(c.connection.driver_connection, self._system_sql, "schedule_changed", actor_id, now, {
                "id": before.id, "name": name, "reason": reason,
                "from": {"assignees": list(before.assignees), "cron": before.cron, "key_template": before.key_template,
                         "due": before.data.get("due")},
                "to": {"assignees": list(assignees), "cron": cron, "key_template": key_template,
                       "due": data.get("due")}})

    def end_schedule(self, name: str, *, actor_id: str, now: dt.datetime, reason: str) -> None:
        """A revised plan drops a recurring duty: its schedule starts nothing from now on (the row and its
        occurrences stay)."""
        with self._begin() as c:
            row = c.execute(select(schedules.c.id).where(schedules.c.name == name,
                                                         schedules.c.ended_at.is_(None))).first()
            if row is None:
                raise NotFound("running schedule", name)
            c.execute(update(schedules).where(schedules.c.id == row[0]).values(ended_at=now))
            append_system(c.connection.driver_connection, self._system_sql, "schedule_ended", actor_id, now, {
                "id": int(row[0]), "name": name, "reason": reason})

    def schedule(self, schedule_id: int) -> Schedule:
        with self._read() as c:
            row = c.execute(select(schedules).where(schedules.c.id == schedule_id)).first()
        if row is None:
            raise NotFound("schedule", schedule_id)
        return schedule_from_row(row._mapping)

    def next_schedule_run(self) -> dt.datetime | None:
        with self._read() as c:
            value = c.execute(select(func.min(schedules.c.next_run_at)).where(schedules.c.ended_at.is_(None))).scalar()
        return None if value is None else value.replace(tzinfo=dt.UTC)

    def due_schedules(self, now: dt.datetime) -> Iterator[Schedule]:
        with self._read() as c:
            rows = c.execute(select(schedules).where(
                schedules.c.next_run_at <= now, schedules.c.ended_at.is_(None)).order_by(
                schedules.c.next_run_at, schedules.c.id)).all()
        for row in rows:
            yield schedule_from_row(row._mapping)

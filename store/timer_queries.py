"""The legal clock as the service reads it (``TimerQueries`` is mixed into ``SqlStore``): when the next timer or
registry change is due, timers and escalations listed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from workflow.clock import PROVINCE_TZ
from workflow.timers import TimerRecord, TimerStatus

from .connections import Connections
from .rows import timer_from_row
from .tables import escalations, scheduled_changes, timers


@dataclass(frozen=True)
class EscalationRow:
    id: int
    instance_id: int
    timer_id: int | None
    due_at: dt.datetime
    created_at: dt.datetime
    status: str
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    note: str | None


class TimerQueries(Connections):

    # -- timers and escalations ------------------------------------------------------------------

    def next_timer_due(self) -> dt.datetime | None:
        query = select(func.min(timers.c.due_at)).where(timers.c.status == TimerStatus.PENDING.value)
        with self._read() as c:
            value = c.execute(query).scalar()
        return None if value is None else value.replace(tzinfo=dt.UTC)

    def next_registry_change(self) -> dt.datetime | None:
        query = select(func.min(scheduled_changes.c.effective)).where(scheduled_changes.c.applied_at.is_(None))
        with self._read() as c:
            value = c.execute(query).scalar()
        if value is None:
            return None
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), PROVINCE_TZ).astimezone(dt.UTC)

    def list_timers(self, instance_id: int | None = None, status: str | None = None,
                    limit: int = 1000) -> list[TimerRecord]:
        query = select(timers).order_by(timers.c.due_at, timers.c.id).limit(limit)
        if instance_id is not None:
            query = query.where(timers.c.instance_id == instance_id)
        if status is not None:
            query = query.where(timers.c.status == status)
        with self._read() as c:
            return [timer_from_row(tuple(r)) for r in c.execute(query)]

    def count_timers(self) -> dict[str, int]:
        with self._read() as c:
            return dict(c.execute(select(timers.c.status, func.count()).group_by(timers.c.status)).all())  # type: ignore[arg-type]

    def count_escalations(self) -> dict[str, int]:
        """Escalations by status (open, acknowledged)."""
        with self._read() as c:
            return dict(c.execute(select(escalations.c.status, func.count()).group_by(escalations.c.status))
                        .tuples().all())

    def list_escalations(self, status: str | None = None) -> list[EscalationRow]:
        query = select(escalations).order_by(escalations.c.id)
        if status is not None:
            query = query.where(escalations.c.status == status)
        with self._read() as c:
            return [EscalationRow(**r._mapping) for r in c.execute(query)]

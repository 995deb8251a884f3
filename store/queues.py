"""What the service process asks of the store besides events: next due times, listings, the outbox,
contacts and recurring schedules (``QueueQueries`` is mixed into ``SqlStore``).

The outbox is claimed with a lease (``claimed_by``, ``lease_until``): a dispatcher that dies mid-delivery
leaves rows that another pass takes over when the lease ends, and the message id stays the same so
the receiver can recognise a repeat.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update

from definitions import NotFound
from workflow.clock import PROVINCE_TZ
from workflow.notify import Contact, OutboxMessage, OutboxStatus
from workflow.ports import Schedule
from workflow.timers import TimerRecord, TimerStatus

from .rows import outbox_from_row, schedule_from_row, timer_from_row
from .system_log import SystemStatements, append_system
from .tables import contacts, escalations, outbox, scheduled_changes, schedules, timers


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


class QueueQueries:
    engine: Engine
    _system_sql: SystemStatements

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _begin(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

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

    def list_escalations(self, status: str | None = None) -> list[EscalationRow]:
        query = select(escalations).order_by(escalations.c.id)
        if status is not None:
            query = query.where(escalations.c.status == status)
        with self._read() as c:
            return [EscalationRow(**r._mapping) for r in c.execute(query)]

    # -- outbox ----------------------------------------------------------------------------------

    def claim_outbox(self, now: dt.datetime, limit: int, claimer: str, lease: dt.timedelta) -> list[OutboxMessage]:
        """Pending messages due for an attempt and not leased by a live dispatcher, leased to ``claimer``."""
        free = or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now)
        with self._begin() as c:
            ids = [i for (i,) in c.execute(
                select(outbox.c.id).where(and_(outbox.c.status == OutboxStatus.PENDING.value,
                                               outbox.c.next_attempt_at <= now, free))
                .order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit).with_for_update(skip_locked=True))]
            if not ids:
                return []
            c.execute(update(outbox).where(outbox.c.id.in_(ids)).values(claimed_by=claimer, lease_until=now + lease))
            return [outbox_from_row(tuple(r)) for r in c.execute(select(outbox).where(outbox.c.id.in_(ids))
                                                                 .order_by(outbox.c.id))]

    def outbox_delivered(self, message_id: int, now: dt.datetime) -> None:
        with self._begin() as c:
            c.execute(update(outbox).where(outbox.c.id == message_id).values(
                status=OutboxStatus.SENT.value, sent_at=now, attempts=outbox.c.attempts + 1, last_error=None,
                claimed_by=None, lease_until=None))

    def outbox_failed(self, message_id: int, error: str, retry_at: dt.datetime | None) -> None:
        """One failed attempt; ``retry_at`` None means give up (dead letter)."""
        status = OutboxStatus.PENDING if retry_at is not None else OutboxStatus.DEAD
        values: dict[str, Any] = {"status": status.value, "attempts": outbox.c.attempts + 1,
                                  "last_error": error[:2000], "claimed_by": None, "lease_until": None}
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        with self._begin() as c:
            c.execute(update(outbox).where(outbox.c.id == message_id).values(**values))

    def next_outbox_attempt(self) -> dt.datetime | None:
        query = select(func.min(outbox.c.next_attempt_at)).where(outbox.c.status == OutboxStatus.PENDING.value)
        with self._read() as c:
            value = c.execute(query).scalar()
        return None if value is None else value.replace(tzinfo=dt.UTC)

    def count_outbox(self) -> dict[str, int]:
        """Notifications by status."""
        with self._read() as c:
            return dict(c.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).tuples().all())

    def list_outbox(self, status: str | None = None, limit: int = 1000) -> list[OutboxMessage]:
        query = select(outbox).order_by(outbox.c.id).limit(limit)
        if status is not None:
            query = query.where(outbox.c.status == status)
        with self._read() as c:
            return [outbox_from_row(tuple(r)) for r in c.execute(query)]

    def retry_outbox(self, ids: Sequence[int] | None, now: dt.datetime) -> int:
        """Queue dead (or given) messages again with a fresh attempt count; how many."""
        where = outbox.c.status == OutboxStatus.DEAD.value
        if ids:
            where = and_(outbox.c.id.in_(list(ids)), outbox.c.status.in_([OutboxStatus.DEAD.value,
                                                                          OutboxStatus.PENDING.value]))
        with self._begin() as c:
            return c.execute(update(outbox).where(where).values(
                status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=now, claimed_by=None,
                lease_until=None)).rowcount

    # -- contacts --------------------------------------------------------------------------------

    def set_contact(self, contact: Contact, now: dt.datetime, actor_id: str = "system") -> None:
        with self._begin() as c:
            c.execute(contacts.delete().where(contacts.c.agency == contact.agency))
            c.execute(insert(contacts).values(agency=contact.agency, name=contact.name, email=contact.email,
                                              webhook_url=contact.webhook_url, updated_at=now))
            append_system(c.connection.driver_connection, self._system_sql, "contact_set", actor_id, now, {
                "agency": contact.agency, "name": contact.name, "email": contact.email,
                "webhook_url": contact.webhook_url})

    def last_system_event(self, event: str) -> tuple[dt.datetime, dict[str, Any]] | None:
        """When the latest system-history event of this kind was recorded, and its payload (a read)."""
        with self._read() as c:
            row = self._system_sql.last_of_event.first(c.connection.driver_connection, {"b_event": event})
        return None if row is None else (row[0], json.loads(row[1]))

    def list_contacts(self) -> list[Contact]:
        with self._read() as c:
            return [Contact(*r) for r in c.execute(select(contacts.c.agency, contacts.c.name, contacts.c.email,
                                                          contacts.c.webhook_url).order_by(contacts.c.agency))]

    # -- schedules -------------------------------------------------------------------------------

    def add_schedule(self, name: str, definition_id: str, cron: str, assignees: Sequence[str], key_template: str,
                     data: dict[str, Any], next_run_at: dt.datetime, now: dt.datetime) -> int:
        with self._begin() as c:
            if c.execute(select(schedules.c.id).where(schedules.c.name == name)).first() is not None:
                from definitions import WorkflowError

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

    def list_schedules(self) -> list[Schedule]:
        with self._read() as c:
            return [schedule_from_row(r._mapping) for r in c.execute(select(schedules).order_by(schedules.c.name))]

    def schedule(self, schedule_id: int) -> Schedule:
        with self._read() as c:
            row = c.execute(select(schedules).where(schedules.c.id == schedule_id)).first()
        if row is None:
            raise NotFound("schedule", schedule_id)
        return schedule_from_row(row._mapping)

    def next_schedule_run(self) -> dt.datetime | None:
        with self._read() as c:
            value = c.execute(select(func.min(schedules.c.next_run_at))).scalar()
        return None if value is None else value.replace(tzinfo=dt.UTC)

    def due_schedules(self, now: dt.datetime) -> Iterator[Schedule]:
        with self._read() as c:
            rows = c.execute(select(schedules).where(schedules.c.next_run_at <= now).order_by(
                schedules.c.next_run_at, schedules.c.id)).all()
        for row in rows:
            yield schedule_from_row(row._mapping)

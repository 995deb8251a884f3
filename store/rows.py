"""Row <-> record: every conversion between a database row and the engine's records, in one place.

Rows arrive as tuples in their table's column order (``select(table)``, the hot statements), with the column
types' result processors already applied (times as aware UTC datetimes); JSON columns are parsed here, dates
kept as ISO text in the database are turned into ``date`` here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from definitions import Deadline, TimerKind
from workflow.calendar import DayOverride, OverrideKind
from workflow.notify import Channel, OutboxMessage, OutboxStatus
from workflow.ports import HistoryRecord, InstanceRecord, ObligationRecord, ObligationStatus, Schedule
from workflow.timers import TimerRecord, TimerStatus

from .tables import instances, obligations, outbox, timers

INSTANCE_COLUMNS = [c.name for c in instances.c]
TIMER_COLUMNS = [c.name for c in timers.c]
OUTBOX_COLUMNS = [c.name for c in outbox.c]
OBLIGATION_COLUMNS = [c.name for c in obligations.c]


def instance_from_row(row: Sequence[Any]) -> InstanceRecord:
    m = dict(zip(INSTANCE_COLUMNS, row, strict=True))
    return InstanceRecord(
        id=m["id"], definition_id=m["definition_id"], definition_version=m["definition_version"],
        business_key=m["business_key"], state=m["state"], version=m["version"], assignee=m["assignee"],
        data=json.loads(m["data"]), parent_id=m["parent_id"], created_at=m["created_at"],
        updated_at=m["updated_at"], head_hash=m["head_hash"], entry_seq=m["entry_seq"],
        suspended_at=m["suspended_at"], due_at=m["due_at"],
        effective_on=dt.date.fromisoformat(m["effective_on"]) if m["effective_on"] else None)


def history_from_row(row: Sequence[Any]) -> HistoryRecord:
    """A history row as selected by every history query (the table's column order), converted."""
    (instance_id, seq, event, from_state, to_state, actor_id, actor_role, actor_agency, at, payload, reason,
     definition_id, definition_version, request_id, prev_hash, digest, effective_on, changes) = row
    return HistoryRecord(instance_id, seq, event, from_state, to_state, actor_id, actor_role, actor_agency, at,
                         json.loads(payload), reason, definition_id, definition_version, request_id, prev_hash,
                         digest, effective_on, None if changes is None else json.loads(changes))


def timer_from_row(row: Sequence[Any]) -> TimerRecord:
    m = dict(zip(TIMER_COLUMNS, row, strict=True))
    return TimerRecord(
        id=m["id"], instance_id=m["instance_id"], name=m["name"], kind=TimerKind(m["kind"]),
        offset_days=m["offset_days"], event=m["event"], fence=m["fence"], status=TimerStatus(m["status"]),
        deadline=Deadline.model_validate_json(m["deadline"]), anchor=m["anchor"],
        extension=json.loads(m["extension"]) if m["extension"] else None, base_due=m["base_due"],
        due_at=m["due_at"], remaining=json.loads(m["remaining"]) if m["remaining"] else None,
        created_at=m["created_at"], fired_at=m["fired_at"], outcome=m["outcome"], obligation=m["obligation"])


def outbox_from_row(row: Sequence[Any]) -> OutboxMessage:
    m = dict(zip(OUTBOX_COLUMNS, row, strict=True))
    return OutboxMessage(
        id=m["id"], created_at=m["created_at"], instance_id=m["instance_id"], kind=m["kind"],
        channel=Channel(m["channel"]), recipient=m["recipient"], subject=m["subject"], body=m["body"],
        status=OutboxStatus(m["status"]), attempts=m["attempts"], next_attempt_at=m["next_attempt_at"],
        message_id=m["message_id"], last_error=m["last_error"], sent_at=m["sent_at"])


def obligation_from_row(row: Sequence[Any]) -> ObligationRecord:
    m = dict(zip(OBLIGATION_COLUMNS, row, strict=True))
    return ObligationRecord(
        id=m["id"], instance_id=m["instance_id"], name=m["name"], agency=m["agency"],
        cooperating=tuple(json.loads(m["cooperating"])), opened_seq=m["opened_seq"],
        opened_on=dt.date.fromisoformat(m["opened_on"]), started_on=dt.date.fromisoformat(m["started_on"]),
        presumed=bool(m["presumed"]), last_day=dt.date.fromisoformat(m["last_day"]), due_at=m["due_at"],
        status=ObligationStatus(m["status"]),
        closed_on=dt.date.fromisoformat(m["closed_on"]) if m["closed_on"] else None, closed_seq=m["closed_seq"])


def obligation_values(r: ObligationRecord) -> dict[str, Any]:
    """The columns an obligation record writes (all but its id, instance and name)."""
    return {"agency": r.agency, "cooperating": json.dumps(list(r.cooperating)), "opened_seq": r.opened_seq,
            "opened_on": r.opened_on.isoformat(), "started_on": r.started_on.isoformat(), "presumed": int(r.presumed),
            "last_day": r.last_day.isoformat(), "due_at": r.due_at, "status": r.status.value,
            "closed_on": r.closed_on.isoformat() if r.closed_on else None, "closed_seq": r.closed_seq}


def override_from_row(day: str, kind: str, reason: str) -> DayOverride:
    return DayOverride(dt.date.fromisoformat(day), OverrideKind(kind), reason)


def schedule_from_row(m: Mapping[Any, Any]) -> Schedule:
    return Schedule(m["id"], m["name"], m["definition_id"], m["cron"], tuple(json.loads(m["assignees"])),
                    m["key_template"], json.loads(m["data"]), m["next_run_at"], m["last_run_at"])

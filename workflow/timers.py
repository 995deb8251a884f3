"""Timer rows as values, and the arithmetic that arms, moves, suspends and resumes them.

A state's timers are armed when the state is entered (``arm``), fenced by the history sequence number
of that entry, and cancelled when it is left. Each row keeps its deadline spec, its anchor and any
extension, so a calendar override can recompute it later (``recompute``). A reminder fires at 08:00
province time ``offset_days`` before the last day of its period. Pure functions: no I/O, no clock.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from definitions import Deadline, DeadlineKind, Definition, Obligation, TimerKind

from .calendar import BusinessCalendar, Due, end_of_day, local_date, step
from .clock import PROVINCE_TZ

REMINDER_HOUR = 8  # province time
KIND_ORDER = {TimerKind.REMINDER.value: 0, TimerKind.ESCALATION.value: 1, TimerKind.TIMEOUT.value: 2}


class TimerStatus(StrEnum):
    PENDING = "pending"
    SUSPENDED = "suspended"
    FIRED = "fired"
    CANCELLED = "cancelled"  # the state it was armed for was left
    STALE = "stale"  # found due, but its state entry had already ended
    FAILED = "failed"  # its event was refused (outcome says why)


@dataclass(frozen=True)
class TimerRecord:
    id: int
    instance_id: int
    name: str
    kind: TimerKind
    offset_days: int
    event: str | None
    fence: int
    status: TimerStatus
    deadline: Deadline
    anchor: str
    extension: Mapping[str, Any] | None
    base_due: dt.datetime
    due_at: dt.datetime
    remaining: Mapping[str, Any] | None
    created_at: dt.datetime
    fired_at: dt.datetime | None = None
    outcome: str | None = None
    obligation: str | None = None  # armed for this obligation (fenced by its opening row), not for a state entry

    @property
    def sort_key(self) -> tuple[dt.datetime, int, int]:
        """Due order; at the same instant reminders, then escalations, then timeouts (a timeout leaves the
        state and would cancel an escalation due with it)."""
        return (self.due_at, KIND_ORDER[self.kind.value], self.id)


class AnchorMissing(ValueError):
    pass


def _anchor(spec: Deadline, now: dt.datetime, payload: Mapping[str, Any], data: Mapping[str, Any],
            entered_on: dt.date | None = None) -> str:
    if spec.anchor == "entry":
        # a state entered on an earlier day (paperwork entered late) counts from that day, not from the typing
        if entered_on is not None and entered_on < local_date(now):
            return entered_on.isoformat()
        return now.astimezone(dt.UTC).isoformat()
    source, name = spec.anchor.split(".", 1)
    value = (payload if source == "payload" else data).get(name)
    if not isinstance(value, str):
        raise AnchorMissing(f"the deadline counts from {spec.anchor}, which is not set")
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise AnchorMissing(f"the deadline counts from {spec.anchor}, which is not a date: {value!r}") from None
    return value


def resolve_deadline(spec: Deadline, data: Mapping[str, Any]) -> Deadline:
    """A ``from_data`` deadline is replaced by the spec stored in the instance's data (set by the plan)."""
    if spec.from_data is None:
        return spec
    value = data.get(spec.from_data)
    if not isinstance(value, Mapping):
        raise AnchorMissing(f"the deadline is taken from data.{spec.from_data}, which is not set")
    try:
        resolved = Deadline.model_validate(value)
    except ValueError as err:
        raise AnchorMissing(f"data.{spec.from_data} is not a deadline: {err}") from None
    if resolved.from_data is not None:
        raise AnchorMissing(f"data.{spec.from_data} must give a deadline, not refer to another field")
    return resolved


def parse_anchor(anchor: str) -> dt.datetime | dt.date:
    return dt.date.fromisoformat(anchor) if len(anchor) == 10 else dt.datetime.fromisoformat(anchor)


def reminder_due(base_due: dt.datetime, offset_days: int) -> dt.datetime:
    last_day = local_date(base_due - dt.timedelta(microseconds=1))
    day = last_day - dt.timedelta(days=offset_days)
    return dt.datetime.combine(day, dt.time(REMINDER_HOUR), PROVINCE_TZ).astimezone(dt.UTC)


def due_for(kind: TimerKind, base_due: dt.datetime, offset_days: int) -> dt.datetime:
    return reminder_due(base_due, offset_days) if kind is TimerKind.REMINDER else base_due


def arm(definition: Definition, state: str, instance_id: int, fence: int, now: dt.datetime,
        payload: Mapping[str, Any], data: Mapping[str, Any], calendar: BusinessCalendar,
        entered_on: dt.date | None = None) -> list[TimerRecord]:
    """The timer rows a state entry arms (ids 0 until stored), counted from the entry's effective date
    (``entered_on``) when that was an earlier day. Reminders already in the past are skipped:
    nobody is reminded of a deadline after the moment to act on the reminder has gone."""
    out: list[TimerRecord] = []
    for spec in definition.state(state).timers:
        deadline = resolve_deadline(spec.deadline, data)
        anchor = _anchor(deadline, now, payload, data, entered_on)
        due = calendar.due(deadline, parse_anchor(anchor))
        offsets = spec.offsets_days if spec.kind is TimerKind.REMINDER else (0,)
        for offset in offsets:
            due_at = due_for(spec.kind, due.due_at, offset)
            if spec.kind is TimerKind.REMINDER and due_at <= now:
                continue
            out.append(TimerRecord(
                id=0, instance_id=instance_id, name=spec.name, kind=spec.kind, offset_days=offset,
                event=spec.event, fence=fence, status=TimerStatus.PENDING, deadline=deadline,
                anchor=anchor, extension=None, base_due=due.due_at, due_at=due_at, remaining=None,
                created_at=now))
    return out


def arm_obligation(spec: Obligation, instance_id: int, fence: int, started_on: dt.date, base_due: dt.datetime,
                   now: dt.datetime, data: Mapping[str, Any]) -> list[TimerRecord]:
    """The timers an open obligation arms: reminders before its last day (those already past are skipped), an
    escalation at its deadline, a timeout firing ``timeout_event`` then. Fenced by the row that opened it."""
    deadline = resolve_deadline(spec.period, data)
    plan: list[tuple[TimerKind, int, str | None]] = [(TimerKind.REMINDER, d, None) for d in spec.remind_days]
    if spec.escalate:
        plan.append((TimerKind.ESCALATION, 0, None))
    if spec.timeout_event is not None:
        plan.append((TimerKind.TIMEOUT, 0, spec.timeout_event))
    out = []
    for kind, offset, event in plan:
        due_at = due_for(kind, base_due, offset)
        if kind is TimerKind.REMINDER and due_at <= now:
            continue
        out.append(TimerRecord(
            id=0, instance_id=instance_id, name=spec.name, kind=kind, offset_days=offset, event=event, fence=fence,
            status=TimerStatus.PENDING, deadline=deadline, anchor=started_on.isoformat(), extension=None,
            base_due=base_due, due_at=due_at, remaining=None, created_at=now, obligation=spec.name))
    return out


def extended(calendar: BusinessCalendar, base_due: dt.datetime, extension: Mapping[str, Any]) -> Due:
    """The end of a period after an extension: to a date, or by N days / N working days after its last day."""
    last = local_date(base_due - dt.timedelta(microseconds=1))
    if "to_date" in extension:
        day = dt.date.fromisoformat(extension["to_date"])
        return Due(day, end_of_day(day), (step("extended_to", day=day),))
    if "days" in extension:
        due = calendar.due(Deadline(days=int(extension["days"])), last)
    else:
        due = calendar.due(Deadline(working_days=int(extension["working_days"])), last)
    return replace(due, explained=(step("extended_from", day=last), *due.explained))


def recompute(timer: TimerRecord, calendar: BusinessCalendar) -> TimerRecord:
    """The timer with its deadline computed again (after a calendar override), extension re-applied."""
    base = calendar.due(timer.deadline, parse_anchor(timer.anchor)).due_at
    if timer.extension:
        base = extended(calendar, base, timer.extension).due_at
    return replace(timer, base_due=base, due_at=due_for(timer.kind, base, timer.offset_days))


def _counts_working_days(timer: TimerRecord) -> bool:
    return timer.deadline.kind is DeadlineKind.WORKING_DAYS and not (
        timer.extension and "working_days" not in timer.extension)


def suspend(timer: TimerRecord, now: dt.datetime, calendar: BusinessCalendar) -> TimerRecord:
    """Stop the clock: keep what remains (working days for a working-day period, else exact time)."""
    if _counts_working_days(timer):
        today, last = local_date(now), local_date(timer.base_due - dt.timedelta(microseconds=1))
        days = sum(1 for n in range(1, (last - today).days + 1)
                   if calendar.is_working_day(today + dt.timedelta(days=n)))
        remaining: dict[str, Any] = {"working_days": days}
    else:
        remaining = {"seconds": max(0.0, (timer.base_due - now).total_seconds())}
    return replace(timer, status=TimerStatus.SUSPENDED, remaining=remaining)


def resume(timer: TimerRecord, now: dt.datetime, calendar: BusinessCalendar) -> TimerRecord:
    """Restart the clock with the time that remained when it stopped."""
    remaining = timer.remaining or {"seconds": 0}
    if "working_days" in remaining:
        base = calendar.due(Deadline(working_days=int(remaining["working_days"])), local_date(now)).due_at
    else:
        base = now + dt.timedelta(seconds=float(remaining["seconds"]))
    return replace(timer, status=TimerStatus.PENDING, remaining=None, base_due=base,
                   due_at=due_for(timer.kind, base, timer.offset_days))


def to_json(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(dict(value), sort_keys=True)

"""Obligations: an instance's legal duties, each with its own clock, judged by the law and never by its state.

An obligation opens when one of its ``starts`` happens (on that event's effective date, on a date in its
payload such as ``received_on``, or presumed N working days later: an assumption), is due when its period
counted from that start ends (the business calendar, Civil Code art. 147-148), and is satisfied on the
effective date of an event in ``satisfied_by``. A later start of an open obligation (the recorded receipt
replacing the presumed one) restarts its clock. Reaching a cancelled final state waives it. A merger moves
it to the successor (``transfer``); an extension, a suspension or a calendar override moves its deadline
(``reschedule``).

Every change is written into the history row of the event that caused it (the row's ``obligations`` field,
covered by its hash). The ``obligations`` table is therefore a cache of the history: the picture on any date,
as known at any instant, is replayed from history rows alone (``replay``).

The four categories of the province's task-monitoring reports, judged at an instant ``at``:
``done_on_time`` (satisfied on or before its last day), ``done_late`` (satisfied after it), ``overdue`` (open,
its deadline passed by ``at``), ``within_deadline`` (open, not yet due). Waived obligations are not counted.
Pure functions: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from definitions import Deadline, Definition, Obligation

from .audit import ObligationState, follow_obligation, format_instant
from .calendar import BusinessCalendar, end_of_day, local_date
from .ports import HistoryRecord, ObligationRecord, ObligationStatus
from .timers import resolve_deadline

CATEGORIES = ("done_on_time", "done_late", "within_deadline", "overdue")
COOPERATING = "cooperating"  # the instance data key listing co-operating agencies (phối hợp), set by the plan


def category(status: str, last_day: dt.date, due_at: dt.datetime, closed_on: dt.date | None,
             at: dt.datetime) -> str | None:
    if status == ObligationStatus.WAIVED:
        return None
    if status == ObligationStatus.SATISFIED:
        assert closed_on is not None
        return "done_on_time" if closed_on <= last_day else "done_late"
    return "overdue" if due_at <= at else "within_deadline"


def days_late(last_day: dt.date, on: dt.date) -> int:
    """Calendar days past ``last_day`` on ``on`` (the day it was done, or today for one still open): the first day
    after the last day counts as 1; 0 when not past. The one count of days late every report and page uses."""
    return max(0, (on - last_day).days)


def days_past(due_at: dt.datetime | None, now: dt.datetime) -> int | None:
    """``days_late`` for a deadline instant (the end of its last day, province time): None when not past (or
    none), else at least 1."""
    if due_at is None or due_at > now:
        return None
    last_day = local_date(due_at - dt.timedelta(microseconds=1))
    return max(1, days_late(last_day, local_date(now)))


def end_of(day: dt.date) -> dt.datetime:
    """The last instant of ``day`` in the province: an as-of date is judged at its end."""
    return end_of_day(day) - dt.timedelta(microseconds=1)


@dataclass
class Changes:
    """What one event does to an instance's obligations: rows to write and the history's account of it."""

    rows: list[ObligationRecord] = dataclasses.field(default_factory=list)  # new (id 0) or updated
    log: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    late: bool = False  # an obligation was satisfied after its last day
    claims: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # starts claimed, not applied

    @property
    def opened(self) -> list[ObligationRecord]:
        """Rows that (re)started a clock with this event: their timers are to be armed."""
        return [r for r in self.rows if r.status is ObligationStatus.OPEN]

    @property
    def closed(self) -> list[ObligationRecord]:
        return [r for r in self.rows if r.status is not ObligationStatus.OPEN]


def _started(spec: Obligation, event: str, effective: dt.date, payload: Mapping[str, Any],
             calendar: BusinessCalendar) -> tuple[dt.date, bool] | None:
    """The start this event gives the obligation (day, presumed), or None if it does not start it."""
    for start in spec.starts:
        if start.event != event:
            continue
        day = effective
        if start.date is not None:
            value = payload.get(start.date)
            if not isinstance(value, str):
                continue
            day = dt.date.fromisoformat(value)
        if start.presumed_working_days is not None:
            presumed = calendar.due(Deadline(working_days=start.presumed_working_days), day)
            return presumed.last_day, True
        return day, False
    return None


def open_log(op: str, r: ObligationRecord) -> dict[str, Any]:
    return {"op": op, "name": r.name, "agency": r.agency, "cooperating": list(r.cooperating),
            "started_on": r.started_on.isoformat(), "presumed": r.presumed, "last_day": r.last_day.isoformat(),
            "due_at": format_instant(r.due_at)}


def on_event(definition: Definition, event: str, dest: str, effective: dt.date, seq: int,
             payload: Mapping[str, Any], data: Mapping[str, Any], agency: str,
             existing: Sequence[ObligationRecord], calendar: BusinessCalendar, instance_id: int,
             recorded_at: dt.datetime | None = None, interested: bool = False) -> Changes:
    """The obligations an event satisfies, opens, restarts and waives. Raises ``AnchorMissing`` or
    ``DeadlineOutOfRange`` if a period cannot be counted (the engine turns that into a refusal).

    No agency moves its own clock: when the act is the owing agency's own (``interested``), recorded at
    ``recorded_at`` after a presumed start's deadline had passed, a later start it states does not restart the
    clock. It is a **claim** (``claims``, and a ``claim`` entry in the history's account) that only the standing
    body or the Committee can accept (``workflow.facts``)."""
    changes = Changes()
    if not definition.obligations:
        return changes
    by_name = {o.name: o for o in existing}
    satisfied: set[str] = set()
    for spec in definition.obligations:
        record = by_name.get(spec.name)
        if record is not None and record.status is ObligationStatus.OPEN and event in spec.satisfied_by:
            late = effective > record.last_day
            changes.late = changes.late or late
            done = dataclasses.replace(record, status=ObligationStatus.SATISFIED, closed_on=effective, closed_seq=seq)
            changes.rows.append(done)
            changes.log.append({"op": "satisfy", "name": spec.name, "on": effective.isoformat(), "late": late})
            satisfied.add(spec.name)
            continue
        if record is not None and record.status is not ObligationStatus.OPEN:
            continue  # an obligation is owed once; a second round of the same duty does not reopen it
        start = _started(spec, event, effective, payload, calendar)
        if start is None:
            continue
        started_on, presumed = start
        due = calendar.due(resolve_deadline(spec.period, data), started_on)
        if (record is not None and record.presumed and interested and recorded_at is not None
                and recorded_at >= record.due_at and due.last_day > record.last_day):
            claim = {"name": spec.name, "started_on": started_on.isoformat(), "last_day": due.last_day.isoformat(),
                     "kept_last_day": record.last_day.isoformat()}
            changes.claims.append(claim)
            changes.log.append({"op": "claim", **claim})
            continue
        cooperating = tuple(str(c) for c in data.get(COOPERATING, ()) if isinstance(c, str))
        fresh = ObligationRecord(
            id=record.id if record else 0, instance_id=instance_id, name=spec.name, agency=agency,
            cooperating=cooperating, opened_seq=seq, opened_on=effective, started_on=started_on, presumed=presumed,
            last_day=due.last_day, due_at=due.due_at)
        changes.rows.append(fresh)
        changes.log.append(open_log("restart" if record else "open", fresh))
    if dest in definition.cancelled_states:
        for record in existing:
            if record.status is ObligationStatus.OPEN and record.name not in satisfied:
                changes.rows.append(dataclasses.replace(record, status=ObligationStatus.WAIVED, closed_on=effective,
                                                        closed_seq=seq))
                changes.log.append({"op": "waive", "name": record.name, "on": effective.isoformat()})
    return changes


def merge(existing: Sequence[ObligationRecord], changed: Iterable[ObligationRecord]) -> list[ObligationRecord]:
    """The instance's obligations after ``changed`` (matched by name)."""
    out = {o.name: o for o in existing}
    for record in changed:
        out[record.name] = record
    return list(out.values())


def earliest_open_due(records: Iterable[ObligationRecord]) -> dt.datetime | None:
    dues = [r.due_at for r in records if r.status is ObligationStatus.OPEN]
    return min(dues) if dues else None


# -- replay: the picture on a date from history alone --------------------------------------------------


@dataclass
class Replayed:
    """An obligation as the history says it stood."""

    instance_id: int
    name: str
    agency: str
    last_day: dt.date
    due_at: dt.datetime
    status: str = ObligationStatus.OPEN
    closed_on: dt.date | None = None
    extended_to: dt.date | None = None  # granted after the last day: still late, next escalation then

    def category(self, at: dt.datetime) -> str | None:
        return category(self.status, self.last_day, self.due_at, self.closed_on, at)


def effective_of(row: HistoryRecord) -> dt.date:
    """A row's effective date (rows written before effective dates existed: the day they were recorded)."""
    return dt.date.fromisoformat(row.effective_on) if row.effective_on else local_date(row.at)


def replay(rows: Iterable[HistoryRecord], day: dt.date, known_at: dt.datetime | None = None
           ) -> tuple[dict[tuple[int, str], Replayed], dict[int, int]]:
    """Obligations on ``day`` from history rows: rows effective by the end of ``day`` (and, with ``known_at``,
    recorded by then), applied in sequence order with the verifier's own fold (``audit.follow_obligation``).
    Also the escalations open then, per instance."""
    states: dict[tuple[int, str], ObligationState] = {}
    escalations: dict[int, set[int]] = {}
    for row in rows:
        if effective_of(row) > day or (known_at is not None and row.at > known_at):
            continue
        if row.event == "@escalated":
            escalations.setdefault(row.instance_id, set()).add(int(row.payload["escalation_id"]))
        elif row.event == "@escalation_acknowledged":
            escalations.get(row.instance_id, set()).discard(int(row.payload["escalation_id"]))
        for closed in row.payload.get("@escalations_closed", ()):
            escalations.get(row.instance_id, set()).discard(int(closed))
        for change in row.obligations or ():
            # a change dated apart from its row (an instance migrated to a new definition version replays its
            # past) counts from its own date
            dated = change.get("opened_on") if change["op"] in ("open", "restart") else change.get("on")
            if isinstance(dated, str) and dt.date.fromisoformat(dated) > day:
                continue
            key = (row.instance_id, str(change["name"]))
            followed = follow_obligation(states.get(key), change, row.seq)
            if followed is not None:
                states[key] = followed
    obligations = {key: _as_of(key, o, day) for key, o in states.items()}
    return obligations, {i: len(e) for i, e in escalations.items() if e}


def _as_of(key: tuple[int, str], o: ObligationState, day: dt.date) -> Replayed:
    """An obligation as it stood at the end of ``day``: closed only if it was closed by then (a correction can
    date a satisfaction earlier or later than the row that recorded it)."""
    closed = dt.date.fromisoformat(o.closed_on) if o.closed_on else None
    status = ObligationStatus(o.status)
    if closed is not None and closed > day:
        status, closed = ObligationStatus.OPEN, None
    return Replayed(key[0], key[1], o.agency, dt.date.fromisoformat(o.last_day), o.due_at, status, closed,
                    dt.date.fromisoformat(o.extended_to) if o.extended_to else None)

"""The JSON shapes of what the service shows (instances, history rows, timers, escalations, schedules,
notifications, agencies), written once and used by the CLI and the HTTP API alike."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from typing_extensions import TypedDict  # pydantic reads it as a response model on Python 3.11

from definitions import Definition
from store.timer_queries import EscalationRow
from workflow import Actor, Engine, HistoryRecord, InstanceRecord
from workflow.audit import format_instant, parse_instant
from workflow.authority import who_acts
from workflow.clock import PROVINCE_TZ
from workflow.notify import OutboxMessage
from workflow.obligations import category, days_late
from workflow.ports import AgencyRecord, ObligationRecord, Schedule
from workflow.timers import TimerRecord

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # what XML (xlsx, docx) cannot hold


def printable(text: str) -> str:
    """Text as a document can hold it: control characters a client sent, or an old row kept, left out (a report
    never fails on stored text)."""
    return CONTROL.sub("", text)


def cell(value: Any) -> Any:
    """A value safe in a spreadsheet cell: text that a spreadsheet would run as a formula (=HYPERLINK(...) typed
    into a reason by someone) gets a leading apostrophe, as OWASP advises for CSV; numbers stay numbers; control
    characters are left out."""
    if isinstance(value, str):
        value = printable(value)
        if value.startswith(FORMULA_STARTS):
            return "'" + value
    return value


def instant(value: dt.datetime | None) -> str | None:
    return None if value is None else format_instant(value)


def typed_date(value: str) -> dt.date | None:
    """A date as people type it: dd/mm/yyyy (as written here) or YYYY-MM-DD; None if it is neither. The CLI and
    the pages read dates through it (the pages' date fields are text inputs: the browser's date picker orders day
    and month by the computer's language, mm/dd/yyyy on an English Windows)."""
    value = value.strip()
    try:
        if "/" in value:
            return dt.datetime.strptime(value, "%d/%m/%Y").date()
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def local_time(value: dt.datetime | str | None) -> str:
    """An instant as people here read it: dd/mm/yyyy HH:MM in province time; a deadline at midnight reads as
    24:00 of its last day, as the law counts it ('' for none). Accepts the views' ISO text too."""
    if value is None or value == "":
        return ""
    moment = parse_instant(value) if isinstance(value, str) else value
    local = moment.astimezone(PROVINCE_TZ)
    if local.time() == dt.time(0):
        return f"{local - dt.timedelta(days=1):%d/%m/%Y} 24:00"
    return f"{local:%d/%m/%Y %H:%M}"


class InstanceView(TypedDict):
    id: int
    definition: str
    definition_version: int
    business_key: str
    state: str
    version: int
    assignee: str
    data: dict[str, Any]
    parent_id: int | None
    created_at: str | None
    updated_at: str | None
    due_at: str | None
    suspended_at: str | None
    head_hash: str
    allowed_events: list[str]
    effective_on: str | None
    next_actors: list[NextActorView]  # who can move the task on: plan role, agency (None: the Committee), acts


class ObligationView(TypedDict):
    name: str
    label: str  # in Vietnamese, as the definition says it
    agency: str  # who owes it
    cooperating: list[str]
    started_on: str  # the day its period counts from
    presumed: bool  # the start is presumed (no receipt recorded)
    last_day: str
    status: str  # open, satisfied, waived
    closed_on: str | None
    category: str | None  # done_on_time, done_late, within_deadline, overdue (None: waived)
    days_late: int  # calendar days past the last day (done late, or overdue now); 0 otherwise


class InstanceDetail(InstanceView):
    obligations: list[ObligationView]  # the task's legal duties, judged now


def obligation_view(o: ObligationRecord, label: str, now: dt.datetime) -> ObligationView:
    judged = category(o.status.value, o.last_day, o.due_at, o.closed_on, now)
    end = o.closed_on if o.closed_on is not None else now.astimezone(PROVINCE_TZ).date()
    late = days_late(o.last_day, end) if judged in ("done_late", "overdue") else 0
    return {"name": o.name, "label": label, "agency": o.agency, "cooperating": list(o.cooperating),
            "started_on": o.started_on.isoformat(), "presumed": o.presumed, "last_day": o.last_day.isoformat(),
            "status": o.status.value, "closed_on": o.closed_on.isoformat() if o.closed_on else None,
            "category": judged, "days_late": late}


class NextActorView(TypedDict):
    role: str  # officer (the owing agency), standing_body, committee
    agency: str | None
    events: list[str]


HistoryView = TypedDict("HistoryView", {
    "instance_id": int, "seq": int, "event": str, "from": str | None, "to": str, "actor_id": str,
    "actor_role": str, "actor_agency": str | None, "at": str | None, "payload": dict[str, Any],
    "reason": str | None, "definition_id": str, "definition_version": int, "request_id": str | None,
    "prev_hash": str, "hash": str, "effective_on": str | None, "obligations": list[Any] | None})


class TimerView(TypedDict):
    id: int
    name: str
    kind: str
    offset_days: int
    event: str | None
    status: str
    due_at: str | None
    base_due: str | None
    fired_at: str | None
    outcome: str | None


class EscalationView(TypedDict):
    id: int
    instance_id: int
    timer_id: int | None
    due_at: str | None
    created_at: str | None
    status: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    note: str | None


class ScheduleView(TypedDict):
    id: int
    name: str
    definition: str
    cron: str
    assignees: list[str]
    key_template: str
    next_run_at: str | None
    last_run_at: str | None


class NotificationView(TypedDict):
    id: int
    kind: str
    channel: str
    recipient: str | None
    subject: str
    status: str
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    sent_at: str | None
    message_id: str | None
    instance_id: int | None


class AgencyView(TypedDict):
    code: str
    kind: str
    status: str
    successor: str | None
    name: str
    short_name: str
    names: list[dict[str, Any]]


def instance_view(engine: Engine, instance: InstanceRecord, actor: Actor | None = None) -> InstanceView:
    """``allowed_events``: what ``actor`` may fire (every event of the state when no one is asking)."""
    return {
        "id": instance.id, "definition": instance.definition_id, "definition_version": instance.definition_version,
        "business_key": instance.business_key, "state": instance.state, "version": instance.version,
        "assignee": instance.assignee, "data": dict(instance.data), "parent_id": instance.parent_id,
        "created_at": instant(instance.created_at), "updated_at": instant(instance.updated_at),
        "due_at": instant(instance.due_at), "suspended_at": instant(instance.suspended_at),
        "head_hash": instance.head_hash, "allowed_events": list(engine.allowed_events(instance, actor)),
        "effective_on": instance.effective_on.isoformat() if instance.effective_on else None,
        "next_actors": [{"role": n.role, "agency": n.agency, "events": list(n.events)} for n in who_acts(
            engine.definition(instance.definition_id, instance.definition_version), instance.state,
            instance.assignee, engine.standing_body_of(instance))],
    }


def history_view(r: HistoryRecord) -> HistoryView:
    return {"instance_id": r.instance_id, "seq": r.seq, "event": r.event, "from": r.from_state, "to": r.to_state,
            "actor_id": r.actor_id, "actor_role": r.actor_role, "actor_agency": r.actor_agency, "at": instant(r.at),
            "payload": dict(r.payload), "reason": r.reason, "definition_id": r.definition_id,
            "definition_version": r.definition_version, "request_id": r.request_id, "prev_hash": r.prev_hash,
            "hash": r.hash, "effective_on": r.effective_on,
            "obligations": None if r.obligations is None else list(r.obligations)}


def timer_view(t: TimerRecord) -> TimerView:
    return {"id": t.id, "name": t.name, "kind": t.kind.value, "offset_days": t.offset_days, "event": t.event,
            "status": t.status.value, "due_at": instant(t.due_at), "base_due": instant(t.base_due),
            "fired_at": instant(t.fired_at), "outcome": t.outcome}


def escalation_view(e: EscalationRow) -> EscalationView:
    return {"id": e.id, "instance_id": e.instance_id, "timer_id": e.timer_id, "due_at": instant(e.due_at),
            "created_at": instant(e.created_at), "status": e.status, "acknowledged_at": instant(e.acknowledged_at),
            "acknowledged_by": e.acknowledged_by, "note": e.note}


def schedule_view(s: Schedule) -> ScheduleView:
    return {"id": s.id, "name": s.name, "definition": s.definition_id, "cron": s.cron,
            "assignees": list(s.assignees), "key_template": s.key_template, "next_run_at": instant(s.next_run_at),
            "last_run_at": instant(s.last_run_at)}


def notification_view(m: OutboxMessage, admin: bool) -> NotificationView:
    """An outbox row; addresses and delivery errors say where the network is, so only admins see them."""
    return {"id": m.id, "kind": m.kind, "channel": m.channel.value, "recipient": m.recipient if admin else None,
            "subject": m.subject, "status": m.status.value, "attempts": m.attempts,
            "next_attempt_at": instant(m.next_attempt_at), "last_error": m.last_error if admin else None,
            "sent_at": instant(m.sent_at), "message_id": m.message_id, "instance_id": m.instance_id}


def agency_view(agency: AgencyRecord) -> AgencyView:
    return {"code": agency.code, "kind": agency.kind, "status": agency.status, "successor": agency.successor,
            "name": agency.current.name, "short_name": agency.current.short_name,
            "names": [n.__dict__ for n in agency.names]}


def mermaid(definition: Definition, current: str | None = None) -> str:
    """The state diagram as Mermaid text (the dashboard draws SVG from the same graph)."""
    lines = ["stateDiagram-v2", f"    [*] --> {definition.initial_state.id}"]
    for transition in definition.transitions:
        for source in definition.sources(transition):
            lines.append(f"    {source} --> {transition.dest}: {transition.event}")
    lines.extend(f"    {s} --> [*]" for s in sorted(definition.final_states))
    if current is not None:
        lines.append(f"    classDef current fill:#fde68a\n    class {current} current")
    return "\n".join(lines) + "\n"


EXPORT_COLUMNS = ["instance_id", "seq", "event", "from", "to", "actor_id", "actor_role", "actor_agency", "at",
                  "payload", "reason", "definition_id", "definition_version", "request_id", "prev_hash", "hash",
                  "effective_on", "obligations"]


def export_lines(rows: Iterable[HistoryRecord], fmt: str) -> Iterator[str]:
    """The history as JSON lines or CSV (a header, then a line a row), streamed."""
    if fmt == "jsonl":
        for r in rows:
            yield json.dumps(history_view(r), ensure_ascii=False) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(EXPORT_COLUMNS)
    for r in rows:
        view: dict[str, Any] = dict(history_view(r))
        view["payload"] = json.dumps(view["payload"], ensure_ascii=False, sort_keys=True)
        if view["obligations"] is not None:
            view["obligations"] = json.dumps(view["obligations"], ensure_ascii=False, sort_keys=True)
        yield line(["" if view[c] is None else cell(view[c]) for c in EXPORT_COLUMNS])

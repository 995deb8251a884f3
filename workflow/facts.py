"""Facts changed only by a recorded decision of a body with authority: extension requests and decisions, receipt
claims, corrections.

- **Extensions.** The owing agency asks for more time (``request_extension``: reason, proposed last day, its
  document); the body that assigned the duty (the definition's ``extensions_by``: the Steering Committee or the
  standing body) grants, shortens or refuses it (``decide_extension``) with its document. A grant decided after
  the last day leaves the obligation late for the time already missed (``Deadlines.grant``).
- **Receipt claims.** A receipt the owing agency states after its presumed deadline does not restart its clock
  (``workflow.obligations``); the standing body or the Committee accepts it as the receipt date, or rejects it,
  with a reason (``decide_claim``).
- **Corrections.** A recorded fact (an act's effective date, a date in its payload, a part of its document) is
  put right by the standing body or an administrator (``correct``), with a reason and optionally its document.
  The original row stays; the correction is a new hashed row (``@corrected``) naming the row and the field, from
  what to what. The obligations that fact decided are restated (a ``correct`` entry in the history's account,
  dated from the earlier of the two dates, so a report as of any date uses the corrected fact and ``--known-at``
  before it still shows what was believed); their timers follow.

Each operation is one transaction and one history row; refusals write nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from definitions import Deadline, FieldType, Role, TimerKind

from .audit import format_instant
from .authority import STANDING_BODY, decide, held_roles
from .calendar import local_date
from .deadlines import Deadlines
from .engine import ESCALATIONS_CLOSED, RECEIPT_CLAIM, TIMER_ACTOR, Engine
from .errors import PayloadInvalid, Refused, RoleNotAllowed
from .obligations import Changes, merge
from .ports import Actor, HistoryRecord, InstanceRecord, ObligationRecord, ObligationStatus, UnitOfWork
from .timers import TimerStatus, arm_obligation, resolve_deadline

EXTENSION_REQUEST = "@extension_request"  # instance data: the owing agency's request awaiting a decision
CORRECTORS = (STANDING_BODY,)  # besides administrators, who may correct a recorded fact


class Facts:
    """Decisions that change recorded facts, over an engine (its store, clock and calendar)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.deadlines = Deadlines(engine)

    def allowed(self, instance: InstanceRecord, actor: Actor) -> frozenset[str]:
        """The decisions ``actor`` may take on ``instance`` now (what a page offers): ``ask`` for more time,
        ``decide`` a waiting request, ``extend`` on its own decision, ``claim`` (decide a receipt claim),
        ``correct`` a recorded fact. The operations check again; this only says what to show."""
        definition = self.engine.definition(instance.definition_id, instance.definition_version)
        if instance.state in definition.final_states or actor.role in (Role.AUDITOR, Role.SYSTEM):
            return frozenset({"correct"}) if self._may(instance, actor, CORRECTORS, admin_direct=True,
                                                       interested_refused=True) else frozenset()
        out = set()
        waiting = isinstance(instance.data.get(EXTENSION_REQUEST), Mapping)
        owing = actor.role is Role.OFFICER and actor.agency == instance.assignee
        if owing and not waiting and instance.due_at is not None:
            out.add("ask")
        try:
            self.deadlines.require_decider(instance, actor, "@deadline_extended")
            out.add("decide" if waiting else "extend")
        except RoleNotAllowed:
            pass
        if isinstance(instance.data.get(RECEIPT_CLAIM), Mapping) and self._may(
                instance, actor, (STANDING_BODY, Role.COMMITTEE.value), interested_refused=True):
            out.add("claim")
        if self._may(instance, actor, CORRECTORS, admin_direct=True, interested_refused=True):
            out.add("correct")
        return frozenset(out)

    def _may(self, instance: InstanceRecord, actor: Actor, roles: tuple[str, ...], **rules: bool) -> bool:
        try:
            self._require(instance, actor, roles, "", **rules)
        except RoleNotAllowed:
            return False
        return True

    # -- extensions ------------------------------------------------------------------------------

    def request_extension(self, instance_id: int, actor: Actor, *, reason: str, to_date: dt.date | None,
                          document: Any = None, effective_on: dt.date | None = None,
                          obligation: str | None = None) -> HistoryRecord:
        """The owing agency asks for more time (an administrator only on its behalf)."""
        event = "@extension_requested"
        self._require(self.engine.store.get_instance(instance_id), actor, (Role.OFFICER.value,), event)  # who first
        clean_document, errors = self.deadlines._decision_errors(reason, document, required=False)
        if to_date is None:
            errors.append(("to_date", "required"))
        else:
            errors += self.deadlines.extension_request(to_date, None, None)[1]
        if errors:
            raise PayloadInvalid(errors, instance_id=instance_id, event=event)
        assert to_date is not None
        with self.engine.store.transaction() as uow:
            instance = self.engine.load(uow, instance_id)
            where: dict[str, Any] = {"instance_id": instance_id, "event": event, "state": instance.state}
            self._require(instance, actor, (Role.OFFICER.value,), event)
            waiting = instance.data.get(EXTENSION_REQUEST)
            if isinstance(waiting, Mapping):
                raise Refused(f"an extension request (history row {waiting.get('seq')}) is already waiting for a "
                              "decision", **where)
            current = self.current_last_day(uow, instance, obligation)
            if to_date <= current:
                raise PayloadInvalid([("to_date", f"{to_date:%d/%m/%Y} is not after the current last day "
                                                  f"({current:%d/%m/%Y})")], **where)
            effective = self.deadlines.decision_date(instance, effective_on, clean_document, event)
            waiting = {"seq": instance.version + 1, "proposed": to_date.isoformat(), "obligation": obligation,
                       "by": actor.id, "current_last_day": current.isoformat()}
            payload = {"proposed": to_date.isoformat(), "current_last_day": current.isoformat(),
                       **({"obligation": obligation} if obligation else {}),
                       **({"document": clean_document} if clean_document else {})}
            updated = self.engine.append(uow, instance, event, actor, payload, reason, effective_on=effective,
                                         data={**instance.data, EXTENSION_REQUEST: waiting})
            return self._row(uow, updated)

    def current_last_day(self, uow: UnitOfWork, instance: InstanceRecord, obligation: str | None = None) -> dt.date:
        """The last day an extension would move: the latest of the open obligations' (a late grant's new date
        included), else the running deadline of the state. Refused if there is nothing to extend."""
        pending = uow.timers_of(instance.id, [TimerStatus.PENDING])
        ends = []
        for record in uow.obligations_of(instance.id):
            if record.status is ObligationStatus.OPEN and obligation in (None, record.name):
                ends.append(max([record.due_at, *(t.base_due for t in pending if t.obligation == record.name
                                                   and t.kind is not TimerKind.REMINDER)]))
        if not ends:
            ends = [t.base_due for t in pending if t.obligation is None]
        if not ends:
            raise Refused("nothing to extend: the task has no open obligation and no running deadline in this state",
                          instance_id=instance.id, event="@extension_requested", state=instance.state)
        return local_date(max(ends) - dt.timedelta(microseconds=1))

    def decide_extension(self, instance_id: int, actor: Actor, *, grant: bool, reason: str, document: Any,
                         to_date: dt.date | None = None, effective_on: dt.date | None = None) -> HistoryRecord:
        """The deciding body grants the request (to the proposed day, or to ``to_date``: shorter or longer) or
        refuses it, with its document."""
        event = "@deadline_extended" if grant else "@extension_refused"
        self.deadlines.require_decider(self.engine.store.get_instance(instance_id), actor, event)  # who first
        clean_document, errors = self.deadlines._decision_errors(reason, document, required=True)
        if errors:
            raise PayloadInvalid(errors, instance_id=instance_id, event=event)
        with self.engine.store.transaction() as uow:
            instance = self.engine.load(uow, instance_id)
            where: dict[str, Any] = {"instance_id": instance_id, "event": event, "state": instance.state}
            waiting = instance.data.get(EXTENSION_REQUEST)
            if not isinstance(waiting, Mapping):
                raise Refused("no extension request is waiting for a decision", **where)
            self.deadlines.require_decider(instance, actor, event)
            effective = self.deadlines.decision_date(instance, effective_on, clean_document, event)
            data = {k: v for k, v in instance.data.items() if k != EXTENSION_REQUEST}
            answer = {"request_seq": waiting.get("seq"), "proposed": waiting.get("proposed"),
                      "document": clean_document}
            if not grant:
                updated = self.engine.append(uow, instance, event, actor, answer, reason, effective_on=effective,
                                             data=data)
                return self._row(uow, updated)
            day = to_date or dt.date.fromisoformat(str(waiting["proposed"]))
            request, problems = self.deadlines.extension_request(day, None, None)
            if problems:
                raise PayloadInvalid(problems, **where)
            obligation = waiting.get("obligation")
            changed, payload, changes = self.deadlines.grant(uow, instance, request, effective,
                                                             obligation if isinstance(obligation, str) else None)
            updated = self.engine.append(
                uow, instance, event, actor, {**payload, **answer}, reason, effective_on=effective, data=data,
                **self.deadlines._moved_deadlines(uow, instance_id, changed, changes))
            return self._row(uow, updated)

    # -- receipt claims --------------------------------------------------------------------------

    def decide_claim(self, instance_id: int, actor: Actor, *, accept: bool, reason: str, document: Any = None
                     ) -> HistoryRecord:
        """The standing body (or the Committee) accepts a late-stated receipt as the receipt date, restarting
        the period from it, or rejects it (the presumed receipt stands)."""
        event = "@receipt_claim_accepted" if accept else "@receipt_claim_rejected"
        self._require(self.engine.store.get_instance(instance_id), actor, (STANDING_BODY, Role.COMMITTEE.value), event,
                      interested_refused=True)  # who first
        clean_document, errors = self.deadlines._decision_errors(reason, document, required=False)
        if errors:
            raise PayloadInvalid(errors, instance_id=instance_id, event=event)
        with self.engine.store.transaction() as uow:
            instance = self.engine.load(uow, instance_id)
            where: dict[str, Any] = {"instance_id": instance_id, "event": event, "state": instance.state}
            claim = instance.data.get(RECEIPT_CLAIM)
            if not isinstance(claim, Mapping):
                raise Refused("no receipt claim is waiting for a decision", **where)
            self._require(instance, actor, (STANDING_BODY, Role.COMMITTEE.value), event, interested_refused=True)
            data = {k: v for k, v in instance.data.items() if k != RECEIPT_CLAIM}
            payload: dict[str, Any] = {"claim_seq": claim.get("seq"), "obligation": claim.get("name"),
                                       "started_on": claim.get("started_on"),
                                       **({"document": clean_document} if clean_document else {})}
            changes = Changes()
            closed: list[int] = []
            if accept:
                record = self._obligation(uow, instance, str(claim.get("name")), where)
                started = dt.date.fromisoformat(str(claim["started_on"]))
                on = min(started, record.started_on)
                changes, closed = self._restate(uow, instance, record, on, started_on=started, presumed=False)
            if closed:
                payload[ESCALATIONS_CLOSED] = closed
            updated = self.engine.append(uow, instance, event, actor, payload, reason, obligations=changes,
                                         data=data, due_at=self._due(uow, instance, changes))
            return self._row(uow, updated)

    # -- corrections -----------------------------------------------------------------------------

    def correct(self, instance_id: int, actor: Actor, *, seq: int, field: str, value: str, reason: str,
                document: Any = None) -> HistoryRecord:
        """Put right one recorded fact of history row ``seq``: ``effective_on``, a date field of its payload
        (``received_on``), or a part of a document it carried (``document.number``, ``document.issued_on``, ...)."""
        event = "@corrected"
        self._require(self.engine.store.get_instance(instance_id), actor, CORRECTORS, event, admin_direct=True,
                      interested_refused=True)
        clean_document, errors = self.deadlines._decision_errors(reason, document, required=False)
        if errors:
            raise PayloadInvalid(errors, instance_id=instance_id, event=event)
        with self.engine.store.transaction() as uow:
            instance = self.engine.load(uow, instance_id)
            where: dict[str, Any] = {"instance_id": instance_id, "event": event, "state": instance.state}
            self._require(instance, actor, CORRECTORS, event, admin_direct=True, interested_refused=True)
            row = uow.history_row(instance_id, seq)
            if row is None or (row.event.startswith("@") and row.event != "@start"):
                raise PayloadInvalid([("seq", f"row {seq} is not an act of this task (only acts and the start "
                                              "record facts that can be corrected)")], **where)
            history = self.engine.store.history(instance_id)
            old, kind = self._current_value(history, row, field, where)
            new = self._checked_value(history, kind, value, field, seq, where)
            if new == old:
                raise PayloadInvalid([("value", f"{value!r} is what the record already says")], **where)
            changes, closed, dated = Changes(), [], row.effective_on
            definition = self.engine.definition(instance.definition_id, instance.definition_version)
            if kind == "date":
                old_day, new_day = dt.date.fromisoformat(str(old)), dt.date.fromisoformat(str(new))
                dated = min(old_day, new_day).isoformat()
                for record in uow.obligations_of(instance_id):
                    starts_here = record.opened_seq == seq and self._starts_from(definition, record.name,
                                                                               row.event, field)
                    closes_here = record.closed_seq == seq and field == "effective_on"
                    if not (starts_here or closes_here):
                        continue
                    more, gone = self._restate(
                        uow, instance, record, min(old_day, new_day),
                        started_on=self._start(definition, record, row.event, new_day) if starts_here else None,
                        closed_on=new_day if closes_here else None)
                    changes.rows += more.rows
                    changes.log += more.log
                    closed += gone
            data, bound = self._corrected_data(instance, history, row, field, old, new)
            payload: dict[str, Any] = {"corrects": seq, "event": row.event, "field": field, "from": old, "to": new,
                                       **({"document": clean_document} if clean_document else {})}
            if closed:
                payload[ESCALATIONS_CLOSED] = closed
            updated = self.engine.append(uow, instance, event, actor, payload, reason, obligations=changes,
                                         effective_on=dt.date.fromisoformat(str(dated)) if dated else None,
                                         bound=bound, data=data, due_at=self._due(uow, instance, changes))
            return self._row(uow, updated)

    def _current_value(self, history: list[HistoryRecord], row: HistoryRecord, field: str,
                       where: dict[str, Any]) -> tuple[Any, str]:
        """What the record says now for ``field`` of ``row`` (after earlier corrections), and its kind."""
        latest: Any = None
        found = False
        for later in history:
            if later.event == "@corrected" and later.payload.get("corrects") == row.seq \
                    and later.payload.get("field") == field:
                latest, found = later.payload.get("to"), True
        definition = self.engine.definition(row.definition_id, row.definition_version)
        transition = None if row.from_state is None else definition.transition_from(row.from_state, row.event)
        specs = transition.payload if transition is not None else {}
        if field == "effective_on":
            return (latest if found else row.effective_on), "date"
        name, _, part = field.partition(".")
        spec = specs.get(name)
        if spec is not None and not part and spec.type is FieldType.DATE:
            return (latest if found else row.payload.get(name)), "date"
        if spec is not None and part and spec.type is FieldType.DOCUMENT and isinstance(row.payload.get(name), dict):
            kind = "date" if part == "issued_on" else "text"
            if part not in ("number", "issued_on", "summary", "signer"):
                raise PayloadInvalid([("field", f"{part!r} is not a part of a document (number, issued_on, "
                                                "summary, signer)")], **where)
            return (latest if found else row.payload[name].get(part)), kind
        fields = ["effective_on", *(n for n, s in specs.items() if s.type is FieldType.DATE),
                  *(f"{n}.number" for n, s in specs.items() if s.type is FieldType.DOCUMENT)]
        raise PayloadInvalid([("field", f"{field!r} is not a fact of row {row.seq} that can be corrected "
                                        f"(facts: {', '.join(fields)})")], **where)

    def _checked_value(self, history: list[HistoryRecord], kind: str, value: str, field: str, row_seq: int,
                       where: dict[str, Any]) -> str:
        value = (value or "").strip()
        if kind == "text":
            if not value or "\n" in value or len(value) > 1000:
                raise PayloadInvalid([("value", "must be one line of 1 to 1000 characters")], **where)
            return value
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise PayloadInvalid([("value", f"{value!r} is not a date (YYYY-MM-DD)")], **where) from None
        self.engine.effective_date(day, None, field="value", **where)  # not in the future, not before 2000
        started = history[0].effective_on if history else None
        if started and day.isoformat() < started and not (field == "effective_on" and row_seq == 1):
            raise PayloadInvalid([("value", f"{day:%d/%m/%Y} is before the task began "
                                            f"({dt.date.fromisoformat(started):%d/%m/%Y})")], **where)
        return day.isoformat()

    @staticmethod
    def _starts_from(definition: Any, name: str, event: str, field: str) -> bool:
        spec = next((o for o in definition.obligations if o.name == name), None)
        if spec is None:
            return False
        return any(s.event == event and ((s.date is None and field == "effective_on") or s.date == field)
                   for s in spec.starts)

    def _start(self, definition: Any, record: ObligationRecord, event: str, day: dt.date) -> dt.date:
        """The day an obligation's period counts from when its start is ``day`` (a presumption re-applied)."""
        spec = next(o for o in definition.obligations if o.name == record.name)
        start = next(s for s in spec.starts if s.event == event)
        if start.presumed_working_days is not None:
            return self.engine.calendar.due(Deadline(working_days=start.presumed_working_days), day).last_day
        return day

    @staticmethod
    def _corrected_data(instance: InstanceRecord, history: list[HistoryRecord], row: HistoryRecord, field: str,
                        old: Any, new: Any) -> tuple[dict[str, Any], dt.date | None]:
        """The instance's data with the corrected value where it holds the old one, and its effective-date bound
        (the latest effective date of its acts) when an act's date moved."""
        data = dict(instance.data)
        name, _, part = field.partition(".")
        if part and isinstance(data.get(name), dict) and data[name].get(part) == old:
            data[name] = {**data[name], part: new}
        elif not part and field != "effective_on" and data.get(name) == old:
            data[name] = new
        bound = None
        if field == "effective_on":
            dates = [new if r.seq == row.seq else r.effective_on for r in history
                     if (r.effective_on and not r.event.startswith("@")) or r.seq == row.seq]
            bound = dt.date.fromisoformat(max(str(d) for d in dates if d)) if dates else None
        return data, bound

    # -- shared ----------------------------------------------------------------------------------

    def _require(self, instance: InstanceRecord, actor: Actor, roles: tuple[str, ...], event: str, *,
                 admin_direct: bool = False, interested_refused: bool = False) -> None:
        held = held_roles(actor.role, actor.agency, instance.assignee, self.engine.standing_body_of(instance))
        if interested_refused and actor.role is Role.OFFICER and actor.agency == instance.assignee:
            held = frozenset()  # the interested party never decides its own clock
        if admin_direct and actor.role is Role.ADMIN:
            return
        if not decide(roles, held, actor.role).allowed:
            raise RoleNotAllowed(actor.role.value, [*roles, *(["admin"] if admin_direct else [])],
                                 instance_id=instance.id, event=event, state=instance.state)

    # -- a revised plan ----------------------------------------------------------------------------

    def redate(self, uow: UnitOfWork, instance: InstanceRecord, due: Mapping[str, Any] | None,
               as_written: str | None, actor: Actor, reason: str, on: dt.date, payload: Mapping[str, Any]
               ) -> InstanceRecord:
        """The plan's deadline for this task changed (a revised plan approved by the body with authority): its
        data's ``due`` replaced and every open obligation counted from it restated from its own start (a
        ``correct`` entry dated ``on``, so a report as of an earlier day keeps the old deadline); one
        ``@plan_revised`` row. The caller checked who approves."""
        data = {k: v for k, v in instance.data.items() if k != "due"}
        if due is not None:
            data["due"] = dict(due)
        data["deadline_as_written"] = as_written
        moved = dataclasses.replace(instance, data=data)
        definition = self.engine.definition(instance.definition_id, instance.definition_version)
        periods = {o.name: o.period for o in definition.obligations}
        changes, closed = Changes(), []
        for record in uow.obligations_of(instance.id):
            period = periods.get(record.name)
            if record.status is not ObligationStatus.OPEN or period is None or period.from_data != "due" \
                    or due is None:
                continue
            more, gone = self._restate(uow, moved, record, on, started_on=record.started_on)
            changes.rows += more.rows
            changes.log += more.log
            closed += gone
        body = {**payload, "deadline_as_written": as_written,
                **({ESCALATIONS_CLOSED: closed} if closed else {})}
        return self.engine.append(uow, instance, "@plan_revised", actor, body, reason, obligations=changes,
                                  effective_on=on, data=data, due_at=self._due(uow, instance, changes))

    @staticmethod
    def _obligation(uow: UnitOfWork, instance: InstanceRecord, name: str, where: dict[str, Any]) -> ObligationRecord:
        found = next((o for o in uow.obligations_of(instance.id) if o.name == name), None)
        if found is None:
            raise Refused(f"the task has no obligation {name!r}", **where)
        return found

    def _restate(self, uow: UnitOfWork, instance: InstanceRecord, record: ObligationRecord, on: dt.date, *,
                 started_on: dt.date | None = None, closed_on: dt.date | None = None,
                 presumed: bool | None = None) -> tuple[Changes, list[int]]:
        """An obligation with a corrected start (its period counted again) or a corrected day it was done: the
        row, its ``correct`` account, its timers re-armed when it is open, and the escalations closed whose
        ground is gone (the new deadline has not passed, or it was done on time)."""
        definition = self.engine.definition(instance.definition_id, instance.definition_version)
        spec = next(o for o in definition.obligations if o.name == record.name)
        now = self.engine.clock.now()
        fixed = record
        if started_on is not None:
            due = self.engine.calendar.due(resolve_deadline(spec.period, instance.data), started_on)
            fixed = dataclasses.replace(fixed, started_on=started_on, last_day=due.last_day, due_at=due.due_at,
                                        presumed=record.presumed if presumed is None else presumed)
        if closed_on is not None:
            fixed = dataclasses.replace(fixed, closed_on=closed_on)
        changes = Changes(rows=[fixed], log=[{
            "op": "correct", "name": fixed.name, "agency": fixed.agency, "status": fixed.status.value,
            "started_on": fixed.started_on.isoformat(), "last_day": fixed.last_day.isoformat(),
            "due_at": format_instant(fixed.due_at), "closed_on": fixed.closed_on.isoformat() if fixed.closed_on
            else None, "on": on.isoformat()}])
        if fixed.status is ObligationStatus.OPEN and fixed.due_at != record.due_at:
            uow.cancel_obligation_timers(instance.id, [fixed.name], now)
            escalated = any(t.obligation == fixed.name and t.fence == fixed.opened_seq and
                            t.kind is TimerKind.ESCALATION for t in uow.timers_of(instance.id, [TimerStatus.FIRED]))
            fresh = [t for t in arm_obligation(spec, instance.id, fixed.opened_seq, fixed.started_on, fixed.due_at,
                                               now, instance.data)
                     if not (escalated and t.kind is TimerKind.ESCALATION and t.due_at <= now)]
            uow.insert_timers(fresh)
        grounded = fixed.due_at <= now if fixed.status is ObligationStatus.OPEN else (
            fixed.closed_on is not None and fixed.closed_on > fixed.last_day)
        closed = []
        if not grounded:
            note = (f"Hạn được xác định lại: {fixed.last_day:%d/%m/%Y}, không còn quá hạn")
            for escalation_id, obligation in uow.open_escalations_of(instance.id):
                if obligation == fixed.name:
                    uow.acknowledge_escalation(escalation_id, TIMER_ACTOR.id, note, now)
                    closed.append(escalation_id)
        return changes, closed

    @staticmethod
    def _due(uow: UnitOfWork, instance: InstanceRecord, changes: Changes) -> dt.datetime | None:
        """The instance's deadline after its obligations change (``changes``, not yet written)."""
        dues = [o.due_at for o in merge(uow.obligations_of(instance.id), changes.rows)
                if o.status is ObligationStatus.OPEN]
        states = [t.base_due for t in uow.timers_of(instance.id, [TimerStatus.PENDING])
                  if t.obligation is None and t.kind is not TimerKind.REMINDER]
        given = dues + states
        return min(given) if given else None

    @staticmethod
    def _row(uow: UnitOfWork, instance: InstanceRecord) -> HistoryRecord:
        row = uow.history_row(instance.id, instance.version)
        assert row is not None
        return row

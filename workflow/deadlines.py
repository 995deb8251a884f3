"""The legal clock: timers firing, deadline extensions, suspension, calendar overrides, escalations.

Every operation here is one transaction that writes its effect and, when an instance is touched, a
history row (``@escalated``, ``@deadline_extended``, ``@suspended``, ``@resumed``, ``@deadline_changed``,
``@escalation_acknowledged``) so the audit trail says who moved which deadline, when and why.

Timers fire exactly once in effect: a due timer is claimed, checked against the state entry that armed
it (its fence), applied and marked fired in one transaction. Firing twice, late, or after the state
moved on changes nothing beyond the first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from definitions import Role, TimerKind

from .audit import format_instant
from .authority import decide, held_roles
from .calendar import DayOverride, OverrideKind, local_date
from .clock import PROVINCE_TZ
from .engine import TIMER_ACTOR, Engine, deadline_of, earliest
from .errors import PayloadInvalid, Refused, RoleNotAllowed
from .obligations import Changes, earliest_open_due, merge
from .payload import DOCUMENT_REF, check_document
from .ports import Actor, InstanceRecord, ObligationStatus, UnitOfWork
from .timers import TimerRecord, TimerStatus, arm_obligation, due_for, extended, recompute, resume, suspend

LAST_DAY = dt.date(2200, 12, 31)  # as far as definitions may count (definitions.model)
CLOCK_ROLES = (Role.ADMIN, Role.COMMITTEE)  # may extend, suspend and resume deadlines
OVERRIDE_ROLES = (Role.ADMIN,)
ACK_ROLES = (Role.COMMITTEE, Role.ADMIN)


@dataclass(frozen=True)
class TimerOutcome:
    timer_id: int
    instance_id: int
    name: str
    kind: str
    due_at: dt.datetime
    status: TimerStatus
    outcome: str
    fired_at: dt.datetime | None = None

    @property
    def lateness(self) -> float:
        """Seconds between the due time and the firing."""
        return 0.0 if self.fired_at is None else (self.fired_at - self.due_at).total_seconds()


def _require(actor: Actor, roles: Sequence[Role], what: str, instance_id: int | None = None) -> None:
    if actor.role not in roles:
        raise RoleNotAllowed(actor.role.value, [r.value for r in roles], instance_id=instance_id, event=what,
                             state=None)


def _due_text(instant: dt.datetime) -> str:
    return format_instant(instant)


def _said(instant: dt.datetime) -> str:
    """An end of period as a history's reason says it: "24 giờ 00 ngày 09/01/2023" (province time)."""
    local = instant.astimezone(PROVINCE_TZ)
    if local.time() == dt.time(0):
        return f"24 giờ 00 ngày {local - dt.timedelta(days=1):%d/%m/%Y}"
    return f"{local:%H} giờ {local:%M} ngày {local:%d/%m/%Y}"


class Deadlines:
    """Deadline operations over an engine (its store, clock and calendar)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- timers ----------------------------------------------------------------------------------

    def fire_due(self, limit: int = 200, claimer: str = "local") -> list[TimerOutcome]:
        """Fire the timers due now, in due order, at most ``limit``, in one transaction."""
        now = self.engine.clock.now()
        outcomes: list[TimerOutcome] = []
        with self.engine.store.transaction() as uow:
            for timer in uow.claim_due_timers(now, limit, claimer):
                status, outcome = self._fire_one(uow, timer, now)
                uow.update_timer(dataclasses.replace(timer, status=status, fired_at=now, outcome=outcome))
                outcomes.append(TimerOutcome(timer.id, timer.instance_id, timer.name, timer.kind.value,
                                             timer.due_at, status, outcome, now))
        return outcomes

    def _fire_one(self, uow: UnitOfWork, timer: TimerRecord, now: dt.datetime) -> tuple[TimerStatus, str]:
        instance = self.engine.load(uow, timer.instance_id)
        if timer.obligation is not None:
            return self._fire_obligation(uow, timer, instance)
        if instance.entry_seq != timer.fence or instance.suspended_at is not None:
            return TimerStatus.STALE, f"state entry {timer.fence} had ended (now at entry {instance.entry_seq})"
        if timer.kind is TimerKind.REMINDER:
            self.engine.notify(uow, instance, "reminder", f"timer-{timer.id}", timer.base_due, timer.offset_days)
            return TimerStatus.FIRED, "assignee reminded"
        if timer.kind is TimerKind.ESCALATION:
            instance, escalation = self.engine.escalate(uow, instance, timer.id, timer.base_due, f"timer {timer.name}")
            if timer.event is None:
                return TimerStatus.FIRED, f"escalation {escalation} opened"
        assert timer.event is not None
        reason = f"Hết thời hạn: {_said(timer.base_due)}"
        try:
            result = self.engine.apply(uow, instance, timer.event, TIMER_ACTOR, {}, reason)
        except Refused as refused:
            return TimerStatus.FAILED, f"event {timer.event!r} refused: {refused}"
        return TimerStatus.FIRED, f"fired {timer.event!r}: {instance.state} -> {result.instance.state}"

    def _fire_obligation(self, uow: UnitOfWork, timer: TimerRecord, instance: InstanceRecord
                         ) -> tuple[TimerStatus, str]:
        """An obligation's timer acts while the obligation is open at the start that armed it, whatever state
        the instance is in: lateness belongs to the duty, not to a step."""
        found = next((o for o in uow.obligations_of(instance.id) if o.name == timer.obligation), None)
        if found is None or found.status is not ObligationStatus.OPEN or found.opened_seq != timer.fence:
            return TimerStatus.STALE, f"obligation {timer.obligation} is no longer open at that start"
        if instance.suspended_at is not None:
            return TimerStatus.STALE, "the legal clock is suspended"
        if timer.kind is TimerKind.REMINDER:
            self.engine.notify(uow, instance, "reminder", f"timer-{timer.id}", timer.base_due, timer.offset_days)
            return TimerStatus.FIRED, "assignee reminded"
        if timer.kind is TimerKind.ESCALATION:
            _, escalation = self.engine.escalate(uow, instance, timer.id, timer.base_due,
                                                 f"obligation {timer.obligation}")
            return TimerStatus.FIRED, f"escalation {escalation} opened"
        assert timer.event is not None
        if timer.event not in self.engine.definition(instance.definition_id,
                                                     instance.definition_version).events_from(instance.state):
            return TimerStatus.FIRED, f"{timer.event!r} does not apply in state {instance.state!r}"
        reason = f"Hết thời hạn: {_said(timer.base_due)}"
        result = self.engine.apply(uow, instance, timer.event, TIMER_ACTOR, {}, reason)
        return TimerStatus.FIRED, f"fired {timer.event!r}: {instance.state} -> {result.instance.state}"

    def rescheduled(self, uow: UnitOfWork, instance_id: int, timers: Sequence[TimerRecord]) -> Changes:
        """Open obligations follow their moved timers (an extension, a resumption, a calendar override)."""
        ends = {t.obligation: t for t in timers if t.obligation and t.kind is not TimerKind.REMINDER}
        changes = Changes()
        if not ends:
            return changes
        for record in uow.obligations_of(instance_id):
            timer = ends.get(record.name)
            end = None if timer is None else timer.base_due
            if record.status is not ObligationStatus.OPEN or timer is None or end is None or end == record.due_at:
                continue
            granted = (timer.extension or {}).get("to_date")
            if granted and dt.date.fromisoformat(str(granted)) > record.last_day:
                # extended after its last day: the lateness stays, only the extension's end moves
                changes.log.append({"op": "extend", "name": record.name, "due_at": format_instant(end),
                                    "last_day": local_date(end - dt.timedelta(microseconds=1)).isoformat(),
                                    "on": local_date(self.engine.clock.now()).isoformat()})
                continue
            moved = dataclasses.replace(record, due_at=end, last_day=local_date(end - dt.timedelta(microseconds=1)))
            changes.rows.append(moved)
            changes.log.append({"op": "reschedule", "name": moved.name, "last_day": moved.last_day.isoformat(),
                                "due_at": format_instant(moved.due_at)})
        return changes

    def _moved_deadlines(self, uow: UnitOfWork, instance_id: int, timers: Sequence[TimerRecord],
                         changes: Changes | None = None) -> dict[str, Any]:
        """``append``'s arguments after timers moved: the obligations' changes (``changes``, or those that follow
        the moved timers) and the instance's deadline."""
        if changes is None:
            changes = self.rescheduled(uow, instance_id, timers)
        obligations = merge(uow.obligations_of(instance_id), changes.rows)
        state_due = deadline_of([t for t in uow.timers_of(instance_id, [TimerStatus.PENDING]) if t.obligation is None])
        return {"obligations": changes, "due_at": earliest(state_due, earliest_open_due(obligations))}

    # -- extensions and suspension ---------------------------------------------------------------

    def extend(self, instance_id: int, actor: Actor, *, reason: str, document: Any, to_date: dt.date | None = None,
               days: int | None = None, working_days: int | None = None, effective_on: dt.date | None = None,
               obligation: str | None = None) -> list[TimerRecord]:
        """The deciding body moves a deadline on its own decision (``document``: its reference or its parts),
        taking effect on ``effective_on`` (default: the decision's date of issue, else today). See ``grant``."""
        self.require_decider(self.engine.store.get_instance(instance_id), actor, "@deadline_extended")  # who first
        clean_document, errors = self._decision_errors(reason, document, required=True)
        request, problems = self.extension_request(to_date, days, working_days)
        errors += problems
        if errors:
            raise PayloadInvalid(errors, instance_id=instance_id, event="@deadline_extended")
        with self.engine.store.transaction() as uow:
            instance = self.engine.load(uow, instance_id)
            self.require_decider(instance, actor, "@deadline_extended")
            effective = self.decision_date(instance, effective_on, clean_document, "@deadline_extended")
            changed, payload, changes = self.grant(uow, instance, request, effective, obligation)
            self.engine.append(uow, instance, "@deadline_extended", actor, {**payload, "document": clean_document},
                               reason, effective_on=effective,
                               **self._moved_deadlines(uow, instance_id, changed, changes))
        return changed

    @staticmethod
    def extension_request(to_date: dt.date | None, days: int | None, working_days: int | None
                          ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """An extension as asked (to a date, or by N days / N working days after the current last day), and
        what is wrong with it."""
        given = [v for v in (to_date, days, working_days) if v is not None]
        errors = []
        if len(given) != 1:
            errors.append(("extension", "give exactly one of a date, a number of days, a number of working days"))
        if any(isinstance(v, int) and v <= 0 for v in given):
            errors.append(("extension", "must be a positive number of days"))
        if to_date is not None and not dt.date(2000, 1, 1) <= to_date <= LAST_DAY:
            errors.append(("to_date", f"{to_date:%d/%m/%Y} is outside the calendar "
                                      f"(01/01/2000 to {LAST_DAY:%d/%m/%Y})"))
        request = ({"to_date": to_date.isoformat()} if to_date else {"days": days} if days
                   else {"working_days": working_days})
        return request, errors

    def require_decider(self, instance: InstanceRecord, actor: Actor, event: str) -> None:
        """Only the body that assigned the duty decides its deadline (the definition's ``extensions_by``: the
        Committee, or the standing body), or an administrator on its behalf; never the agency that owes it."""
        definition = self.engine.definition(instance.definition_id, instance.definition_version)
        roles = definition.extensions_by
        held = held_roles(actor.role, actor.agency, instance.assignee, self.engine.standing_body_of(instance))
        if actor.role is Role.OFFICER and actor.agency == instance.assignee:
            held = frozenset()  # the interested party never decides its own deadline
        if not decide(roles, held, actor.role).allowed:
            raise RoleNotAllowed(actor.role.value, list(roles), instance_id=instance.id, event=event,
                                 state=instance.state)

    def decision_date(self, instance: InstanceRecord, given: dt.date | None, document: Any, event: str) -> dt.date:
        """A decision takes effect on ``given``, else on its document's date of issue, else today; not in the
        future, not before the task began."""
        field = "effective_on"
        if given is None and isinstance(document, dict) and document.get("issued_on"):
            given, field = dt.date.fromisoformat(document["issued_on"]), "document.issued_on"
        started = self.started_on(instance)
        day = self.engine.effective_date(given, None, instance_id=instance.id, event=event, state=instance.state,
                                         field=field)
        if started is not None and day < started:
            raise PayloadInvalid([(field, f"{day:%d/%m/%Y} is before the task began ({started:%d/%m/%Y})")],
                                 instance_id=instance.id, event=event, state=instance.state)
        return day

    def started_on(self, instance: InstanceRecord) -> dt.date | None:
        first = self.engine.store.history(instance.id)[:1]
        return dt.date.fromisoformat(first[0].effective_on) if first and first[0].effective_on else None

    def grant(self, uow: UnitOfWork, instance: InstanceRecord, request: dict[str, Any], effective: dt.date,
              obligation: str | None = None) -> tuple[list[TimerRecord], dict[str, Any], Changes]:
        """Move the deadlines an extension decided on ``effective`` moves: every open obligation (or the one
        named), else the running deadline of the current state. An obligation whose last day had passed when
        the decision took effect stays late for the time already missed: its last day is kept, its reminders and
        escalation move to the new date (``extend`` in the history's account). Returns the timers moved and the
        history payload and the obligations' changes (for ``append``)."""
        where: dict[str, Any] = {"instance_id": instance.id, "event": "@deadline_extended", "state": instance.state}
        if instance.suspended_at is not None:
            raise Refused("the deadline is suspended; resume it before extending", **where)
        calendar, now = self.engine.calendar, self.engine.clock.now()
        definition = self.engine.definition(instance.definition_id, instance.definition_version)
        specs = {o.name: o for o in definition.obligations}
        open_ = [o for o in uow.obligations_of(instance.id) if o.status is ObligationStatus.OPEN
                 and (obligation is None or o.name == obligation)]
        if obligation is not None and not open_:
            raise PayloadInvalid([("obligation", f"{obligation!r} is not an open obligation of this task")], **where)
        pending = uow.timers_of(instance.id, [TimerStatus.PENDING])
        changes = Changes()
        changed: list[TimerRecord] = []
        moves: list[dict[str, Any]] = []
        steps: list[Any] = []
        for record in open_:
            armed = [t for t in pending if t.obligation == record.name and t.fence == record.opened_seq]
            base = max([record.due_at, *(t.base_due for t in armed if t.kind is not TimerKind.REMINDER)])
            current = local_date(base - dt.timedelta(microseconds=1))
            due = extended(calendar, base, request)
            if due.due_at <= base:
                raise PayloadInvalid([("extension", f"{due.last_day:%d/%m/%Y} is not after the current last day "
                                                    f"({current:%d/%m/%Y})")], **where)
            late = effective > record.last_day
            move = {"name": record.name, "from_last_day": current.isoformat(), "new_last_day": due.last_day.isoformat(),
                    "due_at": _due_text(due.due_at), "late": late}
            moves.append(move)
            steps = steps or list(due.steps)
            if late:  # lateness already incurred stays; only the next escalation moves
                changes.log.append({"op": "extend", "name": record.name, "last_day": due.last_day.isoformat(),
                                    "due_at": _due_text(due.due_at), "on": effective.isoformat()})
            else:
                moved = dataclasses.replace(record, due_at=due.due_at, last_day=due.last_day)
                changes.rows.append(moved)
                changes.log.append({"op": "reschedule", "name": record.name, "last_day": due.last_day.isoformat(),
                                    "due_at": _due_text(due.due_at), "from_last_day": record.last_day.isoformat()})
            uow.cancel_obligation_timers(instance.id, [record.name], now)
            fresh = arm_obligation(specs[record.name], instance.id, record.opened_seq, record.started_on,
                                   due.due_at, now, instance.data)
            fresh = [dataclasses.replace(t, extension={"to_date": due.last_day.isoformat()}) for t in fresh]
            uow.insert_timers(fresh)
            changed.extend(fresh)
        if not open_:
            state_timers = [t for t in pending if t.obligation is None]
            if not state_timers:
                raise Refused("nothing to extend: the task has no open obligation and no running deadline in this "
                              "state", **where)
            base = max(t.base_due for t in state_timers)  # the period's end (reminders share it, minus offsets)
            due = extended(calendar, base, request)
            current = local_date(base - dt.timedelta(microseconds=1))
            if due.due_at <= base:
                raise PayloadInvalid([("extension", f"{due.last_day:%d/%m/%Y} is not after the current deadline "
                                                    f"({current:%d/%m/%Y})")], **where)
            changed = [self._moved(t, due.due_at, {"to_date": due.last_day.isoformat()}) for t in state_timers]
            for timer in changed:
                uow.update_timer(timer)
            moves.append({"name": None, "from_last_day": current.isoformat(), "new_last_day": due.last_day.isoformat(),
                          "due_at": _due_text(due.due_at), "late": False})
            steps = list(due.steps)
        first = moves[0]
        payload = {"request": request, "from_last_day": first["from_last_day"], "new_last_day": first["new_last_day"],
                   "due_at": first["due_at"], "late": any(m["late"] for m in moves), "moves": moves,
                   "steps": steps}
        return changed, payload, changes

    @staticmethod
    def _moved(timer: TimerRecord, base: dt.datetime, extension: dict[str, Any]) -> TimerRecord:
        return dataclasses.replace(timer, base_due=base, due_at=due_for(timer.kind, base, timer.offset_days),
                                   extension=extension)

    @staticmethod
    def _decision_errors(reason: str | None, document: Any, required: bool) -> tuple[Any, list[tuple[str, str]]]:
        """A decision's reason (always required) and document (its reference or its parts)."""
        errors: list[tuple[str, str]] = []
        if not reason or not reason.strip():
            errors.append(("reason", "required"))
        if document is None or (isinstance(document, str) and not document.strip()):
            if required:
                errors.append(("document", "required"))
            return None, errors
        clean, problems = check_document(document)
        return clean, errors + problems

    @staticmethod
    def _reason_errors(reason: str, document: str | None) -> list[tuple[str, str]]:
        errors = []
        if not reason or not reason.strip():
            errors.append(("reason", "required"))
        if document is not None and not DOCUMENT_REF.match(document.strip()):
            errors.append(("document", f"{document!r} is not a document reference (e.g. 472/QĐ-UBND)"))
        return errors

    def suspend(self, instance_id: int, actor: Actor, *, reason: str, document: str | None = None) -> list[TimerRecord]:
        """Stop the instance's legal clock; the remaining time is kept."""
        return self._clock_switch(instance_id, actor, reason, document, stop=True)

    def resume(self, instance_id: int, actor: Actor, *, reason: str, document: str | None = None) -> list[TimerRecord]:
        """Restart the clock with the time that remained when it was suspended."""
        return self._clock_switch(instance_id, actor, reason, document, stop=False)

    def _clock_switch(self, instance_id: int, actor: Actor, reason: str, document: str | None,
                      stop: bool) -> list[TimerRecord]:
        event = "@suspended" if stop else "@resumed"
        _require(actor, CLOCK_ROLES, event, instance_id)
        errors = self._reason_errors(reason, document)
        if errors:
            raise PayloadInvalid(errors, instance_id=instance_id, event=event)
        now, calendar = self.engine.clock.now(), self.engine.calendar
        with self.engine.store.transaction() as uow:
            instance = self.engine.load(uow, instance_id)
            if stop == (instance.suspended_at is not None):
                already = "suspended" if stop else "running"
                raise Refused(f"the clock is already {already}", instance_id=instance_id, event=event,
                              state=instance.state)
            status = TimerStatus.PENDING if stop else TimerStatus.SUSPENDED
            changed = [suspend(t, now, calendar) if stop else resume(t, now, calendar)
                       for t in uow.timers_of(instance_id, [status])]
            for timer in changed:
                uow.update_timer(timer)
            summary = [{"timer": t.name, "offset_days": t.offset_days,
                        **({"remaining": dict(t.remaining or {})} if stop else {"due_at": _due_text(t.due_at)})}
                       for t in changed]
            payload: dict[str, Any] = {"timers": summary, **({"document": document} if document else {})}
            moved = {"due_at": None} if stop else self._moved_deadlines(uow, instance_id, changed)
            self.engine.append(uow, instance, event, actor, payload, reason, suspended_at=now if stop else None,
                               **moved)
        return changed

    # -- calendar overrides ----------------------------------------------------------------------

    def add_override(self, day: dt.date, kind: OverrideKind, reason: str, actor: Actor) -> dict[int, list[
            dict[str, str]]]:
        """Add a day off or a working day; recompute every pending deadline it moves, in one transaction, and
        write the change into each instance's history. Returns {instance id: [changes]}."""
        _require(actor, OVERRIDE_ROLES, f"calendar {kind.value}")
        if not reason or not reason.strip():
            raise PayloadInvalid([("reason", "required")], event=f"calendar {kind.value}")
        override = DayOverride(day, kind, reason.strip())
        calendar = self.engine.calendar.with_override(override)
        now = self.engine.clock.now()
        changes: dict[int, list[dict[str, str]]] = {}
        with self.engine.store.transaction() as uow:
            uow.insert_calendar_override(override, actor.id, now)
            for timer in uow.open_timers():
                if timer.status is not TimerStatus.PENDING:
                    continue  # suspended timers are recomputed when they resume
                moved = recompute(timer, calendar)
                if moved.due_at != timer.due_at:
                    uow.update_timer(moved)
                    changes.setdefault(timer.instance_id, []).append(
                        {"timer": timer.name, "from": _due_text(timer.due_at), "to": _due_text(moved.due_at)})
            for instance_id, moved_timers in sorted(changes.items()):
                instance = self.engine.load(uow, instance_id)
                pending = uow.timers_of(instance_id, [TimerStatus.PENDING])
                self.engine.append(uow, instance, "@deadline_changed", actor, {
                    "day": day.isoformat(), "kind": kind.value, "timers": moved_timers}, reason,
                    **self._moved_deadlines(uow, instance_id, pending))
        self.engine.refresh_calendar()
        return changes

    # -- escalations -----------------------------------------------------------------------------

    def acknowledge(self, escalation_id: int, actor: Actor, note: str | None = None) -> int:
        """The Steering Committee (or an admin) acknowledges an escalation; the instance id."""
        _require(actor, ACK_ROLES, "@escalation_acknowledged")
        now = self.engine.clock.now()
        with self.engine.store.transaction() as uow:
            instance_id = uow.acknowledge_escalation(escalation_id, actor.id, note, now)
            if instance_id is None:
                raise Refused(f"escalation {escalation_id} is not open (unknown or already acknowledged)")
            instance = self.engine.load(uow, instance_id)
            self.engine.append(uow, instance, "@escalation_acknowledged", actor,
                               {"escalation_id": escalation_id}, note)
        return instance_id


"""The engine: start instances and apply events, each as one all-or-nothing transaction.

``fire`` checks, in order: the instance exists; the expected version (if given) is current; an officer
acts only for its own agency; the event is possible in the current state; the actor's role may fire it;
the reason (if required) and the payload are valid; the effective date and the payload's date fields are
not in the future (province time) nor before the instance's previous event; the guard agrees; the
obligations it satisfies are not late where lateness is refused; the timers of the state entered and of
the obligations it opens can be armed. Then, in one transaction: the version-checked instance update, the
hash-chained history row (recorded instant, effective date, obligation changes), the obligation rows, the
timers of the state left and of the obligations closed (cancelled) and of those entered or opened (armed),
the fan-out's children, and the idempotency record. Any refusal raises an error from ``workflow.errors``
and writes nothing. ``start`` checks the assignee against the registry on the effective date.
Deadline operations (timers firing, extensions, suspension, calendar overrides) live in
``workflow.deadlines`` and use the same primitives.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from definitions import START_EVENT, Definition, FieldType, NotFound, Role, Transition, load_text
from definitions.model import LatePolicy, TimerKind

from . import fanout
from .audit import GENESIS, canonical, format_instant, nfc, record_hash
from .authority import ON_BEHALF, Decision, decide, held_roles, may_act_on, standing_body_of
from .calendar import BusinessCalendar, DeadlineOutOfRange, local_date
from .clock import Clock, SystemClock
from .errors import (
    AgencyMismatch,
    EventNotAllowed,
    GuardFailed,
    IdempotencyKeyReused,
    PayloadInvalid,
    Refused,
    RoleNotAllowed,
    VersionConflict,
)
from .guards import GUARDS, Guard, GuardContext
from .machine import GuardRefusal, MachineCache
from .notify import COMMITTEE, Subject, escalation_text, messages, reminder_text
from .obligations import Changes, earliest_open_due, merge, on_event
from .payload import AGENCY_CODE, check_payload, has_control, json_problems
from .ports import (
    Actor,
    FireResult,
    HistoryRecord,
    IdempotencyRecord,
    InstanceRecord,
    ObligationRecord,
    ObligationStatus,
    RegisterEntry,
    Store,
    UnitOfWork,
)
from .timers import AnchorMissing, TimerRecord, arm, arm_obligation

MAX_DATA_BYTES = 256 * 1024
RECEIPT_CLAIM = "@receipt_claim"  # instance data: a start the owing agency stated too late, awaiting a decision
ESCALATIONS_CLOSED = "@escalations_closed"  # history payload: escalations closed because their duty was done
REGISTER = "@register"  # history payload: the register entry the act made (agency, direction, year, number)


def _number_of(document: Any) -> str | None:
    """A document's số/ký hiệu, given by its parts or as its bare reference."""
    if isinstance(document, Mapping):
        return str(document.get("number")) if document.get("number") else None
    return document if isinstance(document, str) else None
TIMER_ACTOR = Actor("system:timer", Role.SYSTEM)  # timers fire, and escalate, as this actor
EARLIEST_EFFECTIVE = dt.date(2000, 1, 1)  # no event of this plan took effect before; a guard against typos


def deadline_of(timers: list[TimerRecord]) -> dt.datetime | None:
    """An entry's deadline: the end of its earliest timeout or escalation period (reminders come before it)."""
    ends = [t.base_due for t in timers if t.kind is not TimerKind.REMINDER]
    return min(ends) if ends else None


def document_date(transition: Transition, payload: Mapping[str, Any]) -> tuple[dt.date | None, str]:
    """What an act takes effect on when no effective date is given, and the field that said it: the date of issue
    of the first document it carries by its parts (a bare reference has none), else its first date field (the day
    of receipt on the register, the day of approval). None: the day it is recorded."""
    for name, spec in transition.payload.items():
        document = payload.get(name)
        if spec.type is FieldType.DOCUMENT and isinstance(document, Mapping) and document.get("issued_on"):
            return dt.date.fromisoformat(str(document["issued_on"])), f"{name}.issued_on"
    for name, spec in transition.payload.items():
        if spec.type is FieldType.DATE and isinstance(payload.get(name), str):
            return dt.date.fromisoformat(str(payload[name])), name
    return None, "effective_on"


def earliest(*instants: dt.datetime | None) -> dt.datetime | None:
    given = [i for i in instants if i is not None]
    return min(given) if given else None


class Engine:
    """Applies events to stored instances. Thread-safe; holds no instance in memory."""

    def __init__(self, store: Store, clock: Clock | None = None, guards: Mapping[str, Guard] = GUARDS,
                 calendar: BusinessCalendar | None = None, standing_body: str | None = None) -> None:
        self.store = store
        self.standing_body = standing_body  # the plan's standing body where a task's data names none
        self.clock = clock or SystemClock()
        self.guards = guards
        self._machines = MachineCache(guards)
        self._definitions: dict[tuple[str, int], Definition] = {}
        self._lock = threading.Lock()
        self._calendar = calendar

    @property
    def calendar(self) -> BusinessCalendar:
        if self._calendar is None:
            self._calendar = BusinessCalendar(self.store.calendar_overrides())
        return self._calendar

    def refresh_calendar(self) -> None:
        """Reload operator overrides (another process may have added one)."""
        self._calendar = BusinessCalendar(self.store.calendar_overrides())

    # -- definitions -----------------------------------------------------------------------------

    def load_definition_text(self, text: str, file: str) -> tuple[Definition, bool]:
        """Check a definition file's text and store it; (definition, True if it was new)."""
        definition = load_text(text, file, known_guards=self.guards)
        return definition, self.store.save_definition(definition)

    def definition(self, definition_id: str, version: int | None = None, uow: UnitOfWork | None = None
                   ) -> Definition:
        """A stored definition (the latest version if none is given). A version's content never changes
        (``save_definition`` refuses that), so parsed versions are cached; the latest number is asked each time
        (inside ``uow``'s transaction if given: no read of its own)."""
        if version is None:
            source = self.store if uow is None else uow
            version = source.latest_definition_version(definition_id)
            if version is None:
                raise NotFound("definition", definition_id, {d.definition.id for d in self.store.list_definitions()})
        cached = self._definitions.get((definition_id, version))
        if cached is not None:
            return cached
        definition = self.store.get_definition(definition_id, version).definition
        with self._lock:
            self._definitions[(definition.id, definition.version)] = definition
        return definition

    # -- start -----------------------------------------------------------------------------------

    def start(self, definition_id: str, business_key: str, assignee: str, actor: Actor, *,
              data: Mapping[str, Any] | None = None, version: int | None = None,
              parent_id: int | None = None, request_id: str | None = None,
              effective_on: dt.date | None = None) -> InstanceRecord:
        """Create an instance in its definition's initial state, with its first history row, its obligations
        and its timers. ``effective_on``: the day the duty was assigned (default today, province time)."""
        return self.start_request(definition_id, business_key, assignee, actor, data=data, version=version,
                                  parent_id=parent_id, request_id=request_id, effective_on=effective_on).instance

    def start_request(self, definition_id: str, business_key: str, assignee: str, actor: Actor, *,
                      data: Mapping[str, Any] | None = None, version: int | None = None,
                      parent_id: int | None = None, request_id: str | None = None,
                      effective_on: dt.date | None = None, idempotency_key: str | None = None) -> FireResult:
        """``start`` with an idempotency key, checked and recorded in the start's own transaction (one write
        transaction per request): the same key and request again returns the first result and writes nothing."""
        fingerprint = None if idempotency_key is None else hashlib.sha256(canonical(
            [START_EVENT, definition_id, version, business_key, assignee, dict(data or {}), actor.id,
             effective_on.isoformat() if effective_on else None])).hexdigest()
        with self.store.transaction() as uow:
            if idempotency_key is not None and fingerprint is not None:
                earlier = self._replay(uow, idempotency_key, fingerprint)
                if earlier is not None:
                    return earlier
            definition = self.definition(definition_id, version, uow)
            instance, record = self._start(uow, definition, business_key, assignee, actor, data=data,
                                           parent_id=parent_id, request_id=request_id, effective_on=effective_on)
            if idempotency_key is not None and fingerprint is not None:
                uow.save_idempotency(IdempotencyRecord(idempotency_key, fingerprint, instance.id, 1))
        return FireResult(instance, record)

    def start_in(self, uow: UnitOfWork, definition: Definition, business_key: str, assignee: str, actor: Actor, *,
                 data: Mapping[str, Any] | None = None, parent_id: int | None = None,
                 request_id: str | None = None, effective_on: dt.date | None = None) -> InstanceRecord:
        """``start`` inside a caller's transaction (schedules and fan-out start many at once)."""
        return self._start(uow, definition, business_key, assignee, actor, data=data, parent_id=parent_id,
                           request_id=request_id, effective_on=effective_on)[0]

    def _start(self, uow: UnitOfWork, definition: Definition, business_key: str, assignee: str, actor: Actor, *,
               data: Mapping[str, Any] | None = None, parent_id: int | None = None,
               request_id: str | None = None, effective_on: dt.date | None = None
               ) -> tuple[InstanceRecord, HistoryRecord]:
        """The start and its first history row (as written: no read back)."""
        actor = Actor(nfc(actor.id), actor.role, nfc(actor.agency))
        roles = [Role.SYSTEM.value, *definition.start_roles]
        if actor.role.value not in roles:
            raise RoleNotAllowed(actor.role.value, roles, instance_id=None, event=START_EVENT, state=None)
        if actor.role is Role.OFFICER and actor.agency != assignee:
            raise AgencyMismatch(actor.agency, assignee, instance_id=None, event=START_EVENT, state=None)
        if definition.retired:
            raise Refused(f"definition {definition.id} v{definition.version} is retired: no new instances "
                          "(running ones go on)", event=START_EVENT)
        effective = self.effective_date(effective_on, None, event=START_EVENT)
        errors = []
        if not business_key or len(business_key) > 200 or business_key != business_key.strip():
            errors.append(("business_key", "must be 1 to 200 characters without surrounding spaces"))
        elif any(c in business_key for c in "\r\n\t") or has_control(business_key):
            errors.append(("business_key", "must be one line without control characters"))
        if not AGENCY_CODE.match(assignee):
            errors.append(("assignee", f"{assignee!r} is not an agency code (e.g. SKHCN)"))
        else:
            errors.extend(self._assignee_problems(uow, assignee, effective))
        errors.extend(json_problems(data or {}, "data"))
        clean_data = nfc(dict(data or {}))
        if not errors and len(canonical(clean_data)) > MAX_DATA_BYTES:
            errors.append(("data", f"larger than {MAX_DATA_BYTES} bytes"))
        if errors:
            raise PayloadInvalid(errors, event=START_EVENT)
        now = self.clock.now()
        initial = definition.initial_state.id
        timers = self._arm(definition, initial, 0, 1, now, {}, clean_data, START_EVENT, None, effective)
        changes = self._obligations(definition, START_EVENT, initial, effective, 1, {}, clean_data, assignee, [], 0)
        instance = InstanceRecord(
            id=0, definition_id=definition.id, definition_version=definition.version,
            business_key=nfc(business_key), state=initial, version=1, assignee=assignee,
            data=clean_data, parent_id=parent_id, created_at=now, updated_at=now, head_hash=GENESIS,
            due_at=earliest(deadline_of(timers), earliest_open_due(changes.rows)), effective_on=effective)
        instance_id = uow.insert_instance(instance)
        record = self._record(instance_id, 1, START_EVENT, None, initial, actor, now, {"assignee": assignee}, None,
                              definition, request_id, GENESIS, effective, changes)
        uow.append_history(record)
        instance = dataclasses.replace(instance, id=instance_id, head_hash=record.hash)
        uow.update_instance(instance, expected_version=1)
        rows = [dataclasses.replace(r, instance_id=instance_id) for r in changes.rows]
        uow.save_obligations(rows)
        uow.insert_timers([dataclasses.replace(t, instance_id=instance_id)
                           for t in [*timers, *self._obligation_timers(definition, rows, now, clean_data)]])
        return instance, record

    def _assignee_problems(self, uow: UnitOfWork, code: str, day: dt.date) -> list[tuple[str, str]]:
        """An assignee must be in the registry and exist on the day the duty takes effect. (An engine with no
        registry loaded, as in embedded use, accepts any well-formed code.)"""
        agency = uow.agency(code)  # the usual case first: one agency's rows, not the whole registry
        if agency is None:
            codes = uow.agency_codes()
            if not codes:
                return []
            near = difflib.get_close_matches(code, codes, n=5, cutoff=0.5) or codes[:10]
            return [("assignee", f"unknown agency {code!r}; known codes: {', '.join(near)}")]
        if agency.name_on(day.isoformat()) is None:
            ended = f"; its successor is {agency.successor}" if agency.successor else ""
            return [("assignee", f"agency {code} did not exist on {day:%d/%m/%Y} ({agency.status}{ended})")]
        return []

    def effective_date(self, given: dt.date | None, previous: dt.date | None, *, instance_id: int | None = None,
                       event: str | None = None, state: str | None = None, field: str = "effective_on") -> dt.date:
        """The day an event takes effect: ``given`` (a document's date, a day of receipt) or today. A given date
        may not be in the future (province time), before the instance's previous event, or before 2000."""
        today = local_date(self.clock.now())
        if given is None:
            return today if previous is None else max(today, previous)
        problem = None
        if given > today:
            problem = f"{given:%d/%m/%Y} is after today ({today:%d/%m/%Y}, province time): it cannot have happened yet"
        elif previous is not None and given < previous:
            problem = f"{given:%d/%m/%Y} is before the previous event of this task ({previous:%d/%m/%Y})"
        elif given < EARLIEST_EFFECTIVE:
            problem = f"{given:%d/%m/%Y} is before {EARLIEST_EFFECTIVE:%d/%m/%Y}"
        if problem is not None:
            raise PayloadInvalid([(field, problem)], instance_id=instance_id, event=event, state=state)
        return given

    # -- fire ------------------------------------------------------------------------------------

    def fire(self, instance_id: int, event: str, actor: Actor, *, payload: Mapping[str, Any] | None = None,
             reason: str | None = None, expected_version: int | None = None,
             idempotency_key: str | None = None, request_id: str | None = None,
             effective_on: dt.date | None = None, attachments: Sequence[Mapping[str, Any]] = (),
             evidence: RegisterEntry | None = None) -> FireResult:
        """Apply ``event`` to an instance as ``actor``, taking effect on ``effective_on`` (default today);
        see the module docstring for the checks. ``attachments``: the files the act came with, as the caller stored
        them (sha256, name, size, type): recorded in the history row under ``@files``, so its hash covers theirs."""
        payload = dict(payload or {})  # check_payload normalises accepted text to NFC
        reason = nfc(reason) if reason else None
        actor = Actor(nfc(actor.id), actor.role, nfc(actor.agency))
        fingerprint = None
        if idempotency_key is not None:
            fingerprint = hashlib.sha256(canonical(
                [instance_id, event, payload, reason, actor.id, expected_version,
                 effective_on.isoformat() if effective_on else None, [dict(a) for a in attachments]])).hexdigest()
        with self.store.transaction() as uow:
            if idempotency_key is not None and fingerprint is not None:
                earlier = self._replay(uow, idempotency_key, fingerprint)
                if earlier is not None:
                    return earlier
            instance = self.load(uow, instance_id)
            if expected_version is not None and instance.version != expected_version:
                raise VersionConflict(instance_id, expected_version, instance.version)
            result = self.apply(uow, instance, event, actor, payload, reason, request_id, effective_on, attachments,
                                evidence)
            if idempotency_key is not None and fingerprint is not None:
                uow.save_idempotency(IdempotencyRecord(idempotency_key, fingerprint, instance_id, result.record.seq))
        return result

    @staticmethod
    def load(uow: UnitOfWork, instance_id: int) -> InstanceRecord:
        instance = uow.get_instance(instance_id)
        if instance is None:
            raise NotFound("instance", instance_id)
        return instance

    def apply(self, uow: UnitOfWork, instance: InstanceRecord, event: str, actor: Actor,
              payload: Mapping[str, Any], reason: str | None, request_id: str | None = None,
              effective_on: dt.date | None = None, attachments: Sequence[Mapping[str, Any]] = (),
              evidence: RegisterEntry | None = None) -> FireResult:
        """Check and apply one event inside the caller's transaction; nothing is written if it is refused."""
        definition = self.definition(instance.definition_id, instance.definition_version)
        clean, decision = self._check(definition, instance, event, actor, dict(payload), reason)
        transition = definition.transition_from(instance.state, event)
        assert transition is not None  # _check refused it otherwise
        where: dict[str, Any] = {"instance_id": instance.id, "event": event, "state": instance.state}
        field = "effective_on"
        if effective_on is None:  # an act that issues a document takes effect on the document's date of issue
            effective_on, field = document_date(transition, clean)
        effective = self.effective_date(effective_on, instance.effective_on, field=field, **where)
        self._check_dates(transition, clean, instance.effective_on, where)
        context = GuardContext(instance.state, instance.data, clean, actor)
        try:
            dest = self._machines.get(definition).next_state(instance.state, event, context)
        except GuardRefusal as refusal:
            raise GuardFailed(refusal.guard, refusal.explanation, **where) from None
        if dest is None:  # the definition and the compiled machine disagree: never expected
            raise EventNotAllowed(instance.id, event, instance.state, definition.events_from(instance.state))
        now = self.clock.now()
        seq = instance.version + 1
        data = {**instance.data, **clean}
        existing = uow.obligations_of(instance.id) if definition.obligations else []
        # the owing agency's own statement (typed by its officer, or an administrator for it); a receipt the
        # province's e-office acknowledged electronically is evidence, not a statement of interest
        interested = evidence is None and (actor.role is Role.ADMIN or (actor.role is Role.OFFICER
                                                                         and actor.agency == instance.assignee))
        changes = self._obligations(definition, event, dest, effective, seq, clean, data, instance.assignee, existing,
                                    instance.id, instance.state, now, interested)
        if changes.claims:  # a start the owing agency stated after its presumed deadline: kept for a decision
            data[RECEIPT_CLAIM] = {**changes.claims[0], "seq": seq}
        if changes.late and transition.late is LatePolicy.REFUSE:
            late = ", ".join(f"{r.name} (last day {r.last_day:%d/%m/%Y})" for r in changes.closed)
            raise Refused(f"the deadline has passed: {late}; late answers are refused", **where)
        entry = self._register(uow, transition, instance, actor, clean, effective, seq, now, evidence)
        clean = {**clean, **self._row_notes(transition, changes, decision, instance, attachments,
                                            self._close_escalations(uow, instance, changes, now), entry)}
        if dest in definition.final_states:
            data.update({"@completed_at": format_instant(now), "@late": changes.late})
        timers = self._arm(definition, dest, instance.id, seq, now, clean, data, event, instance.state, effective)
        obligations = merge(existing, changes.rows)
        record = self._record(instance.id, seq, event, instance.state, dest, actor, now, clean, reason,
                              definition, request_id, instance.head_hash, effective, changes)
        updated = InstanceRecord(
            id=instance.id, definition_id=instance.definition_id, definition_version=instance.definition_version,
            business_key=instance.business_key, state=dest, version=seq, assignee=instance.assignee, data=data,
            parent_id=instance.parent_id, created_at=instance.created_at, updated_at=now, head_hash=record.hash,
            entry_seq=seq, suspended_at=None, due_at=earliest(deadline_of(timers), earliest_open_due(obligations)),
            effective_on=effective)
        if not uow.update_instance(updated, expected_version=instance.version):
            raise VersionConflict(instance.id, instance.version, None)
        uow.append_history(record)
        left = definition.state(instance.state)
        if left.timers:  # a state without timers cannot have left any pending
            uow.cancel_timers(instance.id, now)
        if changes.rows:
            uow.cancel_obligation_timers(instance.id, [r.name for r in changes.rows], now)
            uow.save_obligations(changes.rows)
        timers.extend(self._obligation_timers(definition, changes.opened, now, data))
        if timers:
            uow.insert_timers(timers)
        self._fan_out(uow, definition, instance, updated, event, effective)
        return FireResult(updated, record)

    def _fan_out(self, uow: UnitOfWork, definition: Definition, before: InstanceRecord, after: InstanceRecord,
                 event: str, effective: dt.date) -> None:
        """Children closed by the state left, started by the state entered; the parent joined when final."""
        left = definition.state(before.state).fan_out
        if left is not None and event != left.join_event:
            fanout.close_children(self, uow, left, before, effective,
                                  cancelled=after.state in definition.cancelled_states)
        entered = definition.state(after.state).fan_out
        if entered is not None:
            fanout.start_children(self, uow, entered, after, effective)
        if after.state in definition.final_states and after.parent_id is not None:
            fanout.join_if_done(self, uow, after)

    @staticmethod
    def _register(uow: UnitOfWork, transition: Transition, instance: InstanceRecord, actor: Actor,
                  payload: Mapping[str, Any], effective: dt.date, seq: int, now: dt.datetime,
                  evidence: RegisterEntry | None) -> RegisterEntry | None:
        """The register entry an act makes (the definition's ``register_as``): a receipt enters the owing
        agency's incoming register on the day of receipt, from the sender (the parent's body); a document the
        agency issues enters its outgoing register on its date of issue. ``evidence``: an entry an outside system
        (the e-office) made, with its own number, stored as it is."""
        if transition.register_as is None and evidence is None:
            return None
        parent = uow.get_instance(instance.parent_id) if instance.parent_id is not None else None
        if evidence is not None:
            entry = dataclasses.replace(evidence, instance_id=instance.id, seq=seq, actor_id=actor.id, created_at=now)
        elif transition.register_as == "in":
            sent = parent.data.get("document") if parent is not None else None
            entry = RegisterEntry(instance.assignee, "in", effective, counterpart=parent.assignee if parent else None,
                                  reference=_number_of(sent), instance_id=instance.id, seq=seq, actor_id=actor.id,
                                  created_at=now)
        else:
            document = next((payload[n] for n, f in transition.payload.items()
                             if f.type is FieldType.DOCUMENT and payload.get(n)), None)
            if document is None:
                return None
            parts = document if isinstance(document, Mapping) else {}
            issued = dt.date.fromisoformat(str(parts["issued_on"])) if parts.get("issued_on") else effective
            entry = RegisterEntry(instance.assignee, "out", issued, counterpart=parent.assignee if parent else None,
                                  reference=_number_of(document), issued_on=issued, summary=parts.get("summary"),
                                  signer=parts.get("signer"), instance_id=instance.id, seq=seq, actor_id=actor.id,
                                  created_at=now)
        return uow.register_document(entry)

    def _row_notes(self, transition: Transition, changes: Changes, decision: Decision, instance: InstanceRecord,
                   attachments: Sequence[Mapping[str, Any]], closed: list[int],
                   entry: RegisterEntry | None = None) -> dict[str, Any]:
        """What the history row says besides the payload (never the instance's data): a late act, an
        administrator's act on behalf of a body, the files it came with (the row's hash covers each file's), the
        escalations closed because the duty they were about is done."""
        notes: dict[str, Any] = {}
        if changes.late and transition.late is LatePolicy.ACCEPT_FLAGGED:
            notes["@late"] = True
        if decision.on_behalf_of is not None:
            notes[ON_BEHALF] = {"role": decision.on_behalf_of, "agency": self._body(decision.on_behalf_of, instance)}
        if attachments:
            notes["@files"] = [{k: a[k] for k in ("sha256", "name", "size", "type")} for a in attachments]
        if closed:
            notes[ESCALATIONS_CLOSED] = closed
        if entry is not None:
            notes[REGISTER] = entry.note()
        return notes

    @staticmethod
    def _close_escalations(uow: UnitOfWork, instance: InstanceRecord, changes: Changes, now: dt.datetime
                           ) -> list[int]:
        """Close the open escalations raised by the obligations this event satisfied, saying so."""
        done = {r.name: r for r in changes.closed if r.status is ObligationStatus.SATISFIED}
        if not done:
            return []
        closed = []
        for escalation_id, obligation in uow.open_escalations_of(instance.id):
            record = done.get(obligation or "")
            if record is None or record.closed_on is None:
                continue
            note = f"Nghĩa vụ đã được thực hiện ngày {record.closed_on:%d/%m/%Y} (quá hạn)"
            uow.acknowledge_escalation(escalation_id, TIMER_ACTOR.id, note, now)
            closed.append(escalation_id)
        return closed

    def _obligations(self, definition: Definition, event: str, dest: str, effective: dt.date, seq: int,
                     payload: Mapping[str, Any], data: Mapping[str, Any], agency: str,
                     existing: list[ObligationRecord], instance_id: int, state: str | None = None,
                     recorded_at: dt.datetime | None = None, interested: bool = False) -> Changes:
        try:
            return on_event(definition, event, dest, effective, seq, payload, data, agency, existing, self.calendar,
                            instance_id, recorded_at, interested)
        except (AnchorMissing, DeadlineOutOfRange) as err:
            raise PayloadInvalid([("deadline", f"{err} (an obligation of {definition.id})")],
                                 instance_id=instance_id or None, event=event, state=state) from None

    @staticmethod
    def _obligation_timers(definition: Definition, opened: list[ObligationRecord], now: dt.datetime,
                           data: Mapping[str, Any]) -> list[TimerRecord]:
        specs = {o.name: o for o in definition.obligations}
        return [t for r in opened for t in arm_obligation(specs[r.name], r.instance_id, r.opened_seq, r.started_on,
                                                           r.due_at, now, data)]

    def _check_dates(self, transition: Transition, clean: Mapping[str, Any], previous: dt.date | None,
                     where: dict[str, Any]) -> None:
        """Date fields of a payload (a day of receipt, of approval) are facts: the bounds of effective dates."""
        for name, spec in transition.payload.items():
            if spec.type is FieldType.DATE and name in clean:
                self.effective_date(dt.date.fromisoformat(clean[name]), previous, field=name, **where)
            document = clean.get(name)
            if spec.type is FieldType.DOCUMENT and isinstance(document, dict):  # its date: not in the future (it
                # may predate the task's last event); present whenever the document is given by its parts
                self.effective_date(dt.date.fromisoformat(document["issued_on"]), None, field=f"{name}.issued_on",
                                    **where)

    # -- notifications and escalations -----------------------------------------------------------

    def notify(self, uow: UnitOfWork, instance: InstanceRecord, kind: str, cause: str, due: dt.datetime,
               offset_days: int = 0) -> None:
        """Queue a reminder to the assignee or an escalation to the Steering Committee (outbox rows)."""
        definition = self.definition(instance.definition_id, instance.definition_version)
        assignee = uow.contact(instance.assignee)
        subject = Subject(instance.id, instance.business_key, definition.title.vi, definition.title.en,
                          instance.assignee, assignee.name if assignee else None, due)
        if kind == "reminder":
            title, body = reminder_text(subject, offset_days)
            contact = assignee
        else:
            title, body = escalation_text(subject)
            contact = uow.contact(COMMITTEE)
        uow.insert_outbox(messages(kind, cause, contact, title, body, instance.id, self.clock.now()))

    def escalate(self, uow: UnitOfWork, instance: InstanceRecord, timer_id: int | None, due: dt.datetime,
                 cause: str) -> tuple[InstanceRecord, int]:
        """Open an escalation to the Steering Committee, tell it, and record ``@escalated`` in history. It takes
        effect on the first day of lateness (the day after the last day), so an escalation raised while catching
        up after an outage reads the same as one raised on time."""
        now = self.clock.now()
        escalation = uow.insert_escalation(instance.id, timer_id, due, now)
        self.notify(uow, instance, "escalation", f"escalation-{escalation}", due)
        updated = self.append(
            uow, instance, "@escalated", TIMER_ACTOR,
            {"escalation_id": escalation, "due_at": format_instant(due), "cause": cause},
            "Quá hạn, báo cáo Ban Chỉ đạo",
            effective_on=local_date(due))
        return updated, escalation

    def append(self, uow: UnitOfWork, instance: InstanceRecord, event: str, actor: Actor,
               payload: Mapping[str, Any], reason: str | None, *, effective_on: dt.date | None = None,
               obligations: Changes | None = None, bound: dt.date | None = None, **changes: Any) -> InstanceRecord:
        """Record something that happened to an instance without a state change (``@escalated``,
        ``@deadline_extended``, ...): one history row, version + 1, same state entry. Its effective date
        (default today) does not move the instance's bound for later events (bookkeeping is not paperwork) unless
        ``bound`` gives a new one (a corrected act's date)."""
        definition = self.definition(instance.definition_id, instance.definition_version)
        now = self.clock.now()
        seq = instance.version + 1
        effective = min(effective_on or local_date(now), local_date(now))
        record = self._record(instance.id, seq, event, instance.state, instance.state, actor, now,
                              nfc(dict(payload)), nfc(reason), definition, None, instance.head_hash, effective,
                              obligations)
        if bound is not None:
            changes["effective_on"] = bound
        updated = dataclasses.replace(instance, version=seq, updated_at=now, head_hash=record.hash, **changes)
        if not uow.update_instance(updated, expected_version=instance.version):
            raise VersionConflict(instance.id, instance.version, None)
        uow.append_history(record)
        if obligations is not None and obligations.rows:
            uow.save_obligations(obligations.rows)
        return updated

    def _arm(self, definition: Definition, state: str, instance_id: int, fence: int, now: dt.datetime,
             payload: Mapping[str, Any], data: Mapping[str, Any], event: str,
             from_state: str | None = None, entered_on: dt.date | None = None) -> list[TimerRecord]:
        try:
            return arm(definition, state, instance_id, fence, now, payload, data, self.calendar, entered_on)
        except (AnchorMissing, DeadlineOutOfRange) as err:
            raise PayloadInvalid([("deadline", f"{err} (entering state {state!r})")], instance_id=instance_id or None,
                                 event=event, state=from_state) from None

    def standing_body_of(self, instance: InstanceRecord) -> str | None:
        return standing_body_of(instance.data, self.standing_body)

    def _body(self, role: str, instance: InstanceRecord) -> str | None:
        return {Role.OFFICER.value: instance.assignee, "standing_body": self.standing_body_of(instance)}.get(role)

    def decision(self, transition: Transition, instance: InstanceRecord, actor: Actor) -> Decision:
        """Whether ``actor`` may do ``transition``'s act on ``instance``: as the body it belongs to, or as an
        administrator on behalf of one (``workflow.authority``)."""
        held = held_roles(actor.role, actor.agency, instance.assignee, self.standing_body_of(instance))
        return decide(transition.roles, held, actor.role)

    def _check(self, definition: Definition, instance: InstanceRecord, event: str, actor: Actor,
               payload: dict[str, Any], reason: str | None) -> tuple[dict[str, Any], Decision]:
        at = instance.id
        # Someone with no right to act on this instance at all is refused whatever its state.
        if not may_act_on(actor.role, actor.agency, instance.assignee, self.standing_body_of(instance)):
            raise AgencyMismatch(actor.agency, instance.assignee, instance_id=at, event=event, state=instance.state)
        transition = definition.transition_from(instance.state, event)
        if transition is None:
            raise EventNotAllowed(instance.id, event, instance.state, definition.events_from(instance.state))
        decision = self.decision(transition, instance, actor)
        if not decision.allowed:
            raise RoleNotAllowed(actor.role.value, transition.roles, instance_id=at, event=event, state=instance.state)
        clean, errors = check_payload(payload, transition.payload)
        if (transition.reason_required or decision.needs_reason) and not (reason and reason.strip()):
            errors.insert(0, ("reason", "required for this event" if transition.reason_required else
                              "required: an administrator acts for the body that owes this act only with a reason"))
        if reason is not None and len(reason) > 10_000:
            errors.insert(0, ("reason", "longer than 10000 characters"))
        elif reason is not None and has_control(reason):
            errors.insert(0, ("reason", "must not contain control characters"))
        if errors:
            raise PayloadInvalid(errors, instance_id=at, event=event, state=instance.state)
        return clean, decision

    @staticmethod
    def _replay(uow: UnitOfWork, key: str, fingerprint: str) -> FireResult | None:
        earlier = uow.find_idempotency(key)
        if earlier is None:
            return None
        if earlier.fingerprint != fingerprint:
            raise IdempotencyKeyReused(key)
        record = uow.history_row(earlier.instance_id, earlier.seq)
        instance = uow.get_instance(earlier.instance_id)
        assert record is not None
        assert instance is not None
        as_then = dataclasses.replace(instance, state=record.to_state, version=record.seq,
                                      head_hash=record.hash)
        return FireResult(as_then, record, replayed=True)

    @staticmethod
    def _record(instance_id: int, seq: int, event: str, from_state: str | None, to_state: str, actor: Actor,
                at: Any, payload: Mapping[str, Any], reason: str | None, definition: Definition,
                request_id: str | None, prev_hash: str, effective: dt.date, changes: Changes | None) -> HistoryRecord:
        log = changes.log if changes is not None and (changes.log or definition.obligations) else None
        fields = dict(
            instance_id=instance_id, seq=seq, event=event, from_state=from_state, to_state=to_state,
            actor_id=actor.id, actor_role=actor.role.value, actor_agency=actor.agency, at=at,
            payload=payload, reason=reason, definition_id=definition.id,
            definition_version=definition.version, request_id=nfc(request_id), prev_hash=prev_hash,
            effective_on=effective.isoformat(), obligations=log)
        return HistoryRecord(**fields, hash=record_hash(HistoryRecord(**fields, hash="")))

    def allowed_events(self, instance: InstanceRecord, actor: Actor | None = None) -> tuple[str, ...]:
        """Events possible in the instance's state; with ``actor``, only those it may fire (its role is in the
        transition's roles and, for an officer, the instance is its agency's), as ``_check`` decides."""
        if actor is not None and not may_act_on(actor.role, actor.agency, instance.assignee,
                                                self.standing_body_of(instance)):
            return ()
        definition = self.definition(instance.definition_id, instance.definition_version)
        events = []
        for event in definition.events_from(instance.state):
            transition = definition.transition_from(instance.state, event)
            if actor is None or (transition is not None and self.decision(transition, instance, actor).allowed):
                events.append(event)
        return tuple(events)

"""Moving instances to a new version of their definition (the plan was amended, obligations were added).

``migrate`` maps each instance's state to a state of the new version (unchanged ids map to themselves; a state
with no mapping refuses the whole migration, nothing written), recomputes its obligations by replaying its own
history through the new version's obligations (the same events, on the same effective dates, so lateness is
judged as if the new version had applied all along), re-arms its timers, and writes one ``@migrated`` history
row per instance. That row takes effect on the instance's first day, and each obligation change in it carries
its own date (``opened_on``, ``on``), so an "as of" report before the migration reads it correctly.

``withdraw`` ends one task the plan no longer asks for (a revised plan approved): by its definition's own
withdrawal (a transition from its state to a final state whose outcome is ``cancelled``, which waives its open
obligations), after moving it to the latest version of its definition first when only that version has one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from definitions import START_EVENT, Definition, Role

from .audit import nfc
from .calendar import local_date
from .engine import Engine, earliest
from .errors import PayloadInvalid, Refused, RoleNotAllowed, VersionConflict
from .obligations import Changes, earliest_open_due, effective_of, merge, on_event, open_log
from .ports import Actor, InstanceRecord, ObligationRecord, ObligationStatus, UnitOfWork
from .timers import arm

MIGRATE_ROLES = (Role.ADMIN,)


def migrate(engine: Engine, definition_id: str, to_version: int, state_map: Mapping[str, str], actor: Actor,
            reason: str) -> list[int]:
    """Migrate every instance of ``definition_id`` at an older version to ``to_version``, in one transaction;
    the ids migrated."""
    if actor.role not in MIGRATE_ROLES:
        raise RoleNotAllowed(actor.role.value, [r.value for r in MIGRATE_ROLES], instance_id=None,
                             event="@migrated", state=None)
    if not reason or not reason.strip():
        raise PayloadInvalid([("reason", "required: why the instances move to the new version")], event="@migrated")
    target = engine.definition(definition_id, to_version)
    states = {s.id for s in target.states}
    unknown = sorted({v for v in state_map.values() if v not in states})
    if unknown:
        raise PayloadInvalid([("map", f"{', '.join(unknown)} is not a state of {definition_id} v{to_version} "
                                      f"(states: {', '.join(sorted(states))})")], event="@migrated")
    with engine.store.transaction() as uow:
        older = [i for i in uow.instances_of_definition(definition_id) if i.definition_version < to_version]
        unmapped = sorted({i.state for i in older if state_map.get(i.state, i.state) not in states})
        if unmapped:
            raise Refused(f"no mapping for state(s) {', '.join(unmapped)} of {definition_id}: give --map OLD=NEW "
                          f"for each (states of v{to_version}: {', '.join(sorted(states))})", event="@migrated")
        for instance in older:
            _migrate_one(engine, uow, instance, target, state_map.get(instance.state, instance.state), actor, reason)
    return [i.id for i in older]


def recompute(engine: Engine, target: Definition, instance: InstanceRecord, state_map: Mapping[str, str]
              ) -> list[ObligationRecord]:
    """The obligations the instance would have under ``target``: its history replayed through them."""
    current: list[ObligationRecord] = []
    agency = None
    events = {t.event for t in target.transitions} | {START_EVENT}
    for row in engine.store.history(instance.id):
        if row.event == "@reassigned":
            agency = str(row.payload["to"])
            current = [dataclasses.replace(o, agency=agency) if o.status is ObligationStatus.OPEN else o
                       for o in current]
        if row.event not in events:
            continue
        agency = agency or _first_assignee(engine, instance)
        changes = on_event(target, row.event, state_map.get(row.to_state, row.to_state), effective_of(row), row.seq,
                           row.payload, instance.data, agency, current, engine.calendar, instance.id)
        current = merge(current, changes.rows)
    return current


def withdrawal_event(definition: Definition, state: str) -> str | None:
    """The event that withdraws a task in ``state``: one leading to a cancelled final state."""
    for event in definition.events_from(state):
        transition = definition.transition_from(state, event)
        if transition is not None and transition.dest in definition.cancelled_states:
            return event
    return None


def withdrawable(engine: Engine, instance: InstanceRecord) -> tuple[bool, str]:
    """Whether ``withdraw`` can end the task, and how (or why not), in words."""
    definition = engine.definition(instance.definition_id, instance.definition_version)
    if withdrawal_event(definition, instance.state):
        return True, ""
    latest = engine.definition(instance.definition_id)
    if latest.version > definition.version and instance.state in {s.id for s in latest.states} \
            and withdrawal_event(latest, instance.state):
        return True, f"chuyển sang phiên bản {latest.version} của quy trình rồi hủy"
    return False, (f"quy trình {instance.definition_id} (phiên bản {definition.version}) không có bước hủy ở trạng "
                   f"thái {instance.state!r}")


def withdraw(engine: Engine, uow: UnitOfWork, instance: InstanceRecord, actor: Actor, reason: str,
             effective_on: dt.date | None = None) -> InstanceRecord:
    """End ``instance`` by its definition's withdrawal (see the module docstring); refused, nothing written, when
    no version of its definition has one from its state."""
    ok, how = withdrawable(engine, instance)
    if not ok:
        raise Refused(how, instance_id=instance.id, event="withdraw", state=instance.state)
    definition = engine.definition(instance.definition_id, instance.definition_version)
    if how:  # only the latest version can withdraw it: move it there first (same state)
        definition = engine.definition(instance.definition_id)
        _migrate_one(engine, uow, instance, definition, instance.state, actor, reason)
        instance = engine.load(uow, instance.id)
    event = withdrawal_event(definition, instance.state)
    assert event is not None
    return engine.apply(uow, instance, event, actor, {}, reason, effective_on=effective_on).instance


def _first_assignee(engine: Engine, instance: InstanceRecord) -> str:
    for row in engine.store.history(instance.id):
        if row.event == "@reassigned":
            return str(row.payload["from"])
    return instance.assignee


def _migrate_one(engine: Engine, uow: UnitOfWork, instance: InstanceRecord, target: Definition, state: str,
                 actor: Actor, reason: str) -> None:
    now = engine.clock.now()
    seq = instance.version + 1
    old = {o.name: o for o in uow.obligations_of(instance.id)}
    new = [dataclasses.replace(o, id=old[o.name].id if o.name in old else 0)
           for o in recompute(engine, target, instance, {instance.state: state})]
    log: list[dict[str, Any]] = []
    for o in new:
        log.append({**open_log("open", o), "opened_on": o.opened_on.isoformat(), "opened_seq": o.opened_seq})
        if o.status is ObligationStatus.SATISFIED and o.closed_on is not None:
            log.append({"op": "satisfy", "name": o.name, "on": o.closed_on.isoformat(),
                        "late": o.closed_on > o.last_day})
        elif o.status is ObligationStatus.WAIVED and o.closed_on is not None:
            log.append({"op": "waive", "name": o.name, "on": o.closed_on.isoformat()})
    names = {o.name for o in new}
    today = local_date(now)
    gone = [dataclasses.replace(o, status=ObligationStatus.WAIVED, closed_on=today, closed_seq=seq)
            for o in old.values() if o.name not in names and o.status is ObligationStatus.OPEN]
    log.extend({"op": "waive", "name": o.name, "on": today.isoformat()} for o in gone)
    first_day = effective_of(engine.store.history(instance.id)[0])
    record = engine._record(instance.id, seq, "@migrated", instance.state, state, actor, now, {
        "from_version": instance.definition_version, "to_version": target.version,
        "state_map": {instance.state: state}}, nfc(reason), target, None, instance.head_hash, first_day,
        Changes(log=log))
    timers = [] if state in target.final_states else arm(target, state, instance.id, seq, now, {}, instance.data,
                                                          engine.calendar)
    opened = [o for o in new if o.status is ObligationStatus.OPEN]
    timers.extend(engine._obligation_timers(target, opened, now, instance.data))
    updated = dataclasses.replace(
        instance, definition_version=target.version, state=state, version=seq, updated_at=now, head_hash=record.hash,
        entry_seq=seq, due_at=earliest(*(t.base_due for t in timers if t.kind.value != "reminder"),
                                       earliest_open_due(new)))
    if not uow.update_instance(updated, expected_version=instance.version):
        raise VersionConflict(instance.id, instance.version, None)
    uow.append_history(record)
    uow.cancel_timers(instance.id, now)
    uow.cancel_obligation_timers(instance.id, list(old), now)
    uow.save_obligations([*new, *gone])
    if timers:
        uow.insert_timers(timers)

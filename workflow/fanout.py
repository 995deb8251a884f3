"""Fan-out and join: one child instance per participant, the parent moving on when all have finished.

Entering a state that declares ``fan_out`` starts the children in the same transaction (separate
instances with their own history, obligations and timers, linked by ``parent_id``, taking effect on the
parent's event's effective date, and carrying the parent's entry in ``data["@parent_entry"]`` so a later
round has its own children). When a child reaches a final state and every child of the current round is
final, the parent fires its ``join_event``. When the parent leaves the state by any other event (its window
closed), the window never cuts a child's own legal period: a child whose obligations are all past due is
closed with ``close_event`` (its own escalation timer tells the Steering Committee, at its own deadline);
a child with days left stays open until it answers or its own deadline passes. When the parent is
cancelled, every open child is closed and its obligations waived. Children of definitions without
obligations (version 1) keep the old rule: closed and escalated with the window.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from definitions import FanOut, Role

from .errors import PayloadInvalid, Refused
from .obligations import Changes
from .payload import AGENCY_CODE
from .ports import Actor, FireResult, InstanceRecord, ObligationStatus, UnitOfWork
from .succession import resolve_on

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from definitions import Definition

    from .clock import Clock


class Host(Protocol):
    """What fan-out needs of the engine (``workflow.engine.Engine`` is one): read definitions and instances,
    start children and apply events in the caller's transaction, and record what happened."""

    clock: Clock

    def definition(self, definition_id: str, version: int | None = None) -> Definition: ...

    def start_in(self, uow: UnitOfWork, definition: Definition, business_key: str, assignee: str, actor: Actor, *,
                 data: Mapping[str, Any] | None = None, parent_id: int | None = None,
                 request_id: str | None = None, effective_on: dt.date | None = None) -> InstanceRecord: ...

    @staticmethod
    def load(uow: UnitOfWork, instance_id: int) -> InstanceRecord: ...

    def apply(self, uow: UnitOfWork, instance: InstanceRecord, event: str, actor: Actor,
              payload: Mapping[str, Any], reason: str | None, request_id: str | None = None,
              effective_on: dt.date | None = None) -> FireResult: ...

    def escalate(self, uow: UnitOfWork, instance: InstanceRecord, timer_id: int | None, due: dt.datetime,
                 cause: str) -> tuple[InstanceRecord, int]: ...

    def append(self, uow: UnitOfWork, instance: InstanceRecord, event: str, actor: Actor,
               payload: Mapping[str, Any], reason: str | None, *, effective_on: dt.date | None = None,
               obligations: Changes | None = None, **changes: Any) -> InstanceRecord: ...

FAN_OUT_ACTOR = Actor("system:fan-out", Role.SYSTEM)
PARENT_ENTRY = "@parent_entry"



def participants(uow: UnitOfWork, spec: FanOut, parent: InstanceRecord, day: dt.date | None = None) -> list[str]:
    """Who the round goes to; on ``day`` a merged agency's successor takes its place and an ended one is left out
    (no new duty goes to a body that no longer exists)."""
    who = spec.participants
    if who.agencies is not None:
        codes = list(who.agencies)
    elif who.kinds is not None:
        codes = uow.active_agencies(who.kinds)
    else:
        assert who.data is not None
        value = parent.data.get(who.data)
        if not isinstance(value, list) or not all(isinstance(c, str) and AGENCY_CODE.match(c) for c in value):
            raise PayloadInvalid([(f"data.{who.data}", "must be a list of agency codes to fan out to")],
                                 instance_id=parent.id)
        codes = list(value)
    if day is not None:  # an unknown code is kept: starting its child refuses it with the known codes named
        codes = [c for c in (resolve_on(uow, code, day)[0] if uow.agency(code) else code for code in codes) if c]
    if not codes:
        raise Refused("nobody to fan out to", instance_id=parent.id, state=parent.state)
    return list(dict.fromkeys(codes))  # each agency once, in the given order


def start_children(engine: Host, uow: UnitOfWork, spec: FanOut, parent: InstanceRecord,
                   effective: dt.date) -> list[InstanceRecord]:
    child_definition = engine.definition(spec.definition)
    children = []
    for code in participants(uow, spec, parent, effective):
        key = spec.key.format(parent_key=parent.business_key, entry=parent.entry_seq, agency=code)
        children.append(engine.start_in(uow, child_definition, key, code, FAN_OUT_ACTOR,
                                        data={PARENT_ENTRY: parent.entry_seq, "parent_key": parent.business_key},
                                        parent_id=parent.id, effective_on=effective))
    return children


def round_of(children: Sequence[InstanceRecord], parent: InstanceRecord) -> list[InstanceRecord]:
    return [c for c in children if c.data.get(PARENT_ENTRY) == parent.entry_seq]


def join_if_done(engine: Host, uow: UnitOfWork, child: InstanceRecord) -> None:
    """After ``child`` became final: if it was the last open child of its parent's round, fire the join."""
    assert child.parent_id is not None
    parent = engine.load(uow, child.parent_id)
    spec = engine.definition(parent.definition_id, parent.definition_version).state(parent.state).fan_out
    if spec is None or child.data.get(PARENT_ENTRY) != parent.entry_seq:
        return  # the parent has moved on (this child was closed by it, or belongs to an earlier round)
    final: Callable[[InstanceRecord], bool] = lambda c: c.state in engine.definition(  # noqa: E731
        c.definition_id, c.definition_version).final_states
    if all(final(c) for c in round_of(uow.children_of(parent.id), parent)):
        engine.apply(uow, parent, spec.join_event, FAN_OUT_ACTOR, {}, "Mọi cơ quan đã trả lời")


def close_children(engine: Host, uow: UnitOfWork, spec: FanOut, parent_before: InstanceRecord,
                   effective: dt.date, cancelled: bool = False) -> None:
    """The parent left its fan-out state without the join: close the children whose own time is up (all of
    them when the parent was cancelled, their obligations waived)."""
    now = engine.clock.now()
    for child in round_of(uow.children_of(parent_before.id), parent_before):
        child_definition = engine.definition(child.definition_id, child.definition_version)
        if child.state in child_definition.final_states:
            continue
        obligations = [o for o in uow.obligations_of(child.id) if o.status is ObligationStatus.OPEN]
        if not child_definition.obligations:  # version 1: the window closed every child and escalated it
            due = child.due_at or now
            ended = engine.apply(uow, child, spec.close_event, FAN_OUT_ACTOR, {}, CLOSED_REASON).instance
            engine.escalate(uow, ended, None, due, "fan-out window closed")
            continue
        if not cancelled and any(o.due_at > now for o in obligations):
            continue  # its own period runs on: never cut by the parent's window
        reason = "Đã hủy lấy ý kiến" if cancelled else CLOSED_REASON
        closed = engine.apply(uow, child, spec.close_event, FAN_OUT_ACTOR, {}, reason)
        if cancelled and obligations:
            waived = [dataclasses.replace(o, status=ObligationStatus.WAIVED, closed_on=effective,
                                          closed_seq=closed.instance.version + 1) for o in obligations]
            uow.cancel_obligation_timers(child.id, [o.name for o in waived], now)
            engine.append(uow, closed.instance, "@obligations_waived", FAN_OUT_ACTOR, {}, reason,
                          effective_on=effective, obligations=Changes(
                              rows=waived, log=[{"op": "waive", "name": o.name, "on": effective.isoformat()}
                                                for o in waived]))


CLOSED_REASON = "Hết thời hạn lấy ý kiến, cơ quan chưa trả lời"

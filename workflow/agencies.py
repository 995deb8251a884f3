"""The agency registry over time: load it, rename, merge, split and retire agencies while their tasks are open.

A change takes effect on its effective date, not when it is typed: one dated in the future is stored
(``scheduled_changes``) and applied on that date by ``serve`` (and by ``simulate`` on its clock). Every applied
change stores its deciding document; a change without one is refused. A merger, split or retirement has two
parts, each logged: the agency ends (the fact), and its open instances are handed over to the successor
(a split: to the successor named for the instance's plan section or definition), each with an
``@reassigned`` history row saying from whom, to whom, from when and by which decision, and its open
obligations transferred. Where the fact is certain and the hand-over is an assumption (the districts ended on
1/7/2025; who takes their open tasks is assumed), ``facts_only`` applies the end alone: the open tasks stay
with the ended agency, listed as awaiting a successor, until the hand-over is applied. Finished instances keep
their assignee, and nothing is rewritten. An agency's name on any date can be answered.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass

from definitions import NotFound, Role
from definitions.agencies import AgencyEntry, Certainty, Change, ChangeKind, Registry

from .calendar import end_of_day, local_date
from .engine import Engine
from .errors import PayloadInvalid, Refused, RoleNotAllowed
from .obligations import COOPERATING, Changes
from .payload import DOCUMENT_REF
from .ports import Actor, AgencyRecord, InstanceRecord, ObligationStatus, UnitOfWork

REGISTRY_ROLES = (Role.ADMIN,)
PLAN_START = dt.date(2022, 1, 1)  # names in the registry file are in force from before the plan


@dataclass(frozen=True)
class ChangeResult:
    change: Change
    applied: bool  # False: applied before (or scheduled), nothing done now
    moved: tuple[int, ...]  # instances reassigned
    scheduled: bool = False  # dated in the future: stored, applied on its effective date
    awaiting_successor: tuple[int, ...] = ()  # open instances left with the ended agency (hand-over not applied)


class Agencies:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self, registry: Registry, actor: Actor) -> tuple[list[str], list[str]]:
        """Register agencies not yet known; (added, unchanged). A known agency whose name differs is refused:
        names change by ``rename``, which keeps the history."""
        self._require(actor)
        added, same = [], []
        now = self.engine.clock.now()
        with self.engine.store.transaction() as uow:
            for entry in registry.agencies:
                known = uow.agency(entry.code)
                if known is None:
                    uow.insert_agency(entry.code, entry.kind.value, entry.name, entry.short_name, PLAN_START, now)
                    added.append(entry.code)
                elif known.names[0].name != entry.name:
                    raise Refused(f"agency {entry.code} is registered as {known.names[0].name!r}, the file says "
                                  f"{entry.name!r}; use `workflow agencies rename` to change a name")
                else:
                    same.append(entry.code)
        return added, same

    def add(self, entry: AgencyEntry, actor: Actor, valid_from: dt.date = PLAN_START) -> bool:
        """Register one agency (a body a plan names that the registry did not know); False if its code is taken
        by the same name, refused if by another."""
        self._require(actor)
        with self.engine.store.transaction() as uow:
            known = uow.agency(entry.code)
            if known is not None:
                if known.names[0].name != entry.name:
                    raise Refused(f"agency code {entry.code} is taken by {known.names[0].name!r}")
                return False
            uow.insert_agency(entry.code, entry.kind.value, entry.name, entry.short_name, valid_from,
                              self.engine.clock.now())
        return True

    def get(self, code: str) -> AgencyRecord:
        with self.engine.store.transaction() as uow:
            found = uow.agency(code)
            if found is None:
                raise NotFound("agency", code, uow.agency_codes())
        return found

    def name_on(self, code: str, day: dt.date) -> str:
        name = self.get(code).name_on(day.isoformat())
        if name is None:
            raise NotFound(f"name of agency {code} on", day.isoformat())
        return name.name

    def apply(self, change: Change, actor: Actor, document: str | None = None, *,
              facts_only: bool = False) -> ChangeResult:
        """Apply one change in one transaction (a second time: nothing happens), or schedule it when it takes
        effect after today. ``facts_only``: apply only what is certain (see the module docstring)."""
        self._require(actor)
        document = (change.document or document or "").strip()
        if not document:
            raise PayloadInvalid([("document", "required: the decision that makes this change (e.g. 45/QĐ-UBND)")])
        if not DOCUMENT_REF.match(document):
            raise PayloadInvalid([("document", f"{document!r} is not a document reference (e.g. 472/QĐ-UBND)")])
        if facts_only and change.certainty is Certainty.ASSUMPTION:
            return ChangeResult(change, False, ())
        now = self.engine.clock.now()
        if change.effective > local_date(now):
            text = json.dumps({"change": change.model_dump(mode="json"), "facts_only": facts_only}, sort_keys=True,
                              ensure_ascii=False)
            with self.engine.store.transaction() as uow:
                if not uow.change_scheduled(text, change.effective):
                    uow.schedule_change({"change": text, "effective": change.effective.isoformat(),
                                         "document": document, "actor_id": actor.id, "created_at": now,
                                         "applied_at": None, "outcome": None})
            return ChangeResult(change, False, (), scheduled=True)
        hand_over = not (facts_only and change.hand_over_certainty is Certainty.ASSUMPTION)
        with self.engine.store.transaction() as uow:
            return self._apply(uow, change, actor, document, hand_over)

    def _apply(self, uow: UnitOfWork, change: Change, actor: Actor, document: str, hand_over: bool) -> ChangeResult:
        log = {"code": change.code, "target": change.target, "name": change.name,
               "effective": change.effective.isoformat(), "document": document, "note": change.note,
               "actor_id": actor.id, "applied_at": self.engine.clock.now()}
        applied = False
        if not uow.agency_change_applied(change.op.value, change.code, change.effective):
            agency = self._active(uow, change.code, change)
            if change.op is ChangeKind.RENAME:
                assert change.name is not None
                uow.rename_agency(change.code, change.name, change.short_name or change.name, change.effective,
                                  document)
            else:
                for target in {change.target, *(change.successors or {}).values()} - {None}:
                    self._active(uow, str(target), change)
                status = {ChangeKind.MERGE: "merged", ChangeKind.SPLIT: "merged"}.get(change.op, "retired")
                uow.end_agency(agency.code, status, str(change.target), change.effective)
            uow.log_agency_change({**log, "op": change.op.value, "certainty": change.certainty.value, "moved": 0})
            applied = True
        if change.op is ChangeKind.RENAME:
            return ChangeResult(change, applied, ())
        if not hand_over:
            waiting = tuple(i.id for i in self._open(uow, change.code))
            return ChangeResult(change, applied, (), awaiting_successor=waiting)
        moved: tuple[int, ...] = ()
        if not uow.agency_change_applied("handover", change.code, change.effective):
            moved = self._move_open(uow, change, document, actor)
            self._follow_cooperating(uow, change, document, actor)
            uow.log_agency_change({**log, "op": "handover", "certainty": change.hand_over_certainty.value,
                                   "moved": len(moved)})
            applied = True
        return ChangeResult(change, applied, moved)

    def apply_due(self) -> list[ChangeResult]:
        """Apply the scheduled changes whose effective date has come, oldest first, each as the person who
        scheduled it, with the document given then."""
        today = local_date(self.engine.clock.now())
        with self.engine.store.transaction() as uow:
            due = uow.due_scheduled_changes(today)
        results = []
        for change_id, text, document, actor_id in due:
            stored = json.loads(text)
            change = Change.model_validate(stored["change"])
            try:
                result = self.apply(change, Actor(actor_id, Role.ADMIN), document, facts_only=stored["facts_only"])
                outcome = f"applied: {len(result.moved)} open tasks moved"
            except (Refused, PayloadInvalid, NotFound) as err:
                result, outcome = ChangeResult(change, False, ()), f"refused: {err}"
            with self.engine.store.transaction() as uow:
                uow.mark_change_applied(change_id, self.engine.clock.now(), outcome)
            results.append(result)
        return results

    def _open(self, uow: UnitOfWork, code: str) -> list[InstanceRecord]:
        """The agency's instances not in a final state (a closed one, answered or not, stays with it)."""
        return [i for i in uow.instances_assigned_to(code)
                if i.state not in self.engine.definition(i.definition_id, i.definition_version).final_states]

    def _move_open(self, uow: UnitOfWork, change: Change, document: str, actor: Actor) -> tuple[int, ...]:
        """Hand the agency's open instances (and open obligations) to the successor; finished work stays with
        the agency that did it."""
        moved = []
        for instance in self._open(uow, change.code):
            target = str(change.target)
            if change.successors is not None:
                section = str(instance.data.get("section", ""))
                target = change.successors.get(section) or change.successors.get(instance.definition_id) or target
            # a missed obligation stays with the agency that missed it: its lateness is theirs; the successor takes
            # over the open work, and the obligations still running, from the day of succession
            succession = end_of_day(change.effective - dt.timedelta(days=1))
            still_open = [o for o in uow.obligations_of(instance.id) if o.status is ObligationStatus.OPEN]
            transferred = [dataclasses.replace(o, agency=target) for o in still_open if o.due_at > succession]
            missed = [o.name for o in still_open if o.due_at <= succession]
            self.engine.append(uow, instance, "@reassigned", actor, {
                "from": change.code, "to": target, "change": change.op.value,
                "effective": change.effective.isoformat(), "document": document,
                "certainty": change.hand_over_certainty.value, **({"missed_stay": missed} if missed else {})},
                change.note, assignee=target,
                effective_on=change.effective, obligations=Changes(
                    rows=transferred, log=[{"op": "transfer", "name": o.name, "to": target} for o in transferred]))
            moved.append(instance.id)
        return tuple(moved)

    def _follow_cooperating(self, uow: UnitOfWork, change: Change, document: str, actor: Actor) -> None:
        """Co-operating bodies follow the registry: on the day an agency ends, open tasks that name it as a
        co-operator name its successor instead, and no task names its own lead as its co-operator (a merger can
        make the lead and a co-operator one body). Each change is a history row of the task, dated that day."""
        target = None if change.target is None else str(change.target)
        ids = sorted({d.definition.id for d in self.engine.store.list_definitions()})
        for instance in (i for d in ids for i in uow.instances_of_definition(d)):
            cooperating = instance.data.get(COOPERATING)
            if not isinstance(cooperating, list) or instance.state in self.engine.definition(
                    instance.definition_id, instance.definition_version).final_states:
                continue
            followed: list[str] = []
            for code in (target if c == change.code else c for c in cooperating):
                if code is not None and code != instance.assignee and code not in followed:
                    followed.append(code)
            if followed == cooperating:
                continue
            rows = [dataclasses.replace(o, cooperating=tuple(followed)) for o in uow.obligations_of(instance.id)
                    if o.status is ObligationStatus.OPEN]
            self.engine.append(uow, instance, "@cooperating_changed", actor, {
                "from": list(cooperating), "to": followed, "change": change.op.value, "agency": change.code,
                "effective": change.effective.isoformat(), "document": document}, change.note,
                data={**instance.data, COOPERATING: followed}, effective_on=change.effective,
                obligations=Changes(rows=rows))

    @staticmethod
    def _active(uow: UnitOfWork, code: str, change: Change) -> AgencyRecord:
        agency = uow.agency(code)
        if agency is None:
            raise NotFound("agency", code, uow.agency_codes())
        if agency.status != "active":
            raise Refused(f"agency {code} is {agency.status} (successor {agency.successor}); cannot {change.op.value}"
                          f" it on {change.effective.isoformat()}")
        return agency

    @staticmethod
    def _require(actor: Actor) -> None:
        if actor.role not in REGISTRY_ROLES:
            raise RoleNotAllowed(actor.role.value, [r.value for r in REGISTRY_ROLES], instance_id=None,
                                 event="agency registry", state=None)

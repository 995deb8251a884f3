"""The agency registry over time: load it, rename, merge and retire agencies while their tasks are open.

A merger or retirement moves every open instance of the agency to its successor in one transaction, each
with an ``@reassigned`` history row saying from whom, to whom, from when and by which decision; finished
instances keep their assignee, and nothing is rewritten. An agency's name on any date can be answered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from definitions import NotFound, Role
from definitions.agencies import Change, ChangeKind, Registry

from .engine import Engine
from .errors import PayloadInvalid, Refused, RoleNotAllowed
from .payload import DOCUMENT_REF
from .ports import Actor, AgencyRecord, UnitOfWork

REGISTRY_ROLES = (Role.ADMIN,)
PLAN_START = dt.date(2022, 1, 1)  # names in the registry file are in force from before the plan


@dataclass(frozen=True)
class ChangeResult:
    change: Change
    applied: bool  # False: applied before, nothing done
    moved: tuple[int, ...]  # instances reassigned


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

    def get(self, code: str) -> AgencyRecord:
        with self.engine.store.transaction() as uow:
            found = uow.agency(code)
        if found is None:
            raise NotFound("agency", code)
        return found

    def name_on(self, code: str, day: dt.date) -> str:
        name = self.get(code).name_on(day.isoformat())
        if name is None:
            raise NotFound(f"name of agency {code} on", day.isoformat())
        return name.name

    def apply(self, change: Change, actor: Actor, document: str | None = None) -> ChangeResult:
        """Apply one rename, merger or retirement in one transaction (a second time: nothing happens)."""
        self._require(actor)
        document = change.document or document
        if document is not None and not DOCUMENT_REF.match(document.strip()):
            raise PayloadInvalid([("document", f"{document!r} is not a document reference (e.g. 472/QĐ-UBND)")])
        with self.engine.store.transaction() as uow:
            if uow.agency_change_applied(change.op.value, change.code, change.effective):
                return ChangeResult(change, False, ())
            agency = self._active(uow, change.code, change)
            moved: tuple[int, ...] = ()
            if change.op is ChangeKind.RENAME:
                assert change.name is not None
                uow.rename_agency(change.code, change.name, change.short_name or change.name, change.effective,
                                  document)
            else:
                target = change.into if change.op is ChangeKind.MERGE else change.successor
                assert target is not None
                self._active(uow, target, change)
                moved = self._move_open(uow, agency.code, target, change, document, actor)
                uow.end_agency(change.code, "merged" if change.op is ChangeKind.MERGE else "retired", target,
                               change.effective)
            uow.log_agency_change({
                "op": change.op.value, "code": change.code, "target": change.into or change.successor,
                "name": change.name, "effective": change.effective.isoformat(), "document": document,
                "certainty": change.certainty.value, "note": change.note, "moved": len(moved),
                "actor_id": actor.id, "applied_at": self.engine.clock.now()})
        return ChangeResult(change, True, moved)

    def _move_open(self, uow: UnitOfWork, code: str, target: str, change: Change, document: str | None,
                   actor: Actor) -> tuple[int, ...]:
        moved = []
        for instance in uow.instances_assigned_to(code):
            definition = self.engine.definition(instance.definition_id, instance.definition_version)
            if instance.state in definition.final_states:
                continue  # finished work stays with the agency that did it
            self.engine.append(uow, instance, "@reassigned", actor, {
                "from": code, "to": target, "change": change.op.value, "effective": change.effective.isoformat(),
                "document": document, "certainty": change.certainty.value}, change.note, assignee=target)
            moved.append(instance.id)
        return tuple(moved)

    @staticmethod
    def _active(uow: UnitOfWork, code: str, change: Change) -> AgencyRecord:
        agency = uow.agency(code)
        if agency is None:
            raise NotFound("agency", code)
        if agency.status != "active":
            raise Refused(f"agency {code} is {agency.status} (successor {agency.successor}); cannot {change.op.value}"
                          f" it on {change.effective.isoformat()}")
        return agency

    @staticmethod
    def _require(actor: Actor) -> None:
        if actor.role not in REGISTRY_ROLES:
            raise RoleNotAllowed(actor.role.value, [r.value for r in REGISTRY_ROLES], instance_id=None,
                                 event="agency registry", state=None)


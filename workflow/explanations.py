"""Explanation requests (yêu cầu giải trình, issue 29): the Steering Committee or the plan's standing body asks the
owing agency to explain an overdue duty. The request is a ``@explanation_requested`` row on the overdue task (who
asked, why, the period) and, in the same transaction, a new task of the shipped definition ``explanation`` owed by
the same agency: its obligation runs for the request's own period (working days), is reminded and escalated like
any other, and is satisfied by the agency's written answer. Its data names the task explained (``explains``), so
that task's page shows the request and the answer, and the Committee's record counts explanations owed.

Who: the Committee, officers of the task's standing body, administrators on their behalf (a reason is always
given). Refused when nothing on the task is overdue, or when an explanation asked for it is still unanswered.
"""

from __future__ import annotations

from typing import Any

from definitions import Role

from .audit import nfc
from .authority import ON_BEHALF, STANDING_BODY, decide, held_roles
from .engine import Engine
from .errors import PayloadInvalid, Refused, RoleNotAllowed
from .payload import has_control
from .ports import Actor, HistoryRecord, InstanceRecord, ObligationStatus

DEFINITION = "explanation"
REQUESTED = "@explanation_requested"
EXPLAINS = "explains"  # the explanation's data: the id of the task explained
ROLES = (Role.COMMITTEE.value, STANDING_BODY)
COPIED = ("plan", "section", "duty", STANDING_BODY)


def may_request(engine: Engine, instance: InstanceRecord, actor: Actor) -> bool:
    """Whether ``actor`` holds the right to ask for an explanation on ``instance`` (not whether it is overdue)."""
    return decide(ROLES, held_roles(actor.role, actor.agency, instance.assignee, engine.standing_body_of(instance)),
                  actor.role).allowed


def explanations_of(engine: Engine, instance_id: int) -> list[InstanceRecord]:
    """The explanations asked for a task, oldest first."""
    with engine.store.transaction() as uow:
        found = [i for i in uow.instances_of_definition(DEFINITION) if i.data.get(EXPLAINS) == instance_id]
    return sorted(found, key=lambda i: i.id)


def unanswered(engine: Engine, instance_id: int) -> InstanceRecord | None:
    """The explanation asked for a task and not finished yet, if any (one at a time)."""
    return next((i for i in explanations_of(engine, instance_id)
                 if i.state not in engine.definition(i.definition_id, i.definition_version).final_states), None)


def request_explanation(engine: Engine, instance_id: int, actor: Actor, *, reason: str, working_days: int
                        ) -> tuple[HistoryRecord, InstanceRecord]:
    """Ask the owing agency of ``instance_id`` to explain its overdue duty within ``working_days``; the row written
    on the task and the explanation task started."""
    where: dict[str, Any] = {"instance_id": instance_id, "event": REQUESTED}
    reason = nfc(reason or "").strip()
    errors: list[tuple[str, str]] = []
    if not reason:
        errors.append(("reason", "required: what must be explained"))
    elif len(reason) > 10_000 or has_control(reason):
        errors.append(("reason", "at most 10000 characters, no control characters"))
    if isinstance(working_days, bool) or not isinstance(working_days, int) or not 1 <= working_days <= 60:
        errors.append(("working_days", "a whole number of working days from 1 to 60"))
    explanation = engine.definition(DEFINITION)
    waiting = unanswered(engine, instance_id)
    with engine.store.transaction() as uow:
        task = engine.load(uow, instance_id)
        where["state"] = task.state
        decision = decide(ROLES, held_roles(actor.role, actor.agency, task.assignee, engine.standing_body_of(task)),
                          actor.role)
        if not decision.allowed:
            raise RoleNotAllowed(actor.role.value, list(ROLES), **where)
        now = engine.clock.now()
        overdue = [o for o in uow.obligations_of(task.id) if o.status is ObligationStatus.OPEN and o.due_at <= now]
        if not overdue:
            raise Refused("nothing on this task is overdue: an explanation is asked for an overdue duty", **where)
        if waiting is not None:
            raise Refused(f"an explanation asked for this task (task {waiting.id}) is not answered yet", **where)
        if errors:
            raise PayloadInvalid(errors, **where)
        obligation = min(overdue, key=lambda o: o.due_at)
        data = {k: task.data[k] for k in COPIED if k in task.data}
        data.update({EXPLAINS: task.id, "obligation": obligation.name, "last_day": obligation.last_day.isoformat(),
                     "period": {"working_days": working_days}, "requested_by": actor.id, "reason": reason})
        starter = Actor(f"system:explanation-request:{task.id}|{actor.id}", Role.SYSTEM)
        started = engine.start_in(uow, explanation, f"giai-trinh/{task.id}/{task.version + 1}", task.assignee,
                                  starter, data=data)
        payload: dict[str, Any] = {"explanation": started.id, "obligation": obligation.name,
                                   "working_days": working_days}
        if decision.on_behalf_of:
            payload[ON_BEHALF] = {"role": decision.on_behalf_of, "agency": engine.standing_body_of(task)
                                  if decision.on_behalf_of == STANDING_BODY else None}
        updated = engine.append(uow, task, REQUESTED, actor, payload, reason)
        row = uow.history_row(task.id, updated.version)
        assert row is not None
        return row, started

"""Applying the plan file: one instance per task and assignee, and the recurring schedules.

Everything is started in one transaction (all or nothing); a task whose business key exists already is
left alone, so loading twice creates nothing new. Assignees must be in the registry (load it first). Loading
today means most deadlines have passed: the timers are armed as usual and ``serve`` catches them up, each
once, and notifications without contacts are recorded as such.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Set
from dataclasses import dataclass, field

from definitions import NotFound
from definitions.plan import Plan, rebase
from scheduler.recurring import Recurrence
from workflow import Actor, DuplicateBusinessKey, Engine
from workflow.authority import STANDING_BODY
from workflow.clock import PROVINCE_TZ
from workflow.ports import ServiceQueries, UnitOfWork

PLAN_DATA_KEYS = ("plan", "section", "duty", "deadline_as_written", STANDING_BODY)


@dataclass
class PlanLoad:
    plan: str
    cycle: int
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    schedules_added: list[str] = field(default_factory=list)
    schedules_existing: list[str] = field(default_factory=list)


def _assignees(uow: UnitOfWork, codes: tuple[str, ...] | None, kinds: tuple[str, ...] | None,
               exclude: tuple[str, ...]) -> list[str]:
    chosen = list(codes) if codes is not None else uow.active_agencies(kinds or ())
    unknown = [c for c in chosen if uow.agency(c) is None]
    if unknown:
        raise NotFound("agency (load the registry first: workflow agencies load)", ", ".join(unknown))
    return [c for c in chosen if c not in exclude]


def load_plan(engine: Engine, store: ServiceQueries, plan: Plan, actor: Actor,
              rebase_to: dt.date | None = None, tick: Callable[[int], None] | None = None, *,
              within: Callable[[UnitOfWork], None] | None = None, leave: Set[tuple[str, str]] = frozenset(),
              leave_schedules: Set[str] = frozenset()) -> PlanLoad:
    """Every task takes effect on the plan's date (its obligations count from then, whenever it is loaded).
    ``tick(1)`` after each task and each schedule (a progress bar's advance). A revised plan
    (``service.plan_revision``) changes the running tasks first, ``within`` the same transaction, and leaves alone
    the (section, agency) pairs in ``leave`` and the schedules of the sections in ``leave_schedules``."""
    tick = tick or (lambda _: None)
    if rebase_to is not None:
        plan = rebase(plan, rebase_to)
    result = PlanLoad(plan.id, plan.cycle)
    standing = {STANDING_BODY: plan.standing_body} if plan.standing_body else {}
    with store.transaction() as uow:
        if within is not None:
            within(uow)
        if plan.standing_body:
            _assignees(uow, (plan.standing_body,), None, ())
        for task in plan.tasks:
            definition = engine.definition(task.definition)
            _assignees(uow, task.cooperating, None, ())
            for code in _assignees(uow, task.assignees, task.assignee_kinds, task.exclude):
                if (task.section, code) in leave:
                    continue
                key = task.key.format(cycle=plan.cycle, agency=code)
                data = {**task.data, "plan": plan.id, "section": task.section, "duty": task.duty,
                        "deadline_as_written": task.deadline_as_written, **standing}
                if task.cooperating:
                    data["cooperating"] = list(task.cooperating)
                if task.due is not None:
                    data["due"] = task.due.model_dump(mode="json", exclude_defaults=True)
                try:
                    engine.start_in(uow, definition, key, code, actor, data=data, effective_on=plan.issued_on)
                    result.created.append(key)
                except DuplicateBusinessKey:
                    result.existing.append(key)
            tick(1)
    recurrence = Recurrence(engine, store)
    start = dt.datetime.combine(plan.issued_on, dt.time(), PROVINCE_TZ).astimezone(dt.UTC)
    known = {s.name for s in store.list_schedules(ended=True)}
    for schedule in plan.schedules:
        tick(1)
        if schedule.name in known or schedule.section in leave_schedules:
            result.schedules_existing.append(schedule.name)
            continue
        with store.transaction() as uow:
            codes = _assignees(uow, schedule.assignees, schedule.assignee_kinds, schedule.exclude)
            _assignees(uow, schedule.cooperating, None, ())
        data = {"plan": plan.id, "section": schedule.section, "duty": schedule.duty, **standing,
                **({"cooperating": list(schedule.cooperating)} if schedule.cooperating else {}),
                **({"due": schedule.due.model_dump(mode="json", exclude_defaults=True)} if schedule.due else {}),
                **({"deadline_as_written": schedule.deadline_as_written} if schedule.deadline_as_written else {})}
        recurrence.add(schedule.name, schedule.definition, schedule.cron, codes, schedule.key_template, data, start)
        result.schedules_added.append(schedule.name)
    return result

"""A revised plan (Kế hoạch sửa đổi, bổ sung) over the plan already running: what its approval changes in the
running tasks, shown before anyone approves it, then done in the transaction that starts the new tasks.

A running task is matched to the revised plan by the plan's id, the duty's reference (``section``) and the owing
agency, never by its business key (a reworded duty or a new year of issue would change the key, not the duty):

- a duty (or an owing agency of it) the revision adds is started, taking effect on the revision's date;
- a duty the revision keeps is left running; when its deadline changed, every open obligation counted from it is
  restated from its own start (``Facts.redate``: one ``@plan_revised`` row, effective on the revision's date, so a
  report as of an earlier day keeps the old deadline);
- a duty (or an owing agency) the revision drops is withdrawn by its definition's own withdrawal, its open
  obligations waived (``workflow.migration.withdraw``: an instance on an older version without one is first moved
  to the latest); a task already finished stays as it is;
- a recurring duty's schedule is changed for its next runs, or ended when the revision drops it.

A task that cannot be withdrawn (its workflow has no withdrawal) is a problem that stops the approval; nothing is
half-done: the tasks' part is one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from definitions.plan import Plan, PlanSchedule, PlanTask
from workflow import Actor, Engine
from workflow.facts import Facts
from workflow.migration import withdraw, withdrawable
from workflow.ports import InstanceRecord, Schedule, ServiceQueries, UnitOfWork

from .plan import PlanLoad, load_plan

Pair = tuple[str, str]  # (section, agency)


@dataclass
class Revision:
    plan: str
    start: list[Pair] = field(default_factory=list)
    withdraw: list[tuple[int, Pair, str]] = field(default_factory=list)  # (instance id, pair, how: in words, or '')
    redate: list[tuple[int, Pair, str | None, PlanTask]] = field(default_factory=list)  # (id, pair, was, task)
    kept: set[Pair] = field(default_factory=set)  # running or done already: not started again
    schedules_changed: list[tuple[str, PlanSchedule]] = field(default_factory=list)  # (running name, revised)
    schedules_ended: list[tuple[str, str]] = field(default_factory=list)  # (running name, section)
    kept_schedules: set[str] = field(default_factory=set)  # sections whose schedule runs already
    blocked: list[tuple[str, str]] = field(default_factory=list)  # (section, why it cannot be withdrawn)

    def words(self, lang: str = "vi") -> list[str]:
        """Each change in a line, by reference: + started, − withdrawn or ended, ~ changed, ! cannot be done."""
        en = lang == "en"
        out = [f"+ {s} · {a}: " + ("new task" if en else "khởi tạo nhiệm vụ mới") for s, a in self.start]
        out += [f"− {s} · {a}: " + ("running task withdrawn" if en else "hủy nhiệm vụ đang thực hiện") +
                (f" ({how})" if how and not en else "") for _, (s, a), how in self.withdraw]
        out += [f"~ {s} · {a}: " + ("deadline" if en else "thời hạn") +
                f" «{was or '—'}» → «{task.deadline_as_written or '—'}»" for _, (s, a), was, task in self.redate]
        out += [f"~ {s.section}: " + ("recurring duty changed for its next periods" if en else
                                      "nhiệm vụ định kỳ thay đổi từ kỳ tới") for _, s in self.schedules_changed]
        out += [f"− {section}: " + ("recurring duty ended" if en else "thôi mở nhiệm vụ định kỳ")
                for _, section in self.schedules_ended]
        out += [f"! {s}: {why}" for s, why in self.blocked]
        return out


def running_of(engine: Engine, store: ServiceQueries, plan_id: str) -> dict[Pair, list[InstanceRecord]]:
    """Every task the plan started (running or finished), by (section, owing agency)."""
    found: dict[Pair, list[InstanceRecord]] = defaultdict(list)
    with store.transaction() as uow:
        for definition_id in sorted({d.definition.id for d in engine.store.list_definitions()}):
            for instance in uow.instances_of_definition(definition_id):
                if instance.data.get("plan") == plan_id:
                    found[(str(instance.data.get("section")), instance.assignee)].append(instance)
    return found


def _owing(uow: UnitOfWork, item: PlanTask | PlanSchedule) -> list[str]:
    chosen = list(item.assignees) if item.assignees is not None else uow.active_agencies(item.assignee_kinds or ())
    return [c for c in chosen if c not in item.exclude]


def revision_of(engine: Engine, store: ServiceQueries, plan: Plan) -> Revision | None:
    """What approving ``plan`` changes in the tasks of the plan with its id; None when none of them exists."""
    running = running_of(engine, store, plan.id)
    schedules = {s.data.get("section"): s for s in store.list_schedules() if s.data.get("plan") == plan.id}
    if not running and not schedules:
        return None
    result = Revision(plan.id)
    wanted: dict[Pair, PlanTask | PlanSchedule] = {}
    with store.transaction() as uow:
        items: list[PlanTask | PlanSchedule] = [*plan.tasks, *plan.schedules]
        for item in items:
            for code in _owing(uow, item):
                wanted[(item.section, code)] = item
    for pair, item in wanted.items():
        if pair not in running:
            if isinstance(item, PlanTask):
                result.start.append(pair)
        else:
            result.kept.add(pair)
            _redated(engine, result, pair, item, running[pair])
    for pair, instances in sorted(running.items()):
        if pair not in wanted:
            _withdrawn(engine, result, pair, instances)
    _schedules(result, schedules, plan)
    result.start.sort()
    return result


def _redated(engine: Engine, result: Revision, pair: Pair, item: PlanTask | PlanSchedule,
             instances: list[InstanceRecord]) -> None:
    if not isinstance(item, PlanTask) or item.due is None:
        return  # a schedule's occurrences keep the deadline they started with; the definition counts its own
    due = item.due.model_dump(mode="json", exclude_defaults=True)
    for instance in instances:
        if not _final(engine, instance) and instance.data.get("due") != due:
            result.redate.append((instance.id, pair, instance.data.get("deadline_as_written"), item))


def _withdrawn(engine: Engine, result: Revision, pair: Pair, instances: list[InstanceRecord]) -> None:
    for instance in instances:
        if _final(engine, instance):
            continue  # what was done stays done
        ok, how = withdrawable(engine, instance)
        if ok:
            result.withdraw.append((instance.id, pair, how))
        else:
            result.blocked.append((pair[0], f"{pair[1]}: {how}"))


def _schedules(result: Revision, running: dict[Any, Schedule], plan: Plan) -> None:
    revised = {s.section: s for s in plan.schedules}
    for section, old in running.items():
        new = revised.get(str(section))
        if new is None:
            result.schedules_ended.append((old.name, str(section)))
            continue
        result.kept_schedules.add(str(section))
        if (new.cron, new.key_template, new.deadline_as_written, set(new.assignees or ())) != (
                old.cron, old.key_template, old.data.get("deadline_as_written"), set(old.assignees)):
            result.schedules_changed.append((old.name, new))


def _final(engine: Engine, instance: InstanceRecord) -> bool:
    return instance.state in engine.definition(instance.definition_id, instance.definition_version).final_states


def apply_revision(engine: Engine, store: ServiceQueries, plan: Plan, revision: Revision, loader: Actor,
                   approver: Actor, reason: str) -> PlanLoad:
    """Carry out ``revision`` (from ``revision_of``): the tasks' part in the transaction that starts the new tasks
    (as ``loader``), withdrawals and new deadlines decided by ``approver`` with ``reason``; then the schedules."""
    if revision.blocked:
        raise ValueError("a revision with blocked withdrawals cannot be applied")
    facts = Facts(engine)
    on = plan.issued_on

    def within(uow: UnitOfWork) -> None:
        for instance_id, _, _ in revision.withdraw:
            instance = engine.load(uow, instance_id)
            if not _final(engine, instance):
                withdraw(engine, uow, instance, approver, reason, _on_or_after(on, instance))
        for instance_id, pair, was, task in revision.redate:
            instance = engine.load(uow, instance_id)
            if _final(engine, instance) or task.due is None:
                continue
            facts.redate(uow, instance, task.due.model_dump(mode="json", exclude_defaults=True),
                         task.deadline_as_written, approver, reason, _on_or_after(on, instance),
                         {"plan": plan.id, "section": pair[0], "was": was})

    result = load_plan(engine, store, plan, loader, within=within, leave=revision.kept,
                       leave_schedules=revision.kept_schedules)
    now = engine.clock.now()
    for name, schedule in revision.schedules_changed:
        running = next(s for s in store.list_schedules() if s.name == name)
        data: dict[str, Any] = {**running.data, "duty": schedule.duty,
                                "deadline_as_written": schedule.deadline_as_written}
        if schedule.due is not None:
            data["due"] = schedule.due.model_dump(mode="json", exclude_defaults=True)
        store.change_schedule(name, assignees=list(schedule.assignees or running.assignees), data=data,
                              cron=schedule.cron, key_template=schedule.key_template, actor_id=approver.id, now=now,
                              reason=reason)
    for name, _ in revision.schedules_ended:
        store.end_schedule(name, actor_id=approver.id, now=now, reason=reason)
    return result


def _on_or_after(day: dt.date, instance: InstanceRecord) -> dt.date:
    """The revision's date, or the task's last act's when that is later (an act cannot take effect before it)."""
    last = instance.effective_on
    return max(day, last) if last is not None else day

"""Simulating the whole plan: agencies acting on a simulated clock, the same code paths as ``serve``.

On a fresh database: definitions, the registry and the plan are loaded on the plan's date; then the clock
jumps from one due moment to the next (an agency acting, a timer, a schedule, a reorganisation change).
Each state entry of each instance draws, from a generator seeded with (seed, business key, entry), whether
its assignee acts on time (most), late, or never; DOST's and the PPC's own steps come within days. The 2025
reorganisation is applied on its effective dates. Same seed, same result.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from definitions import Role, definition_files, load_data
from definitions.agencies import Registry, Reorganisation
from definitions.plan import Plan
from scheduler.ticker import Ticker
from workflow import Actor, Engine, InstanceRecord, SimulatedClock
from workflow.agencies import Agencies
from workflow.clock import PROVINCE_TZ
from workflow.errors import Refused

from .plan import load_plan

ADMIN = Actor("sim:dost-office", Role.ADMIN)
Payload = Callable[[random.Random, dt.datetime, InstanceRecord], dict[str, Any]]


def _doc(symbol: str) -> Payload:
    return lambda rng, now, i: {"document": f"{rng.randint(1, 999)}/{symbol}"}


# The path each definition takes when its assignee acts: state -> (event, payload).
STEPS: dict[str, dict[str, tuple[str, Payload]]] = {
    "founding": {"preparing": ("propose", _doc("TTr-SKHCN")), "proposed": ("found", _doc("QĐ-UBND"))},
    "catalogue_consultation": {
        "drafting": ("send_for_consultation", lambda rng, now, i: {
            "document": f"{rng.randint(1, 999)}/SKHCN-QLKH", "task_count": rng.randint(40, 90),
            "estimated_budget": str(rng.randint(20_000, 60_000))}),
        "consolidating": ("submit", _doc("TTr-SKHCN")),
        "submitted": ("approve", lambda rng, now, i: {"document": f"{rng.randint(1, 999)}/QĐ-UBND",
                                                      "approved_on": now.astimezone(PROVINCE_TZ).date().isoformat()}),
        "implementing": ("complete", _doc("BC-SKHCN")),
    },
    "catalogue_feedback": {
        "sent": ("record_receipt", lambda rng, now, i: {"received_on": now.astimezone(PROVINCE_TZ).date().isoformat()}),
        "received": ("answer", lambda rng, now, i: {
            "document": f"{rng.randint(1, 999)}/{i.assignee}", "position": rng.choice(
                ["agree", "agree", "agree_with_changes", "disagree"]),
            "additions": rng.choice(["", "Đề xuất bổ sung nhiệm vụ ứng dụng công nghệ cao trong nông nghiệp"])}),
    },
    "implementation_plan": {"drafting": ("issue", _doc("KH"))},
    "awareness_programme": {"planning": ("issue_plan", _doc("KH"))},
    "ongoing_duty": {},  # standing duties: accounted for by the yearly III.1 report
    "restructuring": {"proposing": ("submit", _doc("TTr")), "submitted": ("approve", _doc("QĐ-UBND")),
                      "implementing": ("complete", _doc("BC"))},
    "norms": {"drafting": ("submit", _doc("TTr-SKHCN")), "submitted": ("issue", _doc("QĐ-UBND"))},
    "council_resolution": {"drafting": ("submit_to_ppc", _doc("TTr-SKHCN")),
                           "with_ppc": ("submit_to_council", _doc("TTr-UBND")),
                           "with_council": ("pass_resolution", lambda rng, now, i: {
                               "document": f"{rng.randint(1, 40)}/{now.year}/NQ-HĐND"})},
    "annual_report": {"preparing": ("submit", _doc("BC"))},
    "budget_share": {"preparing": ("report", lambda rng, now, i: {
        "document": f"{rng.randint(1, 999)}/BC-STC", "year": now.astimezone(PROVINCE_TZ).year,
        "st_budget": str(rng.randint(8_000, 30_000)), "regular_spending": "3000000"})},
    "consolidated_report": {"consolidating": ("submit", _doc("BC-SKHCN"))},
}
# Steps taken by DOST's office or the PPC rather than the assignee: always within days.
OFFICE_STEPS = {("founding", "proposed"), ("catalogue_consultation", "submitted"), ("restructuring", "submitted"),
                ("norms", "submitted"), ("council_resolution", "with_ppc"), ("council_resolution", "with_council"),
                ("catalogue_consultation", "implementing")}


@dataclass(frozen=True)
class Behaviour:
    on_time: float = 0.75
    late: float = 0.15  # the rest never act


@dataclass
class Simulation:
    engine: Engine
    ticker: Ticker
    clock: SimulatedClock
    seed: int
    behaviour: Behaviour = field(default_factory=Behaviour)
    planned: dict[int, tuple[int, dt.datetime | None]] = field(default_factory=dict)  # id -> (entry, when)
    timeline: list[str] = field(default_factory=list)
    actions: int = 0

    def plan_actions(self, store: Any) -> None:
        after = 0
        while batch := store.list_instances(after_id=after, limit=2000):
            after = batch[-1].id
            for instance in batch:
                known = self.planned.get(instance.id)
                if known is not None and known[0] == instance.entry_seq:
                    continue
                self.planned[instance.id] = (instance.entry_seq, self._when(instance))

    def _when(self, instance: InstanceRecord) -> dt.datetime | None:
        step = STEPS.get(instance.definition_id, {}).get(instance.state)
        if step is None:
            return None
        rng = random.Random(f"{self.seed}:{instance.business_key}:{instance.entry_seq}")
        now = self.clock.now()
        if (instance.definition_id, instance.state) in OFFICE_STEPS:
            return now + dt.timedelta(days=rng.uniform(2, 12))
        draw = rng.random()
        due = instance.due_at or now + dt.timedelta(days=10)  # no deadline yet (e.g. recording a receipt): days
        if draw < self.behaviour.on_time:
            span = max((due - now).total_seconds(), 3600.0)
            return now + dt.timedelta(seconds=rng.uniform(0.2, 0.95) * span)
        if draw < self.behaviour.on_time + self.behaviour.late:
            return max(due, now) + dt.timedelta(days=rng.uniform(1, 25))
        return None

    def next_action(self) -> dt.datetime | None:
        times = [when for _, when in self.planned.values() if when is not None]
        return min(times) if times else None

    def act_due(self) -> None:
        now = self.clock.now()
        due = sorted((when, iid) for iid, (_, when) in self.planned.items() if when is not None and when <= now)
        for _, instance_id in due:
            entry, _ = self.planned[instance_id]
            self.planned[instance_id] = (entry, None)
            instance = self.engine.store.get_instance(instance_id)
            if instance.entry_seq != entry:
                continue
            event, payload = STEPS[instance.definition_id][instance.state]
            rng = random.Random(f"{self.seed}:{instance.business_key}:{instance.entry_seq}:payload")
            definition = self.engine.definition(instance.definition_id, instance.definition_version)
            transition = definition.transition_from(instance.state, event)
            officer = transition is not None and "officer" in transition.roles
            actor = Actor(f"sim:{instance.assignee.lower()}", Role.OFFICER, instance.assignee) if officer else ADMIN
            try:
                result = self.engine.fire(instance_id, event, actor, payload=payload(rng, now, instance))
            except Refused as refused:
                self.timeline.append(f"{_day(now)} refused {instance.business_key} {event}: {refused}")
                continue
            self.actions += 1
            if result.instance.definition_id in ("catalogue_consultation", "founding", "norms", "council_resolution"):
                self.timeline.append(f"{_day(now)} {instance.assignee:<8} {event:<22} {instance.business_key} -> "
                                     f"{result.instance.state}")


def _day(instant: dt.datetime) -> str:
    return f"{instant.astimezone(PROVINCE_TZ):%Y-%m-%d}"


def set_up(engine: Engine, store: Any, shipped: Any, registry_file: Any, plan_file: Any) -> Plan:
    for path in definition_files([shipped]):
        engine.load_definition_text(path.read_text(encoding="utf-8"), str(path))
    Agencies(engine).load(load_data(registry_file, Registry), ADMIN)
    plan = load_data(plan_file, Plan)
    load_plan(engine, store, plan, ADMIN)
    return plan


def run(sim: Simulation, store: Any, reorg: Reorganisation | None, until: dt.datetime,
        progress: Callable[[str], None]) -> None:
    """Run to ``until``. The reorganisation is scheduled at the start, as an operator would type it in advance,
    and ``serve``'s own pass applies each change on its effective date."""
    for change in sorted(reorg.changes, key=lambda c: c.effective) if reorg else []:
        Agencies(sim.engine).apply(change, ADMIN)
    month = ""
    while True:
        done = sim.ticker.run_once()
        for result in done.changes:
            change = result.change
            sim.timeline.append(f"{change.effective} {change.op.value} {change.code} "
                                f"({change.certainty.value}): {len(result.moved)} open tasks moved")
        for outcome in done.timers:
            if outcome.kind == "timeout":
                sim.timeline.append(f"{_day(sim.clock.now())} timeout instance {outcome.instance_id}: "
                                    f"{outcome.outcome}")
            elif outcome.kind == "escalation":
                sim.timeline.append(f"{_day(sim.clock.now())} escalated instance {outcome.instance_id} "
                                    f"({outcome.name})")
        now = sim.clock.now()
        sim.act_due()
        sim.plan_actions(store)
        if _day(now)[:7] != month:
            month = _day(now)[:7]
            progress(f"{month}: {sim.actions} actions, {len(sim.timeline)} key events")
        candidates = [t for t in (sim.ticker.next_wake(), sim.next_action()) if t is not None]
        nxt = min(candidates) if candidates else None
        if nxt is None or nxt > until:
            break
        sim.clock.set(max(nxt, now))
    sim.clock.set(max(until, sim.clock.now()))
    sim.ticker.run_once()

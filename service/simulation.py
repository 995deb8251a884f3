"""Simulating the whole plan: agencies acting on a simulated clock, the same code paths as ``serve``.

On a fresh database: definitions, the registry and the plan are loaded on the plan's date; then the clock
jumps from one due moment to the next (an agency acting, a timer, a schedule, a reorganisation change).
Each state entry of each instance draws, from a generator seeded with (seed, business key, entry), whether
its assignee acts on time (most), late, or never; DOST's and the PPC's own steps come within days. Each act is
done by the body its definition names (the owing agency's officer, the standing body's officer, the Committee).
Decisions happen too: an agency that will be late may ask for more time first, and the Committee grants (to the
day asked or shorter) or refuses within days, sometimes after the deadline; a receipt an agency states after its
presumed deadline is a claim the standing body accepts or rejects; now and then the standing body corrects a
receipt date typed wrong. The 2025 reorganisation is applied on its effective dates. Same seed, same result.
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
from workflow.errors import PayloadInvalid, Refused
from workflow.facts import Facts

from .plan import load_plan

ADMIN = Actor("sim:dost-office", Role.ADMIN)
COMMITTEE = Actor("sim:ban-chi-dao", Role.COMMITTEE)
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
    "budget_appraisal": {"received": ("appraise", lambda rng, now, i: {
        "document": f"{rng.randint(1, 999)}/STC-HCSN", "amount": str(rng.randint(2_000, 20_000))})},
    "budget_allocation": {"preparing": ("allocate", lambda rng, now, i: {
        "document": f"{rng.randint(1, 999)}/QĐ-{i.assignee}", "amount": str(rng.randint(500, 5_000))})},
    "periodic_report": {"preparing": ("submit", _doc("BC"))},
    "delivery": {"working": ("deliver", _doc("BC")), "delivered": ("accept", lambda rng, now, i: {})},
    "explanation": {"requested": ("explain", lambda rng, now, i: {
        "text": "Chậm do chờ ý kiến các đơn vị phối hợp; sẽ hoàn thành trong tháng"})},
}
# Steps taken by DOST's office or the PPC rather than the assignee: always within days.
OFFICE_STEPS = {("founding", "proposed"), ("catalogue_consultation", "submitted"), ("restructuring", "submitted"),
                ("norms", "submitted"), ("council_resolution", "with_ppc"), ("council_resolution", "with_council"),
                ("catalogue_consultation", "implementing"), ("delivery", "delivered")}


#: Each agency's character (issue 29): (share on time, share late, most days late). Drawn per agency from the seed,
#: so a forecaster has something to learn; ``Behaviour(equal_paces=True)`` gives every agency the same odds.
PACES = {"prompt": (0.93, 0.05, 6.0), "steady": (0.75, 0.15, 25.0), "late": (0.3, 0.6, 45.0),
         "erratic": (0.5, 0.3, 90.0)}


@dataclass(frozen=True)
class Behaviour:
    on_time: float = 0.75
    late: float = 0.15  # the rest never act
    equal_paces: bool = False  # every agency the odds above; else each its own pace (PACES), seeded
    ask_for_time: float = 0.4  # of those that will be late: ask for an extension first
    grant: float = 0.6  # of the requests: granted (a third of those shorter than asked); the rest refused
    accept_claim: float = 0.5  # of the receipts stated too late: accepted by the standing body
    correct_receipt: float = 0.1  # of the receipts recorded: corrected later by the standing body


def actor_for(engine: Engine, roles: tuple[str, ...], instance: InstanceRecord) -> Actor:
    """The body a definition names for an act: the owing agency, the standing body, the Committee."""
    if "officer" in roles:
        return Actor(f"sim:{instance.assignee.lower()}", Role.OFFICER, instance.assignee)
    standing = engine.standing_body_of(instance)
    if "standing_body" in roles and standing is not None:
        return Actor(f"sim:{standing.lower()}", Role.OFFICER, standing)
    return COMMITTEE if "committee" in roles else ADMIN


@dataclass(order=True)
class Decision:
    """A decision planned for a moment: an extension requested or decided, a claim decided, a correction."""

    when: dt.datetime
    instance_id: int
    kind: str  # request, decide, claim, correct
    args: dict[str, Any] = field(compare=False, default_factory=dict)


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
    decisions: list[Decision] = field(default_factory=list)
    decided: int = 0

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
        on_time, late, late_days = self.pace(instance.assignee)
        if draw < on_time:
            span = max((due - now).total_seconds(), 3600.0)
            return now + dt.timedelta(seconds=rng.uniform(0.2, 0.95) * span)
        if draw < on_time + late:
            when = max(due, now) + dt.timedelta(days=rng.uniform(1, late_days))
            if instance.due_at is not None and due > now and rng.random() < self.behaviour.ask_for_time:
                asked = now + (due - now) * rng.uniform(0.3, 0.9)
                self.decisions.append(Decision(asked, instance.id, "request", {
                    "entry": instance.entry_seq, "to": (when + dt.timedelta(days=3)).astimezone(PROVINCE_TZ).date(),
                    "seed": f"{self.seed}:{instance.business_key}:{instance.entry_seq}:ask"}))
            return when
        return None

    def pace(self, agency: str) -> tuple[float, float, float]:
        """(share on time, share late, most days late) of ``agency``: its own character unless paces are equal."""
        if self.behaviour.equal_paces:
            return self.behaviour.on_time, self.behaviour.late, 25.0
        return PACES[random.Random(f"{self.seed}:pace:{agency}").choice(sorted(PACES))]

    def decide_due(self) -> None:
        """The decisions whose moment has come, in order (each may plan the next: a request its decision)."""
        now = self.clock.now()
        while self.decisions and min(self.decisions).when <= now:
            decision = min(self.decisions)
            self.decisions.remove(decision)
            try:
                self._decide(decision, now)
                self.decided += 1
            except (Refused, PayloadInvalid) as refused:  # the task moved on meanwhile: nothing to decide
                self.timeline.append(f"{_day(now)} {decision.kind} instance {decision.instance_id} not made: "
                                     f"{refused}")

    def _decide(self, decision: Decision, now: dt.datetime) -> None:
        facts = Facts(self.engine)
        instance = self.engine.store.get_instance(decision.instance_id)
        args = decision.args
        rng = random.Random(str(args.get("seed", f"{self.seed}:{instance.business_key}:{decision.kind}")))
        today = now.astimezone(PROVINCE_TZ).date()
        number = f"{rng.randint(1, 999)}"
        if decision.kind == "request":
            if instance.entry_seq != args["entry"]:
                return
            facts.request_extension(instance.id, actor_for(self.engine, ("officer",), instance),
                                    reason="Đề nghị gia hạn do cần thêm thời gian lấy ý kiến", to_date=args["to"],
                                    document={"number": f"{number}/{instance.assignee}",
                                              "issued_on": today.isoformat()})
            later = now + dt.timedelta(days=rng.uniform(1, 8))
            self.decisions.append(Decision(later, instance.id, "decide",
                                           {**args, "seed": f"{args['seed']}:decide"}))
        elif decision.kind == "decide":
            grant = rng.random() < self.behaviour.grant
            shorter = grant and rng.random() < 1 / 3
            to = args["to"] - dt.timedelta(days=rng.randint(1, 3)) if shorter else None
            facts.decide_extension(instance.id, COMMITTEE, grant=grant, to_date=to,
                                   reason="Đồng ý gia hạn" if grant else "Không đồng ý gia hạn",
                                   document={"number": f"{number}/BCĐ-KHCN", "issued_on": today.isoformat()})
        elif decision.kind == "claim":
            accept = rng.random() < self.behaviour.accept_claim
            facts.decide_claim(instance.id, actor_for(self.engine, ("standing_body",), instance), accept=accept,
                               reason="Đối chiếu sổ văn bản đến" + ("" if accept else ": không có căn cứ"))
        elif decision.kind == "correct":
            day = dt.date.fromisoformat(args["received_on"]) - dt.timedelta(days=rng.randint(1, 3))
            facts.correct(instance.id, actor_for(self.engine, ("standing_body",), instance), seq=args["seq"],
                          field="received_on", value=day.isoformat(),
                          reason="Đính chính ngày nhận theo sổ văn bản đến")

    def _after(self, result: Any, now: dt.datetime, event: str, payload: dict[str, Any]) -> None:
        """Decisions an act calls for: a receipt claim to decide, now and then a receipt date to correct."""
        instance = result.instance
        rng = random.Random(f"{self.seed}:{instance.business_key}:{result.record.seq}:after")
        if isinstance(instance.data.get("@receipt_claim"), dict):
            self.decisions.append(Decision(now + dt.timedelta(days=rng.uniform(2, 10)), instance.id, "claim"))
        elif event == "record_receipt" and rng.random() < self.behaviour.correct_receipt:
            self.decisions.append(Decision(now + dt.timedelta(days=rng.uniform(5, 30)), instance.id, "correct",
                                           {"seq": result.record.seq, "received_on": payload["received_on"]}))

    def next_action(self) -> dt.datetime | None:
        times = [when for _, when in self.planned.values() if when is not None]
        times += [d.when for d in self.decisions]
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
            actor = actor_for(self.engine, transition.roles if transition else (), instance)
            given = payload(rng, now, instance)
            try:
                result = self.engine.fire(instance_id, event, actor, payload=given,
                                          reason="Nhập thay" if actor.role is Role.ADMIN else None)
            except Refused as refused:
                self.timeline.append(f"{_day(now)} refused {instance.business_key} {event}: {refused}")
                continue
            self.actions += 1
            self._after(result, now, event, given)
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
        sim.decide_due()
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

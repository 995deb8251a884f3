"""One pass of the service's background work, and when the next pass is due.

The database is the truth: a pass applies the registry changes whose effective date has come, runs every
schedule occurrence due now (after those changes, so an occurrence finds the registry of its day), fires
every timer due now (in batches, in due order), and delivers every notification due now. ``next_wake``
reads the earliest due time of all four, so whoever drives the passes (``Alarm`` in ``serve``, the loop in ``simulate``)
needs to hold one wake-up, not one job per timer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from workflow import Deadlines, Engine, TimerOutcome
from workflow.agencies import Agencies, ChangeResult
from workflow.ports import ServiceQueries

from .outbox import Delivery, DeliverySettings, Dispatcher
from .recurring import Recurrence, Run


class Periodic(Protocol):
    """Other work a pass does when it is due (``service.checkpoints``: the signed audit checkpoint)."""

    def due_at(self) -> dt.datetime | None: ...

    def run_due(self) -> list[str]:
        """Do the work if it is due; what was done, a line each."""
        ...


@dataclass
class Pass:
    timers: list[TimerOutcome] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    changes: list[ChangeResult] = field(default_factory=list)
    other: list[str] = field(default_factory=list)  # what the periodic work did


class Ticker:
    def __init__(self, engine: Engine, store: ServiceQueries, delivery: DeliverySettings | None = None, *,
                 claimer: str = "local", batch: int = 200, deliver: bool = True,
                 periodic: Sequence[Periodic] = ()) -> None:
        self.engine = engine
        self.store = store
        self.deadlines = Deadlines(engine)
        self.recurrence = Recurrence(engine, store)
        self.agencies = Agencies(engine)
        self.dispatcher = Dispatcher(store, engine.clock, delivery or DeliverySettings(), claimer)
        self.claimer = claimer
        self.batch = batch
        self.deliver = deliver
        self.periodic = list(periodic)

    def fire_due_timers(self, on_batch: Callable[[list[TimerOutcome]], None] | None = None) -> list[TimerOutcome]:
        """Every timer due now, in batches of ``batch`` per transaction; ``on_batch`` after each commit."""
        fired: list[TimerOutcome] = []
        while True:
            batch = self.deadlines.fire_due(self.batch, self.claimer)
            fired.extend(batch)
            if batch and on_batch is not None:
                on_batch(batch)
            if len(batch) < self.batch:
                return fired

    def run_once(self, on_batch: Callable[[list[TimerOutcome]], None] | None = None,
                 deliver: bool | None = None) -> Pass:
        """One pass; ``deliver=False`` leaves notifications to a later pass (start-up catch-up does)."""
        done = Pass()
        done.changes = self.agencies.apply_due()
        done.runs = self.recurrence.run_due()
        done.timers = self.fire_due_timers(on_batch)
        for work in self.periodic:
            done.other.extend(work.run_due())  # before delivery, so that its mail goes out in this pass
        if self.deliver if deliver is None else deliver:
            while deliveries := self.dispatcher.deliver_due():
                done.deliveries.extend(deliveries)
                if all(not d.ok for d in deliveries):
                    break  # everything failed: the backoff decides when to try again
        return done

    def next_wake(self) -> dt.datetime | None:
        candidates = [self.store.next_timer_due(), self.store.next_schedule_run(), self.store.next_registry_change(),
                      *(work.due_at() for work in self.periodic)]
        if self.deliver:
            candidates.append(self.store.next_outbox_attempt())
        due = [c for c in candidates if c is not None]
        return min(due) if due else None

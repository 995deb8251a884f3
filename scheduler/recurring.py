"""Recurring obligations: durable schedules whose runs start one instance per assignee.

The next run is computed with APScheduler's own ``CronTrigger`` in province time. A run happens in one
transaction that starts the instances and moves the schedule's ``next_run_at`` from the value it read
(compare-and-set): a second node, or a catch-up after downtime, cannot run the same occurrence twice,
and business keys such as ``annual-report/2023/SYT`` are unique per definition besides.

An occurrence is a fact of its own date, whenever it runs: each instance takes effect on the occurrence's
date (so the 2023 report is due before 05/11/2023 even when started in 2026 by a catch-up), and each
assignee is resolved through the registry on that date: an agency merged by then hands the duty to its
successor, one retired by then gets none. Every decision (started, existing, skipped and why) is recorded
in ``occurrences``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from definitions import Role, WorkflowError
from workflow import Actor, DuplicateBusinessKey, Engine
from workflow.clock import PROVINCE_TZ
from workflow.payload import AGENCY_CODE
from workflow.ports import Schedule, ServiceQueries
from workflow.succession import resolve_on

SCHEDULE_ACTOR = Actor("system:schedule", Role.SYSTEM)


class ScheduleInvalid(WorkflowError):
    pass


def trigger(cron: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(cron, timezone=PROVINCE_TZ)
    except ValueError as err:
        raise ScheduleInvalid(f"cron {cron!r}: {err} (five fields: minute hour day month weekday)") from None


def next_run(cron: str, after: dt.datetime) -> dt.datetime:
    """The first occurrence strictly after ``after``."""
    nxt = trigger(cron).get_next_fire_time(None, after + dt.timedelta(seconds=1))
    if nxt is None:
        raise ScheduleInvalid(f"cron {cron!r} never fires again")
    return nxt.astimezone(dt.UTC)  # type: ignore[no-any-return]


def business_key(template: str, occurrence: dt.datetime, agency: str) -> str:
    local = occurrence.astimezone(PROVINCE_TZ)
    try:
        return template.format(year=local.year, month=f"{local.month:02d}", agency=agency)
    except (KeyError, IndexError) as err:
        raise ScheduleInvalid(f"key template {template!r}: unknown field {err}; use {{year}}, {{month}}, "
                              "{agency}") from None


@dataclass(frozen=True)
class Run:
    schedule: str
    occurrence: dt.datetime
    started: tuple[str, ...]  # business keys created
    existing: tuple[str, ...]  # business keys that already existed (nothing created)
    skipped: tuple[str, ...] = ()  # assignees that no longer existed on the occurrence's date, and why


class Recurrence:
    """Runs due schedules through the engine (the same ``start`` as everything else)."""

    def __init__(self, engine: Engine, store: ServiceQueries) -> None:
        self.engine = engine
        self.store = store

    def add(self, name: str, definition_id: str, cron: str, assignees: Sequence[str], key_template: str,
            data: dict[str, Any] | None = None, start: dt.datetime | None = None) -> int:
        """A new schedule whose first run is the first occurrence after ``start`` (default: now); runs already
        in the past are caught up by the next pass."""
        self.engine.definition(definition_id)  # must exist
        bad = [a for a in assignees if not AGENCY_CODE.match(a)]
        if not assignees or bad:
            raise ScheduleInvalid(f"assignees must be agency codes, got {list(assignees)!r}")
        if "{agency}" not in key_template:
            raise ScheduleInvalid("the key template must contain {agency} so each assignee's key is unique")
        now = self.engine.clock.now()
        first = next_run(cron, start or now)
        business_key(key_template, first, assignees[0])
        return self.store.add_schedule(name, definition_id, cron, assignees, key_template, data or {}, first, now)

    def run_due(self) -> list[Run]:
        """Every occurrence due now, oldest first (several per schedule after downtime)."""
        runs: list[Run] = []
        now = self.engine.clock.now()
        for schedule in self.store.due_schedules(now):
            occurrence = schedule.next_run_at
            while occurrence <= now:
                run = self._run(schedule, occurrence, now)
                if run is None:  # another process ran it
                    break
                runs.append(run)
                occurrence = next_run(schedule.cron, occurrence)
        return runs

    def _run(self, schedule: Schedule, occurrence: dt.datetime, now: dt.datetime) -> Run | None:
        definition = self.engine.definition(schedule.definition_id)
        day = occurrence.astimezone(PROVINCE_TZ).date()
        started, existing, skipped = [], [], []
        with self.store.transaction() as uow:
            if not uow.advance_schedule(schedule.id, occurrence, next_run(schedule.cron, occurrence), now):
                return None
            done: set[str] = set()
            for agency in schedule.assignees:
                assignee, note = resolve_on(uow, agency, day)
                decision = {"schedule_id": schedule.id, "occurrence": day.isoformat(), "agency": agency,
                            "assignee": assignee, "note": note, "decided_at": now}
                if assignee is None or assignee in done:
                    outcome = "skipped" if assignee is None else "existing"
                    uow.record_occurrence({**decision, "business_key": None, "outcome": outcome})
                    skipped.append(f"{agency}: {note or f'given to {assignee} already'}")
                    continue
                done.add(assignee)
                key = business_key(schedule.key_template, occurrence, assignee)
                data = {**schedule.data, "schedule": schedule.name, "occurrence": day.isoformat()}
                try:
                    self.engine.start_in(uow, definition, key, assignee, SCHEDULE_ACTOR, data=data, effective_on=day)
                    started.append(key)
                    outcome = "started"
                except DuplicateBusinessKey:
                    existing.append(key)
                    outcome = "existing"
                uow.record_occurrence({**decision, "business_key": key, "outcome": outcome})
        return Run(schedule.name, occurrence, tuple(started), tuple(existing), tuple(skipped))

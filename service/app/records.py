"""Records as they are, for a front end that renders them itself (the pages): a task, its history, its obligations,
its children, its timers with how their last day was counted, the definitions, the agencies' names, the open
escalations. Reads only, open to every signed-in role (the plan is public inside the administration); the pages
reach the store and the engine through here and nowhere else (``tests/service/test_layers.py``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from definitions import Definition, Transition, WorkflowError
from store.timer_queries import EscalationRow
from workflow import Actor, InstanceRecord
from workflow.agencies import Agencies
from workflow.authority import Decision
from workflow.calendar import local_date
from workflow.ports import AgencyRecord, HistoryRecord, ObligationRecord, StoredDefinition
from workflow.timers import TimerRecord, TimerStatus, extended, parse_anchor

from ..settings import Settings
from .ports import Services

MAX_LISTED = 20_000  # instances one page lists at most (the inbox, an agency's page)


class Records:
    def __init__(self, app: Services) -> None:
        self.app = app

    @property
    def settings(self) -> Settings:
        return self.app.settings

    def now(self) -> dt.datetime:
        return self.app.clock.now()

    def today(self) -> dt.date:
        """Today in province time."""
        return local_date(self.now())

    # -- tasks ---------------------------------------------------------------------------------------------

    def instance(self, instance_id: int) -> InstanceRecord:
        return self.app.store.get_instance(instance_id)

    def instances(self, **filters: Any) -> list[InstanceRecord]:
        """Every instance matching ``filters`` (``store.list_instances``'s), oldest first, at most ``MAX_LISTED``."""
        found: list[InstanceRecord] = []
        after = 0
        while len(found) < MAX_LISTED and (batch := self.app.store.list_instances(after_id=after, limit=1000,
                                                                                 **filters)):
            found.extend(batch)
            after = batch[-1].id
        return found

    def children(self, instance_id: int) -> list[InstanceRecord]:
        return self.app.store.list_instances(parent_id=instance_id, limit=10_000)

    def by_deadline(self, *, due_before: dt.datetime, due_from: dt.datetime | None = None,
                    limit: int = 500) -> list[InstanceRecord]:
        return self.app.store.by_deadline(due_from=due_from, due_before=due_before, limit=limit)

    def history(self, instance_id: int) -> list[HistoryRecord]:
        return self.app.store.history(instance_id)

    def obligations(self, instance_id: int) -> list[ObligationRecord]:
        return self.app.store.instance_obligations(instance_id)

    def open_timers(self, instance_id: int) -> list[TimerRecord]:
        """The timers still running or suspended, earliest first."""
        return [t for t in self.app.store.list_timers(instance_id)
                if t.status in (TimerStatus.PENDING, TimerStatus.SUSPENDED)]

    def timer_steps(self, timer: TimerRecord, lang: str) -> list[str]:
        """How a timer's last day was counted, step by step in words (and how an extension moved it after)."""
        calendar = self.app.engine.calendar
        try:
            due = calendar.due(timer.deadline, parse_anchor(timer.anchor))
            steps = list(due.steps_in(lang))
            if timer.extension:
                steps += extended(calendar, due.due_at, timer.extension).steps_in(lang)
        except (WorkflowError, ValueError):
            return []
        return steps

    def search_history(self, **where: Any) -> tuple[int, list[HistoryRecord]]:
        return self.app.store.search_history(**where)

    def every_history_row(self) -> Iterator[HistoryRecord]:
        return self.app.store.iter_history()

    def completions_by_month(self) -> list[tuple[str, int, int]]:
        return self.app.store.completions_by_month()

    # -- who may act -----------------------------------------------------------------------------------------

    def allowed(self, instance: InstanceRecord, actor: Actor) -> tuple[str, ...]:
        """The events ``actor`` may fire on ``instance`` (the engine's rule: roles per transition, agencies)."""
        return self.app.engine.allowed_events(instance, actor)

    def decision(self, transition: Transition, instance: InstanceRecord, actor: Actor) -> Decision:
        """As which body ``actor`` would act, and whether it must give a reason (acting for another body)."""
        return self.app.engine.decision(transition, instance, actor)

    def standing_body(self, instance: InstanceRecord) -> str | None:
        return self.app.engine.standing_body_of(instance)

    # -- definitions, agencies, escalations --------------------------------------------------------------------

    def definition(self, definition_id: str, version: int | None = None) -> Definition:
        return self.app.engine.definition(definition_id, version)

    def definitions(self) -> list[StoredDefinition]:
        return self.app.store.list_definitions()

    def agency(self, code: str) -> AgencyRecord:
        return Agencies(self.app.engine).get(code)

    def agency_names(self, on: dt.date | None = None) -> dict[str, str]:
        """Every agency's latest name, or the name it had on ``on``."""
        return self.app.store.agency_names() if on is None else self.app.store.agency_names_on(on)

    def agency_statuses(self) -> dict[str, tuple[str, str | None]]:
        return self.app.store.agency_statuses()

    def open_escalations(self) -> list[EscalationRow]:
        return self.app.store.list_escalations("open")

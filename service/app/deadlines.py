"""The legal clock: when a period ends (every step explained), the calendar's overrides, and what the Steering
Committee may do to a running deadline (extend, suspend, resume). ``workflow.Deadlines`` checks who may."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal, cast

from pydantic import ValidationError
from typing_extensions import TypedDict

from definitions import Deadline
from workflow import Actor, OverrideKind
from workflow.calendar import DeadlineOutOfRange, Due
from workflow.deadlines import CLOCK_ROLES
from workflow.errors import PayloadInvalid

from ..views import TimerView, timer_view
from .ports import Services


class OverrideView(TypedDict):
    day: str
    kind: str
    reason: str


class OverrideAdded(TypedDict):
    day: str
    kind: str
    instances: dict[str, list[dict[str, str]]]  # instance id → the timers that moved, each change


class DueView(TypedDict):
    last_day: str  # the period's last day (YYYY-MM-DD, province time)
    provisional: bool  # counted over a year whose holidays are not announced yet
    due_at: str  # 24:00 of the last day, UTC
    due_at_local: str  # the same instant in province time
    steps: list[str]  # how it was counted, step by step (Vietnamese)
    steps_en: list[str]  # the same in English


def due_view(due: Due) -> DueView:
    return cast(DueView, due.as_dict())


class LegalClock:
    def __init__(self, app: Services) -> None:
        self.app = app

    def may_stop(self, actor: Actor, instance_id: int) -> Literal["suspend", "resume"] | None:
        """What ``actor`` may do to the task's clock now: ``suspend`` a running deadline, ``resume`` a suspended
        one, or nothing (a finished task, no deadline, or a role the engine refuses: ``workflow.deadlines``)."""
        instance = self.app.store.get_instance(instance_id)
        if actor.role not in CLOCK_ROLES or instance is None:
            return None
        if instance.suspended_at is not None:
            return "resume"
        definition = self.app.engine.definition(instance.definition_id, instance.definition_version)
        return None if instance.due_at is None or instance.state in definition.final_states else "suspend"

    def due(self, start: dt.date, spec: Mapping[str, Any], start_field: str = "from") -> Due:
        """When a period counted from ``start`` ends. ``spec``: the fields of a definition's ``deadline``
        (``days``, ``working_days``, ``before_date``, ...; None values are left out)."""
        try:
            deadline = Deadline(**{k: v for k, v in spec.items() if v is not None})
        except ValidationError as err:
            raise PayloadInvalid.from_pydantic(err.errors(include_url=False), "deadline") from None
        try:
            return self.app.engine.calendar.due(deadline, start)
        except DeadlineOutOfRange as err:
            raise PayloadInvalid([(start_field, str(err))]) from None

    def overrides(self) -> list[OverrideView]:
        return [{"day": o.day.isoformat(), "kind": o.kind.value, "reason": o.reason}
                for o in self.app.store.calendar_overrides()]

    def add_override(self, actor: Actor, day: dt.date, kind: OverrideKind, reason: str) -> OverrideAdded:
        """A day off announced late, or a weekend day worked: pending deadlines move, each in its history."""
        changes = self.app.deadlines.add_override(day, kind, reason, actor)
        return {"day": day.isoformat(), "kind": kind.value,
                "instances": {str(k): list(v) for k, v in changes.items()}}

    def extend(self, actor: Actor, instance_id: int, *, reason: str, document: Any, to_date: dt.date | None = None,
               days: int | None = None, working_days: int | None = None, effective_on: dt.date | None = None,
               obligation: str | None = None) -> list[TimerView]:
        """The deciding body moves a deadline on its own decision (dated by ``effective_on``, else its document)."""
        return [timer_view(t) for t in self.app.deadlines.extend(
            instance_id, actor, reason=reason, document=document, to_date=to_date, days=days,
            working_days=working_days, effective_on=effective_on, obligation=obligation)]

    def suspend(self, actor: Actor, instance_id: int, *, reason: str, document: str | None = None) -> list[TimerView]:
        return [timer_view(t) for t in self.app.deadlines.suspend(instance_id, actor, reason=reason,
                                                                  document=document)]

    def resume(self, actor: Actor, instance_id: int, *, reason: str, document: str | None = None) -> list[TimerView]:
        return [timer_view(t) for t in self.app.deadlines.resume(instance_id, actor, reason=reason,
                                                                 document=document)]

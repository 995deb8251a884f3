"""The plan as data: which duty goes to whom, by when, as the source document writes it.

Each task names a workflow definition, its assignees (codes, or every active agency of some kinds), the
deadline as written ("trong tháng 12/2022") and as a deadline spec, and extra data (for the consultation:
who is consulted). Recurring duties are schedules. ``rebase`` shifts every date by one offset so the plan
can be run again for a new cycle; business keys carry the cycle, so loading twice creates nothing new.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator

from .agencies import AgencyCode
from .model import Deadline, DefinitionId, Frozen, Label


class PlanTask(Frozen):
    key: Annotated[str, StringConstraints(min_length=1, max_length=150)]  # {cycle}, {agency}
    section: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    duty: Label
    definition: DefinitionId
    assignees: tuple[AgencyCode, ...] | None = None
    assignee_kinds: tuple[str, ...] | None = None
    exclude: tuple[AgencyCode, ...] = ()
    deadline_as_written: str | None = None
    due: Deadline | None = None
    cooperating: tuple[AgencyCode, ...] = ()  # phối hợp: recorded beside the lead, who owns the deadline
    data: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _who(self) -> PlanTask:
        if (self.assignees is None) == (self.assignee_kinds is None):
            raise ValueError("give exactly one of assignees, assignee_kinds")
        if "{agency}" not in self.key:
            raise ValueError("the key must contain {agency}")
        return self


class PlanSchedule(Frozen):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    section: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    duty: Label
    definition: DefinitionId
    cron: Annotated[str, StringConstraints(min_length=9, max_length=100)]
    key_template: Annotated[str, StringConstraints(min_length=1, max_length=150)]
    assignees: tuple[AgencyCode, ...] | None = None
    assignee_kinds: tuple[str, ...] | None = None
    exclude: tuple[AgencyCode, ...] = ()
    cooperating: tuple[AgencyCode, ...] = ()
    due: Deadline | None = None  # each occurrence's deadline, for definitions whose period is `from_data: due`
    deadline_as_written: str | None = None

    @model_validator(mode="after")
    def _who(self) -> PlanSchedule:
        if (self.assignees is None) == (self.assignee_kinds is None):
            raise ValueError("give exactly one of assignees, assignee_kinds")
        return self


class Plan(Frozen):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,99}$")]
    title: Label
    implements: Label  # the decision it implements
    issued_on: dt.date  # dates are rebased relative to this day
    # the plan's standing body (cơ quan thường trực): runs consultations, consolidation and follow-up, accepts
    # receipt claims, corrects recorded facts; its officers act with the ``standing_body`` plan role on every task
    standing_body: AgencyCode | None = None
    tasks: tuple[PlanTask, ...] = Field(min_length=1)
    schedules: tuple[PlanSchedule, ...] = ()

    @property
    def cycle(self) -> int:
        return self.issued_on.year


def _shift_month(text: str, offset: dt.timedelta) -> str:
    year, month = map(int, text.split("-"))
    shifted = dt.date(year, month, 1) + offset
    return f"{shifted.year:04d}-{shifted.month:02d}"


def rebase_deadline(deadline: Deadline, offset: dt.timedelta) -> Deadline:
    """The same deadline ``offset`` later: dates move, periods in days do not, yearly dates stay."""
    changes: dict[str, Any] = {}
    if deadline.before_date is not None:
        changes["before_date"] = deadline.before_date + offset
    if deadline.on_date is not None:
        changes["on_date"] = deadline.on_date + offset
    if deadline.end_of_month is not None:
        changes["end_of_month"] = _shift_month(deadline.end_of_month, offset)
    if deadline.end_of_year is not None:
        changes["end_of_year"] = (dt.date(deadline.end_of_year, 12, 31) + offset).year
    return deadline.model_copy(update=changes)


def rebase(plan: Plan, to: dt.date) -> Plan:
    """The plan moved so that it is issued on ``to``: every task's dates shift by the same offset."""
    offset = to - plan.issued_on
    tasks = tuple(t.model_copy(update={"due": rebase_deadline(t.due, offset)}) if t.due else t for t in plan.tasks)
    return plan.model_copy(update={"issued_on": to, "tasks": tasks})

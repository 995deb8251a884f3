"""The definition language as frozen pydantic models: what a workflow is, independent of YAML.

A ``Definition`` is a versioned, immutable description of one kind of duty: its states, the
transitions between them (who may fire each, with which payload, under which guard) and the timers
each state arms. Structural rules (types, required keys, no unknown keys) live here; rules about the
graph as a whole (reachability, unknown references) live in ``validate``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
DEFINITION_ID_PATTERN = r"^[a-z][a-z0-9_.-]{0,99}$"
ANCHOR_PATTERN = r"^(entry|payload\.[a-z][a-z0-9_]*|data\.[a-z][a-z0-9_]*)$"
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
DefinitionId = Annotated[str, StringConstraints(pattern=DEFINITION_ID_PATTERN)]
_NOT_IN_ADDRESS = r"@\s,;<>\"()\[\]\\:"  # one plain address (local@domain.tld): no list, no display name
EMAIL_PATTERN = rf"^[^{_NOT_IN_ADDRESS}]+@[^{_NOT_IN_ADDRESS}]+\.[^{_NOT_IN_ADDRESS}.][^{_NOT_IN_ADDRESS}]*$"
LABEL_PATTERN = "^[^\x00-\x1f\x7f]*$"  # one line of printable text: no control characters
Label = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=LABEL_PATTERN)]

START_EVENT = "@start"  # the history event of an instance's creation; not a definable event


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


class Role(StrEnum):
    """Who an actor is. ``system`` is the engine's own actors (timers); auditors never write."""

    ADMIN = "admin"
    OFFICER = "officer"
    COMMITTEE = "committee"
    AUDITOR = "auditor"
    SYSTEM = "system"


class StateKind(StrEnum):
    INITIAL = "initial"
    NORMAL = "normal"
    FINAL = "final"


class FieldType(StrEnum):
    STRING = "string"  # one line, at most max_length (default 500)
    TEXT = "text"  # free text, several lines
    INTEGER = "integer"
    DECIMAL = "decimal"  # exact; stored as its string form
    DATE = "date"  # YYYY-MM-DD
    BOOLEAN = "boolean"
    ENUM = "enum"  # one of `values`
    AGENCY = "agency"  # an agency code
    DOCUMENT = "document"  # a document reference such as "472/QĐ-UBND"


class PayloadField(Frozen):
    type: FieldType
    label: Label | None = None
    required: bool = False
    values: tuple[Annotated[str, StringConstraints(min_length=1)], ...] | None = None
    value_labels: dict[str, Label] | None = None  # enum values in words ("agree" → "Đồng ý"); ids stay for machines
    max_length: int | None = Field(default=None, ge=1, le=1_000_000)
    minimum: Decimal | None = None
    maximum: Decimal | None = None

    @model_validator(mode="after")
    def _values_only_for_enum(self) -> PayloadField:
        if self.type is FieldType.ENUM and not self.values:
            raise ValueError("an enum field needs a non-empty list of values")
        if self.type is not FieldType.ENUM and self.values is not None:
            raise ValueError(f"values are only for enum fields, not {self.type.value}")
        if self.value_labels is not None:
            unknown = sorted(set(self.value_labels) - set(self.values or ()))
            if unknown:
                raise ValueError(f"value_labels name values the field does not have: {', '.join(unknown)}")
        return self

    def value_label(self, value: object) -> str:
        """A value as people read it: its label if the definition gives one, else the value itself."""
        return (self.value_labels or {}).get(str(value), str(value))

    @model_validator(mode="after")
    def _numbers(self) -> PayloadField:
        numeric = self.type in (FieldType.INTEGER, FieldType.DECIMAL)
        if not numeric and (self.minimum is not None or self.maximum is not None):
            raise ValueError("minimum/maximum are only for integer and decimal fields")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum is greater than maximum")
        return self


class DeadlineKind(StrEnum):
    DAYS = "days"  # calendar days, Civil Code art. 147-148 (start day excluded, rolls off days off)
    WORKING_DAYS = "working_days"
    HOURS = "hours"  # exact hours, no roll
    END_OF_MONTH = "end_of_month"  # a period ending with month YYYY-MM (rolls)
    END_OF_YEAR = "end_of_year"  # a period ending with year YYYY (rolls)
    BEFORE_DATE = "before_date"  # due by the end of the day before; never rolls
    ON_DATE = "on_date"  # due by the end of that day; never rolls
    YEARLY = "yearly"  # before MM-DD of every year (recurring obligations)
    YEARLY_END_OF_MONTH = "yearly_end_of_month"  # "đến hết tháng MM" every year: a period ending with the month (rolls)
    FROM_DATA = "from_data"  # the spec is in the instance's data (the plan sets each task's deadline)


_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


class Deadline(Frozen):
    """When a period ends. Exactly one kind; ``anchor`` says where counting starts."""

    days: int | None = Field(default=None, ge=0, le=3650)
    working_days: int | None = Field(default=None, ge=0, le=2500)
    hours: int | None = Field(default=None, ge=0, le=87600)
    end_of_month: str | None = None
    end_of_year: int | None = Field(default=None, ge=2000, le=2200)
    before_date: dt.date | None = None
    on_date: dt.date | None = None
    yearly: str | None = None
    yearly_end_of_month: int | None = Field(default=None, ge=1, le=12)
    from_data: Identifier | None = None
    anchor: Annotated[str, StringConstraints(pattern=ANCHOR_PATTERN)] = "entry"

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Deadline:
        given = [k for k in DeadlineKind if getattr(self, k.value) is not None]
        if len(given) != 1:
            names = ", ".join(k.value for k in DeadlineKind)
            raise ValueError(f"give exactly one of {names} (found {len(given)})")
        if self.end_of_month is not None and not _MONTH.match(self.end_of_month):
            raise ValueError(f"end_of_month must be YYYY-MM, not {self.end_of_month!r}")
        if self.yearly is not None and not _MONTH_DAY.match(self.yearly):
            raise ValueError(f"yearly must be MM-DD, not {self.yearly!r}")
        if self.end_of_month is not None and not 1900 <= int(self.end_of_month[:4]) <= 2200:
            raise ValueError(f"end_of_month {self.end_of_month!r} is outside 1900-2200")
        for day in (self.before_date, self.on_date):
            if day is not None and not dt.date(1900, 1, 1) <= day <= dt.date(2200, 12, 31):
                raise ValueError(f"{day.isoformat()} is outside 1900-2200")
        return self

    @property
    def kind(self) -> DeadlineKind:
        return next(k for k in DeadlineKind if getattr(self, k.value) is not None)


class TimerKind(StrEnum):
    TIMEOUT = "timeout"  # fires `event` at the deadline
    REMINDER = "reminder"  # notifies the assignee `offsets_days` before the deadline
    ESCALATION = "escalation"  # notifies the Steering Committee at the deadline; may fire `event`


class TimerSpec(Frozen):
    name: Identifier
    kind: TimerKind
    deadline: Deadline
    event: Identifier | None = None
    offsets_days: tuple[Annotated[int, Field(ge=0, le=365)], ...] = ()

    @model_validator(mode="after")
    def _kind_rules(self) -> TimerSpec:
        if self.kind is TimerKind.TIMEOUT and self.event is None:
            raise ValueError("a timeout timer must name the event it fires")
        if self.kind is TimerKind.REMINDER and self.event is not None:
            raise ValueError("a reminder only notifies; it cannot fire an event")
        if self.kind is TimerKind.REMINDER and not self.offsets_days:
            raise ValueError("a reminder needs offsets_days, e.g. [5, 1]")
        if self.kind is not TimerKind.REMINDER and self.offsets_days:
            raise ValueError("offsets_days is only for reminders")
        return self


class Participants(Frozen):
    """Who a fan-out goes to: exactly one of a fixed list, every active agency of some kinds in the registry,
    or a list of agency codes in the parent's data (set by the plan or by the event entering the state)."""

    agencies: tuple[Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_-]{0,31}$")], ...] | None = None
    kinds: tuple[Annotated[str, StringConstraints(min_length=1)], ...] | None = None
    data: Identifier | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Participants:
        if sum(v is not None for v in (self.agencies, self.kinds, self.data)) != 1:
            raise ValueError("give exactly one of agencies, kinds, data")
        return self


class FanOut(Frozen):
    """Entering the state starts one child instance per participant; the parent fires ``join_event`` when every
    child is final. Leaving the state otherwise closes each open child with ``close_event`` (it ends
    unanswered) and escalates it to the Steering Committee."""

    definition: DefinitionId
    participants: Participants
    key: Annotated[str, StringConstraints(min_length=1, max_length=150)] = "{parent_key}/{entry}/{agency}"
    join_event: Identifier
    close_event: Identifier


class ObligationStart(Frozen):
    """What starts (or restarts) an obligation's clock: an event, on its effective date, or on a date field of
    its payload (``received_on``); ``presumed_working_days`` marks the start as an assumption (receipt presumed
    N working days after sending) that a later start of the same obligation (the recorded receipt) replaces."""

    event: Annotated[str, StringConstraints(pattern=r"^(@start|[a-z][a-z0-9_]{0,63})$")]
    date: Identifier | None = None
    presumed_working_days: int | None = Field(default=None, ge=1, le=60)


class Obligation(Frozen):
    """A legal duty of an instance's assignee with its own deadline, judged by the law and not by the state the
    instance is in: started by ``starts``, due when ``period`` (counted from the start) ends, satisfied by
    the effective date of one of ``satisfied_by``. When missed: reminders ``remind_days`` before the last day,
    an escalation to the Steering Committee at the deadline, and optionally ``timeout_event`` fired then.
    Reaching a final state whose outcome is ``cancelled`` waives it (not counted)."""

    name: Identifier
    label: Label
    starts: tuple[ObligationStart, ...] = Field(min_length=1)
    period: Deadline
    satisfied_by: tuple[Identifier, ...] = Field(min_length=1)
    remind_days: tuple[Annotated[int, Field(ge=0, le=365)], ...] = ()
    escalate: bool = True
    timeout_event: Identifier | None = None
    assumption: Label | None = None  # what the engine assumes (shown with the deadline)

    @model_validator(mode="after")
    def _rules(self) -> Obligation:
        if self.period.anchor != "entry":
            raise ValueError("an obligation's period counts from its start; give no anchor")
        if not self.escalate and self.timeout_event is None:
            raise ValueError("a missed obligation must escalate or fire a timeout_event")
        return self


class LatePolicy(StrEnum):
    ACCEPT_FLAGGED = "accept_flagged"  # accepted after the deadline; history and data say it was late
    REFUSE = "refuse"  # refused after the deadline


class Outcome(StrEnum):
    """What reaching a final state means for monitoring (the status report)."""

    DONE = "done"
    NOT_DONE = "not_done"  # e.g. no answer: counted with the overdue
    CANCELLED = "cancelled"  # withdrawn: not counted


class State(Frozen):
    id: Identifier
    label: Label
    kind: StateKind = StateKind.NORMAL
    timers: tuple[TimerSpec, ...] = ()
    fan_out: FanOut | None = None
    outcome: Outcome | None = None  # final states only; default done

    @model_validator(mode="after")
    def _outcome_only_when_final(self) -> State:
        if self.outcome is not None and self.kind is not StateKind.FINAL:
            raise ValueError("only a final state has an outcome")
        return self


class Transition(Frozen):
    event: Identifier
    label: Label
    source: tuple[str, ...]  # state ids, or ("*",) for every non-final state
    dest: str
    roles: tuple[str, ...] = Field(min_length=1)
    payload: dict[Identifier, PayloadField] = Field(default_factory=dict)
    guard: str | None = None
    reason_required: bool = False
    late: LatePolicy | None = None  # what an event after the state's deadline gets (None: no check)
    # the act enters a document in the owing agency's register: "in" (a receipt, dated by its date field: the
    # incoming register's day) or "out" (the agency issues the document it carries)
    register_as: Literal["in", "out"] | None = None

    @field_validator("source", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


class Titles(Frozen):
    vi: Label
    en: Label


class Definition(Frozen):
    id: DefinitionId
    version: int = Field(ge=1)
    title: Titles
    seed_section: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    description: str | None = None
    states: tuple[State, ...] = Field(min_length=1)
    transitions: tuple[Transition, ...] = Field(min_length=1)
    obligations: tuple[Obligation, ...] = ()
    retired: bool = False  # no new instances (superseded); running ones go on
    start_roles: tuple[Literal["admin", "officer"], ...] = ("admin",)  # officers start only for their own agency
    # who decides an extension of this duty's deadlines (the body that assigned it): the Steering Committee or the
    # plan's standing body; never the agency that owes it
    extensions_by: tuple[Literal["committee", "standing_body"], ...] = ("committee",)

    def canonical_json(self) -> str:
        """The definition's content in one canonical form (what the content hash covers). Keys added to the
        language later are left out while they hold their default, so a stored older definition keeps its hash."""
        content = self.model_dump(mode="json")
        for key, default in _LATER_KEYS.items():
            if content.get(key) == default:
                del content[key]
        _drop_unset(content, "yearly_end_of_month")  # a deadline kind added later, left out where not used
        for transition in content["transitions"]:  # a field key added later, left out while unused
            if transition.get("register_as") is None:
                transition.pop("register_as", None)
            for spec in transition.get("payload", {}).values():
                if spec.get("value_labels") is None:
                    spec.pop("value_labels", None)
        return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    # Lookups are computed once per (immutable) definition: the engine asks them on every event.

    @cached_property
    def _states_by_id(self) -> dict[str, State]:
        return {s.id: s for s in self.states}

    @cached_property
    def _transitions_by_source(self) -> dict[tuple[str, str], Transition]:
        table: dict[tuple[str, str], Transition] = {}
        for transition in self.transitions:
            for source in self.sources(transition):
                table.setdefault((source, transition.event), transition)
        return table

    @cached_property
    def _events_by_state(self) -> dict[str, tuple[str, ...]]:
        return {s.id: tuple(t.event for t in self.transitions if s.id in self.sources(t)) for s in self.states}

    def state(self, state_id: str) -> State:
        return self._states_by_id[state_id]

    @property
    def initial_state(self) -> State:
        return next(s for s in self.states if s.kind is StateKind.INITIAL)

    @cached_property
    def final_states(self) -> frozenset[str]:
        return frozenset(s.id for s in self.states if s.kind is StateKind.FINAL)

    def sources(self, transition: Transition) -> tuple[str, ...]:
        """The concrete source states of a transition (``*`` expanded to every non-final state)."""
        if transition.source == ("*",):
            return tuple(s.id for s in self.states if s.kind is not StateKind.FINAL)
        return transition.source

    def transition_from(self, state_id: str, event: str) -> Transition | None:
        return self._transitions_by_source.get((state_id, event))

    def events_from(self, state_id: str) -> tuple[str, ...]:
        return self._events_by_state.get(state_id, ())

    @cached_property
    def cancelled_states(self) -> frozenset[str]:
        """Final states whose outcome is ``cancelled``: reaching one waives every open obligation."""
        return frozenset(s.id for s in self.states if s.kind is StateKind.FINAL and s.outcome is Outcome.CANCELLED)


def _drop_unset(value: Any, key: str) -> None:
    """Remove ``key`` wherever it is None in nested dicts and lists (a key the language gained later)."""
    if isinstance(value, dict):
        if key in value and value[key] is None:
            del value[key]
        for item in value.values():
            _drop_unset(item, key)
    elif isinstance(value, list):
        for item in value:
            _drop_unset(item, key)


_LATER_KEYS: dict[str, Any] = {"obligations": [], "retired": False, "start_roles": ["admin"],
                               "extensions_by": ["committee"]}

"""What the engine needs from the outside, and the plain values that cross that line.

The engine depends on these interfaces only; ``store`` implements ``Store`` on SQLAlchemy (SQLite or
PostgreSQL), ``workflow.clock`` provides clocks. Every method is documented here once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from definitions import Definition, Role

from .calendar import DayOverride
from .notify import Contact, OutboxMessage
from .timers import TimerRecord, TimerStatus


class ArmedTimer(NamedTuple):
    """An obligation's timer as the timers table holds it."""

    kind: str
    status: str
    base_due: dt.datetime  # the end of the period it is armed for (reminders: before it)
    id: int


@dataclass(frozen=True)
class Derived:
    """What the tables derived from the histories hold (read in the verification's snapshot): each instance's
    obligations, name -> (agency, status, last day, due, opened seq); its escalations, id -> status; its obligation
    timers, (obligation, fence) -> [(kind, status)]; and, per (definition, version), the timer kinds each
    obligation must have armed while it is open (escalation, timeout)."""

    obligations: Mapping[int, Mapping[str, tuple[str, str, str, dt.datetime, int]]]
    escalations: Mapping[int, Mapping[int, str]]
    timers: Mapping[int, Mapping[tuple[str, int], Sequence[ArmedTimer]]]
    required: Mapping[tuple[str, int], Mapping[str, tuple[str, ...]]]
    escalated: Mapping[int, set[int]] = field(default_factory=dict)  # per instance: timers that raised escalations


@dataclass(frozen=True)
class Actor:
    """Who fires an event: an id for the record, a role, and for officers the agency they speak for."""

    id: str
    role: Role
    agency: str | None = None


@dataclass(frozen=True)
class InstanceRecord:
    """One running (or finished) duty: the row the engine reads and writes."""

    id: int
    definition_id: str
    definition_version: int
    business_key: str
    state: str
    version: int  # equals the sequence number of its last history row
    assignee: str
    data: Mapping[str, Any]
    parent_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    head_hash: str
    entry_seq: int = 1  # the history row that entered `state`: the fence of the timers it armed
    suspended_at: dt.datetime | None = None  # the legal clock is stopped
    due_at: dt.datetime | None = None  # the earliest deadline of an open obligation or of the current state's timers
    effective_on: dt.date | None = None  # the effective date of its latest event (the next may not be earlier)


@dataclass(frozen=True)
class HistoryRecord:
    """One append-only history row; ``hash`` covers every other field (see ``workflow.audit``)."""

    instance_id: int
    seq: int
    event: str
    from_state: str | None
    to_state: str
    actor_id: str
    actor_role: str
    actor_agency: str | None
    at: dt.datetime
    payload: Mapping[str, Any]
    reason: str | None
    definition_id: str
    definition_version: int
    request_id: str | None
    prev_hash: str
    hash: str
    effective_on: str | None = None  # ISO date the event took effect (the document's date); `at` is when recorded
    obligations: Sequence[Mapping[str, Any]] | None = None  # its obligation changes (workflow.obligations)


class ObligationStatus(StrEnum):
    OPEN = "open"
    SATISFIED = "satisfied"
    WAIVED = "waived"  # the duty was cancelled: not counted


@dataclass(frozen=True)
class ObligationRecord:
    """One legal duty of one instance (a row of the ``obligations`` table; see ``workflow.obligations``)."""

    id: int
    instance_id: int
    name: str
    agency: str  # who owes it (the lead); co-operating agencies beside it
    cooperating: tuple[str, ...]
    opened_seq: int  # the history row that opened or last restarted it: the fence of its timers
    opened_on: dt.date  # effective date of that row
    started_on: dt.date  # the day its period counts from (day 1 is the next day)
    presumed: bool  # the start is an assumption (receipt presumed), not a recorded fact
    last_day: dt.date
    due_at: dt.datetime  # 24:00 of the last day, province time, as UTC
    status: ObligationStatus = ObligationStatus.OPEN
    closed_on: dt.date | None = None  # effective date it was satisfied or waived
    closed_seq: int | None = None


@dataclass(frozen=True)
class RegisterEntry:
    """One document in an agency's register (sổ văn bản đến / đi), numbered per agency, direction and year as
    Vietnamese offices number them; the act it was recorded with (instance, history row), if any."""

    agency: str
    direction: str  # "in" (văn bản đến) or "out" (văn bản đi)
    registered_on: dt.date  # ngày đến / ngày đi
    number: int = 0  # số đến / số đi (0: the next of the year, given when stored)
    counterpart: str | None = None  # from whom (in), to whom (out): an agency code or a name
    reference: str | None = None  # the document's số/ký hiệu
    issued_on: dt.date | None = None
    summary: str | None = None
    signer: str | None = None
    instance_id: int | None = None
    seq: int | None = None
    source: str = "engine"  # engine (an act), eoffice (the province's e-office system)
    external_id: str | None = None  # the e-office's own id of the receipt: a repeated post finds the first
    fingerprint: str | None = None  # SHA-256 of what the e-office posted (a repeated id with other content: refused)
    actor_id: str = ""
    created_at: dt.datetime | None = None
    id: int = 0

    @property
    def year(self) -> int:
        return self.registered_on.year

    def note(self) -> dict[str, Any]:
        """What the act's history row says of it (covered by the row's hash)."""
        return {"direction": self.direction, "agency": self.agency, "year": self.year, "number": self.number,
                "registered_on": self.registered_on.isoformat(), "source": self.source,
                **({"external_id": self.external_id} if self.external_id else {})}


@dataclass(frozen=True)
class FireResult:
    """What a start or an event did: the instance after it and its history row."""

    instance: InstanceRecord
    record: HistoryRecord
    replayed: bool = False  # True when an idempotency key matched an earlier request


@dataclass(frozen=True)
class IdempotencyRecord:
    key: str
    fingerprint: str
    instance_id: int
    seq: int


@dataclass(frozen=True)
class Schedule:
    """A recurring obligation: every occurrence of ``cron`` (province time) starts one instance per assignee."""

    id: int
    name: str
    definition_id: str
    cron: str
    assignees: tuple[str, ...]
    key_template: str  # e.g. annual-report/{year}/{agency}
    data: dict[str, Any]
    next_run_at: dt.datetime
    last_run_at: dt.datetime | None


@dataclass(frozen=True)
class AgencyName:
    """One name an agency had, from ``valid_from`` (inclusive) to ``valid_to`` (exclusive; None: still)."""

    name: str
    short_name: str
    valid_from: str
    valid_to: str | None
    document: str | None


@dataclass(frozen=True)
class AgencyRecord:
    code: str
    kind: str
    status: str  # active, merged, retired
    successor: str | None
    names: tuple[AgencyName, ...]

    def name_on(self, day: str) -> AgencyName | None:
        """The name in force on ``day`` (ISO date)."""
        for name in reversed(self.names):
            if name.valid_from <= day and (name.valid_to is None or day < name.valid_to):
                return name
        return None

    @property
    def current(self) -> AgencyName:
        return self.names[-1]


@dataclass(frozen=True)
class StoredDefinition:
    definition: Definition
    content_hash: str
    loaded_at: dt.datetime


class UnitOfWork(Protocol):
    """The writes and reads of one transaction. Leaving the ``Store.transaction`` block commits it;
    an exception rolls everything back."""

    def get_instance(self, instance_id: int) -> InstanceRecord | None:
        """The instance as of this transaction (on SQLite the write lock is already held)."""
        ...

    def latest_definition_version(self, definition_id: str) -> int | None:
        """The highest stored version of a definition as of this transaction, or None (a start without a
        version asks here, so it needs no read of its own)."""
        ...

    def find_instance_by_key(self, definition_id: str, business_key: str) -> InstanceRecord | None:
        """The instance of that definition with that business key, if any."""
        ...

    def insert_instance(self, instance: InstanceRecord) -> int:
        """Insert a new instance (its ``id`` is ignored) and return the id it was given.
        Raises ``DuplicateBusinessKey`` when the business key is taken."""
        ...

    def update_instance(self, instance: InstanceRecord, expected_version: int) -> bool:
        """Write state, version, data, head hash and updated_at if the stored version is still
        ``expected_version``; False (and nothing written) if it is not."""
        ...

    def append_history(self, record: HistoryRecord) -> None:
        """Append one history row."""
        ...

    def history_row(self, instance_id: int, seq: int) -> HistoryRecord | None:
        """One history row by instance and sequence number."""
        ...

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        """The record of an earlier request with this idempotency key, if any."""
        ...

    def save_idempotency(self, record: IdempotencyRecord) -> None:
        """Remember an idempotency key with the request's fingerprint and result."""
        ...

    def insert_timers(self, timers: Sequence[TimerRecord]) -> None:
        """Store newly armed timers (their ``id`` is ignored)."""
        ...

    def timers_of(self, instance_id: int, statuses: Sequence[TimerStatus]) -> list[TimerRecord]:
        """An instance's timers in those statuses, in due order."""
        ...

    def open_timers(self) -> list[TimerRecord]:
        """Every pending or suspended timer (for recomputation after a calendar override)."""
        ...

    def cancel_timers(self, instance_id: int, now: dt.datetime) -> int:
        """Cancel an instance's pending and suspended timers (its state was left); how many."""
        ...

    def update_timer(self, timer: TimerRecord) -> None:
        """Write a timer's status, due times, extension, remaining time, fired_at and outcome."""
        ...

    def claim_due_timers(self, now: dt.datetime, limit: int, claimer: str) -> list[TimerRecord]:
        """Pending timers due at ``now`` or before, in due order, at most ``limit``; on PostgreSQL the rows
        are locked (SKIP LOCKED) so concurrent claimers take different timers."""
        ...

    def insert_escalation(self, instance_id: int, timer_id: int | None, due_at: dt.datetime,
                          now: dt.datetime) -> int:
        """Record an open escalation to the Steering Committee; its id."""
        ...

    def register_document(self, entry: RegisterEntry) -> RegisterEntry:
        """Store a register entry; with number 0, the next number of its agency, direction and year."""
        ...

    def find_register_entry(self, source: str, external_id: str) -> RegisterEntry | None:
        """The entry an outside system posted under ``external_id`` (idempotency)."""
        ...

    def open_escalations_of(self, instance_id: int) -> list[tuple[int, str | None]]:
        """An instance's open escalations: (id, the obligation whose timer raised it, if any), oldest first."""
        ...

    def acknowledge_escalation(self, escalation_id: int, actor_id: str, note: str | None,
                               now: dt.datetime) -> int | None:
        """Mark an open escalation acknowledged; the instance id, or None if not open."""
        ...

    def insert_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        """Queue notifications (ids ignored); a message id already queued is not queued again."""
        ...

    def last_system_event(self, event: str) -> tuple[dt.datetime, dict[str, Any]] | None:
        """When the latest system-history event of this kind was recorded, and its payload."""
        ...

    def append_system_event(self, event: str, actor_id: str, now: dt.datetime, payload: dict[str, Any]) -> None:
        """One event in the hash-chained system history, in this transaction."""
        ...

    def contact(self, agency: str) -> Contact | None:
        """How to reach an agency (or the Steering Committee, code ``BCD``)."""
        ...

    def insert_calendar_override(self, override: DayOverride, actor_id: str, now: dt.datetime) -> None:
        """Store an operator's day off or working day. Raises ``OverrideExists`` for a day already set."""
        ...

    def advance_schedule(self, schedule_id: int, old: dt.datetime, new: dt.datetime, now: dt.datetime) -> bool:
        """Move a schedule's next run from ``old`` to ``new``; False if another process already did."""
        ...

    def record_occurrence(self, values: dict[str, Any]) -> None:
        """Record what one run of a schedule decided for one of its assignees (``occurrences``)."""
        ...

    def agency(self, code: str) -> AgencyRecord | None:
        """An agency with its names over time."""
        ...

    def insert_agency(self, code: str, kind: str, name: str, short_name: str, valid_from: dt.date,
                      now: dt.datetime) -> None:
        """Register an agency with its first name."""
        ...

    def rename_agency(self, code: str, name: str, short_name: str, effective: dt.date, document: str | None) -> None:
        """End the current name the day before ``effective`` and start the new one."""
        ...

    def end_agency(self, code: str, status: str, successor: str, effective: dt.date) -> None:
        """Mark an agency merged or retired from ``effective`` on, with its successor."""
        ...

    def agency_change_applied(self, op: str, code: str, effective: dt.date) -> bool:
        """Whether this rename/merge/retirement was applied already."""
        ...

    def log_agency_change(self, values: dict[str, Any]) -> None:
        """Append to the log of registry changes."""
        ...

    def schedule_change(self, values: dict[str, Any]) -> None:
        """Store a registry change to apply on its effective date."""
        ...

    def change_scheduled(self, change: str, effective: dt.date) -> bool:
        """Whether this change (its JSON) is already scheduled and not yet applied."""
        ...

    def due_scheduled_changes(self, day: dt.date) -> list[tuple[int, str, str, str]]:
        """Scheduled changes effective on or before ``day`` and not applied: (id, change JSON, document, actor)."""
        ...

    def mark_change_applied(self, change_id: int, now: dt.datetime, outcome: str) -> None:
        """Record that a scheduled change was applied (or refused), and how."""
        ...

    def instances_of_definition(self, definition_id: str) -> Sequence[InstanceRecord]:
        """Every instance of a definition, any version, by id."""
        ...

    def instances_assigned_to(self, code: str) -> Sequence[InstanceRecord]:
        """Every instance assigned to an agency, open or finished."""
        ...

    def children_of(self, parent_id: int) -> Sequence[InstanceRecord]:
        """The child instances of a fan-out parent, oldest first."""
        ...

    def active_agencies(self, kinds: Sequence[str]) -> list[str]:
        """Codes of the active agencies of these kinds, sorted."""
        ...

    def agency_codes(self) -> list[str]:
        """Every registered agency code, sorted (empty: no registry loaded)."""
        ...

    def obligations_of(self, instance_id: int) -> list[ObligationRecord]:
        """An instance's obligations, open or closed, in the order they were first opened."""
        ...

    def save_obligations(self, records: Sequence[ObligationRecord]) -> None:
        """Insert the records whose ``id`` is 0 and update the others (status, dates, agency, fence)."""
        ...

    def cancel_obligation_timers(self, instance_id: int, names: Sequence[str], now: dt.datetime) -> int:
        """Cancel the pending and suspended timers of these obligations (satisfied, waived or restarted)."""
        ...


class Store(Protocol):
    """Durable storage of definitions, instances and history."""

    def latest_definition_version(self, definition_id: str) -> int | None:
        """The highest stored version of a definition, or None."""
        ...

    def transaction(self) -> AbstractContextManager[UnitOfWork]:
        """A write transaction: all or nothing."""
        ...

    def save_definition(self, definition: Definition) -> bool:
        """Store a checked definition; True if new, False if the same content was already there.
        Raises ``DefinitionConflict`` if its id and version exist with other content."""
        ...

    def get_definition(self, definition_id: str, version: int | None = None) -> StoredDefinition:
        """A stored definition; the latest version when ``version`` is None. Raises ``NotFound``."""
        ...

    def list_definitions(self) -> list[StoredDefinition]:
        """Every stored definition version, by id then version."""
        ...

    def get_instance(self, instance_id: int) -> InstanceRecord:
        """An instance outside any transaction. Raises ``NotFound``."""
        ...

    def history(self, instance_id: int) -> list[HistoryRecord]:
        """One instance's history in sequence order."""
        ...

    def iter_history(self, first_id: int = 0, end_id: int = 2**63 - 1) -> Iterator[HistoryRecord]:
        """History rows of instances ``first_id <= id < end_id``, ordered by instance then sequence, streamed."""
        ...

    def chain_heads(self, first_id: int = 0, end_id: int = 2**63 - 1) -> dict[int, tuple[int, str]]:
        """For every instance ``first_id <= id < end_id``: (its version, the head hash it records)."""
        ...

    def audit_snapshot(self, first_id: int = 0, end_id: int = 2**63 - 1) -> AbstractContextManager[
            tuple[dict[int, tuple[int, str]], Iterator[HistoryRecord], dict[int, tuple[str, str, bool]], Derived]]:
        """``chain_heads``, ``iter_history``, each instance's (state, assignee, suspended) and the tables derived
        from the histories (``workflow.audit.Derived``), of one range, read in one snapshot (what verification
        needs)."""
        ...

    def audit_since(self, checkpoint: Mapping[int, tuple[int, str]], first_id: int = 0, end_id: int = 2**63 - 1
                    ) -> AbstractContextManager[tuple[dict[int, tuple[int, str]], Iterator[HistoryRecord],
                                                      dict[int, tuple[str, str, bool]], dict[int, tuple[int, int]]]]:
        """As ``audit_snapshot``, but rows and states only of instances whose head moved since ``checkpoint``
        (from the checkpoint's row on), and (last seq, row count) of each history whose shape is wrong."""
        ...

    def id_range(self) -> tuple[int, int]:
        """The smallest and largest instance id, (0, 0) when there are none."""
        ...

    def calendar_overrides(self) -> list[DayOverride]:
        """Every operator override of the calendar."""
        ...


class ServiceQueries(Protocol):
    """What the long-running service asks of storage besides events (``scheduler`` uses it)."""

    def transaction(self) -> AbstractContextManager[UnitOfWork]:
        """A write transaction, as in ``Store``."""
        ...

    def next_timer_due(self) -> dt.datetime | None:
        """The earliest due time of a pending timer."""
        ...

    def next_schedule_run(self) -> dt.datetime | None:
        """The earliest next run of a recurring schedule."""
        ...

    def next_registry_change(self) -> dt.datetime | None:
        """The start (00:00 province time) of the effective day of the next scheduled registry change."""
        ...

    def next_outbox_attempt(self) -> dt.datetime | None:
        """The earliest next delivery attempt of a pending notification."""
        ...

    def due_schedules(self, now: dt.datetime) -> Iterator[Schedule]:
        """Schedules whose next run is at ``now`` or before."""
        ...

    def list_schedules(self, ended: bool = False) -> list[Schedule]:
        """Every running schedule, by name (with ``ended``, also those a revised plan ended)."""
        ...

    def change_schedule(self, name: str, *, assignees: Sequence[str], data: dict[str, Any], cron: str,
                        key_template: str, actor_id: str, now: dt.datetime, reason: str) -> None:
        """A revised plan changes a recurring duty (its next runs)."""
        ...

    def end_schedule(self, name: str, *, actor_id: str, now: dt.datetime, reason: str) -> None:
        """A revised plan drops a recurring duty: its schedule starts nothing more."""
        ...

    def add_schedule(self, name: str, definition_id: str, cron: str, assignees: Sequence[str], key_template: str,
                     data: dict[str, Any], next_run_at: dt.datetime, now: dt.datetime) -> int:
        """Store a new schedule; its id."""
        ...

    def claim_outbox(self, now: dt.datetime, limit: int, claimer: str, lease: dt.timedelta) -> list[OutboxMessage]:
        """Pending notifications due for an attempt, leased to ``claimer``."""
        ...

    def outbox_delivered(self, message_id: int, now: dt.datetime) -> None:
        """Record a successful delivery."""
        ...

    def outbox_failed(self, message_id: int, error: str, retry_at: dt.datetime | None) -> None:
        """Record a failed attempt; ``retry_at`` None gives up (dead letter)."""
        ...

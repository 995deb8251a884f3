"""What the engine needs from the outside, and the plain values that cross that line.

The engine depends on these interfaces only; ``store`` implements ``Store`` on SQLAlchemy (SQLite or
PostgreSQL), ``workflow.clock`` provides clocks. Every method is documented here once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from definitions import Definition, Role


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


@dataclass(frozen=True)
class IdempotencyRecord:
    key: str
    fingerprint: str
    instance_id: int
    seq: int


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


class Store(Protocol):
    """Durable storage of definitions, instances and history."""

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

    def iter_history(self) -> Iterator[HistoryRecord]:
        """Every history row, ordered by instance then sequence, streamed."""
        ...

    def chain_heads(self) -> dict[int, tuple[int, str]]:
        """For every instance: (its version, the head hash it records)."""
        ...

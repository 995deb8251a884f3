"""The project's one exception tree; every error carries its context as attributes.

    WorkflowError                      root: catch this at a boundary (CLI, HTTP)
    ├── DefinitionInvalid              a YAML file failed parsing or static checks (.problems, .path)
    ├── DefinitionConflict             same id and version already stored with other content
    ├── DefinitionTampered             a stored definition's content no longer matches its hash: never run
    ├── NotFound                       no such definition, instance, ... (.kind, .key, .suggestions)
    ├── Refused                        the engine refused an event; nothing was written
    │   ├── EventNotAllowed            event not possible in the current state (.allowed)
    │   ├── RoleNotAllowed             the actor's role may not fire this event (.roles)
    │   ├── AgencyMismatch             an officer acting on another agency's instance
    │   ├── PayloadInvalid             payload fields wrong (.errors: every bad field)
    │   ├── GuardFailed                the transition's guard said no (.guard)
    │   ├── VersionConflict            expected version is stale, or a concurrent writer won
    │   ├── DuplicateBusinessKey       start with a business key that already exists
    │   ├── IdempotencyKeyReused       the key was used before for a different request
    │   ├── LoginRefused               a log-in refused: wrong password, slowed, disabled, second factor (.reason)
    │   └── SignatureRefused           an outside system's post (the e-office's receipt) not signed with the secret
    ├── KeyRevoked                     a write's API key was revoked, expired or its owner disabled: nothing written
    ├── ValueRejected                  the database refused a value (e.g. a number out of its range)
    ├── StoreUnavailable               the database could not be written (busy past the timeout, disk, ...)
    ├── FilesFull                      no room for an attached file (the files' budget spent, or their disk full)
    ├── QuotaExceeded                  an account's uploads never attached are over its quota
    ├── NotInitialised                 the database has no schema yet (or no file): run `workflow init`
    ├── DatabaseUrlInvalid             --db / WORKFLOW_DATABASE_URL is not a database URL
    ├── ServeRefused                   serve cannot start: the port is taken, or another serve has the SQLite file
    ├── OverrideExists                 that day already has a calendar override (.day)
    ├── ScheduleInvalid                a recurring schedule's cron, key template or assignees are wrong
    ├── BackupFailed                   a backup was refused or failed (target exists, not SQLite, ...)
    ├── CheckpointUnreadable           an audit checkpoint file cannot be read or was altered
    └── DocumentUnreadable             a plan's Word document cannot be read (not a .docx, damaged, empty)

The engine's refusals are defined in ``workflow.errors``; the store's, the scheduler's and the service's next to
what raises them (``store.timer_rows``, ``store.backup``, ``store.keys``, ``scheduler.recurring``,
``service.context``, ``service.signing``, ``service.app.accounts``, ``service.app.registers``,
``service.app.attachments``, ``definitions.plan_import``); they are all drawn here so the tree is in one place.
``service/errors.py`` maps each to an HTTP status and a CLI exit code.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


class WorkflowError(Exception):
    """Root of every error this project raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition file, located as precisely as the YAML allows."""

    path: str  # the file
    line: int  # 1-based
    column: int  # 1-based
    field: str  # dotted path, e.g. "transitions[2].dest"
    message: str

    def __str__(self) -> str:
        field = f" {self.field}:" if self.field else ""
        return f"{self.path}:{self.line}:{self.column}:{field} {self.message}"


class DefinitionInvalid(WorkflowError):
    """A definition file that cannot be used; ``problems`` lists every problem found in it."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class DefinitionConflict(WorkflowError):
    """A definition id and version that is already stored with a different content hash."""

    def __init__(self, definition_id: str, version: int, stored_hash: str, new_hash: str) -> None:
        self.definition_id = definition_id
        self.version = version
        self.stored_hash = stored_hash
        self.new_hash = new_hash
        super().__init__(
            f"definition {definition_id!r} version {version} is already loaded with other content "
            f"(stored {stored_hash[:12]}, new {new_hash[:12]}); give the changed definition a new version"
        )


class DefinitionTampered(WorkflowError):
    """A stored definition whose content does not match the hash recorded when it was loaded."""

    def __init__(self, definition_id: str, version: int) -> None:
        self.definition_id = definition_id
        self.version = version
        super().__init__(f"stored definition {definition_id!r} version {version} does not match its content hash "
                         "(edited in the database); it is not run")


class NotFound(WorkflowError):
    """A thing asked for by key does not exist."""

    def __init__(self, kind: str, key: object, known: Iterable[str] = ()) -> None:
        self.kind = kind
        self.key = key
        self.suggestions = tuple(difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6))
        hint = f"; did you mean {self.suggestions[0]!r}?" if self.suggestions else ""
        super().__init__(f"no {kind} {key!r}{hint}")


class ValueRejected(WorkflowError):
    """The database refused a value as invalid for its column (out of range, ...); nothing was written."""


class StoreUnavailable(WorkflowError):
    """The database refused or could not take the write; nothing was written."""

"""The one table from an error of the tree (``definitions/errors.py``) to what every front end answers: the HTTP
status and title of its problem+json, and the CLI's exit code; and the one function that turns an error's
context into the fields both print.

Exit codes, so a script can tell them apart:

    0  done            1  refused (the request was understood and said no; nothing written)
    2  usage           3  not found           4  conflict (someone else changed it, or it exists)
    5  unavailable (the database cannot be reached, written, or is not initialised)

``tests/service/test_errors.py`` walks every subclass of ``WorkflowError`` and checks each is drawn in the tree
and has its own row here.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from definitions import (
    DefinitionConflict,
    DefinitionInvalid,
    DefinitionTampered,
    NotFound,
    StoreUnavailable,
    ValueRejected,
    WorkflowError,
)
from definitions.plan_import import DocumentUnreadable
from scheduler.recurring import ScheduleInvalid
from store.backup import BackupFailed
from store.keys import KeyRevoked
from store.timer_rows import OverrideExists
from workflow.errors import (
    AgencyMismatch,
    DuplicateBusinessKey,
    EventNotAllowed,
    GuardFailed,
    IdempotencyKeyReused,
    PayloadInvalid,
    Refused,
    RoleNotAllowed,
    VersionConflict,
)

from .app.accounts import LoginRefused
from .app.attachments import FilesFull, QuotaExceeded
from .app.registers import SignatureRefused
from .context import DatabaseUrlInvalid, NotInitialised, ServeRefused
from .signing import CheckpointUnreadable

EXIT_REFUSED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_CONFLICT, EXIT_UNAVAILABLE = 1, 2, 3, 4, 5


class Answer(NamedTuple):
    status: int
    title: str
    exit: int


#: Every class of the tree, subclasses before their parents (the first match wins).
TABLE: tuple[tuple[type[WorkflowError], Answer], ...] = (
    (NotFound, Answer(404, "Not found", EXIT_NOT_FOUND)),
    (NotInitialised, Answer(503, "Database not initialised", EXIT_UNAVAILABLE)),
    (DatabaseUrlInvalid, Answer(503, "Database not configured", EXIT_USAGE)),
    (ServeRefused, Answer(503, "Service not started", EXIT_CONFLICT)),
    (StoreUnavailable, Answer(503, "Database unavailable", EXIT_UNAVAILABLE)),
    (FilesFull, Answer(503, "No room for files", EXIT_UNAVAILABLE)),
    (QuotaExceeded, Answer(413, "Upload quota exceeded", EXIT_REFUSED)),
    (RoleNotAllowed, Answer(403, "Role not allowed", EXIT_REFUSED)),
    (AgencyMismatch, Answer(403, "Not your agency's instance", EXIT_REFUSED)),
    (PayloadInvalid, Answer(422, "Invalid payload", EXIT_REFUSED)),
    (IdempotencyKeyReused, Answer(422, "Idempotency key reused", EXIT_CONFLICT)),
    (VersionConflict, Answer(409, "Version conflict", EXIT_CONFLICT)),
    (DuplicateBusinessKey, Answer(409, "Duplicate business key", EXIT_CONFLICT)),
    (EventNotAllowed, Answer(409, "Event not allowed", EXIT_REFUSED)),
    (GuardFailed, Answer(409, "Guard refused", EXIT_REFUSED)),
    (LoginRefused, Answer(401, "Log-in refused", EXIT_REFUSED)),
    (KeyRevoked, Answer(401, "API key revoked", EXIT_REFUSED)),
    (SignatureRefused, Answer(401, "Signature refused", EXIT_REFUSED)),
    (Refused, Answer(409, "Refused", EXIT_REFUSED)),
    (DefinitionInvalid, Answer(422, "Invalid definition", EXIT_REFUSED)),
    (DefinitionConflict, Answer(409, "Definition conflict", EXIT_CONFLICT)),
    (DefinitionTampered, Answer(503, "Stored definition altered", EXIT_UNAVAILABLE)),
    (ValueRejected, Answer(422, "Value rejected", EXIT_REFUSED)),
    (ScheduleInvalid, Answer(422, "Invalid schedule", EXIT_REFUSED)),
    (CheckpointUnreadable, Answer(422, "Checkpoint unreadable", EXIT_REFUSED)),
    (DocumentUnreadable, Answer(422, "Document unreadable", EXIT_REFUSED)),
    (OverrideExists, Answer(409, "Calendar override exists", EXIT_CONFLICT)),
    (BackupFailed, Answer(409, "Backup refused", EXIT_REFUSED)),
    (WorkflowError, Answer(400, "Bad request", EXIT_REFUSED)),
)


def answer(err: WorkflowError) -> Answer:
    return next(a for cls, a in TABLE if isinstance(err, cls))


def context(err: WorkflowError) -> dict[str, Any]:
    """What an error says besides its message, for problem+json and the CLI's ``--json`` alike: every bad field,
    the allowed events, and where (instance, event, state)."""
    out: dict[str, Any] = {}
    if isinstance(err, PayloadInvalid):
        out["errors"] = [{"field": f, "message": m} for f, m in err.errors]
    if isinstance(err, DefinitionInvalid):
        out["errors"] = [{"field": p.field, "line": p.line, "column": p.column, "message": p.message}
                         for p in err.problems]
    if isinstance(err, EventNotAllowed):
        out["allowed"] = list(err.allowed)
    for name in ("instance_id", "event", "state"):
        value = getattr(err, name, None)
        if value is not None:
            out[name] = value
    return out

"""The definition language: frozen models of a workflow, a strict YAML loader and static checks.

Public surface: ``load_file``/``load_text`` (YAML → checked ``Definition``), the models, and the errors.
"""

from .errors import (
    DefinitionConflict,
    DefinitionInvalid,
    NotFound,
    Problem,
    StoreUnavailable,
    ValueRejected,
    WorkflowError,
)
from .model import (
    START_EVENT,
    Deadline,
    DeadlineKind,
    Definition,
    FanOut,
    FieldType,
    LatePolicy,
    Obligation,
    ObligationStart,
    Participants,
    PayloadField,
    Role,
    State,
    StateKind,
    TimerKind,
    TimerSpec,
    Transition,
)
from .validate import GRANTABLE_ROLES, check, definition_files, from_canonical_json, load_data, load_file, load_text

__all__ = [
    "GRANTABLE_ROLES",
    "START_EVENT",
    "Deadline",
    "DeadlineKind",
    "Definition",
    "DefinitionConflict",
    "DefinitionInvalid",
    "FanOut",
    "FieldType",
    "LatePolicy",
    "NotFound",
    "Obligation",
    "ObligationStart",
    "Participants",
    "PayloadField",
    "Problem",
    "Role",
    "State",
    "StateKind",
    "StoreUnavailable",
    "TimerKind",
    "TimerSpec",
    "Transition",
    "ValueRejected",
    "WorkflowError",
    "check",
    "definition_files",
    "from_canonical_json",
    "load_data",
    "load_file",
    "load_text",
]

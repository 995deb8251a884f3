"""The engine: durable state machines for the plan's duties, behind small storage and clock interfaces.

It imports neither SQLAlchemy nor APScheduler nor FastAPI: ``store`` implements ``Store``,
``scheduler`` drives timers, and ``service`` wires them together.
"""

from .audit import ChainProblem, make_checkpoint, read_checkpoint, verify
from .clock import PROVINCE_TZ, Clock, SimulatedClock, SystemClock
from .engine import Engine, FireResult
from .errors import (
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
from .guards import GUARDS
from .ports import Actor, HistoryRecord, InstanceRecord, Store, UnitOfWork

__all__ = [
    "GUARDS",
    "PROVINCE_TZ",
    "Actor",
    "AgencyMismatch",
    "ChainProblem",
    "Clock",
    "DuplicateBusinessKey",
    "Engine",
    "EventNotAllowed",
    "FireResult",
    "GuardFailed",
    "HistoryRecord",
    "IdempotencyKeyReused",
    "InstanceRecord",
    "PayloadInvalid",
    "Refused",
    "RoleNotAllowed",
    "SimulatedClock",
    "Store",
    "SystemClock",
    "UnitOfWork",
    "VersionConflict",
    "make_checkpoint",
    "read_checkpoint",
    "verify",
]

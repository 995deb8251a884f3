"""The engine: durable state machines for the plan's duties, behind small storage and clock interfaces.

It imports neither SQLAlchemy nor APScheduler nor FastAPI: ``store`` implements ``Store``,
``scheduler`` drives timers, and ``service`` wires them together.
"""

from .audit import ChainProblem, make_checkpoint, read_checkpoint, verify
from .calendar import BusinessCalendar, DayOverride, Due, OverrideKind
from .clock import PROVINCE_TZ, Clock, SimulatedClock, SystemClock
from .deadlines import Deadlines, TimerOutcome
from .engine import Engine
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
from .ports import Actor, FireResult, HistoryRecord, InstanceRecord, Store, UnitOfWork

__all__ = [
    "GUARDS",
    "PROVINCE_TZ",
    "Actor",
    "AgencyMismatch",
    "BusinessCalendar",
    "ChainProblem",
    "Clock",
    "DayOverride",
    "Deadlines",
    "Due",
    "DuplicateBusinessKey",
    "Engine",
    "EventNotAllowed",
    "FireResult",
    "GuardFailed",
    "HistoryRecord",
    "IdempotencyKeyReused",
    "InstanceRecord",
    "OverrideKind",
    "PayloadInvalid",
    "Refused",
    "RoleNotAllowed",
    "SimulatedClock",
    "Store",
    "SystemClock",
    "TimerOutcome",
    "UnitOfWork",
    "VersionConflict",
    "make_checkpoint",
    "read_checkpoint",
    "verify",
]

"""The engine's refusals (drawn in the tree of ``definitions.errors``). Nothing is written when one is raised."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from definitions.errors import WorkflowError


class Refused(WorkflowError):
    """The engine refused an event or a start; the database is unchanged."""

    def __init__(self, message: str, *, instance_id: int | None = None, event: str | None = None,
                 state: str | None = None) -> None:
        self.instance_id = instance_id
        self.event = event
        self.state = state
        where = []
        if instance_id is not None:
            where.append(f"instance {instance_id}")
        if state is not None:
            where.append(f"state {state!r}")
        if event is not None:
            where.append(f"event {event!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class EventNotAllowed(Refused):
    def __init__(self, instance_id: int, event: str, state: str, allowed: Sequence[str]) -> None:
        self.allowed = tuple(allowed)
        listed = ", ".join(self.allowed) if self.allowed else "none (the state is final)"
        close = difflib.get_close_matches(event, self.allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close and close[0] != event else ""
        super().__init__(f"not allowed here; allowed events: {listed}{hint}",
                         instance_id=instance_id, event=event, state=state)


class RoleNotAllowed(Refused):
    def __init__(self, role: str, roles: Sequence[str], *, instance_id: int | None, event: str,
                 state: str | None) -> None:
        self.role = role
        self.roles = tuple(roles)
        super().__init__(f"role {role!r} may not fire it (roles that may: {', '.join(self.roles)})",
                         instance_id=instance_id, event=event, state=state)


class AgencyMismatch(Refused):
    def __init__(self, actor_agency: str | None, assignee: str, *, instance_id: int | None, event: str,
                 state: str | None) -> None:
        self.actor_agency = actor_agency
        self.assignee = assignee
        super().__init__(
            f"an officer of {actor_agency or 'no agency'} may act only on its own agency's instances; "
            f"this one is assigned to {assignee}", instance_id=instance_id, event=event, state=state)


class PayloadInvalid(Refused):
    def __init__(self, errors: Sequence[tuple[str, str]], *, instance_id: int | None = None,
                 event: str | None = None, state: str | None = None) -> None:
        self.errors = tuple(errors)
        listed = "; ".join(f"{name}: {message}" for name, message in self.errors)
        super().__init__(f"invalid payload: {listed}", instance_id=instance_id, event=event, state=state)

    @classmethod
    def from_pydantic(cls, errors: Sequence[Mapping[str, Any]], default_field: str = "body") -> PayloadInvalid:
        """From pydantic's structured errors (``ValidationError.errors()``): the field from each error's
        location, the message without pydantic's "Value error, " prefix. Never parsed from message text."""
        return cls([(".".join(str(p) for p in e.get("loc", ())) or default_field,
                     str(e.get("msg", "")).removeprefix("Value error, ")) for e in errors])


class GuardFailed(Refused):
    def __init__(self, guard: str, explanation: str, *, instance_id: int, event: str, state: str) -> None:
        self.guard = guard
        super().__init__(f"guard {guard!r} refused: {explanation}",
                         instance_id=instance_id, event=event, state=state)


class VersionConflict(Refused):
    def __init__(self, instance_id: int, expected: int, actual: int | None) -> None:
        self.expected = expected
        self.actual = actual
        now = "changed concurrently" if actual is None else f"is at version {actual}"
        super().__init__(f"expected version {expected} but the instance {now}; reload and retry",
                         instance_id=instance_id)


class DuplicateBusinessKey(Refused):
    def __init__(self, definition_id: str, business_key: str, existing_id: int | None) -> None:
        self.definition_id = definition_id
        self.business_key = business_key
        self.existing_id = existing_id
        super().__init__(f"definition {definition_id!r} already has an instance with business key "
                         f"{business_key!r}" + (f" (instance {existing_id})" if existing_id else ""))


class IdempotencyKeyReused(Refused):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"idempotency key {key!r} was already used for a different request")

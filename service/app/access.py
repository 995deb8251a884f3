"""Who may do what, for the writes the engine's own rules do not cover (loading definitions, retrying mail,
keys): one check, the same refusal from the CLI, the API and the pages."""

from __future__ import annotations

from definitions import Role
from workflow import Actor, RoleNotAllowed


def require(actor: Actor, *roles: Role, what: str) -> None:
    if actor.role not in roles:
        raise RoleNotAllowed(actor.role.value, [r.value for r in roles], instance_id=None, event=what, state=None)

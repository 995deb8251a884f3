"""Who may state which fact: the plan's roles on one task, decided once for the engine and every front end.

Running the system is not running the plan. An account's role (``admin``, ``officer``, ``committee``,
``auditor``) says what a person is in the system; on one task, a person also holds **plan roles**:

- ``officer``: an officer of the **owing agency** (the task's assignee) does its duty's acts;
- ``standing_body``: an officer of the plan's **standing body** (cơ quan thường trực: Sở KH&CN for this plan,
  the instance's ``data.standing_body`` or the engine's default) runs consultations, consolidation and
  follow-up, accepts receipt claims and corrects recorded facts;
- ``committee``: the Steering Committee decides (extensions, approvals it gives);
- ``system``: the engine's own actors (timers, the join of a fan-out).

A definition names each act by plan role. An administrator who is not named may still do an act that a plan
role owns, **on behalf of** (thay mặt) that body, only with a reason; the history row says so
(``@on_behalf_of``). Pure functions: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from definitions import Definition, Role

STANDING_BODY = "standing_body"
PLAN_ROLES = frozenset({Role.OFFICER.value, STANDING_BODY, Role.COMMITTEE.value})
ON_BEHALF = "@on_behalf_of"  # the payload key of an administrator's act for a body


def standing_body_of(data: Mapping[str, Any], default: str | None) -> str | None:
    """The standing body of a task: the plan's (``data.standing_body``), else the engine's default."""
    value = data.get(STANDING_BODY)
    return value if isinstance(value, str) and value else default


def held_roles(role: Role, agency: str | None, assignee: str, standing_body: str | None) -> frozenset[str]:
    """The roles an account with ``role`` (and ``agency``) holds on a task owed by ``assignee``."""
    if role is not Role.OFFICER:
        return frozenset({role.value})
    held = set()
    if agency == assignee:
        held.add(Role.OFFICER.value)
    if standing_body is not None and agency == standing_body:
        held.add(STANDING_BODY)
    return frozenset(held)


def may_act_on(role: Role, agency: str | None, assignee: str, standing_body: str | None) -> bool:
    """An officer acts only on its own agency's tasks, or on any task as an officer of the standing body."""
    return role is not Role.OFFICER or bool(held_roles(role, agency, assignee, standing_body))


@dataclass(frozen=True)
class Decision:
    """How an actor may do one act: directly, on behalf of a body (with a reason), or not at all."""

    allowed: bool
    on_behalf_of: str | None = None  # the plan role an administrator stands in for

    @property
    def needs_reason(self) -> bool:
        return self.on_behalf_of is not None


def decide(roles: Iterable[str], held: frozenset[str], role: Role) -> Decision:
    """Whether holding ``held`` (an account of ``role``) allows an act open to ``roles``."""
    allowed = tuple(roles)
    if held & set(allowed):
        return Decision(True)
    if role is Role.ADMIN:
        stand_in = next((r for r in allowed if r in PLAN_ROLES), None)
        if stand_in is not None:
            return Decision(True, stand_in)
    return Decision(False)


@dataclass(frozen=True)
class NextActor:
    """Who must act next on a task: a plan role and, where it is a body, that body's agency code."""

    role: str
    agency: str | None
    events: tuple[str, ...]


def who_acts(definition: Definition, state: str, assignee: str, standing_body: str | None) -> list[NextActor]:
    """The bodies that can move a task on from ``state``, each with its events (the engine's own events and
    administrators left out): what a page says when the viewer cannot act."""
    by_role: dict[str, list[str]] = {}
    for event in definition.events_from(state):
        transition = definition.transition_from(state, event)
        if transition is None:
            continue
        for role in transition.roles:
            if role in PLAN_ROLES:
                by_role.setdefault(role, []).append(event)
    agencies = {Role.OFFICER.value: assignee, STANDING_BODY: standing_body, Role.COMMITTEE.value: None}
    order = (Role.OFFICER.value, STANDING_BODY, Role.COMMITTEE.value)
    return [NextActor(r, agencies[r], tuple(by_role[r])) for r in order if r in by_role]
